"""Options and helpers the ``jaunt-prompts`` subcommands share.

``add_project_options`` declares how every command finds its project (``--config``), its
template set (``--set``/``--prompts``) and its fixtures (``--fixtures``);
``project_from_args`` turns them into a :class:`~jaunt.promptkit.project.Project`, the
same way for every command. Errors in what the options name are
:class:`~jaunt.promptkit.errors.ProjectError`/``ConfigError``: exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jaunt.promptkit.errors import ProjectError
from jaunt.promptkit.files import display_path
from jaunt.promptkit.project import FIXTURES_DIR_NAME, SETS_DIR_NAME, Project
from jaunt.promptkit.session import AuthoringSession
from jaunt.promptkit.settings import CONFIG_FILE_NAME
from jaunt.promptkit.template_set import SetSource
from jaunt.promptkit.tokens import DEFAULT_ENCODING, ENCODINGS, ESTIMATE, get_tokenizer


def add_project_options(parser: argparse.ArgumentParser, *, choose_set: bool = True) -> None:
    """``--config``, ``--fixtures`` and (with ``choose_set``) ``--set``/``--prompts``."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        help=f"the project's {CONFIG_FILE_NAME} (default: the nearest one in this folder or "
        "a parent; its folder is the project root)",
    )
    parser.add_argument(
        "--fixtures",
        dest="fixtures_dir",
        metavar="DIR",
        help=f"folder of fixture *.toml files (default: <project root>/{FIXTURES_DIR_NAME})",
    )
    if not choose_set:
        return
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument(
        "--set",
        dest="set_name",
        metavar="NAME",
        help=f"the set <project root>/{SETS_DIR_NAME}/NAME/ ('packaged' for the packaged "
        "templates; default: the config's [prompts], else packaged)",
    )
    chosen.add_argument(
        "--prompts", dest="prompts_dir", metavar="DIR", help="use the override set in DIR"
    )


def project_from_args(args: argparse.Namespace) -> Project:
    """The project the options describe (raises ProjectError/ConfigError: exit 2)."""
    return Project.discover(
        config=args.config,
        set_name=getattr(args, "set_name", None),
        prompts_dir=getattr(args, "prompts_dir", None),
        fixtures_dir=args.fixtures_dir,
    )


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """The options of the rendering commands: FIXTURE..., project options, --out, --encoding."""
    parser.add_argument(
        "fixtures",
        nargs="*",
        metavar="FIXTURE",
        help=f"fixture name (a file stem in the fixtures folder) or path; default: all in "
        f"{FIXTURES_DIR_NAME}/",
    )
    add_project_options(parser)
    parser.add_argument("--out", metavar="DIR", help="write <DIR>/<fixture>.md for each fixture")
    parser.add_argument(
        "--encoding",
        choices=(*ENCODINGS, ESTIMATE),
        default=DEFAULT_ENCODING,
        help=f"tokenizer for the token counts (default: {DEFAULT_ENCODING}; '{ESTIMATE}' = "
        "characters/4, also used when bpe-openai is not installed)",
    )


def session_from_args(args: argparse.Namespace, project: Project | None = None) -> AuthoringSession:
    """The authoring session of the project the options describe."""
    if project is None:
        project = project_from_args(args)
    if args.fixtures_dir and not project.fixtures_dir.is_dir():
        raise ProjectError(f"fixture directory not found: {args.fixtures_dir}")
    files = project.fixture_files(args.fixtures) if args.fixtures else []
    if not files and not project.fixtures_dir.is_dir():
        raise ProjectError(
            f"no fixture folder {display_path(project.fixtures_dir)}: pass --fixtures DIR "
            "or FIXTURE paths"
        )
    return AuthoringSession(
        source=project.set_source,
        fixtures_dir=project.fixtures_dir,
        tokenizer=get_tokenizer(args.encoding),
        fixture_files=files,
    )


def followed_config(args: argparse.Namespace, project: Project) -> Path | None:
    """The config file a long-running command re-reads on change (``watch``, ``preview``).

    Only a set that comes from ``[prompts]`` changes when the config does.
    """
    if args.set_name or args.prompts_dir:
        return None
    return project.config_path


def reload_set_source(args: argparse.Namespace) -> SetSource:
    """The set the options name, found afresh (after the config changed)."""
    return project_from_args(args).set_source


def usage_error(command: str, exc: Exception | str) -> int:
    print(f"jaunt-prompts {command}: {exc}", file=sys.stderr)
    return 2
