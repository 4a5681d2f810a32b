"""``jaunt-prompts generate``: what does a model actually write with these prompts?

Runs :meth:`OpenAIBackend.generate_with_retry` on prompt fixtures. The report goes to
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
import contextlib
import dataclasses
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from jaunt.generate.base import (
    GenerationResult,
    GeneratorBackend,
    ModuleSpecContext,
    TokenUsage,
    current_attempt,
)
from jaunt.promptkit.cli.batch import add_batch_options, batch_requested, run_batch
from jaunt.promptkit.cli.common import add_project_options, project_from_args
from jaunt.promptkit.cli.main import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from jaunt.promptkit.errors import ConfigError, LayerError, ModelAnswerError
from jaunt.promptkit.fixtures import Fixture, load_fixture
from jaunt.promptkit.settings import JauntConfig, LLMConfig
from jaunt.promptkit.template_set import TemplateSet
from jaunt.validation import validate_generated_source

if TYPE_CHECKING:
    from jaunt.generate.openai_backend import OpenAIBackend


DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
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
    parser.add_argument("--base-url", metavar="URL", help="OpenAI-compatible server URL")
    parser.add_argument("--model", metavar="NAME", help="model name (overrides [llm] model)")
    parser.add_argument(
        "--attempts", type=_positive_int, default=2, metavar="N", help="attempts (default: 2)"
    )
    parser.add_argument("--temperature", type=float, metavar="T", help="overrides [llm]")
    parser.add_argument(
        "--max-output-tokens", type=_positive_int, metavar="N", help="overrides [llm]"
    )
    parser.add_argument("--seed", type=int, metavar="N", help="sampling seed (overrides [llm])")
    parser.add_argument("--out", metavar="DIR", help="write <DIR>/<fixture>.py instead of stdout")
    add_batch_options(parser)
    parser.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    try:
        if not args.fixtures and not args.all:
            raise _UsageError("name at least one FIXTURE, or pass --all")
        project = project_from_args(args)
        fixtures = [load_fixture(path) for path in project.fixture_files(args.fixtures)]
        if not fixtures:
            raise _UsageError(f"no fixtures in {project.fixtures_dir}")
        config = project.config
        llm = llm_config_from_args(args, config)
        templates = project.set_source.load()
        if batch_requested(args):
            return run_batch(args, fixtures, llm, templates)
        backend = _make_backend(llm, templates)
    except (LayerError, _UsageError) as exc:
        print(f"{PROG}: error: {exc}", file=err)
        return EXIT_USAGE
    out_dir = Path(args.out) if args.out else None
    progress = Progress(err, interactive=err.isatty())
    progress.line(
        f"model {llm.model!r} at {backend.base_url} ({backend.token_limit_field}="
        f"{llm.max_output_tokens}, temperature "
        f"{'server default' if llm.temperature is None else f'{llm.temperature:g}'}"
        f"{'' if llm.seed is None else f', seed {llm.seed}'}), template set {templates.name!r}"
    )
    reporting = ReportingBackend(backend, progress)
    try:
        outcomes = asyncio.run(
            _generate_all(backend, reporting, fixtures, args.attempts, out_dir, sys.stdout)
        )
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
    failed = [o.fixture.name for o in outcomes if not o.result.ok]
    if len(outcomes) > 1:
        progress.line(
            f"{len(outcomes) - len(failed)}/{len(outcomes)} fixtures validated"
            + (f"; failed: {', '.join(failed)}" if failed else "")
        )
    return EXIT_FINDINGS if failed else EXIT_OK


class _UsageError(Exception):
    pass


# --- what to run with -------------------------------------------------------------------------


def llm_config_from_args(args: argparse.Namespace, config: JauntConfig | None) -> LLMConfig:
    """``[llm]`` of the config (if any) with the command-line overrides applied."""
    llm = config.llm if config is not None else None
    if llm is None:
        if not args.model:
            where = f"{config.path} has no [llm] table" if config else "no jaunt.toml found"
            raise ConfigError(f"no model to ask: pass --model NAME ({where})")
        llm = LLMConfig(provider="openai", model=args.model, api_key_env=DEFAULT_API_KEY_ENV)
    overrides: dict[str, Any] = {}
    if args.model:
        overrides["model"] = args.model
    if args.base_url:
        overrides["base_url"] = args.base_url
    if args.temperature is not None:
        if not 0.0 <= args.temperature <= 2.0:
            raise _UsageError(f"--temperature must be between 0 and 2, not {args.temperature:g}")
        overrides["temperature"] = args.temperature
    if args.max_output_tokens is not None:
        overrides["max_output_tokens"] = args.max_output_tokens
    if args.seed is not None:
        overrides["seed"] = args.seed
    return dataclasses.replace(llm, **overrides)


def _make_backend(llm: LLMConfig, templates: TemplateSet) -> OpenAIBackend:
    from jaunt.generate.openai_backend import OpenAIBackend  # here: keeps the CLI light

    try:
        return OpenAIBackend(llm, templates=templates)
    except ConfigError as exc:
        if llm.base_url is None:
            raise
        # A local server ignores the key, but the SDK (and jaunt) still want one set.
        raise ConfigError(
            f"{exc} (a server that ignores keys still needs a value, e.g. "
            f"export {llm.api_key_env}=local)"
        ) from None


# --- running ----------------------------------------------------------------------------------


@dataclass
class AttemptReport:
    """What one attempt did, as the command shows it."""

    number: int
    seconds: float = 0.0
    finish_reason: str | None = None
    usage: TokenUsage | None = None
    errors: list[str] = field(default_factory=list)
    source: str | None = None
    aborted: bool = False


@dataclass
class Outcome:
    fixture: Fixture
    result: GenerationResult
    attempts: list[AttemptReport]
    seconds: float

    @property
    def last_source(self) -> str | None:
        """The validated module, else the last attempt's code (``None``: no code at all)."""
        if self.result.source is not None:
            return self.result.source
        for attempt in reversed(self.attempts):
            if attempt.source is not None:
                return attempt.source
        return None


