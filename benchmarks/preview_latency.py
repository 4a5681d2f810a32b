"""Latency of ``jaunt-prompts preview``: from a template save to the change visible in a browser.

Run:  uv run --group browser python benchmarks/preview_latency.py [--edits 20] [--encoding E]

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium
chromium-driver``) and Selenium (the ``browser`` dependency group).

Copies this repository's example project (``prompt_fixtures/`` and ``prompts/house-style``)
into a temporary folder, starts the real ``jaunt-prompts preview --set house-style`` there in a
subprocess and opens the page in headless Chromium. Each of ``--edits`` edits writes a new
marker line into ``build_module.md``; the page waits (a MutationObserver, installed before
the write) until a *highlighted* changed line of ``pure_function`` holds the marker, then for
the next animation frame, and reports the wall-clock time. A sample is that time minus the
wall-clock time taken just before the write: save -> change painted, watcher, render, server-
sent event, JSON parse and DOM rebuild included. The watcher's own part (save -> document
published, from its file-modification time) is printed next to it. Prints every sample, the
median and the 95th percentile. Target: median < 1 s; goal: < 200 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers.browser import chrome_driver, missing_browser_parts  # noqa: E402

PREVIEW = (sys.executable, "-m", "jaunt.promptkit.cli.main", "preview")
WAIT_SCRIPT = """
const marker = arguments[0], done = arguments[arguments.length - 1];
const found = () => [...document.querySelectorAll('#fx-pure_function .line.chg')]
  .some((line) => line.textContent.includes(marker));
const finish = () => requestAnimationFrame(() => done(Date.now()));
if (found()) { finish(); return; }
const observer = new MutationObserver(() => {
  if (found()) { observer.disconnect(); finish(); }
});
observer.observe(document.getElementById('main'), {childList: true, subtree: true});
"""


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between edits")
    parser.add_argument(
        "--encoding", default="o200k_base", help="preview --encoding (default o200k_base)"
    )
    args = parser.parse_args()
    missing = missing_browser_parts()
    if missing:
        raise SystemExit(f"no headless browser: {missing}")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "prompt_fixtures", root / "prompt_fixtures")
        shutil.copytree(REPO / "prompts", root / "prompts")
        template = root / "prompts" / "house-style" / "build_module.md"
        original = template.read_text(encoding="utf-8")
        proc = subprocess.Popen(
            [*PREVIEW, "--set", "house-style", "--port", "0", "--encoding", args.encoding],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            found = re.match(r"preview at (\S+)", line)
            if found:
                url = found.group(1)
                break
        if not url:
            raise SystemExit("preview did not start")
        # Keep reading its output so the pipe never fills up.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        driver = chrome_driver()
        samples: list[float] = []
        server_side: list[float] = []
        try:
            driver.set_script_timeout(10)
            driver.get(url)
            deadline = time.monotonic() + 20
            while not driver.execute_script("return document.body.dataset.version"):
                if time.monotonic() > deadline:
                    raise SystemExit("the page never got its first document")
                time.sleep(0.05)
            for n in range(args.edits):
                marker = f"BENCHMARK-EDIT-{n}"
                saved: list[float] = []

                def save(marker: str = marker, saved: list[float] = saved) -> None:
                    time.sleep(0.05)  # the observer is in place by now
                    saved.append(time.time())
                    template.write_text(
                        original.replace("\n", f"\n{marker}\n", 1), encoding="utf-8"
                    )

                writer = threading.Thread(target=save)
                writer.start()
                seen_ms = driver.execute_async_script(WAIT_SCRIPT, marker)
                writer.join()
                sample = seen_ms - saved[0] * 1000
                samples.append(sample)
                since_save = driver.execute_script("return state.last_change.since_save_ms")
                server_side.append(float(since_save))
                print(f"edit {n + 1:2d}: {sample:7.1f} ms in the browser ({since_save} ms server)")
                time.sleep(args.pause)
        finally:
            driver.quit()
            proc.terminate()
            proc.wait(timeout=20)

    median = statistics.median(samples)
    p95 = percentile(samples, 0.95)
    print(
        f"save -> change visible in headless Chromium over {len(samples)} edits: "
        f"median {median:.1f} ms, p95 {p95:.1f} ms, max {max(samples):.1f} ms"
    )
    print(
        f"save -> document published (server side): median {statistics.median(server_side):.1f} "
        f"ms, p95 {percentile(server_side, 0.95):.1f} ms"
    )
    print(f"target median < 1000 ms: {'met' if median < 1000 else 'MISSED'}")
    print(f"goal median < 200 ms: {'met' if median < 200 else 'missed'}")
    return 0 if median < 1000 else 1


if __name__ == "__main__":
    sys.exit(main())
