"""What ``jaunt-prompts render`` and ``watch`` print: the summary table, problems, prefixes, diffs.

Every function returns lines; emphasis goes through the given styler (plain by default; the
CLI passes colour for a terminal), applied after padding, so columns line up either way.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from jaunt.promptkit.files import display_path
from jaunt.promptkit.lint import Finding
from jaunt.promptkit.prefix import PrefixReport
from jaunt.promptkit.session import Failed, LoadedSet, Outcome, Rendered
from jaunt.promptkit.styling import Role, Styler, plain
from jaunt.promptkit.tokens import Tokenizer

HEADERS = ("fixture", "kind", "set", "chars", "tokens", "lint", "result")
_RIGHT_ALIGNED = {"chars", "tokens"}


def lint_status(findings: Sequence[Finding]) -> str:
    """``ok``, ``2 warnings``, ``1 error, 1 warning``: the lint column of one kind."""
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) or "ok"


def _status_role(status: str) -> Role:
    if "error" in status or status == "FAILED":
        return "error"
    return "warning" if "warning" in status else "ok"


def summary_rows(
    outcomes: Sequence[Outcome], loaded: LoadedSet, tokenizer: Tokenizer
) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for o in outcomes:
        lint = lint_status(loaded.kind_findings(o.kind)) if o.kind else "-"
        if isinstance(o, Rendered):
            tokens = tokenizer.format(len(o.tokens))
            rows.append((o.name, o.kind, o.set_name, f"{o.chars:,}", tokens, lint, "ok"))
        else:
            rows.append((o.name, o.kind or "?", o.set_name, "-", "-", lint, "FAILED"))
    return rows


def summary_table(
    outcomes: Sequence[Outcome], loaded: LoadedSet, tokenizer: Tokenizer, *, style: Styler = plain
) -> list[str]:
    """The table: one row per fixture, columns :data:`HEADERS`."""
    rows = summary_rows(outcomes, loaded, tokenizer)
    widths = [max(len(r[i]) for r in [HEADERS, *rows]) for i in range(len(HEADERS))]

    def line(row: Sequence[str], *, header: bool = False) -> str:
        cells = []
        for i, (head, cell) in enumerate(zip(HEADERS, row, strict=True)):
            padded = cell.rjust(widths[i]) if head in _RIGHT_ALIGNED else cell.ljust(widths[i])
            if not header and head in ("lint", "result"):
                padded = style(padded, _status_role(cell))
            cells.append(padded)
        return "  ".join(cells).rstrip()

    return [line(HEADERS, header=True), *(line(r) for r in rows)]


def finding_lines(findings: Iterable[Finding], *, style: Styler = plain) -> list[str]:
    """``path:line:col: CODE message`` per lint finding (paths relative when under cwd)."""
    lines = []
    for f in findings:
        suffix = " (warning)" if f.severity == "warning" else ""
        where = style(f"{display_path(f.path)}:{f.line}:{f.column}:", "dim")
        lines.append(f"{where} {f.code} {f.message}{suffix}")
    return lines


def failure_lines(outcomes: Iterable[Outcome], *, style: Styler = plain) -> list[str]:
    """``FAILED <fixture>: <path:line:col: message>`` per error of each failed fixture."""
    return [
        f"{style('FAILED', 'error')} {o.name}: {error}"
        for o in outcomes
        if isinstance(o, Failed)
        for error in o.errors
    ]


def problem_lines(
    outcomes: Sequence[Outcome], loaded: LoadedSet, *, style: Styler = plain
) -> list[str]:
    """Lint findings of the set, then every failure."""
    return finding_lines(loaded.findings, style=style) + failure_lines(outcomes, style=style)


def prefix_lines(reports: Sequence[PrefixReport], tokenizer: Tokenizer) -> list[str]:
    if not reports:
        return []
    return [
        f"cacheable prefix (tokens: {tokenizer.label}):",
        *(f"  {r.describe(tokenizer, display_path)}" for r in reports),
    ]


def footer(outcomes: Sequence[Outcome], loaded: LoadedSet) -> str:
    failed = sum(isinstance(o, Failed) for o in outcomes)
    rendered = len(outcomes) - failed
    text = f"{rendered} fixture{'s' if rendered != 1 else ''} rendered with {loaded.source.name}"
    if failed:
        text += f", {failed} failed"
    return text + "."


# --- diffs and files -------------------------------------------------------------------------


def diff_counts(before: str, after: str) -> tuple[int, int]:
    """(lines added, lines removed) from ``before`` to ``after``."""
    added = removed = 0
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm=""):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def diff_totals(pairs: Iterable[tuple[str, str]]) -> tuple[int, int]:
    """:func:`diff_counts` summed over ``(before, after)`` pairs."""
    added = removed = 0
    for before, after in pairs:
        a, d = diff_counts(before, after)
        added, removed = added + a, removed + d
    return added, removed


def diff_excerpt(before: str, after: str, limit: int = 4, width: int = 100) -> Iterator[str]:
    """The first ``limit`` changed lines, ``-old`` / ``+new``, each cut to ``width``.

    A long line is cut around where it differs from its counterpart (the n-th removed line
    of a change pairs with its n-th added line), so the change itself stays visible.
    """
    old, new = before.splitlines(), after.splitlines()
    lines: list[str] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        gone, came = old[i1:i2], new[j1:j2]
        for k, text in enumerate(gone):
            lines.append("-" + _window(text, came[k] if k < len(came) else None, width - 1))
        for k, text in enumerate(came):
            lines.append("+" + _window(text, gone[k] if k < len(gone) else None, width - 1))
        if len(lines) > limit:
            break
    yield from lines[:limit]
    if len(lines) > limit:
        yield "…"


def _window(text: str, other: str | None, width: int) -> str:
    if len(text) <= width:
        return text
    start = 0
    if other is not None:
        same = next(
            (i for i, (a, b) in enumerate(zip(text, other, strict=False)) if a != b),
            min(len(text), len(other)),
        )
        start = max(0, min(same - width // 3, len(text) - width))
    head = "…" if start else ""
    body = text[start + len(head) : start + width - 1]
    return head + body + ("…" if start + width - 1 < len(text) else "")


def snapshot_path(snapshot_dir: Path | None, case_id: str) -> Path | None:
    """The committed snapshot of case ``<set>-<fixture>`` (syrupy's ``test_x[<id>].md``)."""
    if snapshot_dir is None or not snapshot_dir.is_dir():
        return None
    return next(iter(sorted(snapshot_dir.rglob(f"*[[]{case_id}[]].md"))), None)


def write_output(out_dir: Path, rendered: Rendered) -> bool:
    """Write ``<out>/<fixture>.md`` atomically; False when it already held this text.

    Atomic so that an editor reloading the file never sees half of it; bytes exactly as the
    snapshot stores them (no newline translation).
    """
    target = out_dir / f"{rendered.name}.md"
    data = rendered.markdown.encode("utf-8")
    try:
        if target.read_bytes() == data:
            return False
    except OSError:
        pass
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{rendered.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
