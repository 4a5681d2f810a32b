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
from typing import TYPE_CHECKING

from jaunt.promptkit.errors import ProjectError
from jaunt.promptkit.files import display_path
from jaunt.promptkit.project import FIXTURES_DIR_NAME, SETS_DIR_NAME, Project
from jaunt.promptkit.session import AuthoringSession
from jaunt.promptkit.settings import CONFIG_FILE_NAME
from jaunt.promptkit.template_set import SetSource
from jaunt.promptkit.tokens import DEFAULT_ENCODING, ENCODINGS, ESTIMATE, get_tokenizer

if TYPE_CHECKING:
    from jaunt.promptkit.generation import LLMOverrides


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
    add_encoding_option(parser)


def add_encoding_option(parser: argparse.ArgumentParser) -> None:
    """``--encoding``: the tokenizer of every token count a command prints."""
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


# --- option types and the model options of generate and eval ---------------------------------


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def number(text: str, *, low: float = 0.0, high: float = float("inf"), what: str = "") -> float:
    """argparse type body: a finite number from ``low`` to ``high``; ``what`` names it."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not low <= value <= high or value == float("inf"):
        bounds = f", at least {low:g}" if high == float("inf") else f" from {low:g} to {high:g}"
        raise argparse.ArgumentTypeError(f"must be {what or 'a finite number'}{bounds}, not {text}")
    return value


def temperature(text: str) -> float:
    """argparse type: a sampling temperature, 0 to 2."""
    return number(text, high=2.0, what="a temperature")


def fraction(text: str) -> float:
    """argparse type: a share, 0 to 1."""
    return number(text, high=1.0, what="a fraction")


def add_llm_options(parser: argparse.ArgumentParser, *, seed: bool = True) -> None:
    """The options that override ``[llm]``: one set, one meaning, for every command that asks
    a model. ``seed=False`` for a command whose ``--seed`` means something else (eval)."""
    parser.add_argument("--base-url", metavar="URL", help="OpenAI-compatible server URL")
    parser.add_argument("--model", metavar="NAME", help="model name (overrides [llm] model)")
    parser.add_argument(
        "--temperature", type=temperature, metavar="T", help="0 to 2 (overrides [llm])"
    )
    parser.add_argument(
        "--max-output-tokens", type=positive_int, metavar="N", help="overrides [llm]"
    )
    if seed:
        parser.add_argument("--seed", type=int, metavar="N", help="sampling seed (overrides [llm])")


def llm_overrides_from_args(args: argparse.Namespace, *, seed: bool = True) -> LLMOverrides:
    """What :func:`add_llm_options` parsed, as the library's overrides."""
    from jaunt.promptkit.generation import LLMOverrides

    return LLMOverrides(
        model=args.model,
        base_url=args.base_url,
        temperature=args.temperature,
        max_output_tokens=args.max_output_tokens,
        seed=args.seed if seed else None,
    )
