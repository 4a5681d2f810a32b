"""``jaunt-prompts watch``: render once, then re-render what each saved file touches.

Same options as ``render``. Each change prints one line (what changed, latency, a compact
diff against the previous render and the committed snapshot, the cacheable prefix), then
lint findings and errors indented below it. Broken templates and fixtures are reported and
the last good output is kept until they are fixed. Ctrl-C or SIGTERM stops it with exit 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from jaunt.promptkit.cli.common import (
    add_source_options,
    followed_config,
    project_from_args,
    reload_set_source,
    session_from_args,
    usage_error,
)
from jaunt.promptkit.cli.main import EXIT_OK
from jaunt.promptkit.cli.style import styler_for
from jaunt.promptkit.errors import ConfigError, FixtureError, ProjectError
from jaunt.promptkit.project import Project
from jaunt.promptkit.watch import DEFAULT_DEBOUNCE_MS, DEFAULT_STEP_MS, Watcher, WatchOptions

SNAPSHOTS_DIR = Path("tests") / "__snapshots__"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "watch",
        help="re-render fixtures whenever a template or fixture file changes",
        description=(
            "Render once, then re-render what each change touches (a fixture: that fixture; "
            "a template: the fixtures of its kind). Reports latency, a compact diff, lint "
            "findings and the cacheable prefix. Ctrl-C stops it."
        ),
    )
    add_source_options(parser)
    parser.add_argument(
        "--snapshots",
        metavar="DIR",
        help=f"committed snapshots to compare with (default: ./{SNAPSHOTS_DIR} if present)",
    )
    parser.add_argument(
        "--debounce",
        type=int,
        default=DEFAULT_DEBOUNCE_MS,
        metavar="MS",
        help=f"longest wait collecting one batch of changes (default {DEFAULT_DEBOUNCE_MS})",
    )
    parser.add_argument(
        "--step",
        type=int,
        default=DEFAULT_STEP_MS,
        metavar="MS",
        help=f"quiet time that ends a batch of changes (default {DEFAULT_STEP_MS})",
    )
    parser.set_defaults(func=run)


def _emit(line: str) -> None:
    # Flushed per line: the output is read live, often through a pipe.
    print(line, flush=True)


def run(args: argparse.Namespace) -> int:
    try:
        project = project_from_args(args)
        session = session_from_args(args, project)
    except (ProjectError, ConfigError, FixtureError) as exc:
        return usage_error("watch", exc)
    config_path = followed_config(args, project)
    options = WatchOptions(
        out_dir=Path(args.out) if args.out else None,
        snapshot_dir=Path(args.snapshots) if args.snapshots else _default_snapshots(project),
        debounce_ms=max(1, args.debounce),
        step_ms=max(1, args.step),
        style=styler_for(sys.stdout),
        config_path=config_path,
        source_factory=(lambda: reload_set_source(args)) if config_path else None,
    )
    watcher = Watcher(session, options, _emit)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Both signals only ask the loop to stop, so a batch being handled still finishes (its
    # output files complete). SIGINT is set explicitly because a shell starts background
    # jobs with it ignored.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        watcher.start()
        if not stop.is_set():
            watcher.run(stop)
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("stopped.", file=sys.stderr, flush=True)
    return EXIT_OK


def _default_snapshots(project: Project) -> Path | None:
    snapshots = project.root / SNAPSHOTS_DIR
    return snapshots if snapshots.is_dir() else None
