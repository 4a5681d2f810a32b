"""One project for every command: found from any sub-folder, with the same config, set and fixtures.

The project here overrides ``build_module`` through ``jaunt.toml``'s ``[prompts]`` with a
template holding a marker line; every command, run from ``<project>/src/deep``, must use it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.fake_openai import FakeOpenAIServer, Reply
from shop_context import SHOP_CTX

from jaunt.promptkit.cli.main import main
from jaunt.promptkit.errors import ConfigError, ProjectError
from jaunt.promptkit.fixtures import dump_fixture
from jaunt.promptkit.project import Project
from jaunt.promptkit.template_set import PACKAGED_SET_NAME, packaged_template_path

MARKER = "OVERRIDE-MARKER-5521: answer with code only."
KEY_ENV = "JAUNT_PROJECT_TEST_KEY"
GOOD = "def apply_discount(price, percent):\n    return price\n\n\nclass Cart:\n    pass\n"


def _override_text() -> str:
    packaged = Path(packaged_template_path("build_module")).read_text(encoding="utf-8")
    return f"{MARKER}\n\n{packaged}"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    (root / "custom").mkdir(parents=True)
    (root / "custom" / "build_module.md").write_text(_override_text(), encoding="utf-8")
    (root / "jaunt.toml").write_text(
        '[prompts]\nbuild_module = "custom/build_module.md"\n', encoding="utf-8"
    )
    (root / "prompt_fixtures").mkdir()
    (root / "prompt_fixtures" / "pricing.toml").write_text(dump_fixture(SHOP_CTX), "utf-8")
    deep = root / "src" / "deep"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return root


def test_discover_walks_up_to_the_config_and_roots_everything_there(project: Path) -> None:
    found = Project.discover()
    assert found.root == project.resolve()
    assert found.config_path is not None
    assert found.config_path.resolve() == (project / "jaunt.toml").resolve()
    assert found.fixtures_dir == project.resolve() / "prompt_fixtures"
    assert found.set_source.name == "project"
    assert (
        found.set_source.path_of("build_module").resolve()
        == (project / "custom" / "build_module.md").resolve()
    )
    assert [p.name for p in found.fixture_files()] == ["pricing.toml"]
    assert [s.name for s in found.all_set_sources()] == [PACKAGED_SET_NAME, "project"]


def test_discover_without_config_is_the_start_folder_and_the_packaged_set(tmp_path: Path) -> None:
    if any((p / "jaunt.toml").exists() for p in (tmp_path, *tmp_path.parents)):
        pytest.skip("a jaunt.toml above the temp folder")
    found = Project.discover(cwd=tmp_path)
    assert (found.root, found.config_path, found.set_source.name) == (
        tmp_path.resolve(),
        None,
        PACKAGED_SET_NAME,
    )


def test_discover_errors_are_one_line(project: Path) -> None:
    with pytest.raises(ProjectError, match=r"unknown template set 'nope'.*sets: packaged"):
        Project.discover(set_name="nope")
    with pytest.raises(ConfigError, match=r"missing\.toml: config file not found"):
        Project.discover(config="missing.toml")
    with pytest.raises(ProjectError, match=r"no fixture 'zzz'.*fixtures: pricing"):
        Project.discover().fixture_files(["zzz"])
    (project / "jaunt.toml").write_text("[prompts]\nbuild_modul = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Project.discover()
    assert "\n" not in str(info.value)
    assert "key 'prompts.build_modul'" in str(info.value)


def test_render_from_a_sub_folder_uses_the_override(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", "pricing"]) == 0
    out, err = capsys.readouterr()
    assert MARKER in out
    assert "project" in err  # the set's name in the summary


def test_render_out_from_a_sub_folder_uses_the_override(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", "--out", "rendered"]) == 0
    assert MARKER in Path("rendered/pricing.md").read_text(encoding="utf-8")


def test_lint_from_a_sub_folder_lints_the_override(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "custom" / "build_module.md").write_text(
        _override_text() + "\n{{not_a_placeholder_name}}\n", encoding="utf-8"
    )
    assert main(["lint"]) == 1
    out, _ = capsys.readouterr()
    assert "custom/build_module.md" in out
    assert "not_a_placeholder_name" in out


def test_generate_from_a_sub_folder_sends_the_override(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "local")
    with FakeOpenAIServer(honour="max_tokens") as server:
        with (project / "jaunt.toml").open("a", encoding="utf-8") as config:
            config.write(
                f'[llm]\nmodel = "m"\napi_key_env = "{KEY_ENV}"\nbase_url = "{server.base_url}"\n'
                "max_retries = 0\n"
            )
        server.script(Reply(content=GOOD))
        assert main(["generate", "pricing"]) == 0
        assert MARKER in server.requests[0].user_text


def test_pytest_plugin_from_a_sub_folder_snapshots_the_override(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.pytest.ini_options]\n", encoding="utf-8")
    tests = project / "tests"
    tests.mkdir()
    (tests / "test_prompts.py").write_text(
        "def test_prompts(jaunt_prompt_case, jaunt_prompt_snapshot):\n"
        "    assert jaunt_prompt_case.markdown() == jaunt_prompt_snapshot\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--snapshot-update",
            str(tests),
        ],
        cwd=Path.cwd(),  # the sub-folder
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    snapshots = list((tests / "__snapshots__").rglob("*.md"))
    assert [p.name for p in snapshots] == ["test_prompts[project-pricing].md"]
    assert MARKER in snapshots[0].read_text(encoding="utf-8")


def test_watch_from_a_sub_folder_renders_the_override(project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from jaunt.promptkit.cli.main import main; "
            "raise SystemExit(main(['watch', '--out', 'rendered']))",
        ],
        cwd=Path.cwd(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    target = Path.cwd() / "rendered" / "pricing.md"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not target.exists():
            time.sleep(0.05)
        assert target.exists(), "watch wrote no output"
        assert MARKER in target.read_text(encoding="utf-8")
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
