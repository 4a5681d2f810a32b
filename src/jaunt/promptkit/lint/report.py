"""Output formats of ``jaunt-prompts lint``: text, JSON and GitHub workflow annotations."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, replace
from typing import Literal

from jaunt.promptkit.files import display_path
from jaunt.promptkit.lint.findings import Finding
from jaunt.promptkit.lint.rules import Rule
from jaunt.promptkit.styling import Styler, plain

OutputFormat = Literal["text", "json", "github"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("text", "json", "github")


def relative_to(findings: Iterable[Finding], cwd: str | os.PathLike[str]) -> list[Finding]:
    """Findings with paths under ``cwd`` made relative to it (others stay as they are)."""
    return [replace(f, path=display_path(f.path, cwd)) for f in findings]


def format_text(findings: Iterable[Finding], *, style: Styler = plain) -> Iterator[str]:
    """``path:line:col: CODE message`` lines; warnings end in ``(warning)``."""
    for f in findings:
        suffix = " (warning)" if f.severity == "warning" else ""
        where = style(f"{f.path}:{f.line}:{f.column}:", "bold")
        code = style(f.code, "error" if f.severity == "error" else "warning")
        yield f"{where} {code} {f.message}{suffix}"


def format_json(findings: Iterable[Finding]) -> str:
    """A JSON list of ``{path, line, column, code, severity, message}`` objects."""
    return json.dumps([asdict(f) for f in findings], indent=2, ensure_ascii=False)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(findings: Iterable[Finding]) -> Iterator[str]:
    """GitHub Actions workflow commands: ``::error file=..,line=..,col=..,title=CODE::msg``."""
    for f in findings:
        props = ",".join(
            (
                f"file={_escape_property(f.path)}",
                f"line={f.line}",
                f"col={f.column}",
                f"title={_escape_property(f.code)}",
            )
        )
        yield f"::{f.severity} {props}::{_escape_data(f.message)}"


def summary(findings: Sequence[Finding], files: int) -> str:
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    checked = f"{files} template file{'s' if files != 1 else ''} checked"
    if not findings:
        return f"All checks passed ({checked})."
    parts = [f"{errors} error{'s' if errors != 1 else ''}"]
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return f"Found {' and '.join(parts)} ({checked})."


def rule_table(rules: Iterable[Rule]) -> Iterator[str]:
    for r in rules:
        yield f"{r.code}  {r.severity:<7}  {r.name:<36}  {r.summary}"


def explain(r: Rule) -> str:
    return f"{r.code} {r.name} ({r.severity}; applies to {r.applies_to})\n\n{r.summary}\n\n{r.doc}"


def rules_markdown(rules: Iterable[Rule]) -> str:
    """The rule reference as Markdown (``docs/lint-rules.md`` is this text; a test keeps it so)."""
    out = [
        "# `jaunt-prompts lint` rules",
        "",
        "Generated from `jaunt.promptkit.lint.rules`; regenerate with "
        "`uv run jaunt-prompts lint --list-rules --format markdown > docs/lint-rules.md`.",
        "",
        "| Code | Name | Severity | Applies to | Summary |",
        "| --- | --- | --- | --- | --- |",
    ]
    rules = list(rules)
    out += (
        f"| {r.code} | `{r.name}` | {r.severity} | {r.applies_to} | {r.summary} |" for r in rules
    )
    for r in rules:
        out += ["", f"## {r.code} `{r.name}` ({r.severity})", "", r.doc]
    return "\n".join(out) + "\n"
