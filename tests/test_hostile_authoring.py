"""Authoring commands on hostile files: findings and a clean exit (or keep watching), no crash.

Deep TOML nesting (tomllib's RecursionError), a message over a million characters (the
token counter's limit), symlink loops, non-regular files and duplicate fixture names.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_watch import WatchProcess

from jaunt.promptkit.cli.main import main
from jaunt.promptkit.tokens import get_tokenizer

REPO = Path(__file__).resolve().parent.parent
DEEP = "x = " + "[" * 50_000 + "]" * 50_000 + "\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "prompt_fixtures").mkdir()
    shutil.copy(REPO / "prompt_fixtures" / "pure_function.toml", tmp_path / "prompt_fixtures")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def _huge_fixture(chars: int) -> str:
    text = (REPO / "prompt_fixtures" / "pure_function.toml").read_text("utf-8")
    filler = "    # " + "a b c d " * 12 + "\n"
    body = filler * (chars // len(filler) + 1)
    return text.replace('    """Return ``price``', body + '    """Return ``price``', 1)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_render_reports_a_deeply_nested_fixture(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "prompt_fixtures" / "deep.toml").write_text(DEEP, "utf-8")
    code, out, err = _run(capsys, "render")
    assert code == 1
    assert "deep.toml: invalid TOML: arrays or tables nested too deeply" in err
    assert "pure_function" in out  # the good fixture still rendered


def test_a_deeply_nested_config_is_a_one_line_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "jaunt.toml").write_text("[prompts]\n" + DEEP, "utf-8")
    for command in ("render", "lint"):
        code, _, err = _run(capsys, command)
        assert code == 2, command
        assert "nested too deeply" in err


def test_a_message_over_a_million_characters_is_counted(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "prompt_fixtures" / "huge.toml").write_text(_huge_fixture(1_200_000), "utf-8")
    code, out, _ = _run(capsys, "render")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("huge "))
    assert int(row.split()[4].replace(",", "")) > 200_000


def test_token_counter_handles_three_million_characters() -> None:
    tokenizer = get_tokenizer()
    assert tokenizer.count("a b " * 750_000) > 1_000_000


def test_symlink_loops_are_findings(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixtures = project / "prompt_fixtures"
    (fixtures / "a.toml").symlink_to("b.toml")
    (fixtures / "b.toml").symlink_to("a.toml")
    code, _, err = _run(capsys, "render")
    assert code == 1
    assert "a.toml: cannot read fixture file: Too many levels of symbolic links" in err
    (project / "prompts" / "loopy").mkdir(parents=True)
    (project / "prompts" / "loopy" / "build_module.md").symlink_to("build_module.md")
    code, out, _ = _run(capsys, "lint")
    assert code == 1
    assert "loopy/build_module.md:1:1: JP020 cannot read template file" in out
    code, _, err = _run(capsys, "render", "--set", "loopy")
    assert code == 1


def test_a_fifo_fixture_and_dev_zero_template_are_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(project / "prompt_fixtures" / "pipe.toml")
    code, _, err = _run(capsys, "render")
    assert code == 1
    assert "pipe.toml: is not a regular file" in err
    code, out, _ = _run(capsys, "lint", "/dev/zero")
    assert code in (1, 2)
    assert "not a regular file" in out


def test_unreadable_fixture_folder_is_one_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As root a chmod'ed folder stays readable; a file where the folder should be fails the
    # same way (listing raises OSError) on every machine.
    code, _, err = _run(capsys, "render", "--fixtures", "prompt_fixtures/pure_function.toml")
    assert code == 2
    assert "\n" not in err.strip()


def test_two_fixtures_with_one_name_are_an_error_naming_both(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = project / "other"
    other.mkdir()
    shutil.copy(project / "prompt_fixtures" / "pure_function.toml", other)
    code, _, err = _run(
        capsys,
        "render",
        "prompt_fixtures/pure_function.toml",
        "other/pure_function.toml",
        "--out",
        "out",
    )
    assert code == 2
    assert "prompt_fixtures/pure_function.toml" in err
    assert "other/pure_function.toml" in err
    assert not (project / "out").exists()


def test_watch_keeps_running_through_hostile_fixtures(project: Path) -> None:
    fixtures = project / "prompt_fixtures"
    watcher = WatchProcess(project, "--out", "out")
    try:
        watcher.wait_line("watching ")
        mark = len(watcher.lines)
        (fixtures / "deep.toml").write_text(DEEP, "utf-8")
        watcher.wait_line("nested too deeply", mark)
        mark = len(watcher.lines)
        (fixtures / "huge.toml").write_text(_huge_fixture(1_100_000), "utf-8")
        watcher.wait_for("huge rendered", lambda: (project / "out" / "huge.md").is_file())
        (fixtures / "a.toml").symlink_to("b.toml")
        (fixtures / "b.toml").symlink_to("a.toml")
        watcher.wait_line("Too many levels of symbolic links", mark)
        # Still alive and still re-rendering.
        mark = len(watcher.lines)
        text = (fixtures / "pure_function.toml").read_text("utf-8")
        (fixtures / "pure_function.toml").write_text(text.replace("per cent", "PERCENT"), "utf-8")
        watcher.wait_for(
            "re-render", lambda: "PERCENT" in (project / "out" / "pure_function.md").read_text()
        )
        assert watcher.proc.poll() is None
    finally:
        code, err = watcher.stop()
    assert code == 0
    assert "Traceback" not in err


def test_colliding_snapshot_names_are_an_error_naming_both() -> None:
    from dataclasses import replace

    from jaunt.promptkit.fixtures import load_fixture
    from jaunt.promptkit.snapshots.cases import prompt_cases
    from jaunt.promptkit.template_set import load_packaged_set

    fixture = load_fixture(REPO / "prompt_fixtures" / "pure_function.toml")
    packaged = load_packaged_set()
    set_ab = replace(packaged, name="a-b")
    set_a = replace(packaged, name="a")
    with pytest.raises(ValueError, match=r"set 'a-b'.*set 'a'.*would share the snapshot"):
        prompt_cases([set_ab, set_a], [replace(fixture, name="c"), replace(fixture, name="b-c")])
    with pytest.raises(ValueError, match="would share"):
        prompt_cases([packaged], [replace(fixture, name="X"), replace(fixture, name="x")])
