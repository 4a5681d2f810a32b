"""``jaunt-prompts preview``: the project's fixtures on a local page that follows every save.

Same project options as ``render``/``watch``. Serves http://127.0.0.1:8765/ (``--port``,
``--host``); a non-loopback ``--host`` is refused unless ``--allow-remote`` is given, and
then a warning is printed. Opens a browser only with ``--open``. The watcher's report lines
(the same as ``watch`` prints) go to stdout. Ctrl-C or SIGTERM stops it with exit 0.
The server and the watcher are imported inside :func:`run`, so building the parser stays light.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
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
from jaunt.promptkit.errors import ConfigError, FixtureError, ProjectError

_DEFAULT_HOST = "127.0.0.1"
_DEFAULT_PORT = 8765


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "preview",
        help="serve a live page of every fixture's rendered messages",
        description=(
            "Serve a local page showing every fixture's messages, token counts, lint findings "
            "and the cacheable prefix; it updates within a moment of each save (the same "
            "watcher as `watch`). Binds 127.0.0.1 only unless --allow-remote. Ctrl-C stops it."
        ),
    )
    add_source_options(parser)
    parser.add_argument(
        "--compare",
        metavar="SET",
        help="show a second set side by side ('packaged', a name under prompts/, or a folder)",
    )
    parser.add_argument(
        "--host",
        default=_DEFAULT_HOST,
        help=f"address to bind (default {_DEFAULT_HOST}; others need --allow-remote)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=_DEFAULT_PORT,
        help=f"port (default {_DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host: anyone who reaches it sees your prompts",
    )
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    parser.add_argument(
        "--access-log", action="store_true", help="print one line per HTTP request to stderr"
    )
    parser.set_defaults(func=run)


def _emit(line: str) -> None:
    print(line, flush=True)


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from jaunt.promptkit.preview import PreviewError, PreviewServer, check_bind_host, is_loopback
    from jaunt.promptkit.session import AuthoringSession
    from jaunt.promptkit.watch import WatchOptions

    if not 0 <= args.port <= 65535:
        return usage_error("preview", f"--port must be 0..65535, not {args.port}")
    try:
        check_bind_host(args.host, allow_remote=args.allow_remote)
        project = project_from_args(args)
        session = session_from_args(args, project)
        sessions = [session]
        if args.compare:
            other = project.set_named(args.compare)
            sessions.append(
                AuthoringSession(
                    source=other,
                    fixtures_dir=session.fixtures_dir,
                    tokenizer=session.tokenizer,
                    fixture_files=list(session.fixture_files),
                )
            )
    except (ProjectError, ConfigError, FixtureError, PreviewError) as exc:
        return usage_error("preview", exc)
    if args.out:
        return usage_error("preview", "--out is for render and watch")
    config_path = followed_config(args, project)
    options = [
        WatchOptions(
            config_path=config_path,
            source_factory=(lambda: reload_set_source(args)) if config_path else None,
        ),
        WatchOptions(),
    ]
    if not is_loopback(args.host):
        print(
            f"warning: serving on {args.host}: anyone who can reach it sees your templates "
            "and fixtures",
            file=sys.stderr,
            flush=True,
        )
    server = PreviewServer(
        sessions,
        project.root,
        host=args.host,
        port=args.port,
        allow_remote=args.allow_remote,
        watch_options=options,
        emit=_emit,
        log=_log if args.access_log else None,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server.start()
        except PreviewError as exc:
            return usage_error("preview", exc)
        print(f"preview at {server.url} (Ctrl-C to stop)", flush=True)
        if args.open:
            import webbrowser

            webbrowser.open(server.url)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("stopped.", file=sys.stderr, flush=True)
    return EXIT_OK
