"""``jaunt-prompts lint``: check prompt templates for placeholder and instruction problems.

With no PATH it lints the packaged templates, every set directory under ``./prompts/`` and
the ``[prompts]`` overrides of ``./jaunt.toml``. A PATH may be a template file, a set
directory (its ``*.md`` files), or a directory of set directories such as ``prompts/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jaunt.promptkit.cli.common import add_project_options, project_from_args
from jaunt.promptkit.cli.main import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from jaunt.promptkit.cli.style import styler_for
from jaunt.promptkit.errors import ConfigError, ProjectError
from jaunt.promptkit.lint import (
    RULES,
    Finding,
    find_rule,
    has_errors,
    lint_file,
    lint_prompts_config,
    lint_set_dir,
    lint_template_set,
)
from jaunt.promptkit.lint.report import (
    OUTPUT_FORMATS,
    explain,
    format_github,
    format_json,
    format_text,
    relative_to,
    rule_table,
    rules_markdown,
    summary,
)
from jaunt.promptkit.project import Project
from jaunt.promptkit.template_set import TEMPLATE_NAMES, load_packaged_set


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lint",
        help="check prompt templates (placeholders, required instructions, files)",
        description=(
            "Lint prompt templates. Without PATH: the packaged templates, every set under "
            "./prompts/ and the [prompts] overrides of ./jaunt.toml. Exit 0 when there are no "
            "errors (warnings allowed), 1 on errors, 2 on usage or I/O errors."
        ),
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="template file, template set directory, or directory of set directories",
    )
    parser.add_argument(
        "--format",
        choices=(*OUTPUT_FORMATS, "markdown"),
        default="text",
        help="text (path:line:col: CODE message), json, or github (workflow annotations); "
        "with --list-rules also markdown",
    )
    parser.add_argument(
        "--list-rules", action="store_true", help="list every rule with its code and exit"
    )
    parser.add_argument("--explain", metavar="CODE", help="show the documentation of one rule")
    add_project_options(parser, choose_set=False)
    parser.set_defaults(func=run)


@dataclass
class _Run:
    findings: list[Finding] = field(default_factory=list)
    files: set[Path] = field(default_factory=set)

    def add_files(self, paths: Iterable[str | Path]) -> None:
        # Resolved, so a file reached both from prompts/ and from jaunt.toml counts once.
        self.files.update(Path(p).resolve() for p in paths)


class _UsageError(Exception):
    pass


def run(args: argparse.Namespace) -> int:
    if args.list_rules:
        if args.format == "github":
            print(
                "jaunt-prompts lint: --list-rules prints text, json or markdown, not github",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if args.format == "json":
            print(json.dumps([asdict(r) for r in RULES.values()], indent=2))
        elif args.format == "markdown":
            print(rules_markdown(RULES.values()), end="")
        else:
            for line in rule_table(RULES.values()):
                print(line)
        return EXIT_OK
    if args.format == "markdown":
        print("jaunt-prompts lint: --format markdown is for --list-rules", file=sys.stderr)
        return EXIT_USAGE
    if args.explain:
        found = find_rule(args.explain)
        if found is None:
            print(f"jaunt-prompts lint: unknown rule {args.explain!r}", file=sys.stderr)
            return EXIT_USAGE
        print(explain(found))
        return EXIT_OK
    try:
        result = _lint_paths(args.paths) if args.paths else _lint_defaults(project_from_args(args))
    except (_UsageError, ConfigError, ProjectError) as exc:
        print(f"jaunt-prompts lint: {exc}", file=sys.stderr)
        return EXIT_USAGE
    findings = sorted(set(relative_to(result.findings, Path.cwd())))
    if args.format == "json":
        print(format_json(findings))
    else:
        lines = (
            format_github(findings)
            if args.format == "github"
            else format_text(findings, style=styler_for(sys.stdout))
        )
        for line in lines:
            print(line)
    print(summary(findings, len(result.files)), file=sys.stderr)
    return EXIT_FINDINGS if has_errors(findings) else EXIT_OK


def _lint_defaults(project: Project) -> _Run:
    result = _Run()
    packaged = load_packaged_set()
    result.findings += lint_template_set(packaged)
    result.add_files(packaged.path_of(n) for n in TEMPLATE_NAMES)
    for set_dir in project.named_set_dirs():
        _add_set_dir(result, set_dir)
    if project.config is not None:
        prompts = project.config.prompts
        result.findings += lint_prompts_config(prompts)
        result.add_files(p for p in (getattr(prompts, n) for n in TEMPLATE_NAMES) if p)
    return result


def _lint_paths(paths: list[str]) -> _Run:
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise _UsageError(", ".join(f"{p}: no such file or directory" for p in missing))
    result = _Run()
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            result.findings += lint_file(path)
            result.add_files([path])
        elif any(path.glob("*.md")):
            _add_set_dir(result, path)
        else:
            set_dirs = sorted(p for p in path.iterdir() if p.is_dir() and any(p.glob("*.md")))
            if not set_dirs:
                raise _UsageError(f"{raw}: no *.md templates in this directory or its sets")
            for set_dir in set_dirs:
                _add_set_dir(result, set_dir)
    return result


def _add_set_dir(result: _Run, set_dir: Path) -> None:
    result.findings += lint_set_dir(set_dir)
    result.add_files(set_dir.glob("*.md"))
