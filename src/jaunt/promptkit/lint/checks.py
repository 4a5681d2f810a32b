"""The checks behind the rules: one template at a time, and one kind (system + module) at a time."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from jaunt.promptkit.lint import phrases
from jaunt.promptkit.lint.findings import Finding
from jaunt.promptkit.lint.rules import rule
from jaunt.promptkit.messages import PLACEHOLDER_NAMES
from jaunt.promptkit.template_set import TEMPLATE_NAMES, TemplateName
from jaunt.templates import Placeholder, scan

Kind = Literal["build", "test"]

_REQUIRED: dict[TemplateName, tuple[str, ...]] = {
    "build_system": (),
    "test_system": (),
    "build_module": ("generated_module", "expected_names", "specs_block", "error_context_block"),
    "test_module": (
        "generated_module",
        "expected_names",
        "specs_block",
        "deps_api_block",
        "error_context_block",
    ),
}
_CONTEXT_BLOCKS: dict[TemplateName, tuple[str, ...]] = {
    "build_module": ("deps_api_block", "deps_generated_block"),
    "test_module": ("deps_generated_block",),
}
_WHY_REQUIRED = {
    "generated_module": "the model is not told which module it writes",
    "expected_names": "the model is not given the names it must define",
    "specs_block": "the model never sees the specs",
    "deps_api_block": "the model is not told where to import the code under test from",
    "error_context_block": "a retry cannot tell the model what was wrong",
    "deps_generated_block": "the model does not see the previously generated modules",
}
_WHY_CONTEXT = {
    "deps_api_block": "the model does not see the dependency APIs it may call",
    "deps_generated_block": "the model does not see the previously generated modules",
}

_KNOWN = "|".join(PLACEHOLDER_NAMES)
_LOOKALIKES = (
    (re.compile(rf"(?<![{{\\$])\{{[ \t]*({_KNOWN})[ \t]*\}}(?!\}})"), "str.format-style"),
    (re.compile(rf"\$\{{[ \t]*({_KNOWN})[ \t]*\}}"), "string.Template-style"),
    # An odd number of backslashes escapes the braces; an even number is literal backslashes.
    (re.compile(rf"(?<!\\)(?:\\\\)*\\\{{\{{[ \t]*({_KNOWN})[ \t]*\}}\}}"), "escaped"),
)


@dataclass(frozen=True)
class Source:
    """One template's text, where it came from, and its role (``None`` when unknown)."""

    path: str
    text: str
    role: TemplateName | None


def kind_of(role: TemplateName) -> Kind:
    return "build" if role.startswith("build") else "test"


def role_for(kind: Kind, part: Literal["system", "module"]) -> TemplateName:
    return next(n for n in TEMPLATE_NAMES if n == f"{kind}_{part}")


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset``."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def check_template(src: Source) -> list[Finding]:
    """Every single-template rule that applies to ``src``'s role."""
    found = scan(src.text, src.path)
    findings = [rule("JP001").finding(src.path, e.line, e.column, e.message) for e in found.errors]
    occurrences = found.placeholders
    findings += _unknown_placeholders(src.path, occurrences)
    findings += _repeated_blocks(src.path, occurrences)
    findings += _lookalikes(src)
    role = src.role
    if role is None:
        return findings
    if role.endswith("_system"):
        findings += (
            rule("JP007").finding(
                src.path,
                p.line,
                p.column,
                f"placeholder {p.raw} in the {role} template: a per-module system prompt "
                "defeats prompt caching",
            )
            for p in occurrences
        )
    else:
        findings += _module_placeholders(src, role, occurrences)
    findings += _contradictions(src, kind_of(role))
    return findings


def _unknown_placeholders(path: str, occurrences: Iterable[Placeholder]) -> list[Finding]:
    findings = []
    for p in occurrences:
        if p.name in PLACEHOLDER_NAMES:
            continue
        close = difflib.get_close_matches(p.name.lower(), PLACEHOLDER_NAMES, n=1, cutoff=0.6)
        hint = (
            f"did you mean {{{{{close[0]}}}}}?"
            if close
            else f"jaunt fills only {', '.join(PLACEHOLDER_NAMES)}"
        )
        findings.append(
            rule("JP002").finding(path, p.line, p.column, f"unknown placeholder {p.raw}: {hint}")
        )
    return findings


