"""The preview page in a real headless Chromium (Debian's chromium + chromium-driver, Selenium).

Skipped, with the reason, when Selenium (the ``browser`` dependency group), ``chromium`` or
``chromedriver`` is missing, except under ``JAUNT_REQUIRE_BROWSER=1`` (CI), where missing is
a failure. ``jaunt-prompts preview`` runs as a subprocess on a copy of this repository's
example project; every wait polls with a deadline and asserts nothing about speed
(benchmarks/preview_latency.py measures that).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.browser import chrome_driver, missing_browser_parts

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
DEADLINE_S = 20.0
REQUIRED = os.environ.get("JAUNT_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    missing = missing_browser_parts()
    if missing:
        reason = f"no headless browser: {missing}"
        if REQUIRED:
            pytest.fail(f"{reason} (JAUNT_REQUIRE_BROWSER=1)")
        pytest.skip(reason)
    browser = chrome_driver()
    try:
        yield browser
    finally:
        browser.quit()


class Preview:
    """``jaunt-prompts preview`` on a project folder, on a free port."""

    def __init__(self, root: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jaunt.promptkit.cli.main", "preview", "--port", "0", *args],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        self.url = ""
        for line in self.proc.stdout:
            found = re.match(r"preview at (\S+)", line)
            if found:
                self.url = found.group(1)
                break
        if not self.url:
            _, err = self.proc.communicate(timeout=10)
            pytest.fail(f"preview did not start: {err}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.communicate(timeout=20)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "prompt_fixtures", tmp_path / "prompt_fixtures")
    shutil.copytree(REPO / "prompts", tmp_path / "prompts")
    return tmp_path


@pytest.fixture
def preview(project: Path) -> Iterator[Preview]:
    running = Preview(project, "--set", "house-style", "--encoding", "estimate")
    try:
        yield running
    finally:
        running.stop()


def wait_for(driver: Any, what: str, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}; page text:\n{page_text(driver)[:2000]}")


def page_text(driver: Any) -> str:
    text: str = driver.execute_script("return document.body.innerText")
    return text


def js(driver: Any, script: str) -> Any:
    return driver.execute_script(script)


def open_page(driver: Any, preview: Preview) -> None:
    driver.get(preview.url)
    wait_for(
        driver, "the first document", lambda: js(driver, "return document.body.dataset.version")
    )


def test_the_page_shows_every_fixture(driver: Any, preview: Preview) -> None:
    open_page(driver, preview)
    names = js(driver, "return [...document.querySelectorAll('.fx-link')].map(a => a.textContent)")
    expected = sorted(p.stem for p in (REPO / "prompt_fixtures").glob("*.toml"))
    assert sorted(names) == expected
    text = page_text(driver)
    for name in expected:
        assert name in text
    assert js(driver, "return document.getElementById('conn').textContent") == "live"
    # Each fixture's messages are on the page, rendered as text, with their token counts.
    system = js(
        driver,
        "return document.querySelector('#fx-class_methods .msg .msg-text').innerText",
    )
    assert "You are the code generator of jaunt" in system
    assert "tokens" in js(
        driver, "return document.querySelector('#fx-class_methods .tok').innerText"
    )


def test_an_edit_appears_with_the_changed_line_highlighted(
    driver: Any, preview: Preview, project: Path
) -> None:
    open_page(driver, preview)
    template = project / "prompts" / "house-style" / "build_module.md"
    text = template.read_text()
    template.write_text(text.replace("\n", "\nA LINE ADDED BY THE BROWSER TEST\n", 1))
    highlighted = wait_for(
        driver,
        "the highlighted line",
        lambda: js(
            driver,
            "return [...document.querySelectorAll('#fx-pure_function .line.chg')]"
            ".map(l => l.textContent)",
        ),
    )
    assert highlighted == ["A LINE ADDED BY THE BROWSER TEST"]
    # Lines the save did not touch are not highlighted.
    assert (
        js(
            driver,
            "return document.querySelectorAll('#fx-pure_function .msg')[0]"
            ".querySelectorAll('.line.chg').length",
        )
        == 0
    )
    banner = js(driver, "return document.getElementById('change').innerText")
    assert "build_module.md" in banner
    assert "re-rendered in" in banner
    assert "after save" in banner


def test_script_in_a_template_renders_as_text(driver: Any, preview: Preview, project: Path) -> None:
    open_page(driver, preview)
    scripts_before = js(driver, "return document.scripts.length")
    # In the system message (inside the shared prefix) and at the end of the module message.
    for name in ("build_system.md", "build_module.md"):
        template = project / "prompts" / "house-style" / name
        template.write_text(template.read_text() + "\n<script>alert(1)</script>\n<b>bold?</b>\n")
    module_text = "return document.querySelectorAll('#fx-pure_function .msg-text')[1].innerText"
    wait_for(driver, "the script text", lambda: "<script>" in js(driver, module_text))
    for message in range(2):
        shown = js(
            driver,
            f"return document.querySelectorAll('#fx-pure_function .msg-text')[{message}].innerText",
        )
        assert "<script>alert(1)</script>" in shown
        assert "<b>bold?</b>" in shown
    assert js(driver, "return document.scripts.length") == scripts_before
    assert (
        js(driver, "return document.querySelectorAll('.msg-text b, .msg-text script').length") == 0
    )
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        _ = driver.switch_to.alert.text


def test_a_broken_template_shows_its_error_then_recovers(
    driver: Any, preview: Preview, project: Path
) -> None:
    open_page(driver, preview)
    template = project / "prompts" / "house-style" / "build_module.md"
    good = template.read_text()
    template.write_text(good.replace("{{specs_block}}", "{{specs_block}", 1))
    wait_for(driver, "the error", lambda: "FAILED" in page_text(driver))
    errors = js(driver, "return document.getElementById('set-errors').innerText")
    assert "build_module.md:" in errors
    template.write_text(good)
    wait_for(driver, "recovery", lambda: "FAILED" not in page_text(driver))
    assert js(driver, "return document.getElementById('set-errors').innerText") == ""


def test_compare_shows_both_sets(driver: Any, project: Path) -> None:
    running = Preview(
        project, "--set", "house-style", "--compare", "packaged", "--encoding", "estimate"
    )
    try:
        open_page(driver, running)
        sets = js(
            driver,
            "return [...document.querySelectorAll('#fx-class_methods .set-name')]"
            ".map(s => s.textContent)",
        )
        assert sets == ["house-style", "packaged"]
    finally:
        running.stop()


def test_whitespace_and_invisible_characters_show_on_demand(driver: Any, preview: Preview) -> None:
    open_page(driver, preview)
    module = "return document.querySelectorAll('#fx-unicode_adversarial .msg-text')[1].innerText"
    plain = js(driver, module)
    assert "\u202e" in plain
    assert "⟨U+202E⟩" not in plain
    driver.find_element("id", "ws").click()
    shown = js(driver, module)
    # The right-to-left override is named, spaces show as dots and line ends as pilcrows.
    assert "⟨U+202E⟩This·sentence·contains" in shown
    assert "\u202e" not in shown
    assert "¶" in js(
        driver,
        "return getComputedStyle(document.querySelector('.line.ws'), '::after').content",
    )
    driver.find_element("id", "ws").click()
    assert js(driver, module) == plain
