"""How long linting takes: the packaged set, large templates, and the CLI as a process.

Run:  uv run python benchmarks/lint_bench.py

Prints the best time (min over repeats of the mean of a timing loop) of:

* ``lint_template_set(packaged)``: what ``jaunt-prompts render`` pays per lint status;
* ``lint_text`` on a module template grown to 10 KB, 100 KB and 1 MB of prose with the
  packaged placeholders (the phrase rules scan every clause, so this is their worst case);
* ``jaunt-prompts lint`` (no arguments) as a fresh Python process, start-up included.
"""

from __future__ import annotations

import subprocess
import sys
import time
import timeit
from collections.abc import Callable

from jaunt.promptkit.lint import lint_template_set, lint_text
from jaunt.promptkit.template_set import load_packaged_set

SIZES = {"10 KB": 10_000, "100 KB": 100_000, "1 MB": 1_000_000}
PROSE = (
    "Implement exactly what each docstring says; do not write tests, and never edit user "
    "files. Keep helpers private unless a spec names them: {x} stays literal.\n"
)


def best_seconds(fn: Callable[[], object], *, repeat: int = 5, budget_s: float = 0.2) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, min(number, int(budget_s / max(timer.timeit(1), 1e-9))))
    return min(timer.repeat(repeat=repeat, number=number)) / number


def main() -> None:
    packaged = load_packaged_set()
    module = packaged.templates["build_module"].text
    per_set = best_seconds(lambda: lint_template_set(packaged))
    print(f"lint_template_set(packaged)          {per_set * 1e6:10.1f} us")
    for label, size in SIZES.items():
        text = PROSE * (size // len(PROSE)) + module
        seconds = best_seconds(
            lambda text=text: lint_text(text, path="big.md", template_name="build_module"),
            repeat=3,
        )
        mb_per_s = len(text) / seconds / 1e6
        print(
            f"lint_text build_module {label:>7}       {seconds * 1e3:10.2f} ms"
            f"  ({mb_per_s:.1f} MB/s)"
        )
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "jaunt.promptkit.cli.main", "lint"],
            check=True,
            capture_output=True,
        )
        runs.append(time.perf_counter() - start)
    print(f"jaunt-prompts lint (process)         {min(runs) * 1e3:10.1f} ms")


if __name__ == "__main__":
    main()
