"""Take docs/preview.png: the preview of this repository's example project after one save.

Run:  uv run --group browser python scripts/preview_screenshot.py [--out docs/preview.png]

Copies ``prompt_fixtures/`` and ``prompts/`` to a temporary folder, serves ``jaunt-prompts
preview --set house-style --encoding o200k_base`` there, opens it in headless Chromium (see
tests/helpers/browser.py), saves one edit to ``build_module.md`` (a new line with a
placeholder look-alike, so a lint warning shows too) and photographs the changed message.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers.browser import chrome_driver  # noqa: E402

PREVIEW = (sys.executable, "-m", "jaunt.promptkit.cli.main", "preview")
EDIT = "Mention {generated_module} once in the module docstring.\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "preview.png"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "shop"
        shutil.copytree(REPO / "prompt_fixtures", root / "prompt_fixtures")
        shutil.copytree(REPO / "prompts", root / "prompts")
        proc = subprocess.Popen(
            [*PREVIEW, "--set", "house-style", "--port", "0"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        url = next(m.group(1) for line in proc.stdout if (m := re.match(r"preview at (\S+)", line)))
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        driver = chrome_driver(1400, 900)
        try:
            driver.get(url)
            while not driver.execute_script("return document.body.dataset.version"):
                time.sleep(0.05)
            template = root / "prompts" / "house-style" / "build_module.md"
            text = template.read_text(encoding="utf-8")
            cut = text.index("{{specs_block}}")
            template.write_text(text[:cut] + EDIT + "\n" + text[cut:], encoding="utf-8")
            deadline = time.monotonic() + 20
            while not driver.execute_script(
                "return document.querySelector('#fx-pure_function .line.chg')"
            ):
                if time.monotonic() > deadline:
                    raise SystemExit("the edit never showed up")
                time.sleep(0.05)
            driver.execute_script(
                "document.querySelectorAll('#fx-pure_function .msg')[1]"
                ".scrollIntoView({block: 'start'}); window.scrollBy(0, -80);"
            )
            time.sleep(0.3)
            driver.save_screenshot(args.out)
        finally:
            driver.quit()
            proc.terminate()
            proc.wait(timeout=20)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
