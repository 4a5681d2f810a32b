"""Options and helpers the ``jaunt-prompts`` subcommands share.

``add_source_options`` declares how a command picks its template set and fixtures;
``session_from_args`` turns the parsed options into an :class:`AuthoringSession`, raising
:class:`~jaunt.promptkit.session.ProjectError` (exit 2) for input that names nothing real.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from jaunt.promptkit.errors import ConfigError, ProjectError
from jaunt.promptkit.lint.report import use_color
from jaunt.promptkit.session import AuthoringSession, SetSource, resolve_fixtures
from jaunt.promptkit.settings import CONFIG_FILE_NAME, load_config
from jaunt.promptkit.snapshots.cases import set_dirs
from jaunt.promptkit.tokens import DEFAULT_ENCODING, ENCODINGS, ESTIMATE, get_tokenizer

FIXTURES_DIR = "prompt_fixtures"
PROMPTS_DIR = "prompts"


def color_for(stream: TextIO) -> bool:
    """Colour on a terminal unless ``NO_COLOR`` is set."""
    return use_color(stream.isatty(), os.environ)


def add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "fixtures",
        nargs="*",
        metavar="FIXTURE",
        help=f"fixture name (a file stem in the fixtures directory) or path; default: all in "
        f"{FIXTURES_DIR}/",
    )
    parser.add_argument(
        "--fixtures",
        dest="fixtures_dir",
        metavar="DIR",
        help=f"directory of fixture *.toml files (default: ./{FIXTURES_DIR})",
    )
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument(
        "--set", dest="set_name", metavar="NAME", help=f"use the override set ./{PROMPTS_DIR}/NAME/"
    )
    chosen.add_argument(
        "--prompts", dest="prompts_dir", metavar="DIR", help="use the override set in DIR"
    )
    chosen.add_argument(
        "--config",
        metavar="PATH",
        help=f"use the [prompts] of this jaunt.toml (default: ./{CONFIG_FILE_NAME} if present, "
        "else the packaged templates)",
    )
    parser.add_argument("--out", metavar="DIR", help="write <DIR>/<fixture>.md for each fixture")
    parser.add_argument(
        "--encoding",
        choices=(*ENCODINGS, ESTIMATE),
        default=DEFAULT_ENCODING,
        help=f"tokenizer for the token counts (default: {DEFAULT_ENCODING}; '{ESTIMATE}' = "
        "characters/4, also used when bpe-openai is not installed)",
    )


def set_source_from_args(args: argparse.Namespace) -> SetSource:
    if args.set_name:
        directory = Path(PROMPTS_DIR) / args.set_name
        if not directory.is_dir():
            known = [d.name for d in set_dirs(PROMPTS_DIR)]
            hint = f" (sets: {', '.join(known)})" if known else f" (no ./{PROMPTS_DIR}/ directory)"
            raise ProjectError(f"unknown template set {args.set_name!r}: no {directory}/{hint}")
        return SetSource.from_dir(directory)
    if args.prompts_dir:
        return SetSource.from_dir(args.prompts_dir)
    config = args.config or (CONFIG_FILE_NAME if Path(CONFIG_FILE_NAME).is_file() else None)
    if config is None:
        return SetSource.packaged()
    try:
        return SetSource.from_config(load_config(config).prompts)
    except ConfigError as exc:
        raise ProjectError(str(exc)) from None


def session_from_args(args: argparse.Namespace) -> AuthoringSession:
    """The session the options describe; :class:`ProjectError` for unknown sets or fixtures."""
    source = set_source_from_args(args)
    fixtures_dir = Path(args.fixtures_dir or FIXTURES_DIR)
    if args.fixtures_dir and not fixtures_dir.is_dir():
        raise ProjectError(f"fixture directory not found: {fixtures_dir}")
    if not args.fixtures and not fixtures_dir.is_dir():
        raise ProjectError(
            f"no ./{FIXTURES_DIR}/ directory here: pass --fixtures DIR or FIXTURE paths"
        )
    files = resolve_fixtures(args.fixtures, fixtures_dir) if args.fixtures else []
    return AuthoringSession(
        source=source,
        fixtures_dir=fixtures_dir,
        tokenizer=get_tokenizer(args.encoding),
        fixture_files=files,
    )


def usage_error(command: str, exc: Exception | str) -> int:
    print(f"jaunt-prompts {command}: {exc}", file=sys.stderr)
    return 2
