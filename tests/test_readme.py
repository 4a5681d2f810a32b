"""The README's `jaunt-prompts` examples run as written.

Every ``$ uv run jaunt-prompts render|lint|init ...`` line of a ``console`` block is run
(through this interpreter, in a copy of the repository's fixtures, sets and a
``jaunt.toml``), and must exit 0 without a traceback. ``generate`` and ``watch`` need a
model or run forever: they are covered by their own tests.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("render", "lint", "init")


def _examples() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n(.*?)```", text, flags=re.S)
    commands: list[str] = []
    for block in blocks:
        for line in block.splitlines():
            match = re.match(r"\$ uv run jaunt-prompts (\S+)(.*)", line)
            if match and match.group(1) in CHECKED:
                args = f"{match.group(1)}{match.group(2)}".split(" #")[0].strip()
                commands.append(args)
    return commands


EXAMPLES = _examples()


def test_the_readme_has_examples_to_check() -> None:
    assert len(EXAMPLES) >= 10
    assert {a.split()[0] for a in EXAMPLES} == set(CHECKED)


@pytest.mark.parametrize("args", EXAMPLES)
def test_readme_example_runs(args: str, tmp_path: Path) -> None:
    for name in ("prompt_fixtures", "prompts"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "src" / "jaunt" / "prompts", tmp_path / "src" / "jaunt" / "prompts")
    (tmp_path / "jaunt.toml").write_text("[prompts]\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "jaunt.promptkit.cli.main", *shlex.split(args)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, f"jaunt-prompts {args}\n{run.stdout}\n{run.stderr}"
    assert "Traceback" not in run.stderr
