"""``jaunt-prompts generate --batch``: the fixtures through a Batch API, resumable.

``generate`` hands over here when a batch option is given (after it has found the project,
the fixtures, the model settings and the template set). The library
(:func:`jaunt.generate.batch.generate_batch`) does the work; this module parses options,
shows a progress line on stderr, writes ``<out>/<fixture>.py`` for each validated module
(``<fixture>.failed.py`` for the last answer of one that never validated; an existing good
file is never removed) and prints a summary with tokens and cost at the batch price.

Exit codes: 0 every module validated, 1 some failed or are still in flight (run the same
command again to continue), 2 usage, config, state or provider error (the state is saved:
running again resumes), 130 interrupted (also resumable).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from jaunt.generate.base import TokenUsage
from jaunt.generate.batch import (
    ENGINES,
    MAX_BYTES_PER_FILE,
    MAX_REQUESTS_PER_FILE,
    BatchOptions,
    BatchOutcome,
    BatchProgress,
    Engine,
    generate_batch,
)
from jaunt.promptkit.cli.common import number, positive_int
from jaunt.promptkit.cli.main import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from jaunt.promptkit.errors import LayerError
from jaunt.promptkit.files import atomic_write
from jaunt.promptkit.fixtures import Fixture
from jaunt.promptkit.generation import module_text
from jaunt.promptkit.pricing import ModelPrice, known_price
from jaunt.promptkit.scrub import scrub_url
from jaunt.promptkit.settings import JauntConfig, LLMConfig
from jaunt.promptkit.template_set import TemplateSet

PROG = "jaunt-prompts generate --batch"
DEFAULT_POLL_S = 5.0
DEFAULT_MAX_POLL_S = 60.0
# Failures listed one by one in the summary; the rest are counted.
MAX_LISTED_FAILURES = 20


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "batch",
        "generate through a Batch API (half price, results within 24 h, resumable): "
        "--batch --state DIR --out DIR; the same command again continues the run",
    )
    group.add_argument("--batch", action="store_true", help="use the Batch API")
    group.add_argument(
        "--state", metavar="DIR", help="state folder of the run (created; reuse it to resume)"
    )
    group.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="openai: Files + Batches API (default); local: send each line to --base-url "
        "ourselves; external: write the input files and wait for output files from another "
        "tool (e.g. vllm run-batch)",
    )
    group.add_argument(
        "--poll-interval",
        type=_positive_float,
        metavar="S",
        help=f"first wait between status checks, growing to --max-poll-interval "
        f"(default: {DEFAULT_POLL_S:g})",
    )
    group.add_argument(
        "--max-poll-interval",
        type=_positive_float,
        metavar="S",
        help=f"longest wait between status checks (default: {DEFAULT_MAX_POLL_S:g})",
    )
    group.add_argument(
        "--max-wait",
        type=_non_negative_float,
        metavar="S",
        help="stop waiting after S seconds (0: submit and return); run again to continue",
    )
    group.add_argument(
        "--max-requests-per-file",
        type=positive_int,
        metavar="N",
        help=f"requests per batch file (default: {MAX_REQUESTS_PER_FILE:,})",
    )
    group.add_argument(
        "--max-bytes-per-file",
        type=positive_int,
        metavar="N",
        help=f"bytes per batch file (default: {MAX_BYTES_PER_FILE:,})",
    )
    group.add_argument(
        "--cancel",
        action="store_true",
        help="cancel the run's batches in flight, collect what came back, submit nothing more",
    )


_BATCH_ONLY = (
    "state",
    "engine",
    "poll_interval",
    "max_poll_interval",
    "max_wait",
    "max_requests_per_file",
    "max_bytes_per_file",
)


def batch_requested(args: argparse.Namespace) -> bool:
    """Whether any batch option was given (``run_batch`` then checks they fit together)."""
    return bool(args.batch or args.cancel) or any(
        getattr(args, name) is not None for name in _BATCH_ONLY
    )


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _non_negative_float(text: str) -> float:
    return number(text, what="a finite number of seconds")


def options_from_args(args: argparse.Namespace) -> BatchOptions:
    poll = args.poll_interval if args.poll_interval is not None else DEFAULT_POLL_S
    engine: Engine = args.engine or "openai"
    return BatchOptions(
        max_attempts=args.attempts,
        max_requests_per_file=args.max_requests_per_file or MAX_REQUESTS_PER_FILE,
        max_bytes_per_file=args.max_bytes_per_file or MAX_BYTES_PER_FILE,
        poll_interval_s=poll,
        max_poll_interval_s=max(poll, args.max_poll_interval or DEFAULT_MAX_POLL_S),
        # Another tool writes the external engine's output: do not wait unless asked to.
        max_wait_s=args.max_wait if args.max_wait is not None or engine != "external" else 0.0,
        engine=engine,
    )


def run_batch(
    args: argparse.Namespace,
    fixtures: Sequence[Fixture],
    llm: LLMConfig,
    templates: TemplateSet,
    *,
    config: JauntConfig | None = None,
) -> int:
    """The ``--batch`` path of ``generate``; see the module docstring.

    ``config``'s ``[prices]`` overrides apply to the cost shown."""
    err = sys.stderr
    problem = _usage_problem(args, fixtures)
    if problem:
        print(f"{PROG}: error: {problem}", file=err)
        return EXIT_USAGE
    out_dir = Path(args.out)
    options = options_from_args(args)
    price = known_price(llm.model, config)
    progress = ProgressLine(err, interactive=err.isatty(), price=price)
    progress.line(
        f"{len(fixtures)} fixture{'s' if len(fixtures) != 1 else ''}, model {llm.model!r}, "
        f"engine {options.engine}, template set {templates.name!r}, state {args.state}"
    )
    try:
        outcome = asyncio.run(
            generate_batch(
                [(fixture.name, fixture.context) for fixture in fixtures],
                state_dir=args.state,
                llm=llm,
                templates=templates,
                options=options,
                on_progress=progress.update,
                cancel=args.cancel,
            )
        )
        written = write_modules(outcome, out_dir)
    except LayerError as exc:
        progress.line(f"{PROG}: error: {exc} (the state in {args.state} is kept: run again)")
        return EXIT_USAGE
    except OSError as exc:
        progress.line(f"{PROG}: error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        progress.line(f"{PROG}: interrupted; run the same command again to continue")
        return EXIT_INTERRUPTED
    return _summary(outcome, written, progress, options.engine, llm.model, price)


def _usage_problem(args: argparse.Namespace, fixtures: Sequence[Fixture]) -> str | None:
    if not args.batch:
        return "batch options (--state, --engine, --cancel, ...) need --batch"
    if not args.state:
        return "--batch needs --state DIR (the folder that makes the run resumable)"
    if not args.out:
        return "--batch needs --out DIR (one <fixture>.py per module)"
    seen: dict[str, Path] = {}
    for fixture in fixtures:
        if fixture.name in seen:
            return (
                f"two fixtures named {fixture.name!r} ({seen[fixture.name]} and {fixture.path}): "
                "their modules would overwrite each other in --out"
            )
        seen[fixture.name] = Path(fixture.path)
    return None


def write_modules(outcome: BatchOutcome, out_dir: Path) -> dict[str, Path]:
    """Write each finished module; a good ``<name>.py`` from before is never removed."""
    written: dict[str, Path] = {}
    for name, result in outcome.results.items():
        if result.source is not None:
            target = out_dir / f"{name}.py"
            atomic_write(target, module_text(result.source), within=out_dir)
            (out_dir / f"{name}.failed.py").unlink(missing_ok=True)
            written[name] = target
            continue
        last = next((a.source for a in reversed(outcome.attempts.get(name, [])) if a.source), None)
        if last is not None:
            target = out_dir / f"{name}.failed.py"
            atomic_write(target, module_text(last), within=out_dir)
            written[name] = target
    return written


def _summary(
    outcome: BatchOutcome,
    written: dict[str, Path],
    progress: ProgressLine,
    engine: str,
    model: str,
    price: ModelPrice | None,
) -> int:
    progress.finish()
    failed = sorted(name for name, r in outcome.results.items() if not r.ok)
    for name in failed[:MAX_LISTED_FAILURES]:
        result = outcome.results[name]
        first = result.errors[0] if result.errors else "no answer"
        more = f" (+{len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
        where = f" -> {written[name]}" if name in written else ""
        progress.line(f"FAILED {name} after {result.attempts} attempt(s): {first}{more}{where}")
    if len(failed) > MAX_LISTED_FAILURES:
        progress.line(f"... and {len(failed) - MAX_LISTED_FAILURES} more failed")
    total = len(outcome.attempts)
    ok = total - len(failed) - len(outcome.unfinished)
    retried = sum(1 for r in outcome.results.values() if r.ok and r.attempts > 1)
    progress.line(
        f"{ok}/{total} modules validated ({retried} on a retry), {len(failed)} failed"
        + (f", {len(outcome.unfinished)} still in flight" if outcome.unfinished else "")
        + (" (run cancelled)" if outcome.cancelled else "")
    )
    progress.line(usage_line(outcome.progress.usage, price, model))
    for input_path, output_path in outcome.progress.waiting_for:
        progress.line(
            f"waiting for {output_path}: run vllm run-batch -i {input_path} -o "
            f"{output_path} --model {model}"
        )
    if outcome.unfinished and not outcome.cancelled:
        progress.line(
            "run the same command again to continue (or add --cancel to stop the batches)"
            if engine != "external"
            else "run the same command again once the output files exist"
        )
    return EXIT_OK if not failed and not outcome.unfinished else EXIT_FINDINGS


def usage_line(usage: TokenUsage, price: ModelPrice | None, model: str) -> str:
    """Tokens so far and their cost at the batch price (and what online would cost)."""
    tokens = (
        f"tokens {usage.prompt_tokens:,} in ({usage.cached_prompt_tokens:,} cached) / "
        f"{usage.completion_tokens:,} out"
    )
    if price is None:
        return f"{tokens}; cost unknown (no price for {model!r} in the price table)"
    batch, online = _costs(usage, price)
    return (
        f"{tokens}; cost ${batch:.4f} at batch price ({price.batch_discount:.0%} off; "
        f"online ${online:.4f})"
    )


def _costs(usage: TokenUsage, price: ModelPrice) -> tuple[float, float]:
    kwargs = {
        "input_tokens": usage.prompt_tokens,
        "cached_input_tokens": usage.cached_prompt_tokens,
        "output_tokens": usage.completion_tokens,
    }
    return float(price.cost(**kwargs, batch=True)), float(price.cost(**kwargs, batch=False))


class ProgressLine:
    """One status line on stderr: rewritten in place on a terminal, else printed on change."""

    def __init__(self, stream: TextIO, *, interactive: bool, price: ModelPrice | None) -> None:
        self.stream = stream
        self.interactive = interactive
        self.price = price
        self._last = ""
        self._shown = False

    def line(self, text: str) -> None:
        self._clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def update(self, progress: BatchProgress) -> None:
        text = (
            f"batch: {progress.modules} modules | submitted {progress.submitted} | "
            f"in progress {progress.in_progress} | completed {progress.completed} | "
            f"failed {progress.failed} | {progress.batches} batch(es)"
        )
        if self.price is not None:
            text += f" | est. cost ${_costs(progress.usage, self.price)[0]:.4f} (batch price)"
        if text == self._last:
            return
        self._last = text
        if self.interactive:
            self.stream.write(f"\r\x1b[K{text}")
            self._shown = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self._shown = False

    def _clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self._shown = False


# --- the file-in/file-out runner: python -m jaunt.promptkit.cli.batch IN OUT --base-url URL ----


def run_file_main(argv: Sequence[str] | None = None) -> int:
    """Run a Batch input file against an OpenAI-compatible server into a Batch output file.

    The local stand-in for ``vllm run-batch -i IN -o OUT --model M``: the output is
    what ``generate --batch --engine external`` collects.
    """
    parser = argparse.ArgumentParser(
        prog="python -m jaunt.promptkit.cli.batch",
        description="Send each line of a Batch input file to an OpenAI-compatible server and "
        "write the answers in the Batch output format.",
    )
    parser.add_argument("input", metavar="IN", help="Batch input file (.jsonl)")
    parser.add_argument("output", metavar="OUT", help="Batch output file to write (.jsonl)")
    parser.add_argument(
        "--base-url", required=True, metavar="URL", help="e.g. http://127.0.0.1:8080/v1"
    )
    parser.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        metavar="VAR",
        help="variable holding the key (default: OPENAI_API_KEY; 'local' if unset)",
    )
    parser.add_argument("--concurrency", type=positive_int, default=4, metavar="N")
    parser.add_argument("--timeout", type=_positive_float, default=600.0, metavar="S")
    args = parser.parse_args(argv)
    import os

    import openai

    from jaunt.generate.batch import run_batch_file

    client = openai.AsyncOpenAI(
        api_key=os.environ.get(args.api_key_env) or "local",
        base_url=args.base_url,
        timeout=args.timeout,
        max_retries=2,
    )

    async def go() -> tuple[int, int, int]:
        async with client:
            stats = await run_batch_file(
                args.input, args.output, client=client, concurrency=args.concurrency
            )
        return stats.requests, stats.succeeded, stats.failed

    try:
        requests, succeeded, failed = asyncio.run(go())
    except (OSError, ValueError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted (no output written)", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(
        f"{requests} requests to {scrub_url(args.base_url)}: {succeeded} answered, "
        f"{failed} failed -> {args.output}",
        file=sys.stderr,
    )
    return EXIT_OK if not failed else EXIT_FINDINGS


if __name__ == "__main__":
    sys.exit(run_file_main())
