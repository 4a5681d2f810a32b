"""Start-up stays light: the template core and the backend base never import the SDKs."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "jaunt.templates",
        "jaunt.promptkit.template_set",
        "jaunt.promptkit.messages",
        "jaunt.promptkit.fixtures",
        "jaunt.generate.base",
    ],
)
def test_light_modules_do_not_import_openai_or_watchfiles(module: str) -> None:
    assert _heavy_imports_after(f"import {module}") == ""


def test_building_the_cli_parser_stays_light() -> None:
    # Every subcommand module is imported to build the parser: they must import lazily.
    assert (
        _heavy_imports_after("from jaunt.promptkit.cli.main import build_parser; build_parser()")
        == ""
    )


def _heavy_imports_after(statement: str) -> str:
    code = (
        f"import sys\n{statement}\n"
        "heavy = ('openai', 'watchfiles', 'httpx', 'syrupy')\n"
        "heavy = sorted(m for m in heavy if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
