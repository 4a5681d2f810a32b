"""How the library marks text for emphasis without knowing about terminals.

Report functions take a :data:`Styler` and call it with a role (``"error"``, ``"ok"``...);
the library's default, :func:`plain`, returns the text as is. Only the command line turns
roles into colour (``jaunt.promptkit.cli.style``), and only on a terminal without
``NO_COLOR``, so no colour code is ever produced by the library itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Role = Literal["ok", "error", "warning", "dim", "bold"]
Styler = Callable[[str, Role], str]


def plain(text: str, role: Role) -> str:
    """The library's styler: no emphasis at all."""
    return text
