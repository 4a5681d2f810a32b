"""``jaunt-prompts preview``: every fixture's rendered messages on a local page, live.

:class:`PreviewServer` serves the page; :class:`PreviewState` turns the watcher's change
events into the document the page draws. Importing this package starts nothing and imports
no ``watchfiles`` (the watcher imports it when it runs).
"""

from jaunt.promptkit.preview.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    PreviewError,
    PreviewServer,
    allowed_hosts,
    check_bind_host,
    is_loopback,
)
from jaunt.promptkit.preview.state import PreviewState, changed_lines

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "PreviewError",
    "PreviewServer",
    "PreviewState",
    "allowed_hosts",
    "changed_lines",
    "check_bind_host",
    "is_loopback",
]
