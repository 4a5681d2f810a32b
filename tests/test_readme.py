"""The README's `jaunt-prompts` examples run as written.

Every ``$ uv run jaunt-prompts render|lint|init|cost ...`` line of a ``console`` block is
run (through this interpreter, in a copy of the repository's fixtures, sets and a
``jaunt.toml``), and must exit 0 without a traceback. Where the README shows what the
command prints (the lines under it, up to the next ``$``), every shown line must be printed,
in that order (``...`` stands for lines left out), so the numbers cannot go stale.
``generate`` and ``watch`` need a model or run forever: they are covered by their own tests.
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
CHECKED = ("render", "lint", "init", "cost")


def _examples() -> dict[str, list[str]]:
    """Each checked command line -> the output lines the README shows under it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n(.*?)```", text, flags=re.S)
    commands: dict[str, list[str]] = {}
    for block in blocks:
        current: list[str] | None = None
        for line in block.splitlines():
            if line.startswith("$ "):
                current = None
                match = re.match(r"\$ uv run jaunt-prompts (\S+)(.*)", line)
                if match and match.group(1) in CHECKED:
                    args = f"{match.group(1)}{match.group(2)}".split(" #")[0].strip()
                    current = commands.setdefault(args, [])
            elif current is not None and line.strip() and not line.lstrip().startswith("#"):
                current.append(line)  # (an indented "# ..." continues the command's comment)
    return commands


EXAMPLES = _examples()


def test_the_readme_has_examples_to_check() -> None:
    assert len(EXAMPLES) >= 10
    assert {a.split()[0] for a in EXAMPLES} == set(CHECKED)
    assert sum(1 for shown in EXAMPLES.values() if shown) >= 2  # render's and cost's output


@pytest.mark.parametrize("args", list(EXAMPLES))
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
    printed = (run.stdout + run.stderr).splitlines()
    position = 0
    for shown in EXAMPLES[args]:
        if shown.strip() == "...":
            continue
        assert shown in printed[position:], (
            f"README shows `{shown}` for `jaunt-prompts {args}`; it printed:\n" + "\n".join(printed)
        )
        position = printed.index(shown, position) + 1
