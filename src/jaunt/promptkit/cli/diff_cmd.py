"""``jaunt-prompts diff [BASE [HEAD]]``: what a prompt change does, without calling a model.

Renders every fixture with every set of the project at BASE (a git revision, default
``HEAD``) and at HEAD (a revision, default the working tree), and reports the changed
messages as unified diffs, the tokens per fixture before and after, the shared prefix per
kind (what a provider caches across modules) and the cost effect for a number of builds.
Exit 0; 1 with ``--exit-code`` when a message changed, or with ``--fail-on-cache-break``
when a shared prefix changed or fell below the cache minimum; 2 on usage or I/O errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from jaunt.promptkit.cli.common import (
    add_encoding_option,
    add_project_options,
    project_from_args,
    usage_error,
)
from jaunt.promptkit.cli.main import EXIT_FINDINGS, EXIT_OK
from jaunt.promptkit.pricing import DEFAULT_PRICED_MODEL

DEFAULT_BUILDS = 100


def add_parser(subparsers: Any) -> None:

    parser = subparsers.add_parser(
        "diff",
        help="compare the rendered prompts of two git revisions (or a revision and the "
        "working tree): diffs, tokens, shared prefix, cost",
        description=(
            "Render every fixture with every template set at BASE (default HEAD) and at HEAD "
            "(default: the working tree, uncommitted changes included) and report what "
            "changed: unified diffs per message, input tokens per fixture, the shared prefix "
            "per kind (what a provider can cache) and the cost effect. No model call, no "
            "network."
        ),
    )
    parser.add_argument("base", nargs="?", default="HEAD", metavar="BASE", help="git revision")
    parser.add_argument(
        "head", nargs="?", default=None, metavar="HEAD", help="git revision (default: working tree)"
    )
    add_project_options(parser, choose_set=False)
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument(
        "--exit-code",
        action="store_true",
        help="exit 1 when any rendered message changed or a fixture fails to render",
    )
    parser.add_argument(
        "--fail-on-cache-break",
        action="store_true",
        help="exit 1 when a shared prefix changed or fell below the cache minimum (with "
        "[prompts] cache_contract = true also when any system message changed)",
    )
    parser.add_argument(
        "--model",
        help=f"price the change for this model (default: [llm] model if priced, else "
        f"{DEFAULT_PRICED_MODEL})",
    )
    parser.add_argument(
        "--builds",
        type=int,
        default=DEFAULT_BUILDS,
        metavar="N",
        help=f"builds to price (default: {DEFAULT_BUILDS})",
    )
    add_encoding_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jaunt.promptkit.errors import ConfigError, FixtureError, ProjectError
    from jaunt.promptkit.pricing import project_price_table
    from jaunt.promptkit.review import diff_project
    from jaunt.promptkit.review_report import markdown_report, text_report
    from jaunt.promptkit.tokens import get_tokenizer

    if args.builds < 0:
        return usage_error("diff", "--builds must not be negative")
    try:
        project = project_from_args(args)
        table = project_price_table(project.config)
        model = args.model
        if model is None:
            configured = project.config.llm.model if project.config and project.config.llm else ""
            model = configured if configured in table else DEFAULT_PRICED_MODEL
        price = table.get(model)
        diff = diff_project(
            project,
            get_tokenizer(args.encoding),
            base=args.base,
            head=args.head,
            price=price,
            builds=args.builds,
        )
    except (ProjectError, ConfigError, FixtureError) as exc:
        return usage_error("diff", exc)
    contract = bool(project.config and project.config.cache_contract)
    system_changed = any(c.role == "system" for c in diff.changes)
    cache_break = diff.cache_broken or (contract and system_changed)
    if args.format == "json":
        document = diff.to_json()
        document["cache_contract"] = contract
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif args.format == "markdown":
        text = markdown_report(diff)
        if contract and system_changed:
            text += "\n**Cache contract broken: a system message changed.**\n"
        sys.stdout.write(text)
    else:
        for line in text_report(diff):
            print(line)
        if contract:
            state = "BROKEN (a system message changed)" if system_changed else "kept"
            print(f"cache contract ([prompts] cache_contract = true): {state}")
    if args.exit_code and diff.changed:
        return EXIT_FINDINGS
    if args.fail_on_cache_break and cache_break:
        return EXIT_FINDINGS
    return EXIT_OK
