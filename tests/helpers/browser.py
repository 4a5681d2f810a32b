"""A headless Chromium for tests and benchmarks: Debian's chromium and chromedriver, Selenium.

Test-only (not in the wheel). :func:`missing_browser_parts` says what is missing (empty when
all is there) so callers can skip with a reason, or fail when the browser is required.
"""

from __future__ import annotations

import importlib.util
import shutil
from typing import Any

CHROMEDRIVER_NAMES = ("chromedriver",)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def _which(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def missing_browser_parts() -> str:
    missing = []
    if importlib.util.find_spec("selenium") is None:
        missing.append("selenium (uv sync --group browser)")
    if _which(CHROMIUM_NAMES) is None:
        missing.append("chromium (apt-get install chromium)")
    if _which(CHROMEDRIVER_NAMES) is None:
        missing.append("chromedriver (apt-get install chromium-driver)")
    return ", ".join(missing)


def chrome_driver(width: int = 1500, height: int = 1000) -> Any:
    """A headless Chromium driven through the system chromedriver (nothing downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in (
        "--headless=new",
        # CI runs as root, where Chromium's sandbox cannot start.
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    driver_path = _which(CHROMEDRIVER_NAMES)
    return webdriver.Chrome(options=options, service=Service(driver_path))
