"""One Markdown snapshot per (template set x fixture): the packaged set and every set under
``prompts/`` against every fixture in ``prompt_fixtures/``.

A template change shows up as a failing snapshot with a text diff; accept it with
``uv run pytest tests/test_snapshots.py --snapshot-update`` and review the ``.md`` diff.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from jaunt.promptkit.errors import LayerError
from jaunt.promptkit.fixtures import load_fixture_dir
from jaunt.promptkit.snapshots.cases import PromptCase, discover_sets, prompt_cases, set_dirs
from jaunt.promptkit.snapshots.extension import MarkdownSnapshotExtension
from jaunt.promptkit.snapshots.plugin import PromptSnapshot

ROOT = Path(__file__).resolve().parent.parent
try:
    CASES = prompt_cases(
        discover_sets(ROOT / "prompts"), load_fixture_dir(ROOT / "prompt_fixtures")
    )
except LayerError as exc:  # a broken template or fixture: one line, not a traceback
    pytest.fail(f"prompt cases: {exc}", pytrace=False)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_prompt(case: PromptCase, snapshot: SnapshotAssertion) -> None:
    # The plugin's wrapper: a drift fails with the whole diff of each changed message.
    expected = PromptSnapshot(snapshot.use_extension(MarkdownSnapshotExtension), case.id)
    assert case.markdown() == expected


def test_no_dead_snapshots(request: pytest.FixtureRequest) -> None:
    # syrupy fails a plain `pytest` run on unused snapshots, but not a run given a file path
    # (`pytest tests/test_snapshots.py`): this check holds in every invocation.
    if request.config.getoption("--snapshot-update"):
        pytest.skip("--snapshot-update deletes unused snapshots itself")
    directory = Path(__file__).parent / "__snapshots__" / "test_snapshots"
    stored = {p.name for p in directory.glob("test_prompt[[]*[]].md")}
    dead = sorted(stored - {f"test_prompt[{c.id}].md" for c in CASES})
    assert not dead, f"snapshots without a case (run `uv run pytest --snapshot-update`): {dead}"


# --- the suite's behaviour, proved on a copy of it -------------------------------------------

_PROOFS_MARKER = "# --- the suite's behaviour"

pytest_plugins = ["pytester"]


@pytest.fixture
def suite_copy(pytester: pytest.Pytester) -> pytest.Pytester:
    """This test file, the fixtures, the override sets and the committed snapshots, copied."""
    pytester.makeini("[pytest]\n")
    for name in ("prompts", "prompt_fixtures"):
        shutil.copytree(ROOT / name, pytester.path / name)
    tests = pytester.path / "tests"
    shutil.copytree(
        Path(__file__).parent / "__snapshots__" / "test_snapshots",
        tests / "__snapshots__" / "test_snapshots",
    )
    # Only the snapshot test itself: the copy must not run these pytester tests again.
    own_text = Path(__file__).read_text(encoding="utf-8")
    (tests / "test_snapshots.py").write_text(own_text.split(_PROOFS_MARKER)[0], "utf-8")
    return pytester


def _run(suite: pytest.Pytester, *args: str) -> pytest.RunResult:
    return suite.runpytest("tests/test_snapshots.py", "--import-mode=importlib", *args)


def test_one_word_changes_exactly_the_affected_snapshots(suite_copy: pytest.Pytester) -> None:
    _run(suite_copy).assert_outcomes(passed=len(CASES) + 1)

    template = suite_copy.path / "prompts" / "house-style" / "build_module.md"
    text = template.read_text(encoding="utf-8")
    template.write_text(text.replace("For reference only", "For context only"), "utf-8")
    changed = _run(suite_copy)
    affected = [
        c.id
        for c in CASES
        if c.template_set.name == "house-style" and c.fixture.context.kind == "build"
    ]
    changed.assert_outcomes(passed=len(CASES) + 1 - len(affected), failed=len(affected))
    failed = {
        line.split("[", 1)[1].split("]", 1)[0]
        for line in changed.outlines
        if line.startswith("FAILED")
    }
    assert failed == set(affected)
    # The diff names the changed line, not a wall of text.
    changed.stdout.fnmatch_lines(["-*For reference only*", "+*For context only*"])

    updated = _run(suite_copy, "--snapshot-update")
    updated.stdout.fnmatch_lines([f"*{len(affected)} snapshots updated*"])
    snapshot = suite_copy.path / "tests" / "__snapshots__" / "test_snapshots"
    assert "For context only" in (snapshot / "test_prompt[house-style-large_module].md").read_text(
        encoding="utf-8"
    )
    _run(suite_copy).assert_outcomes(passed=len(CASES) + 1)


def test_update_with_a_broken_template_fails_and_deletes_nothing(
    suite_copy: pytest.Pytester,
) -> None:
    snapshots = suite_copy.path / "tests" / "__snapshots__" / "test_snapshots"
    before = {p.name: p.read_bytes() for p in snapshots.iterdir()}
    template = suite_copy.path / "prompts" / "house-style" / "build_module.md"
    # It parses, so its cases are collected; rendering them fails (no such value).
    template.write_text(text_with_unknown_placeholder(template), encoding="utf-8")
    result = _run(suite_copy, "--snapshot-update")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*no value for placeholder(s) no_such_value*"])
    result.stdout.fnmatch_lines(["*no unused snapshot is deleted*"])
    assert {p.name: p.read_bytes() for p in snapshots.iterdir()} == before

    # Unparseable: collection fails with one line; nothing deleted either.
    template.write_text("{{specs_block}\n", encoding="utf-8")
    result = suite_copy.runpytest("--import-mode=importlib", "--snapshot-update")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*prompt cases: *build_module.md:1:*"])
    assert {p.name: p.read_bytes() for p in snapshots.iterdir()} == before


def text_with_unknown_placeholder(template: Path) -> str:
    return template.read_text(encoding="utf-8") + "\n{{no_such_value}}\n"


def test_update_works_on_its_first_run(suite_copy: pytest.Pytester) -> None:
    template = suite_copy.path / "prompts" / "house-style" / "build_module.md"
    text = template.read_text(encoding="utf-8")
    template.write_text(text.replace("For reference only", "For context only"), "utf-8")
    assert _run(suite_copy, "--snapshot-update").ret == pytest.ExitCode.OK
    assert _run(suite_copy).ret == pytest.ExitCode.OK


def test_unused_snapshot_fails_the_run(suite_copy: pytest.Pytester) -> None:
    (suite_copy.path / "prompt_fixtures" / "skills_notes.toml").unlink()
    result = _run(suite_copy)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*2 snapshots unused*"])
    result.assert_outcomes(passed=len(CASES) - 2, failed=1)  # test_no_dead_snapshots
    # Given a file path, syrupy does not look for unused files; the explicit check still does.
    by_path = suite_copy.runpytest("--import-mode=importlib", "tests/test_snapshots.py")
    by_path.assert_outcomes(passed=len(CASES) - 2, failed=1)
    by_path.stdout.fnmatch_lines(["*snapshots without a case*skills_notes*"])

    _run(suite_copy, "--snapshot-update").stdout.fnmatch_lines(["*2 unused snapshots deleted*"])
    assert _run(suite_copy).ret == pytest.ExitCode.OK


def test_snapshot_bytes_are_the_rendered_markdown(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--snapshot-update"):
        pytest.skip("--snapshot-update is rewriting the snapshots from these very bytes")
    snapshots = Path(__file__).parent / "__snapshots__" / "test_snapshots"
    for case in CASES:
        data = (snapshots / f"test_prompt[{case.id}].md").read_bytes()
        assert data == case.markdown().encode("utf-8"), case.id


def test_every_override_set_lints_clean() -> None:
    from jaunt.promptkit.lint import lint_set_dir

    for directory in set_dirs(ROOT / "prompts"):
        assert lint_set_dir(directory) == [], directory
