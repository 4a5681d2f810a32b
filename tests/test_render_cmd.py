"""``jaunt-prompts render``: table, single-fixture messages, --out files, failures, exit codes."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jaunt.promptkit.cli.main import main
from jaunt.promptkit.fixtures import load_fixture
from jaunt.promptkit.snapshots.cases import render_markdown
from jaunt.promptkit.template_set import load_packaged_set

REPO = Path(__file__).resolve().parent.parent
SNAPSHOTS = REPO / "tests" / "__snapshots__" / "test_snapshots"
FIXTURES = ("pure_function", "class_methods", "test_module")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with three fixtures and a copy of the packaged templates as set ``mine``."""
    (tmp_path / "prompt_fixtures").mkdir()
    for name in FIXTURES:
        shutil.copy(REPO / "prompt_fixtures" / f"{name}.toml", tmp_path / "prompt_fixtures")
    shutil.copytree(REPO / "src" / "jaunt" / "prompts", tmp_path / "prompts" / "mine")
    for stray in (tmp_path / "prompts" / "mine").glob("*.py"):
        stray.unlink()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def render(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["render", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_table_lists_every_fixture_with_counts_lint_and_prefix(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = render(capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["fixture", "kind", "set", "chars", "tokens", "lint", "result"]
    rows = {line.split()[0]: line.split() for line in lines[1:4]}
    assert set(rows) == set(FIXTURES)
    assert rows["test_module"][1:3] == ["test", "packaged"]
    assert rows["pure_function"][5:] == ["ok", "ok"]
    # Exact counts (bpe-openai is installed here): no "~" marker.
    assert not rows["pure_function"][4].startswith("~")
    assert int(rows["pure_function"][4].replace(",", "")) > 100
    assert "cacheable prefix (tokens: o200k_base (bpe-openai)):" in out
    assert "packaged build: " in out
    assert "shared by all 2 requests" in out
    assert "3 fixtures rendered with packaged." in err
    assert "\x1b[" not in out  # not a terminal: plain text


def test_estimate_is_marked_with_a_tilde(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = render(capsys, "--encoding", "estimate")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("pure_function"))
    assert row.split()[4].startswith("~")
    assert "estimate, 1 token per 4 characters" in out


def test_single_fixture_prints_its_messages_on_stdout_and_the_summary_on_stderr(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = render(capsys, "pure_function")
    assert code == 0
    fixture = load_fixture(project / "prompt_fixtures" / "pure_function.toml")
    assert out == render_markdown(load_packaged_set(), fixture)
    assert "pure_function" in err
    assert "tokens" in err


def test_fixture_given_as_a_path_and_a_set_by_name(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = project / "prompts" / "mine" / "build_module.md"
    module.write_text("MINE-MARKER\n\n" + module.read_text())
    code, out, _ = render(capsys, "prompt_fixtures/class_methods.toml", "--set", "mine")
    assert code == 0
    assert out.startswith("# system\n")
    assert "MINE-MARKER" in out


def test_out_writes_files_byte_identical_to_the_committed_snapshots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    out_dir = tmp_path / "out"
    code, _, err = render(capsys, "--out", str(out_dir))
    assert code == 0, err
    fixtures = sorted(p.stem for p in (REPO / "prompt_fixtures").glob("*.toml"))
    assert sorted(p.stem for p in out_dir.glob("*.md")) == fixtures
    compared = 0
    for name in fixtures:
        snapshot = SNAPSHOTS / f"test_prompt[packaged-{name}].md"
        if snapshot.exists():
            assert (out_dir / f"{name}.md").read_bytes() == snapshot.read_bytes(), name
            compared += 1
    assert compared >= 1


def test_broken_template_fails_its_kind_only_with_file_line_and_message(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = project / "prompts" / "mine" / "build_module.md"
    module.write_text("Write {{generated_module}}.\n{{spec_modul}\n{{error_context_block}}\n")
    code, out, err = render(capsys, "--set", "mine", "--out", "out")
    assert code == 1
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:4]}
    assert rows["pure_function"][-1] == "FAILED"
    assert rows["test_module"][-1] == "ok"
    assert "FAILED pure_function: prompts/mine/build_module.md:2:1: " in err
    assert "JP001" in err
    assert sorted(p.name for p in (project / "out").iterdir()) == ["test_module.md"]


def test_broken_fixture_is_reported_with_file_and_key_while_others_render(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "prompt_fixtures" / "bad_kind.toml").write_text(
        'kind = "deploy"\nspec_module = "a"\ngenerated_module = "b"\n'
        "expected_names = []\nspecs = []\n"
    )
    (project / "prompt_fixtures" / "bad_toml.toml").write_text("kind = \n")
    code, out, err = render(capsys)
    assert code == 1
    assert "FAILED bad_kind: prompt_fixtures/bad_kind.toml:1: key 'kind': must be " in err
    assert "FAILED bad_toml: prompt_fixtures/bad_toml.toml: invalid TOML" in err
    assert "(at line 1, column 8)" in err
    assert sum(line.endswith(" ok") for line in out.splitlines()) == 3
    assert "3 fixtures rendered with packaged, 2 failed." in err


def test_unknown_placeholder_is_a_render_failure_naming_its_place(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    system = project / "prompts" / "mine" / "test_system.md"
    system.write_text(system.read_text() + "\nAlso {{colour}}.\n")
    code, _, err = render(capsys, "--set", "mine")
    assert code == 1
    assert "FAILED test_module: prompts/mine/test_system.md:" in err
    assert "colour" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fixtures", "nowhere"], "fixture directory not found: nowhere"),
        (["--set", "nope"], "unknown template set 'nope'"),
        (["--prompts", "nowhere"], "template set directory not found"),
        (["no_such_fixture"], "no fixture 'no_such_fixture'"),
        (["--config", "missing.toml"], "missing.toml: config file not found"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = render(capsys, *args)
    assert code == 2
    assert message in err
    assert out == ""
    assert "Traceback" not in err


def test_jaunt_toml_prompts_are_honoured(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    custom = project / "custom_system.md"
    custom.write_text(
        (REPO / "src" / "jaunt" / "prompts" / "build_system.md").read_text() + "\nTOML-MARKER\n"
    )
    (project / "jaunt.toml").write_text('[prompts]\nbuild_system = "custom_system.md"\n')
    code, out, _ = render(capsys, "pure_function")
    assert code == 0
    assert "TOML-MARKER" in out
    code, out, _ = render(capsys, "pure_function", "--config", "elsewhere.toml")
    assert code == 2


def test_real_subprocess_in_the_repo_root_works_without_api_key_or_colour() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("API_KEY")}
    env["NO_COLOR"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "jaunt.promptkit.cli.main", "render"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("fixture ")
    assert "pure_function" in proc.stdout
    assert "cacheable prefix" in proc.stdout
    assert "\x1b[" not in proc.stdout + proc.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("no_color", "expect_ansi"), [("", True), ("1", False)])
def test_colour_only_on_a_terminal_without_no_color(
    project: Path, monkeypatch: pytest.MonkeyPatch, no_color: str, expect_ansi: bool
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("NO_COLOR", no_color)
    assert main(["render"]) == 0
    assert ("\x1b[" in terminal.getvalue()) is expect_ansi


def test_no_fixture_directory_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = render(capsys)
    assert code == 2
    assert "no fixture folder prompt_fixtures: pass --fixtures DIR" in err


def test_empty_fixture_directory_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "empty").mkdir()
    code, out, err = render(capsys, "--fixtures", "empty")
    assert code == 2
    assert out == ""
    assert "no fixture files (*.toml) in empty/" in err


def test_ctrl_c_during_render_is_exit_130_not_success(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A script must not take an interrupted render for a clean one.
    import jaunt.promptkit.cli.render_cmd as render_cmd

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(render_cmd, "session_from_args", interrupted)
    assert main(["render"]) == 130
    captured = capsys.readouterr()
    assert "jaunt-prompts render: interrupted" in captured.err
    assert "Traceback" not in captured.err
