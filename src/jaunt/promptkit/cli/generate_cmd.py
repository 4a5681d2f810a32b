"""``jaunt-prompts generate``: what does a model actually write with these prompts?

Runs :func:`jaunt.promptkit.generation.generate_fixture` on prompt fixtures and prints what
the attempt records say (this module only parses, calls and prints). The report goes to
stderr while it happens (a line per attempt start, a ticking elapsed time, then the
attempt's time, finish reason, tokens and validation errors); the generated module goes to
stdout, so ``jaunt-prompts generate f > f.py`` keeps only code. With ``--out DIR`` each
fixture's module is written to ``DIR/<fixture>.py`` (``DIR/<fixture>.failed.py`` for the
last answer of a fixture that never validated).

Exit codes: 0 every module validated, 1 some did not, 2 usage, config, I/O or backend
error (no model, missing key, unreachable server, broken fixture or template), 130
interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from jaunt.generate.base import AttemptObserver, AttemptRecord, ModuleSpecContext
from jaunt.promptkit.cli.batch import add_batch_options, batch_requested, run_batch
from jaunt.promptkit.cli.common import (
    add_llm_options,
    add_project_options,
    llm_overrides_from_args,
    positive_int,
    project_from_args,
)
from jaunt.promptkit.cli.main import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from jaunt.promptkit.errors import LayerError
from jaunt.promptkit.fixtures import Fixture, load_fixture
from jaunt.promptkit.generation import (
    FixtureRun,
    generate_fixture,
    llm_config,
    make_backend,
    module_text,
    write_module,
)

# Non-interactive output (CI logs) gets a "still waiting" line this often instead of a ticker.
QUIET_TICK_S = 15.0
TICK_S = 0.5

PROG = "jaunt-prompts generate"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate modules from prompt fixtures with a real model",
        description=(
            "Run the prompts on fixtures through the OpenAI backend (generate, validate, "
            "retry with the errors) and show each attempt. The key is read from the "
            "variable [llm] api_key_env names (default OPENAI_API_KEY); a local server "
            "that ignores keys still needs it set, e.g. OPENAI_API_KEY=local."
        ),
    )
    parser.add_argument(
        "fixtures",
        nargs="*",
        metavar="FIXTURE",
        help="a fixture file, or a fixture name in --fixtures (e.g. pure_function)",
    )
    parser.add_argument("--all", action="store_true", help="every fixture of the project")
    add_project_options(parser)
    add_llm_options(parser)
    parser.add_argument(
        "--attempts", type=positive_int, default=2, metavar="N", help="attempts (default: 2)"
    )
    parser.add_argument("--out", metavar="DIR", help="write <DIR>/<fixture>.py instead of stdout")
    add_batch_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    if not args.fixtures and not args.all:
        print(f"{PROG}: error: name at least one FIXTURE, or pass --all", file=err)
        return EXIT_USAGE
    try:
        project = project_from_args(args)
        fixtures = [load_fixture(path) for path in project.fixture_files(args.fixtures)]
        if not fixtures:
            print(f"{PROG}: error: no fixtures in {project.fixtures_dir}", file=err)
            return EXIT_USAGE
        llm = llm_config(project.config, llm_overrides_from_args(args))
        templates = project.set_source.load()
        if batch_requested(args):
            return run_batch(args, fixtures, llm, templates, config=project.config)
        backend = make_backend(llm, templates)
    except LayerError as exc:
        print(f"{PROG}: error: {exc}", file=err)
        return EXIT_USAGE
    progress = Progress(err, interactive=err.isatty())
    progress.line(
        f"model {llm.model!r} at {backend.base_url} ({backend.token_limit_field}="
        f"{llm.max_output_tokens}, temperature "
        f"{'server default' if llm.temperature is None else f'{llm.temperature:g}'}"
        f"{'' if llm.seed is None else f', seed {llm.seed}'}), template set {templates.name!r}"
    )
    out_dir = Path(args.out) if args.out else None
    several = len(fixtures) > 1

    async def run_all() -> list[FixtureRun]:
        # One fixture after another: a local server serves one request at a time anyway,
        # and the report reads top to bottom.
        runs: list[FixtureRun] = []
        async with backend:
            for fixture in fixtures:
                _print_header(progress, fixture)
                run = await generate_fixture(
                    backend, fixture, max_attempts=args.attempts, observer=ShowAttempts(progress)
                )
                runs.append(run)
                _deliver(run, progress, out_dir, sys.stdout, several=several)
        return runs

    try:
        runs = asyncio.run(run_all())
    except LayerError as exc:
        progress.line(f"{PROG}: error: {exc}")
        return EXIT_USAGE
    except OSError as exc:
        progress.line(f"{PROG}: error: cannot write output: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        # Not main()'s quiet exit 0: a script must not take a half-done run for success.
        progress.line(f"{PROG}: interrupted")
        return EXIT_INTERRUPTED
    failed = [run.fixture.name for run in runs if not run.result.ok]
    if several:
        progress.line(
            f"{len(runs) - len(failed)}/{len(runs)} fixtures validated"
            + (f"; failed: {', '.join(failed)}" if failed else "")
        )
    return EXIT_FINDINGS if failed else EXIT_OK


# --- printing ---------------------------------------------------------------------------------


def _print_header(progress: Progress, fixture: Fixture) -> None:
    ctx = fixture.context
    progress.line(f"== {fixture.name}: {ctx.kind} {ctx.generated_module} ({fixture.path})")


class ShowAttempts(AttemptObserver):
    """Prints each attempt as it starts (with a ticking elapsed time) and ends (its record)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._ticker: asyncio.Task[None] | None = None
        self._max_attempts = 1

    def attempt_started(self, ctx: ModuleSpecContext, number: int, max_attempts: int) -> None:
        label = f"attempt {number}/{max_attempts}"
        self.progress.line(f"{label}: asking the model ...")
        self._max_attempts = max_attempts
        self._ticker = asyncio.get_running_loop().create_task(
            self.progress.tick(label, time.monotonic())
        )

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self.progress.clear()

    def attempt_finished(
        self, ctx: ModuleSpecContext, record: AttemptRecord, max_attempts: int
    ) -> None:
        self._stop_ticker()
        self.progress.line(attempt_line(record, max_attempts))
        for error in record.errors:
            self.progress.line(f"  - {error}")

    def attempt_aborted(
        self, ctx: ModuleSpecContext, number: int, seconds: float, error: BaseException
    ) -> None:
        # Not the model's answer (server down, cancelled): the command reports the error once.
        self._stop_ticker()
        self.progress.line(
            f"attempt {number}/{self._max_attempts}: no answer after {seconds:.1f} s"
        )


