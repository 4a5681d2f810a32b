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

from jaunt.promptkit.scrub import ScrubbingStream

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # the shell's convention for SIGINT

# Imported lazily by name so that `jaunt-prompts lint` never loads openai or watchfiles.
_SUBCOMMANDS = ("init", "lint", "render", "watch", "preview", "generate", "eval", "diff", "cost")


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
    # Everything a command prints passes the one scrubber (API key, Authorization, URL
    # user-info), whatever path the text took: an error, a refusal, a progress line, code.
    streams = sys.stdout, sys.stderr
    sys.stdout = ScrubbingStream(sys.stdout)
    sys.stderr = ScrubbingStream(sys.stderr)
    try:
        return _run(args)
    finally:
        sys.stdout, sys.stderr = streams


def _run(args: argparse.Namespace) -> int:
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        # Not 0: a script must not take a half-done lint or render for a clean one.
        print(f"jaunt-prompts {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except (OSError, RuntimeError, RecursionError, MemoryError) as exc:
        # Last line of defence: a file system or input problem no command anticipated
        # (a symlink loop, an unreadable folder, absurd nesting) is one line, never a
        # traceback. Commands report the problems they know about as findings.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = f" {exc.filename}" if isinstance(exc, OSError) and exc.filename else ""
        kind = type(exc).__name__
        print(f"jaunt-prompts {args.command}: error:{where}: {reason or kind}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
