"""``jaunt-prompts eval``: how well does a model do with these prompts, measured.

Runs each template set (``--set``/``--prompts``, repeatable; the packaged set by default) on
each fixture ``--samples`` times through the real backend and reports validity, validity on
the first attempt, behavioural checks (only with ``--run-checks``), tokens, latency and cost,
with 95% Wilson intervals per set and, for two or more sets, a paired sign test of every set
against the first. Progress goes to stderr, the report to stdout.

Exit codes: 0 ok, 1 a ``--min-valid``/``--min-passed`` threshold missed, 2 usage, config, I/O
or backend error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from jaunt.promptkit.cli.common import (
    add_llm_options,
    fraction,
    llm_overrides_from_args,
    positive_int,
    project_from_args,
)
from jaunt.promptkit.cli.main import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from jaunt.promptkit.errors import LayerError, ProjectError
from jaunt.promptkit.files import atomic_write
from jaunt.promptkit.fixtures import load_fixture
from jaunt.promptkit.template_set import SetSource, TemplateSet

PROG = "jaunt-prompts eval"
EVAL_FIXTURES_DIR_NAME = "eval_fixtures"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="measure a model's answers to template sets on fixtures",
        description=(
            "Run template sets x fixtures x samples against an OpenAI-compatible endpoint "
            "(generate, validate, retry: jaunt's path) and report valid modules, first-attempt "
            "validity, passing checks, tokens, latency and cost, with 95% intervals and a "
            "paired comparison of the sets. The key comes from [llm] api_key_env (default "
            "OPENAI_API_KEY; a local server still needs it set, e.g. OPENAI_API_KEY=local)."
        ),
    )
    parser.add_argument(
        "fixtures",
        nargs="*",
        metavar="FIXTURE",
        help=f"fixture name or path (default: all of <root>/{EVAL_FIXTURES_DIR_NAME} if it "
        "exists, else of the fixtures folder)",
    )
    parser.add_argument("--config", metavar="PATH", help="the project's jaunt.toml")
    parser.add_argument("--fixtures", dest="fixtures_dir", metavar="DIR", help="fixture folder")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        type=lambda v: ("set", v),
        metavar="NAME",
        help="a named set ('packaged', a folder under prompts/); repeatable; the first set "
        "is the baseline of the comparison",
    )
    parser.add_argument(
        "--prompts",
        dest="sets",
        action="append",
        type=lambda v: ("dir", v),
        metavar="DIR",
        help="a set folder (any of the four template files); repeatable",
    )
    add_llm_options(parser, seed=False)
    parser.add_argument("--samples", type=positive_int, default=1, metavar="N")
    parser.add_argument(
        "--seed", type=int, default=0, metavar="S", help="sample i gets seed S+i (default 0)"
    )
    parser.add_argument("--attempts", type=positive_int, default=2, metavar="N")
    parser.add_argument("--concurrency", type=positive_int, default=1, metavar="N")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument("--attempts-file", metavar="PATH", help="write every attempt as JSONL")
    parser.add_argument(
        "--cache", metavar="DIR", help="response cache folder: a rerun replays stored answers"
    )
    parser.add_argument(
        "--run-checks",
        action="store_true",
        help="RUN MODEL-WRITTEN CODE for the fixtures' checks (subprocess, temp folder, time "
        "and memory limits, no API key; still your user: see the README)",
    )
    parser.add_argument("--check-timeout", type=float, default=20.0, metavar="S")
    parser.add_argument("--check-memory-mb", type=positive_int, default=1024, metavar="MB")
    parser.add_argument("--min-valid", type=fraction, metavar="F", help="exit 1 below (0-1)")
    parser.add_argument("--min-passed", type=fraction, metavar="F", help="exit 1 below (0-1)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jaunt.promptkit.eval import report
    from jaunt.promptkit.eval.checks import CheckLimits
    from jaunt.promptkit.eval.runner import EvalSettings, SampleResult, run_eval
    from jaunt.promptkit.generation import llm_config

    err = sys.stderr
    try:
        project = project_from_args(
            argparse.Namespace(config=args.config, fixtures_dir=args.fixtures_dir)
        )
        if args.fixtures_dir is None:
            eval_dir = project.root / EVAL_FIXTURES_DIR_NAME
            if eval_dir.is_dir():
                project = project_from_args(
                    argparse.Namespace(config=args.config, fixtures_dir=str(eval_dir))
                )
        fixtures = [load_fixture(p) for p in project.fixture_files(args.fixtures)]
        if not fixtures:
            raise ProjectError(f"no fixtures in {project.fixtures_dir}")
        sources = []
        for how, value in args.sets or [("set", "packaged")]:
            sources.append(project.set_named(value) if how == "set" else SetSource.from_dir(value))
        sets = [source.load() for source in sources]
        _unique_names(sets)
        seed = args.seed
        llm = llm_config(project.config, llm_overrides_from_args(args, seed=False))
        settings = EvalSettings(
            llm=llm,
            samples=args.samples,
            seed=seed,
            attempts=args.attempts,
            concurrency=args.concurrency,
            run_checks=args.run_checks,
            check_limits=CheckLimits(args.check_timeout, args.check_memory_mb),
            cache_dir=Path(args.cache) if args.cache else None,
        )
    except (LayerError, ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=err)
        return EXIT_USAGE

    total = len(sets) * len(fixtures) * args.samples
    print(
        f"{PROG}: {len(sets)} set(s) x {len(fixtures)} fixture(s) x {args.samples} sample(s) "
        f"= {total} generations, model {llm.model!r}"
        + (", checks run (model-written code executes)" if args.run_checks else ""),
        file=err,
        flush=True,
    )

    def progress(sample: SampleResult, done: int, total: int) -> None:
        verdict = (
            f"valid on attempt {len(sample.attempts)}"
            if sample.valid
            else f"INVALID after {len(sample.attempts)}"
        )
        if sample.passed is not None:
            verdict += ", checks passed" if sample.passed else ", checks FAILED"
        cached = " (cached)" if all(a.from_cache for a in sample.attempts) else ""
        print(
            f"[{done}/{total}] {sample.set_name} {sample.fixture} seed {sample.seed}: "
            f"{verdict}, {sample.latency_s:.1f} s{cached}",
            file=err,
            flush=True,
        )

    try:
        result = asyncio.run(run_eval(sets, fixtures, settings, on_sample=progress))
    except LayerError as exc:
        print(f"{PROG}: error: {exc}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (answers so far are in the cache, if any)", file=err)
        return EXIT_INTERRUPTED
    print(
        f"{PROG}: {result.requests_sent} request(s) sent, {result.cache_hits} answer(s) "
        "replayed from the cache",
        file=err,
    )
    summary = report.summarise(result)
    formatter = {
        "text": report.format_text,
        "json": report.format_json,
        "markdown": report.format_markdown,
    }[args.format]
    if args.attempts_file:
        try:
            atomic_write(
                Path(args.attempts_file),
                "".join(f"{line}\n" for line in report.attempt_lines(result)),
            )
        except OSError as exc:
            print(f"{PROG}: error: cannot write {args.attempts_file}: {exc}", file=err)
            return EXIT_USAGE
    sys.stdout.write(formatter(summary))
    sys.stdout.flush()
    missed = report.thresholds_missed(summary, args.min_valid, args.min_passed)
    for line in missed:
        print(f"{PROG}: threshold missed: {line}", file=err)
    return EXIT_FINDINGS if missed else EXIT_OK


def _unique_names(sets: list[TemplateSet]) -> None:
    names = [t.name for t in sets]
    for name in names:
        if names.count(name) > 1:
            raise ProjectError(
                f"two sets are both named {name!r}: a set's name is its folder's name, so "
                "rename one folder (or pass each set once)"
            )
