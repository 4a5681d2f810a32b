"""``jaunt-prompts``: a thin command line over the library.

Exit codes: 0 ok, 1 findings (lint errors, render errors, snapshot drift), 2 usage or I/O error,
130 interrupted (Ctrl-C) before a command finished; for ``watch`` Ctrl-C is how it ends, so 0.
Each subcommand lives in its own module exposing ``add_parser(subparsers)``, which registers
the subcommand and sets ``func`` (``argparse.Namespace -> int``) as its default.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # the shell's convention for SIGINT

# Imported lazily by name so that `jaunt-prompts lint` never loads openai or watchfiles.
_SUBCOMMANDS = ("init", "lint", "render", "watch", "generate", "eval")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaunt-prompts",
        description="Lint, render and watch jaunt's prompt templates.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _SUBCOMMANDS:
        module = importlib.import_module(f"jaunt.promptkit.cli.{name}_cmd")
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        # Not 0: a script must not take a half-done lint or render for a clean one.
        print(f"jaunt-prompts {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
