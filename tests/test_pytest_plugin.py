"""The ``jaunt_prompts`` pytest plugin, exercised in throwaway projects with ``pytester``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jaunt.promptkit.template_set import packaged_template_path

pytest_plugins = ["pytester"]

FIXTURE = '''\
description = "One spec."
kind = "build"
spec_module = "app.math"
generated_module = "app.__generated__.math"
expected_names = ["double"]

[[specs]]
ref = "app.math:double"
source = \'\'\'
def double(x: int) -> int:
    """Return twice ``x``."""
\'\'\'
'''

MODULE_TEMPLATE = """\
Write `{{generated_module}}` for `{{spec_module}}`: Python code only, no Markdown fences.
Do not edit any user file. The module must define these names:

{{expected_names}}

{{specs_block}}

{{deps_api_block}}

{{deps_generated_block}}
{{error_context_block}}
"""

TEST_FILE = """\
def test_prompts(jaunt_prompt_case, jaunt_prompt_snapshot):
    assert jaunt_prompt_case.markdown() == jaunt_prompt_snapshot
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with jaunt.toml pointing [prompts] at its own build_module template."""
    pytester.makefile(".toml", jaunt='[prompts]\nbuild_module = "prompts/build_module.md"\n')
    (pytester.path / "prompts").mkdir()
    (pytester.path / "prompts" / "build_module.md").write_text(MODULE_TEMPLATE, encoding="utf-8")
    (pytester.path / "prompt_fixtures").mkdir()
    (pytester.path / "prompt_fixtures" / "double.toml").write_text(FIXTURE, encoding="utf-8")
    pytester.makepyfile(test_prompts=TEST_FILE)
    return pytester


def _snapshot_file(project: pytest.Pytester) -> Path:
    return project.path / "__snapshots__" / "test_prompts" / "test_prompts[project-double].md"


def test_write_pass_then_fail_on_template_change(project: pytest.Pytester) -> None:
    first = project.runpytest("--snapshot-update")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["*1 snapshot generated*"])
    snapshot = _snapshot_file(project).read_text(encoding="utf-8")
    packaged_system = Path(packaged_template_path("build_system")).read_text(encoding="utf-8")
    assert snapshot.startswith(f"# system\n\n{packaged_system.rstrip()}\n")
    assert "Write `app.__generated__.math` for `app.math`" in snapshot
    assert 'def double(x: int) -> int:\n    """Return twice ``x``."""' in snapshot

    project.runpytest().assert_outcomes(passed=1)

    template = project.path / "prompts" / "build_module.md"
    template.write_text(MODULE_TEMPLATE.replace("Python code only", "Python source only"), "utf-8")
    changed = project.runpytest()
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(["-Write*Python code only*", "+Write*Python source only*"])

    project.runpytest("--snapshot-update").assert_outcomes(passed=1)
    assert "Python source only" in _snapshot_file(project).read_text(encoding="utf-8")


def test_ini_options_choose_fixtures_and_sets(project: pytest.Pytester) -> None:
    (project.path / "prompt_fixtures").rename(project.path / "cases")
    (project.path / "sets" / "terse").mkdir(parents=True)
    (project.path / "sets" / "terse" / "build_module.md").write_text(MODULE_TEMPLATE, "utf-8")
    project.makeini(
        "[pytest]\njaunt_prompt_fixtures = cases\njaunt_prompt_sets =\n    sets/terse\n"
    )
    result = project.runpytest("--snapshot-update", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_prompts?terse-double? PASSED*"])


def test_without_jaunt_toml_the_packaged_set_is_snapshot(project: pytest.Pytester) -> None:
    (project.path / "jaunt.toml").unlink()
    result = project.runpytest("--snapshot-update", "-v")
    result.stdout.fnmatch_lines(["*test_prompts?packaged-double? PASSED*"])


def test_broken_fixture_is_a_one_line_collection_error(project: pytest.Pytester) -> None:
    (project.path / "prompt_fixtures" / "double.toml").write_text(
        FIXTURE.replace('kind = "build"', 'kind = "built"'), encoding="utf-8"
    )
    result = project.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        ['*jaunt prompt cases: *double.toml:2: key \'kind\': must be "build" or "test"*']
    )
    assert "Traceback" not in result.stdout.str()


def test_broken_template_and_config_are_reported(project: pytest.Pytester) -> None:
    (project.path / "prompts" / "build_module.md").write_text("{{specs_block}", encoding="utf-8")
    result = project.runpytest()
    result.stdout.fnmatch_lines(["*jaunt prompt cases: *build_module.md:1:1: *"])
    (project.path / "jaunt.toml").write_text("[prompts]\nbuild_modul = 'x'\n", encoding="utf-8")
    result = project.runpytest()
    result.stdout.fnmatch_lines(["*jaunt prompt cases: *jaunt.toml: key 'prompts.build_modul'*"])


def test_empty_fixture_dir_is_an_error(project: pytest.Pytester) -> None:
    (project.path / "prompt_fixtures" / "double.toml").unlink()
    result = project.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*jaunt prompt cases: no *.toml fixtures in*prompt_fixtures*"])


def test_missing_syrupy_gives_an_install_hint(project: pytest.Pytester) -> None:
    # Simulates an environment without syrupy: its import fails and its plugin is absent.
    project.makeconftest(
        "import sys\n"
        "for name in [n for n in sys.modules if n.split('.')[0] == 'syrupy']:\n"
        "    sys.modules[name] = None\n"
        "sys.modules.pop('jaunt.promptkit.snapshots.extension', None)\n"
    )
    result = project.runpytest("-p", "no:syrupy")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*jaunt_prompt_snapshot needs syrupy*pip install syrupy*"])


def test_disabled_syrupy_plugin_is_named(project: pytest.Pytester) -> None:
    result = project.runpytest("-p", "no:syrupy")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*needs syrupy's pytest plugin, which is not active*"])


def test_plugin_and_cases_import_without_syrupy() -> None:
    code = (
        "import sys, jaunt.promptkit.snapshots.plugin, jaunt.promptkit.snapshots.cases\n"
        "assert 'syrupy' not in sys.modules, 'syrupy imported'\n"
        "assert 'openai' not in sys.modules, 'openai imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_snapshot_update_does_not_follow_a_symlink_out_of_the_tests(
    project: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    victim = outside / "victim.md"
    victim.write_text("precious\n", encoding="utf-8")
    folder = project.path / "__snapshots__" / "test_prompts"
    folder.mkdir(parents=True)
    (folder / "test_prompts[project-double].md").symlink_to(victim)
    result = project.runpytest("--snapshot-update")
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert result.ret != 0


def test_snapshot_update_does_not_write_into_a_symlinked_folder_outside(
    project: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (project.path / "__snapshots__").mkdir()
    (project.path / "__snapshots__" / "test_prompts").symlink_to(outside)
    result = project.runpytest("--snapshot-update")
    assert list(outside.iterdir()) == []
    assert result.ret != 0


def test_a_lint_error_in_the_override_fails_its_case_with_the_lint_line(
    project: pytest.Pytester,
) -> None:
    project.runpytest("--snapshot-update").assert_outcomes(passed=1)
    # No {{specs_block}}: the model would never see the specs (a lint error, JP code).
    broken = MODULE_TEMPLATE.replace("{{specs_block}}\n", "")
    (project.path / "prompts" / "build_module.md").write_text(broken, encoding="utf-8")
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["prompts/build_module.md:*:*: JP* *specs_block*"])
    assert "Traceback" not in result.stdout.str()
    # An update in that state deletes nothing.
    update = project.runpytest("--snapshot-update")
    update.assert_outcomes(failed=1)
    assert _snapshot_file(project).is_file()


@pytest.mark.parametrize("on_ci", [False, True], ids=["terminal", "ci"])
def test_a_snapshot_failure_shows_every_changed_line_and_little_else(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, on_ci: bool
) -> None:
    # pytest prints whole failure messages in the short summary when CI is set
    if on_ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
        monkeypatch.delenv("BUILD_NUMBER", raising=False)
    project.runpytest("--snapshot-update").assert_outcomes(passed=1)
    extra = "".join(f"Rule {n}: keep it short.\n" for n in range(40))
    template = project.path / "prompts" / "build_module.md"
    template.write_text(
        MODULE_TEMPLATE.replace("{{specs_block}}", extra + "{{specs_block}}"), encoding="utf-8"
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"+Rule {n}: keep it short." for n in range(40)])
    assert "truncated" not in result.stdout.str()
    assert len(result.outlines) < 80  # the 40 added lines, a header and pytest's frame
    assert result.stdout.str().count("+Rule 0: keep it short.") == 1
    result.stdout.fnmatch_lines(
        ["FAILED test_prompts.py::test_prompts[[]project-double[]] - project-double: *"]
    )
