"""The preview page's data: every fixture of every shown set, as one JSON-ready document.

The document is rebuilt from the authoring sessions after each :class:`ChangeEvent` the
watcher hands over, and the page draws it whole. It holds only what the page shows: rendered
message texts, token counts, lint findings, errors, the cacheable prefix and which lines the
last change touched. Nothing from the config's ``[llm]`` table (API key variable, base URL)
is read here, so no secret can reach the page.
"""

from __future__ import annotations

import difflib
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jaunt.promptkit.files import display_path
from jaunt.promptkit.lint import Finding
from jaunt.promptkit.prefix import CACHE_MINIMUM_TOKENS, PrefixReport
from jaunt.promptkit.report import lint_status
from jaunt.promptkit.session import KINDS, AuthoringSession, Failed, Kind, LoadedSet, Rendered
from jaunt.promptkit.watch import ChangeEvent

Json = dict[str, Any]
# Above this many (old lines x new lines) a message's changed lines are found position by
# position instead of by difflib (whose worst case is quadratic).
_MAX_DIFF_CELLS = 4_000_000


@dataclass
class PreviewState:
    """The sessions shown (the first is the main set; a second one is ``--compare``).

    :meth:`update` is called from each session's watcher thread, and rebuilds only that
    session's column of the document: a session is read only by the thread that changes it,
    never while the other watcher is mid-change. The lock keeps one update at a time;
    ``version`` grows by one per update so the page can tell new from old.
    """

    sessions: Sequence[AuthoringSession]
    root: Path
    version: int = 0
    last_change: Json | None = None
    # (set index, fixture) -> message contents last shown, and the lines the last change touched.
    _shown: dict[tuple[int, str], list[str]] = field(default_factory=dict)
    _changed: dict[tuple[int, str], list[list[int]]] = field(default_factory=dict)
    _columns: dict[int, tuple[Json, list[Json]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, index: int, event: ChangeEvent) -> Json:
        """Take one watcher event of session ``index``; returns the new document."""
        with self._lock:
            if event.paths:
                # Highlights show what the latest save did to this set, nothing older.
                self._changed = {k: v for k, v in self._changed.items() if k[0] != index}
            changed: list[str] = []
            for outcome in event.outcomes:
                if isinstance(outcome, Rendered) and self._note_change(
                    index, outcome, highlight=bool(event.paths)
                ):
                    changed.append(outcome.name)
            for name in event.removed:
                self._shown.pop((index, name), None)
            if event.paths or event.errors:
                self.last_change = {
                    "set": self.sessions[index].source.name,
                    "paths": [self._show(p) for p in event.paths],
                    "fixtures": len(event.outcomes),
                    "changed": changed,
                    "failed": sum(isinstance(o, Failed) for o in event.outcomes),
                    "removed": list(event.removed),
                    "errors": list(event.errors),
                    "render_ms": round(event.render_ms, 1),
                    "since_save_ms": (
                        None if event.since_save_ms is None else round(event.since_save_ms, 1)
                    ),
                    "at": time.strftime("%H:%M:%S"),
                }
            self.version += 1
            self._columns[index] = self._column(index)
            return self._assemble()

    def document(self) -> Json:
        """The document as of the last update (columns never updated are built now)."""
        with self._lock:
            for index in range(len(self.sessions)):
                if index not in self._columns:
                    self._columns[index] = self._column(index)
            return self._assemble()

    # --- changes --------------------------------------------------------------------------

    def _note_change(self, index: int, rendered: Rendered, *, highlight: bool) -> bool:
        """Remember the messages shown; with ``highlight``, mark changed lines (True if any)."""
        key = (index, rendered.name)
        now = [m["content"] for m in rendered.messages]
        before = self._shown.get(key)
        self._shown[key] = now
        if not highlight or before is None or before == now:
            return False
        self._changed[key] = [
            changed_lines(before[i] if i < len(before) else "", content)
            for i, content in enumerate(now)
        ]
        return True

    # --- the document ---------------------------------------------------------------------

    def _column(self, index: int) -> tuple[Json, list[Json]]:
        """Session ``index``'s column, and its fixtures' names, kinds and paths in order."""
        session = self.sessions[index]
        loaded = session.current_set()
        prefixes = {r.kind: r for r in session.prefix_reports()}
        ends = {kind: _prefix_end(session, kind, prefixes.get(kind)) for kind in KINDS}
        fixtures: dict[str, Json] = {}
        listed: list[Json] = []
        for outcome in list(session.outcomes.values()):
            path = outcome.fixture.path if isinstance(outcome, Rendered) else outcome.path
            listed.append(
                {"name": outcome.name, "kind": outcome.kind or "?", "path": self._show(path)}
            )
            fixtures[outcome.name] = self._fixture(index, session, loaded, outcome, ends)
        column = {
            "set": session.source.name,
            "errors": [e.one_line(self._show) for kind in KINDS for e in loaded.kind_errors(kind)],
            "prefix": {kind: _prefix_summary(r, session) for kind, r in sorted(prefixes.items())},
            "fixtures": fixtures,
        }
        return column, listed

    def _assemble(self) -> Json:
        listed: dict[str, Json] = {}
        for index in sorted(self._columns):
            for entry in self._columns[index][1]:
                listed.setdefault(entry["name"], entry)
        tokenizer = self.sessions[0].tokenizer
        return {
            "version": self.version,
            "root": str(self.root),
            "tokenizer": tokenizer.label,
            "exact_tokens": tokenizer.exact,
            "cache_minimum": CACHE_MINIMUM_TOKENS,
            "last_change": self.last_change,
            "fixtures": list(listed.values()),
            "sets": [self._columns[i][0] for i in sorted(self._columns)],
        }

    def _fixture(
        self,
        index: int,
        session: AuthoringSession,
        loaded: LoadedSet,
        outcome: Rendered | Failed,
        ends: dict[Kind, tuple[int, int] | None],
    ) -> Json:
        findings = loaded.kind_findings(outcome.kind) if outcome.kind else []
        base: Json = {"lint": lint_status(findings) if outcome.kind else "-"}
        if isinstance(outcome, Failed):
            return {**base, "ok": False, "errors": list(outcome.errors), "messages": []}
        tokenizer = session.tokenizer
        end = ends[outcome.kind]
        changed = self._changed.get((index, outcome.name), [])
        last = len(outcome.messages) - 1
        messages = []
        for i, message in enumerate(outcome.messages):
            messages.append(
                {
                    "role": message["role"],
                    "content": message["content"],
                    "tokens": tokenizer.format(tokenizer.count(message["content"])),
                    "prefix_chars": _prefix_chars(end, i, message["content"]),
                    "findings": [
                        self._finding(f)
                        for f in findings
                        if _message_of(loaded, outcome.kind, f, last) == i
                    ],
                    "changed": changed[i] if i < len(changed) else [],
                }
            )
        return {
            **base,
            "ok": True,
            "errors": [],
            "chars": f"{outcome.chars:,}",
            "tokens": tokenizer.format(len(outcome.tokens)),
            "messages": messages,
        }

    def _finding(self, finding: Finding) -> Json:
        return {
            "where": f"{self._show(finding.path)}:{finding.line}:{finding.column}",
            "code": finding.code,
            "severity": finding.severity,
            "message": finding.message,
        }

    def _show(self, path: str | os.PathLike[str]) -> str:
        return display_path(path, self.root)


def changed_lines(before: str, after: str) -> list[int]:
    """0-based numbers of the lines of ``after`` a change inserted or replaced.

    A pure deletion marks the line that now stands where the deleted lines were, so that
    removing a line is visible too.
    """
    old, new = before.split("\n"), after.split("\n")
    if len(old) * len(new) > _MAX_DIFF_CELLS:
        # Huge messages: compare line by line at equal positions, in linear time, rather
        # than let the diff's worst case stall the watcher thread.
        return [i for i, line in enumerate(new) if i >= len(old) or old[i] != line]
    marked: set[int] = set()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            marked.update(range(j1, j2))
        elif tag == "delete" and new:
            marked.add(min(j1, len(new) - 1))
    return sorted(marked)


def _message_of(loaded: LoadedSet, kind: Kind, finding: Finding, last: int) -> int:
    """The message a template's finding affects: the system message, else the module one."""
    system = loaded.source.path_of("build_system" if kind == "build" else "test_system")
    try:
        same = Path(finding.path).resolve() == system.resolve()
    except OSError:
        same = False
    return 0 if same else last


def _prefix_end(
    session: AuthoringSession, kind: Kind, report: PrefixReport | None
) -> tuple[int, int] | None:
    """Where the shared prefix of the ``kind`` requests ends: (message index, character).

    ``None`` when fewer than two fixtures of the kind rendered (nothing to share with). The
    token-level report says which message the prefix ends in; inside that message the
    boundary is the longest common start of its text across the requests. Identical
    requests share everything: the end is past the last message.
    """
    rendered = [o for o in session.outcomes.values() if isinstance(o, Rendered) and o.kind == kind]
    if report is None or report.requests < 2 or len(rendered) < 2:
        return None
    if report.ends_at is None:
        return (max(len(r.messages) for r in rendered), 0)
    end = report.ends_at.index
    texts = [r.messages[end]["content"] for r in rendered if len(r.messages) > end]
    shared = _common_start(texts) if len(texts) == len(rendered) else 0
    return (end, shared)


def _common_start(texts: Sequence[str]) -> int:
    """How many leading characters every text shares (character by character on purpose)."""
    first, shortest = texts[0], min(len(t) for t in texts)
    for i in range(shortest):
        if any(t[i] != first[i] for t in texts[1:]):
            return i
    return shortest


def _prefix_chars(end: tuple[int, int] | None, index: int, content: str) -> int | None:
    """How many leading characters of message ``index`` lie in the shared prefix."""
    if end is None:
        return None
    if index < end[0]:
        return len(content)
    return end[1] if index == end[0] else 0


def _prefix_summary(report: PrefixReport, session: AuthoringSession) -> Json:
    return {
        "requests": report.requests,
        "shared_tokens": session.tokenizer.format(report.shared_tokens),
        "cacheable": report.reaches_minimum,
        "text": report.describe(session.tokenizer, lambda p: display_path(p)),
    }
