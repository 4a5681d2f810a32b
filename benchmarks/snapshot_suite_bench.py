"""How long the prompt snapshot suite takes (the target is under 2 s for all sets x fixtures).

Run:  uv run python benchmarks/snapshot_suite_bench.py [--runs N]

Prints, each as the median (and min) of N runs:

* ``pytest wall``   a fresh ``pytest`` process running the snapshot tests
                    (``tests/test_snapshots.py -k "test_prompt or dead"``): interpreter start,
                    plugin loading, collection, rendering and comparing every snapshot;
* ``pytest report`` the session time pytest itself reports ("N passed in X s");
* ``render only``   rendering every case to Markdown in this process (what the snapshots
                    compare), plus reading every snapshot file.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from jaunt.promptkit.fixtures import load_fixture_dir
from jaunt.promptkit.snapshots.cases import discover_sets, prompt_cases

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "tests" / "__snapshots__" / "test_snapshots"
PYTEST_ARGS = [
    "-m",
    "pytest",
    "tests/test_snapshots.py",
    "-k",
    "test_prompt or dead",
    "-q",
    "-p",
    "no:cacheprovider",
]


def pytest_run() -> tuple[float, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *PYTEST_ARGS], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"snapshot suite failed:\n{done.stdout}\n{done.stderr}")
    reported = re.search(r"passed(?:, \d+ deselected)? in ([\d.]+)s", done.stdout)
    return wall, float(reported.group(1)) if reported else float("nan")


def render_only() -> tuple[float, int]:
    start = time.perf_counter()
    cases = prompt_cases(
        discover_sets(ROOT / "prompts"), load_fixture_dir(ROOT / "prompt_fixtures")
    )
    for case in cases:
        stored = (SNAPSHOTS / f"test_prompt[{case.id}].md").read_text(encoding="utf-8")
        if case.markdown() != stored:
            sys.exit(f"snapshot drift: {case.id}")
    return time.perf_counter() - start, len(cases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    walls, reports = zip(*(pytest_run() for _ in range(runs)), strict=True)
    renders = [render_only() for _ in range(runs)]
    cases = renders[0][1]
    print(f"snapshot suite: {cases} cases (template sets x fixtures), {runs} runs")
    for label, values in (
        ("pytest wall", walls),
        ("pytest report", reports),
        ("render only", [r[0] for r in renders]),
    ):
        print(f"  {label:<14} median {statistics.median(values):7.3f} s   min {min(values):7.3f} s")


if __name__ == "__main__":
    main()
