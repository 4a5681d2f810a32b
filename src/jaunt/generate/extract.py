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
import re
from dataclasses import dataclass
from typing import NamedTuple

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)$", re.MULTILINE)
_THINK = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)
_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3"})
# Bounds the "which closing fence" search so hostile answers stay linear.
_MAX_CLOSE_CANDIDATES = 16
# ast.parse runs at roughly 2 MB/s: this bounds the parse work of one answer to well under
# a tenth of a second, while any real module (tens of kilobytes) still gets the test.
PARSE_BUDGET_CHARS = 200_000
# Fence lines looked at past the first candidate: what is walked there may be walked again
# by the next block, so it must be bounded for the whole to stay linear.
_MAX_LOOKAHEAD = 256
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


class _Fence(NamedTuple):
    start: int  # offset of the line's first character
    end: int  # offset of the line's end (its newline, or the end of the text)
    indent: int
    char: str
    length: int
    info: str
    blank: bool  # no info string: the line may close a block


def extract_python_code(answer: str) -> str:
    """The Python code in ``answer`` (see the module docstring for the rules)."""
    text = _THINK.sub("", answer, count=1).replace("\r\n", "\n")
    blocks = _fenced_blocks(text)
    if not blocks:
        return text.strip()
    best_rank = max(block.rank for block in blocks)
    candidates = [block for block in blocks if block.rank == best_rank]
    return max(candidates, key=lambda block: len(block.code)).code.strip()


class _Fences:
    """The fence lines of a text, found lazily: a hostile answer's later ones never are."""

    def __init__(self, text: str) -> None:
        self._matches = _FENCE.finditer(text)
        self._found: list[_Fence] = []
        self._done = False

    def get(self, index: int) -> _Fence | None:
        found = self._found
        while len(found) <= index and not self._done:
            m = next(self._matches, None)
            if m is None:
                self._done = True
                break
            fence, info = m["fence"], m["info"]
            # Backtick info strings may not contain backticks (CommonMark): such a line is
            # prose as an opener, and (info not blank) never a closer either.
            if fence[0] == "`" and "`" in info:
                continue
            blank = not info.strip()
            found.append(
                _Fence(m.start(), m.end(), len(m["indent"]), fence[0], len(fence), info, blank)
            )
        return found[index] if index < len(found) else None


def _fenced_blocks(text: str) -> list[_Block]:
    fences = _Fences(text)
    blocks: list[_Block] = []
    budget = [PARSE_BUDGET_CHARS]
    index = 0
    while len(blocks) < MAX_BLOCKS:
        opener = fences.get(index)
        if opener is None:
            break
        char, length = opener.char, opener.length
        first = end = -1
        seen = 0
        j = index + 1
        # Candidates are looked at lazily and at most 16 of them: an answer made of
        # thousands of small fenced blocks (a model stuck in a loop) stays linear.
        while seen < _MAX_CLOSE_CANDIDATES:
            fence = fences.get(j)
            if fence is None or (first >= 0 and j - first > _MAX_LOOKAHEAD):
                break
            if fence.blank and fence.char == char and fence.length >= length:
                seen += 1
                if first < 0:
                    first = j
                if _parses(_body(text, opener, fence.start), budget):
                    end = j
                    break
                if not budget[0]:
                    break  # nothing more can be tested: the first candidate wins
            j += 1
        info = opener.info.strip()
        if first < 0:
            blocks.append(_Block(info, _body(text, opener, len(text) + 1)))
            break
        if end < 0:
            end = first
        closer = fences.get(end)
        assert closer is not None
        blocks.append(_Block(info, _body(text, opener, closer.start)))
        index = end + 1
    return blocks


def _body(text: str, opener: _Fence, closer_start: int) -> str:
    """The text between the opener's line and the closer's line, the fence indent removed."""
    body = text[opener.end + 1 : max(opener.end + 1, closer_start - 1)]
    if opener.indent:
        body = "\n".join(_dedent(line, opener.indent) for line in body.split("\n"))
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
