"""Hostile input: scanner and fence extraction time against input size, and concurrency.

Run:  uv run python benchmarks/hostile_input.py [--repeats 3] [--delay 0.3]

1. The template scanner (``jaunt.templates.scan``) and fence extraction
   (``jaunt.generate.extract.extract_python_code``) on the worst inputs found (runs of
   backslashes or braces, unclosed placeholders, thousands of fences, a fence opener
   followed by many unparsable closing candidates) at 125 KB .. 1 MB. Best of
   ``--repeats``. Linear means the time per MB stays flat as the size grows; the target is
   every 1 MB input under 0.5 s.
2. 20 concurrent ``generate_module`` calls through the real openai SDK against a local
   server (``--delay`` seconds per answer), with and without one of them receiving a 3 MB
   hostile answer: with the default ``max_answer_bytes`` (the answer is refused) and with
   the limit raised to 8 MB (the answer is parsed and extracted, off the event loop).
   Target: the 20 finish within 1.5x of one generation alone.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers.fake_openai import FakeOpenAIServer, Reply

from jaunt.generate.base import ModuleSpecContext
from jaunt.generate.extract import extract_python_code
from jaunt.generate.openai_backend import OpenAIBackend
from jaunt.promptkit.errors import ModelAnswerError
from jaunt.promptkit.settings import LLMConfig
from jaunt.spec_ref import SpecRef
from jaunt.templates import scan

KEY_ENV = "JAUNT_BENCH_FAKE_KEY"
SIZES = (125_000, 250_000, 500_000, 1_000_000)
TARGET_S = 0.5


def _fill(unit: str, size: int) -> str:
    return unit * (size // len(unit))


SCANNER_INPUTS: dict[str, Callable[[int], str]] = {
    "backslashes": lambda n: "\\" * n,
    "open braces {": lambda n: "{" * n,
    "close braces }": lambda n: "}" * n,
    "\\\\\\\\\\\\\\{{ runs": lambda n: _fill("\\" * 7 + "{{", n),
    "unclosed {{a": lambda n: _fill("{{a", n),
    "one short {a}}": lambda n: _fill("{a}}", n),
    "bad names {{1}}": lambda n: _fill("{{1}}", n),
    "{{a}} per line": lambda n: _fill("{{a}}\n", n),
}
EXTRACT_INPUTS: dict[str, Callable[[int], str]] = {
    "``` lines": lambda n: _fill("```\n", n),
    "opener + unparsable closers": lambda n: "```python\n" + _fill("(\n```\n", n),
    "long opener, short fences": lambda n: "````\n" + _fill("```\n", n),
    "tiny python blocks": lambda n: _fill("```py\nx\n```\n", n),
    "backticks in info": lambda n: _fill("```a`b\n", n),
}


def _best(func: Callable[[str], object], text: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        func(text)
        best = min(best, time.perf_counter() - started)
    return best


def _size_table(
    title: str, inputs: dict[str, Callable[[int], str]], func: Callable[[str], object], repeats: int
) -> bool:
    print(
        f"\n{title} (best of {repeats}; seconds; last column: seconds per MB at 1 MB / at 125 KB)"
    )
    header = "".join(f"{n // 1000:>9} KB" for n in SIZES)
    print(f"{'input':<30}{header}  {'per-MB ratio':>12}")
    ok = True
    for name, make in inputs.items():
        times = [_best(func, make(n), repeats) for n in SIZES]
        per_mb = [t / (n / 1e6) for t, n in zip(times, SIZES, strict=True)]
        ratio = per_mb[-1] / per_mb[0] if per_mb[0] > 0 else 1.0
        ok &= times[-1] < TARGET_S
        cells = "".join(f"{t:>12.3f}" for t in times)
        print(f"{name:<30}{cells}  {ratio:>11.2f}x")
    print(f"target: every 1 MB input under {TARGET_S} s -> {'ok' if ok else 'OVER TARGET'}")
    return ok


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
GOOD = Reply(content="def f() -> int:\n    return 1\n")


async def _gather(llm: LLMConfig, n: int) -> tuple[float, int]:
    async with OpenAIBackend(llm) as backend:
        await backend.generate_module(CTX)  # warm-up: imports, first connection
        started = time.perf_counter()
        results = await asyncio.gather(
            *(backend.generate_module(CTX) for _ in range(n)), return_exceptions=True
        )
        elapsed = time.perf_counter() - started
    failed = sum(isinstance(r, ModelAnswerError) for r in results)
    others = [r for r in results if isinstance(r, BaseException)]
    if len(others) > failed:
        raise RuntimeError(f"unexpected errors: {others}")
    return elapsed, failed


def _concurrency(delay: float, repeats: int) -> bool:
    hostile = "```python\n" + _fill("(\n```\n", 3_000_000)
    print(f"\n20 concurrent generations, server delay {delay:.2f} s, best of {repeats}")
    print(f"hostile answer: {len(hostile):,} characters ('opener + unparsable closers')")
    ok = True
    with FakeOpenAIServer(default=dataclasses.replace(GOOD, delay_s=delay)) as server:
        base = LLMConfig("openai", "bench", KEY_ENV, base_url=server.base_url, max_retries=0)
        raised = dataclasses.replace(base, max_answer_bytes=8_000_000)

        def run(llm: LLMConfig, n: int, with_hostile: bool) -> tuple[float, int]:
            best: tuple[float, int] = (float("inf"), 0)
            for _ in range(repeats):
                server.script(GOOD)  # the warm-up
                if with_hostile:
                    server.script(Reply(content=hostile, delay_s=delay))
                best = min(best, asyncio.run(_gather(llm, n)))
            return best

        single, _ = run(base, 1, False)
        rows = [
            ("1 generation", single, 0),
            ("20 generations", *run(base, 20, False)),
            ("20, one 3 MB answer (refused)", *run(base, 20, True)),
            ("20, one 3 MB answer (limit 8 MB)", *run(raised, 20, True)),
        ]
    print(f"{'case':<36}{'wall (s)':>9}{'x single':>10}{'failed':>8}")
    for name, wall, failed in rows:
        print(f"{name:<36}{wall:>9.3f}{wall / single:>9.2f}x{failed:>8}")
        ok &= wall / single < 1.5
    print(f"target: 20 concurrent within 1.5x of one -> {'ok' if ok else 'OVER TARGET'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.3, help="server delay per answer (s)")
    args = parser.parse_args()
    os.environ.setdefault(KEY_ENV, "bench-not-a-real-key")
    ok = _size_table("template scanner", SCANNER_INPUTS, scan, args.repeats)
    ok &= _size_table("fence extraction", EXTRACT_INPUTS, extract_python_code, args.repeats)
    ok &= _concurrency(args.delay, args.repeats)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
