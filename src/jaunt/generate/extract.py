"""Getting the Python module out of a model's answer, whatever Markdown it wraps it in.

Rules, in order:

1. A leading ``<think>...</think>`` block (reasoning models on local servers) is dropped.
2. Fenced blocks are found line by line, CommonMark style: an opening fence is three or
   more backticks or tildes (indented by at most three spaces) with an optional info
   string; the block ends at a line holding only a fence of the same character at least
   as long. When several lines could close a block, the first one that leaves the block
   valid Python wins (falling back to the first candidate), so a module holding ``````` ```
   `````` inside a triple-quoted string is kept whole.
3. Among the blocks, the ones tagged ``python``/``py``/``python3``/``py3`` are preferred,
   then untagged ones, then any other tag; within the preferred group the longest block
   wins (a module beats the usage example next to it).
4. An unclosed fence (a truncated answer) runs to the end of the text.
5. Without any fence the whole answer is the code.

The result is stripped of surrounding whitespace.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from itertools import islice

from jaunt.promptkit.errors import ModelAnswerError

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_THINK = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)
_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3"})
# Bounds the "which closing fence" search so hostile answers stay linear-ish.
_MAX_CLOSE_CANDIDATES = 16


@dataclass(frozen=True)
class _Block:
    info: str
    code: str

    @property
    def rank(self) -> int:
        tag = self.info.split(maxsplit=1)[0].lower().strip("{}.") if self.info else ""
        if tag in _PYTHON_TAGS:
            return 2
        return 1 if not tag else 0


def extract_python_code(answer: str) -> str:
    """The Python code in ``answer`` (see the module docstring for the rules)."""
    text = _THINK.sub("", answer, count=1).replace("\r\n", "\n")
    blocks = _fenced_blocks(text.split("\n"))
    if not blocks:
        return text.strip()
    best_rank = max(block.rank for block in blocks)
    candidates = [block for block in blocks if block.rank == best_rank]
    return max(candidates, key=lambda block: len(block.code)).code.strip()


def module_from_answer(answer: str) -> str:
    """The module a backend returns for ``answer``: its code, ending in a newline.

    :class:`ModelAnswerError` when no code is left after extraction (online and batch).
    """
    code = extract_python_code(answer)
    if not code:
        raise ModelAnswerError("the model's answer held no code (empty after extraction)")
    return code + "\n"


def _fenced_blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    index = 0
    while index < len(lines):
        opener = _FENCE.match(lines[index])
        # Backtick info strings may not contain backticks (CommonMark); such a line is prose.
        if opener is None or (opener["fence"][0] == "`" and "`" in opener["info"]):
            index += 1
            continue
        fence, indent = opener["fence"], len(opener["indent"])
        # islice stops the scan at the last candidate needed: an answer made of thousands of
        # small fenced blocks (a model stuck in a loop) stays linear instead of quadratic.
        closers = list(
            islice(
                (j for j in range(index + 1, len(lines)) if _closes(lines[j], fence)),
                _MAX_CLOSE_CANDIDATES,
            )
        )
        body_of = _BodyGetter(lines, index + 1, indent)
        if not closers:
            blocks.append(_Block(opener["info"].strip(), body_of(len(lines))))
            break
        end = next((j for j in closers if _parses(body_of(j))), closers[0])
        blocks.append(_Block(opener["info"].strip(), body_of(end)))
        index = end + 1
    return blocks


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    if len(line) - len(line.lstrip(" ")) > 3 or not stripped:
        return False
    return set(stripped) == {fence[0]} and len(stripped) >= len(fence)


class _BodyGetter:
    """The block's text from ``start`` up to a given closing line, fence indent removed."""

    def __init__(self, lines: list[str], start: int, indent: int) -> None:
        self.lines = lines
        self.start = start
        self.indent = indent

    def __call__(self, end: int) -> str:
        body = self.lines[self.start : end]
        if self.indent:
            body = [_dedent(line, self.indent) for line in body]
        return "\n".join(body)


def _dedent(line: str, indent: int) -> str:
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, indent) :]


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError, UnicodeError):
        return False
    return True