def _repeated_blocks(path: str, occurrences: Iterable[Placeholder]) -> list[Finding]:
    first: dict[str, Placeholder] = {}
    findings = []
    for p in occurrences:
        if not p.name.endswith("_block"):
            continue
        if p.name not in first:
            first[p.name] = p
            continue
        was = first[p.name]
        findings.append(
            rule("JP006").finding(
                path,
                p.line,
                p.column,
                f"{{{{{p.name}}}}} is used again (first at line {was.line}, column "
                f"{was.column}): its tokens are paid twice",
            )
        )
    return findings


def _lookalikes(src: Source) -> list[Finding]:
    findings = []
    for pattern, style in _LOOKALIKES:
        for m in pattern.finditer(src.text):
            line, column = position(src.text, m.start())
            findings.append(
                rule("JP009").finding(
                    src.path,
                    line,
                    column,
                    f"{style} {m.group(0)!r} reaches the model as literal text; write "
                    f"{{{{{m.group(1)}}}}} to fill it in",
                )
            )
    return findings


def _module_placeholders(
    src: Source, role: TemplateName, occurrences: tuple[Placeholder, ...]
) -> list[Finding]:
    used = {p.name for p in occurrences}
    findings = [
        rule("JP003").finding(
            src.path,
            1,
            1,
            f"the {role} template does not use {{{{{name}}}}}: {_WHY_REQUIRED[name]}",
        )
        for name in _REQUIRED[role]
        if name not in used
    ]
    findings += (
        rule("JP004").finding(
            src.path,
            1,
            1,
            f"the {role} template does not use {{{{{name}}}}}: {_WHY_CONTEXT[name]}",
        )
        for name in _CONTEXT_BLOCKS[role]
        if name not in used
    )
    for p in occurrences:
        if p.name != "error_context_block":
            continue
        stripped = src.text[p.offset + len(p.raw) :].lstrip()
        if stripped:
            line, column = position(src.text, len(src.text) - len(stripped))
            findings.append(
                rule("JP005").finding(
                    src.path,
                    p.line,
                    p.column,
                    f"{p.raw} must be the last thing in the template, but text follows at "
                    f"line {line}, column {column}: a retry would change more than the tail",
                )
            )
    return findings


def _contradictions(src: Source, kind: Kind) -> list[Finding]:
    if kind == "build":
        code, pattern, what = "JP013", phrases.ASKS_FOR_TESTS, "asks for tests"
        why = "tests belong in the test templates"
    else:
        code, pattern, what = "JP014", phrases.ASKS_FOR_IMPLEMENTATION, "asks for implementation"
        why = "generated tests must import the code under test"
    findings = []
    for m in phrases.requests(pattern, src.text):
        line, column = position(src.text, m.start())
        findings.append(
            rule(code).finding(
                src.path, line, column, f"{kind} template {what} ({m.group(0)!r}): {why}"
            )
        )
    return findings


_INSTRUCTIONS = (
    (
        "JP010",
        phrases.CODE_ONLY,
        "demands code-only output (e.g. 'Output Python code only, no Markdown fences')",
    ),
    (
        "JP011",
        phrases.REQUIRED_NAMES,
        "tells the model to define the required names (e.g. "
        "'Define every required top-level name')",
    ),
    (
        "JP012",
        phrases.NEVER_EDIT_USER_FILES,
        "says never to edit user files (e.g. 'Never edit the user's files')",
    ),
)


_TEST_IMPORT_RULES = (
    (
        "JP015",
        phrases.IMPORT_FROM_DEPENDENCY_MODULES,
        "says to import the code under test from the modules the dependency APIs name",
    ),
    (
        "JP015",
        phrases.NO_IMPORT_FROM_GENERATED_OR_SPEC,
        "forbids importing from the generated module or the test spec module",
    ),
    (
        "JP015",
        phrases.NO_GUESSED_MODULES,
        "forbids guessing module names such as `app` or `main` (e.g. 'Do not guess ...')",
    ),
)


def check_kind(system: Source, module: Source, *, report_at: str) -> list[Finding]:
    """The instruction rules, on the pair of templates one request is made of."""
    kind = kind_of(system.role or "build_system")
    findings = []
    rules = _INSTRUCTIONS + (_TEST_IMPORT_RULES if kind == "test" else ())
    for code, pattern, what in rules:
        if not phrases.mentions(pattern, system.text, module.text):
            findings.append(
                rule(code).finding(
                    report_at, 1, 1, f"neither {kind}_system nor {kind}_module {what}"
                )
            )
    return findings


def suggest_template_name(stem: str) -> str | None:
    close = difflib.get_close_matches(stem.lower(), TEMPLATE_NAMES, n=1, cutoff=0.6)
    return close[0] if close else None