class ReportingBackend(GeneratorBackend):
    """Wraps a backend and reports each attempt as it starts and ends.

    A wrapper rather than a subclass keeps ``openai`` out of this module's imports (the
    CLI loads every subcommand). The inner backend records usage and finish reason on the
    same :func:`current_attempt` state, since it runs inside this attempt's context.
    Validation is repeated here for display only; :class:`GenerationResult` stays the
    authority for what passed.
    """

    def __init__(self, inner: GeneratorBackend, progress: Progress | None = None) -> None:
        self.inner = inner
        self.progress = progress
        self.max_attempts = 1
        self.reports: list[AttemptReport] = []

    async def generate_module(
        self, ctx: ModuleSpecContext, *, extra_error_context: list[str] | None = None
    ) -> str:
        state = current_attempt()
        report = AttemptReport(state.number if state is not None else len(self.reports) + 1)
        self.reports.append(report)
        label = f"attempt {report.number}/{self.max_attempts}"
        started = time.monotonic()
        try:
            with self._ticking(label, started):
                source = await self.inner.generate_module(
                    ctx, extra_error_context=extra_error_context
                )
        except ModelAnswerError as exc:
            report.errors = [str(exc)]
            raise
        except BaseException:
            # Not the model's answer (server down, cancelled): the command reports it once.
            report.aborted = True
            raise
        else:
            report.source = source
            report.errors = validate_generated_source(source, ctx.expected_names)
            return source
        finally:
            report.seconds = time.monotonic() - started
            if state is not None:
                report.finish_reason = state.finish_reason
                report.usage = state.usage
            self._report(label, report)

    @contextlib.contextmanager
    def _ticking(self, label: str, started: float) -> Iterator[None]:
        if self.progress is None:
            yield
            return
        self.progress.line(f"{label}: asking the model ...")
        ticker = asyncio.get_running_loop().create_task(self.progress.tick(label, started))
        try:
            yield
        finally:
            ticker.cancel()
            self.progress.clear()

    def _report(self, label: str, report: AttemptReport) -> None:
        if self.progress is None:
            return
        if report.aborted:
            self.progress.line(f"{label}: no answer after {report.seconds:.1f} s")
            return
        status = "ok" if not report.errors else "FAILED"
        usage = report.usage
        tokens = (
            f"tokens {usage.prompt_tokens} in / {usage.completion_tokens} out"
            if usage is not None
            else "tokens not reported"
        )
        self.progress.line(
            f"{label}: {status} in {report.seconds:.1f} s; "
            f"finish_reason {report.finish_reason or '-'}; {tokens}"
        )
        for error in report.errors:
            self.progress.line(f"  - {error}")


async def _generate_all(
    backend: OpenAIBackend,
    reporting: ReportingBackend,
    fixtures: list[Fixture],
    attempts: int,
    out_dir: Path | None,
    stdout: TextIO,
) -> list[Outcome]:
    # Fixtures run one after another: a local server serves one request at a time anyway,
    # and the report reads top to bottom.
    progress = reporting.progress or Progress(sys.stderr, interactive=False)
    reporting.max_attempts = attempts
    outcomes: list[Outcome] = []
    async with backend:
        for fixture in fixtures:
            ctx = fixture.context
            progress.line(f"== {fixture.name}: {ctx.kind} {ctx.generated_module} ({fixture.path})")
            reporting.reports = []
            started = time.monotonic()
            result = await reporting.generate_with_retry(ctx, max_attempts=attempts)
            outcome = Outcome(fixture, result, reporting.reports, time.monotonic() - started)
            outcomes.append(outcome)
            _deliver(outcome, progress, out_dir, stdout, several=len(fixtures) > 1)
    return outcomes


def _deliver(
    outcome: Outcome, progress: Progress, out_dir: Path | None, stdout: TextIO, *, several: bool
) -> None:
    result, name = outcome.result, outcome.fixture.name
    usage = result.usage
    verdict = (
        f"validated on attempt {result.attempts}"
        if result.ok
        else f"FAILED after {result.attempts} attempt{'s' if result.attempts > 1 else ''}"
    )
    summary = (
        f"{name}: {verdict}, {outcome.seconds:.1f} s, "
        f"tokens {usage.prompt_tokens} in / {usage.completion_tokens} out"
    )
    source = outcome.last_source
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        good, bad = out_dir / f"{name}.py", out_dir / f"{name}.failed.py"
        # The directory shows the last run only: drop what the other outcome left behind.
        (bad if result.ok else good).unlink(missing_ok=True)
        if source is not None:
            target = good if result.ok else bad
            target.write_text(source, encoding="utf-8")
            summary += f" -> {target}"
        progress.line(summary)
        return
    progress.line(summary)
    if source is None:
        return
    if several or not result.ok:
        state = "" if result.ok else " (last attempt, did NOT validate)"
        stdout.write(f"# ---- {name}: {outcome.fixture.context.generated_module}{state}\n")
    stdout.write(source)
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
