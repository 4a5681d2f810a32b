"""Colour for the command line: the one place that knows ANSI codes and ``NO_COLOR``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

from jaunt.promptkit.styling import Role, Styler, plain

_CODES: dict[Role, str] = {
    "ok": "\x1b[32m",
    "error": "\x1b[31m",
    "warning": "\x1b[33m",
    "dim": "\x1b[2m",
    "bold": "\x1b[1m",
}
_RESET = "\x1b[0m"


def ansi(text: str, role: Role) -> str:
    """``text`` in the colour of ``role`` (empty text stays empty)."""
    return f"{_CODES[role]}{text}{_RESET}" if text else text


def use_color(stream_isatty: bool, environ: Mapping[str, str]) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set to anything non-empty."""
    return stream_isatty and not environ.get("NO_COLOR")


def styler_for(stream: TextIO) -> Styler:
    """:func:`ansi` for a terminal without ``NO_COLOR``, else plain text."""
    return ansi if use_color(stream.isatty(), os.environ) else plain
