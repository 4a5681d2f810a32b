"""Markdown building blocks shared by the message renderer and the retry context.

``normalise_text`` makes a text block deterministic (``\\n`` line endings, no trailing
whitespace, no leading or trailing blank lines); ``fenced`` puts it in a backtick fence
that nothing inside it can close.
"""

from __future__ import annotations

import re

_BACKTICK_RUN = re.compile(r"`{3,}")


def normalise_text(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def fenced(text: str, info: str = "python") -> str:
    """``text`` in a backtick fence that nothing inside it can close."""
    body = normalise_text(text)
    longest = max((len(m.group(0)) for m in _BACKTICK_RUN.finditer(body)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"
