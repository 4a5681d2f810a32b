"""``jaunt-prompts init [DIR]``: scaffold a prompt project (config, set, fixture, test)."""

from __future__ import annotations

import argparse
from typing import Any

from jaunt.promptkit.cli.common import usage_error
from jaunt.promptkit.cli.main import EXIT_OK
from jaunt.promptkit.errors import ProjectError
from jaunt.promptkit.files import display_path


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "init",
        help="scaffold a prompt project: jaunt.toml, a template set, a fixture, a test",
        description=(
            "Write a working prompt project into DIR (default: here): jaunt.toml whose "
            "[prompts] points at a copy of the packaged templates in prompts/NAME/, an example "
            "fixture, and a pytest file with its snapshot. Refuses to overwrite any file."
        ),
    )
    parser.add_argument("directory", nargs="?", default=".", metavar="DIR")
    parser.add_argument(
        "--name", default="main", metavar="NAME", help="the set's folder name (default: main)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jaunt.promptkit.scaffold import init_project

    try:
        scaffold = init_project(args.directory, set_name=args.name)
    except (ProjectError, OSError) as exc:
        return usage_error("init", exc)
    for path in scaffold.files:
        print(f"created {display_path(path)}")
    where = display_path(scaffold.root)
    step = "" if where == "." else f"cd {where} && "
    print(f"next: {step}jaunt-prompts render && jaunt-prompts lint && pytest")
    return EXIT_OK
