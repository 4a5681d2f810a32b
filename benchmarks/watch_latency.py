"""Latency of ``jaunt-prompts watch``: from a template write to the updated output file.

Run:  uv run python benchmarks/watch_latency.py [--edits 30] [--debounce MS] [--step MS]

Copies every fixture of ``prompt_fixtures/`` and the packaged templates (as an override set)
into a temporary project, starts the real watcher in a subprocess with ``--out``, then makes
``--edits`` edits to ``build_module.md``. Each edit writes a new marker into the template; the
time is measured from just before the write to the moment ``out/pure_function.md`` (one of
the build fixtures re-rendered by that edit) holds the marker, polled every 0.5 ms. Edits are
spaced out so that each is its own batch. Prints every sample, then the median and the 95th
percentile. Targets: median < 100 ms, p95 < 250 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 20.0


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.0005)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--debounce", type=int, default=None, help="watch --debounce (ms)")
    parser.add_argument("--step", type=int, default=None, help="watch --step (ms)")
    parser.add_argument("--pause", type=float, default=0.15, help="seconds between edits")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "prompt_fixtures", root / "fx")
        (root / "set").mkdir()
        for template in (REPO / "src" / "jaunt" / "prompts").glob("*.md"):
            shutil.copy(template, root / "set")
        module = root / "set" / "build_module.md"
        original = module.read_text(encoding="utf-8")
        output = root / "out" / "pure_function.md"

        command = [sys.executable, "-m", "jaunt.promptkit.cli.main", "watch"]
        command += ["--fixtures", "fx", "--prompts", "set", "--out", "out"]
        if args.debounce is not None:
            command += ["--debounce", str(args.debounce)]
        if args.step is not None:
            command += ["--step", str(args.step)]
        env = {**os.environ, "NO_COLOR": "1"}
        proc = subprocess.Popen(
            command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        lines: list[str] = []

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line.rstrip("\n"))

        threading.Thread(target=read, daemon=True).start()
        try:
            wait_until(lambda: any(line.startswith("watching ") for line in lines), "the watcher")
            samples: list[float] = []
            for i in range(args.edits):
                marker = f"LATENCY-MARK-{i}"
                text = f"{marker}\n\n{original}"
                started = time.perf_counter()
                module.write_text(text, encoding="utf-8")
                wait_until(lambda: marker in output.read_text(encoding="utf-8"), marker)  # noqa: B023
                samples.append((time.perf_counter() - started) * 1000)
                time.sleep(args.pause)
        finally:
            proc.terminate()
            proc.wait(timeout=TIMEOUT_S)

    reported = [line for line in lines if "changed:" in line]
    print("samples (ms):", " ".join(f"{s:.0f}" for s in samples))
    print(f"edits: {len(samples)}  re-render lines: {len(reported)}")
    print(f"median: {statistics.median(samples):.1f} ms  (target < 100)")
    print(f"p95:    {percentile(samples, 0.95):.1f} ms  (target < 250)")
    print(f"max:    {max(samples):.1f} ms")
    if reported:
        print("last watcher line:", reported[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
