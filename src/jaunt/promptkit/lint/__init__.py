"""Linting prompt templates: placeholder rules, instruction rules, file problems.

Public API (``jaunt-prompts lint`` and ``render`` are built on it)::

    lint_text(text, path=..., template_name=None)  # one template's text
    lint_file(path, template_name=None)            # one file; the role comes from its name
    lint_template_set(ts)                          # a loaded TemplateSet
    lint_set_dir(directory)                        # an override directory, file by file
    lint_prompts_config(prompts)                   # the [prompts] files of jaunt.toml

Every function returns a sorted list of :class:`Finding`; none raises on bad input (an
unreadable file is a ``JP020`` finding). A template linted without its partner of the same
kind is paired with the packaged one for the instruction rules, because that is what jaunt
would send.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from jaunt.promptkit.errors import TemplateFileError
from jaunt.promptkit.lint.checks import (
    Source,
    check_kind,
    check_template,
    kind_of,
    role_for,
    suggest_template_name,
)
from jaunt.promptkit.lint.findings import Finding, Severity
from jaunt.promptkit.lint.rules import RULES, Rule, find_rule, rule
from jaunt.promptkit.settings import PromptsConfig
from jaunt.promptkit.template_set import (
    TEMPLATE_NAMES,
    SetSource,
    TemplateName,
    TemplateSet,
    load_packaged_set,
    read_template_text,
)

__all__ = [
    "RULES",
    "Finding",
    "Rule",
    "Severity",
    "find_rule",
    "has_errors",
    "lint_file",
    "lint_prompts_config",
    "lint_set_dir",
    "lint_set_source",
    "lint_template_set",
    "lint_text",
    "template_name_of",
]


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def template_name_of(path: str | os.PathLike[str]) -> TemplateName | None:
    """The role a file plays by its name (``build_system.md`` -> ``build_system``), if any."""
    p = Path(path)
    if p.suffix != ".md":
        return None
    return next((n for n in TEMPLATE_NAMES if n == p.stem), None)


def lint_text(text: str, *, path: str, template_name: TemplateName | None) -> list[Finding]:
    """Lint one template's text; ``template_name=None`` runs only the role-free rules."""
    src = Source(path, text, template_name)
    findings = check_template(src)
    if template_name is not None:
        findings += _check_pair({template_name: src}, report_at=path)
    return sorted(set(findings))


def lint_file(
    path: str | os.PathLike[str], *, template_name: TemplateName | None = None
) -> list[Finding]:
    """Lint one file; its role is ``template_name`` or else inferred from the file name."""
    role = template_name or template_name_of(path)
    src = _read(str(path), role)
    if isinstance(src, Finding):
        return [src]
    return lint_text(src.text, path=src.path, template_name=role)


def lint_template_set(ts: TemplateSet) -> list[Finding]:
    """Lint the four templates of a loaded set, and each kind's system + module pair."""
    packaged = load_packaged_set()
    sources: dict[TemplateName, Source] = {}
    custom: set[TemplateName] = set()
    for name in TEMPLATE_NAMES:
        template = ts.templates[name]
        sources[name] = Source(ts.path_of(name), template.text, name)
        if template is not packaged.templates[name]:
            custom.add(name)
    findings: list[Finding] = []
    for name in TEMPLATE_NAMES:
        findings += check_template(sources[name])
    for kind in ("build", "test"):
        system, module = role_for(kind, "system"), role_for(kind, "module")
        at = module if module in custom and system not in custom else system
        findings += _check_pair(
            {system: sources[system], module: sources[module]}, report_at=sources[at].path
        )
    return sorted(set(findings))


def lint_set_dir(directory: str | os.PathLike[str]) -> list[Finding]:
    """Lint an override set directory: each ``*.md`` in it, and the pairs jaunt would use.

    Templates the directory lacks fall back to the packaged defaults, as when jaunt loads it.
    A ``*.md`` file that is not one of the four template names is linted with the role-free
    rules and reported as ``JP008``.
    """
    root = Path(directory)
    if not root.is_dir():
        return [rule("JP020").finding(str(root), 1, 1, "template set directory not found")]
    findings: list[Finding] = []
    paths: dict[TemplateName, str] = {}
    for file in sorted(root.glob("*.md")):
        role = template_name_of(file)
        if role is not None:
            paths[role] = str(file)
            continue
        suggestion = suggest_template_name(file.stem)
        hint = f": did you mean {suggestion}.md?" if suggestion else ""
        findings.append(
            rule("JP008").finding(
                str(file),
                1,
                1,
                f"{file.name} is not a template name and is ignored{hint} (jaunt reads "
                + ", ".join(f"{n}.md" for n in TEMPLATE_NAMES)
                + ")",
            )
        )
        findings += lint_file(file)
    return sorted(set(findings + _lint_paths(paths)))


def lint_set_source(source: SetSource) -> list[Finding]:
    """Lint the files a set is made of: its folder, its ``[prompts]`` paths, or the packaged set."""
    if source.directory is not None:
        return lint_set_dir(source.directory)
    if source.prompts is not None:
        return lint_prompts_config(source.prompts)
    return lint_template_set(load_packaged_set())


def lint_prompts_config(prompts: PromptsConfig) -> list[Finding]:
    """Lint the override files ``[prompts]`` names, paired with packaged defaults elsewhere."""
    paths: dict[TemplateName, str] = {}
    for name in TEMPLATE_NAMES:
        path: str = getattr(prompts, name)
        if path:
            paths[name] = path
    return _lint_paths(paths)


def _lint_paths(paths: Mapping[TemplateName, str]) -> list[Finding]:
    findings: list[Finding] = []
    sources: dict[TemplateName, Source] = {}
    for name, path in paths.items():
        src = _read(path, name)
        if isinstance(src, Finding):
            findings.append(src)
        else:
            sources[name] = src
            findings += check_template(src)
    for kind in ("build", "test"):
        system, module = role_for(kind, "system"), role_for(kind, "module")
        unreadable = {system, module} & (set(paths) - set(sources))
        pair = {n: sources[n] for n in (system, module) if n in sources}
        if pair and not unreadable:
            at = sources[system].path if system in pair else sources[module].path
            findings += _check_pair(pair, report_at=at)
    return sorted(set(findings))


def _check_pair(given: Mapping[TemplateName, Source], *, report_at: str) -> list[Finding]:
    """Instruction rules for the kind of ``given``; a missing partner is the packaged one."""
    kind = kind_of(next(iter(given)))
    packaged = load_packaged_set()

    def source(part: Literal["system", "module"]) -> Source:
        name = role_for(kind, part)
        if name in given:
            return given[name]
        template = packaged.templates[name]
        return Source(packaged.path_of(name), template.text, name)

    return check_kind(source("system"), source("module"), report_at=report_at)


def _read(path: str, role: TemplateName | None) -> Source | Finding:
    try:
        return Source(path, read_template_text(path), role)
    except TemplateFileError as exc:
        return rule("JP020").finding(path, exc.line, exc.column, exc.message)
