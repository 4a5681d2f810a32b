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

Linear in the answer's size whatever it holds: fence lines are found by one regular
expression pass, each opener looks at no more than 16 closing candidates, and the "does it
parse" test (rule 2) spends at most :data:`PARSE_BUDGET_CHARS` characters per answer in
``ast.parse`` (past that, the first candidate wins), and only the first
:data:`MAX_BLOCKS` blocks are considered. Fuzzed with hypothesis and measured
by ``benchmarks/hostile_input.py``.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass

from jaunt.promptkit.errors import ModelAnswerError

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)$", re.MULTILINE)
_THINK = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)
_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3"})
# Bounds the "which closing fence" search so hostile answers stay linear.
_MAX_CLOSE_CANDIDATES = 16
# ast.parse runs at roughly 2 MB/s: this bounds the parse work of one answer to well under
# a tenth of a second, while any real module (tens of kilobytes) still gets the test.
PARSE_BUDGET_CHARS = 200_000
# Blocks past this many are ignored: a real answer has a handful, a looping model thousands.
MAX_BLOCKS = 1000
# What one ast.parse call costs beyond its text, in characters' worth of time.
_PARSE_CALL_CHARS = 20


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
    blocks = _fenced_blocks(text)
    if not blocks:
        return text.strip()
    best_rank = max(block.rank for block in blocks)
    candidates = [block for block in blocks if block.rank == best_rank]
    return max(candidates, key=lambda block: len(block.code)).code.strip()


def module_from_answer(answer: str) -> str:
    """The module a backend returns for ``answer``: its code as fenced (jaunt's contract).

    :class:`ModelAnswerError` when no code is left after extraction (online and batch).
    Whoever writes the module to a file ends it with one newline.
    """
    code = extract_python_code(answer)
    if not code:
        raise ModelAnswerError("the model's answer held no code (empty after extraction)")
    return code


def _fenced_blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    budget = [PARSE_BUDGET_CHARS]
    pos = 0
    size = len(text)
    while len(blocks) < MAX_BLOCKS:
        opener = _next_opener(text, pos)
        if opener is None:
            break
        indent, fence, info = opener.groups()
        body_start = opener.end() + 1
        closer = _closer_pattern(fence[0], len(fence))
        first: re.Match[str] | None = None
        chosen: re.Match[str] | None = None
        seen = 0
        search_from, limit = opener.end(), size
        while seen < _MAX_CLOSE_CANDIDATES:
            candidate = closer.search(text, search_from, limit)
            if candidate is None:
                if first is not None:  # the window was scanned for nothing: pay for it
                    budget[0] = max(0, budget[0] - (limit - search_from))
                break
            seen += 1
            first = first or candidate
            if _parses(_body(text, body_start, candidate.start(), len(indent)), budget):
                chosen = candidate
                break
            if not budget[0]:
                break  # nothing more can be tested: the first candidate wins
            # Later candidates only as far as a parse could still reach: what is scanned
            # here may be scanned again by the next block, so it must cost budget.
            search_from, limit = candidate.end(), min(size, body_start + budget[0])
        if first is None:
            blocks.append(_Block(info.strip(), _body(text, body_start, size + 1, len(indent))))
            break
        chosen = chosen or first
        blocks.append(_Block(info.strip(), _body(text, body_start, chosen.start(), len(indent))))
        pos = chosen.end()
    return blocks


def _next_opener(text: str, pos: int) -> re.Match[str] | None:
    while True:
        m = _FENCE.search(text, pos)
        if m is None:
            return None
        fence, info = m["fence"], m["info"]
        # Backtick info strings may not contain backticks (CommonMark): such a line is prose.
        if not (info and fence[0] == "`" and "`" in info):
            return m
        pos = m.end() + 1


@functools.cache
def _closer_pattern(char: str, length: int) -> re.Pattern[str]:
    """A line that closes a fence of ``length`` ``char``s: as long or longer, nothing else."""
    return re.compile(rf"^ {{0,3}}{re.escape(char)}{{{length},}}[^\S\n]*$", re.MULTILINE)


def _body(text: str, start: int, closer_start: int, indent: int) -> str:
    """The text from ``start`` to the line before the closer, the fence indent removed."""
    body = text[start : max(start, closer_start - 1)]
    if indent:
        body = "\n".join(_dedent(line, indent) for line in body.split("\n"))
    return body


def _dedent(line: str, indent: int) -> str:
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, indent) :]


def _parses(code: str, budget: list[int]) -> bool:
    """Whether ``code`` is valid Python; ``False`` without parsing once the budget is spent."""
    # Each call is charged a fixed cost too, so thousands of empty bodies also run out.
    cost = len(code) + _PARSE_CALL_CHARS
    if cost > budget[0]:
        budget[0] = 0
        return False
    budget[0] -= cost
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError, UnicodeError):
        return False
    return True
