"""``jaunt-prompts init``: the scaffold works as it is, and never overwrites a file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jaunt.promptkit.cli.main import main


def test_init_render_lint_and_pytest_pass_in_a_fresh_scaffold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "demo"]) == 0
    out, _ = capsys.readouterr()
    assert "created demo/jaunt.toml" in out
    monkeypatch.chdir(tmp_path / "demo")
    capsys.readouterr()
    assert main(["render"]) == 0
    _, err = capsys.readouterr()
    assert "rendered with project" in err  # [prompts], under the name every command uses
    assert main(["lint"]) == 0
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path / "demo",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_the_scaffold_set_is_what_renders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--name", "mine"]) == 0
    module = tmp_path / "prompts" / "mine" / "build_module.md"
    module.write_text("SCAFFOLD-EDIT\n" + module.read_text("utf-8"), encoding="utf-8")
    capsys.readouterr()
    assert main(["render", "example"]) == 0
    assert "SCAFFOLD-EDIT" in capsys.readouterr().out


def test_init_refuses_to_overwrite_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_prompts.py").write_text("# mine\n", encoding="utf-8")
    assert main(["init", str(tmp_path)]) == 2
    _, err = capsys.readouterr()
    assert "not overwriting existing files (tests/test_prompts.py)" in err
    assert "\n" not in err.strip()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["test_prompts.py", "tests"]
    assert (tmp_path / "tests" / "test_prompts.py").read_text("utf-8") == "# mine\n"
