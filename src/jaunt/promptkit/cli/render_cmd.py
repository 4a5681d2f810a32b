"""``jaunt-prompts render``: render fixtures with a template set, offline.

Default: a summary table (fixture, kind, set, characters, tokens, lint status) and the
cacheable prefix of each kind on stdout; problems on stderr. One fixture: its messages on
stdout (the snapshot text, so ``> file.md`` captures exactly that) and the summary on stderr.
``--out DIR``: ``<DIR>/<fixture>.md`` per fixture, byte-identical to the snapshot of the case.
Exit 0 ok, 1 when a fixture failed or the set has lint errors, 2 on usage or I/O errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from jaunt.promptkit.cli.common import add_source_options, session_from_args, usage_error
from jaunt.promptkit.cli.main import EXIT_FINDINGS, EXIT_OK
from jaunt.promptkit.cli.style import styler_for
from jaunt.promptkit.errors import ConfigError, FixtureError, ProjectError
from jaunt.promptkit.files import display_path
from jaunt.promptkit.lint import has_errors
from jaunt.promptkit.report import (
    footer,
    prefix_lines,
    problem_lines,
    summary_table,
    write_output,
)
from jaunt.promptkit.session import Failed, Rendered


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "render",
        help="render fixtures with a template set: summary, messages, or files",
        description=(
            "Render prompt fixtures with a template set, offline (no API key, no network). "
            "Prints a summary table with token counts and the cacheable prefix; for a single "
            "fixture also its messages; with --out writes <out>/<fixture>.md (the snapshot text)."
        ),
    )
    add_source_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        session = session_from_args(args)
        outcomes = session.render_all()
    except (ProjectError, ConfigError, FixtureError) as exc:
        return usage_error("render", exc)
    if not outcomes:
        return usage_error(
            "render", f"no fixture files (*.toml) in {display_path(session.fixtures_dir)}/"
        )
    loaded = session.current_set()
    single = len(outcomes) == 1 and not args.out
    if args.out:
        out_dir = Path(args.out)
        try:
            for o in outcomes:
                if isinstance(o, Rendered):
                    write_output(out_dir, o)
        except OSError as exc:
            return usage_error("render", f"cannot write to {out_dir}: {exc.strerror or exc}")
    if single and isinstance(outcomes[0], Rendered):
        sys.stdout.write(outcomes[0].markdown)
        sys.stdout.flush()
    # With the messages on stdout, the summary goes to stderr so a redirect captures them alone.
    report = sys.stderr if single else sys.stdout
    style = styler_for(report)
    for line in summary_table(outcomes, loaded, session.tokenizer, style=style):
        print(line, file=report)
    for line in prefix_lines(session.prefix_reports(), session.tokenizer):
        print(line, file=report)
    for line in problem_lines(outcomes, loaded, style=styler_for(sys.stderr)):
        print(line, file=sys.stderr)
    summary = footer(outcomes, loaded)
    if args.out:
        summary += f" Files in {args.out}/."
    print(summary, file=sys.stderr)
    failed = any(isinstance(o, Failed) for o in outcomes)
    return EXIT_FINDINGS if failed or has_errors(loaded.findings) else EXIT_OK