def attempt_line(record: AttemptRecord, max_attempts: int) -> str:
    """``attempt 1/2: ok in 3.2 s; finish_reason stop; tokens 321 in / 45 out``."""
    usage = record.usage
    tokens = (
        f"tokens {usage.prompt_tokens} in / {usage.completion_tokens} out"
        + (f" ({usage.cached_prompt_tokens} cached)" if usage.cached_prompt_tokens else "")
        if usage is not None
        else "tokens not reported"
    )
    status = "ok" if record.ok else "FAILED"
    return (
        f"attempt {record.number}/{max_attempts}: {status} in {record.latency_s or 0.0:.1f} s; "
        f"finish_reason {record.finish_reason or '-'}; {tokens}"
    )


def _deliver(
    run: FixtureRun, progress: Progress, out_dir: Path | None, stdout: TextIO, *, several: bool
) -> None:
    result, name = run.result, run.fixture.name
    usage = result.usage
    verdict = (
        f"validated on attempt {result.attempts}"
        if result.ok
        else f"FAILED after {result.attempts} attempt{'s' if result.attempts > 1 else ''}"
    )
    summary = (
        f"{name}: {verdict}, {run.seconds:.1f} s, "
        f"tokens {usage.prompt_tokens} in / {usage.completion_tokens} out"
    )
    if out_dir is not None:
        written = write_module(out_dir, run)
        if written is not None:
            summary += f" -> {written}"
        kept = out_dir / f"{name}.py"
        if not result.ok and kept.exists():
            summary += f" (kept the previous {kept.name})"
        progress.line(summary)
        return
    progress.line(summary)
    source = result.last_source
    if source is None:
        return
    if several or not result.ok:
        state = "" if result.ok else " (last attempt, did NOT validate)"
        stdout.write(f"# ---- {name}: {run.fixture.context.generated_module}{state}\n")
    stdout.write(module_text(source))
    stdout.flush()


# --- terminal output --------------------------------------------------------------------------
class Progress:
    """Report lines on a stream; on a terminal, a ticking elapsed time that lines replace."""

    def __init__(self, stream: TextIO, *, interactive: bool) -> None:
        self.stream = stream
        self.interactive = interactive
        self._ticker_shown = False

    def line(self, text: str) -> None:
        self.clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self._ticker_shown:
            self.stream.write("\r\x1b[K")
            self._ticker_shown = False

    async def tick(self, label: str, started: float) -> None:
        """Show the elapsed time until cancelled."""
        interval = TICK_S if self.interactive else QUIET_TICK_S
        while True:
            await asyncio.sleep(interval)
            elapsed = time.monotonic() - started
            if self.interactive:
                self.stream.write(f"\r\x1b[K{label}: waiting for the model ... {elapsed:.0f} s")
                self._ticker_shown = True
            else:
                self.stream.write(f"{label}: still waiting ({elapsed:.0f} s)\n")
            self.stream.flush()
