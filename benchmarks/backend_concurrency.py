"""Concurrency of OpenAIBackend: N generations at once against a local server with a fixed delay.

Run:  uv run python benchmarks/backend_concurrency.py [--delay 0.3] [--repeats 3]

A scripted OpenAI-compatible server (helpers.fake_openai) on 127.0.0.1 answers every
request after ``--delay`` seconds. One OpenAIBackend (one AsyncOpenAI client) runs N
``generate_module`` calls with ``asyncio.gather`` for N = 1, 10, 50; the best wall time of
``--repeats`` runs is printed with its ratio to the single-request time. Target: the ratio
at N = 50 stays under 1.5 (the calls overlap instead of queueing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

# The test helpers (fake and llama servers) live under tests/ and are not part of the wheel.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers.fake_openai import FakeOpenAIServer, Reply

from jaunt.generate.base import ModuleSpecContext
from jaunt.generate.openai_backend import OpenAIBackend
from jaunt.promptkit.settings import LLMConfig
from jaunt.spec_ref import SpecRef

KEY_ENV = "JAUNT_BENCH_FAKE_KEY"
CTX = ModuleSpecContext(
    kind="build",
    spec_module="bench.mod",
    generated_module="bench.__generated__.mod",
    expected_names=["f"],
    spec_sources={SpecRef("bench.mod:f"): "def f() -> int:\n    '''Return 1.'''"},
    decorator_prompts={},
    dependency_apis={},
    dependency_generated_modules={},
)
SIZES = (1, 10, 50)


async def _wall_time(backend: OpenAIBackend, n: int) -> float:
    start = time.perf_counter()
    answers = await asyncio.gather(*(backend.generate_module(CTX) for _ in range(n)))
    elapsed = time.perf_counter() - start
    assert len(answers) == n
    return elapsed


async def _run(base_url: str, repeats: int) -> dict[int, float]:
    llm = LLMConfig("openai", "bench-model", KEY_ENV, base_url=base_url, max_retries=0)
    async with OpenAIBackend(llm) as backend:
        await _wall_time(backend, 1)  # warm-up: imports, first connection
        return {n: min([await _wall_time(backend, n) for _ in range(repeats)]) for n in SIZES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.3, help="server delay per request (s)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per size (best is kept)")
    args = parser.parse_args()
    os.environ.setdefault(KEY_ENV, "bench-not-a-real-key")
    answer = Reply(content="def f() -> int:\n    return 1\n", delay_s=args.delay)
    with FakeOpenAIServer(default=answer) as server:
        times = asyncio.run(_run(server.base_url, args.repeats))
    single = times[1]
    print(f"server delay {args.delay:.3f} s per request, best of {args.repeats}")
    print(f"{'N':>4}  {'wall (s)':>9}  {'wall / single':>13}")
    for n, wall in times.items():
        print(f"{n:>4}  {wall:>9.3f}  {wall / single:>12.2f}x")
    ratio = times[SIZES[-1]] / single
    verdict = "ok" if ratio < 1.5 else "OVER TARGET"
    print(f"target: N={SIZES[-1]} under 1.5x single -> {ratio:.2f}x {verdict}")
    return 0 if ratio < 1.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
