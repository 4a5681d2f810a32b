"""``jaunt-prompts diff``: a real git repository made with ``jaunt-prompts init``, real edits.

The project is what a user gets from ``init`` plus this repository's fixtures (so each
kind has several modules and a shared prefix to measure); history is made with real git
commits at fixed dates, so the Markdown a pull request would get is checked exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from jaunt.promptkit.cli.main import main
from jaunt.promptkit.fixtures import load_fixture_dir

REPO = Path(__file__).resolve().parent.parent
# A line of the packaged build module template after its first placeholder, i.e. past the
# shared prefix: editing it changes every build request but not what they share.
# A line of the packaged build_module.md without placeholders (edit() checks it is there).
MODULE_LINE = "Generated dependency modules (reference only):"
EDITED_LINE = "Generated dependency modules (reference only; import, never copy them):"


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd),
    }
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    assert main(["init", str(root)]) == 0
    for fixture in (REPO / "prompt_fixtures").glob("*.toml"):
        shutil.copy(fixture, root / "prompt_fixtures" / fixture.name)
    (root / "src").mkdir()
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    # Run from a sub-folder: the project is found upwards, git from there too.
    monkeypatch.chdir(root / "src")
    return root


def build_fixtures(project: Path) -> list[str]:
    fixtures = load_fixture_dir(project / "prompt_fixtures")
    return sorted(f.name for f in fixtures if f.context.kind == "build")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["diff", *args])
    out, err = capsys.readouterr()
    return code, out, err


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_no_change_reports_nothing_changed_and_exits_0(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--exit-code", "--fail-on-cache-break")
    assert code == 0
    assert "0 fixture render(s) changed" in out
    assert "main build" in out
    assert "shared prefix unchanged" in out


def test_module_template_line_shows_in_every_fixture_with_tokens_and_prefix_unchanged(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(project / "prompts/main/build_module.md", MODULE_LINE + "\n", EDITED_LINE + "\n")
    code, out, _ = run(capsys)
    assert code == 0
    for fixture in build_fixtures(project):
        header = next(line for line in out.splitlines() if line.startswith(f"main / {fixture} "))
        # Every build fixture: a token change, one message changed (the module prompt).
        assert "1 message(s) changed" in header
        assert "(+" in header
    assert out.count(f"-{MODULE_LINE}\n") == len(build_fixtures(project))
    assert out.count(f"+{EDITED_LINE}\n") == len(build_fixtures(project))
    # The packaged set and the test fixtures are untouched: counted, not printed.
    assert "packaged / " not in out
    assert f"{len(build_fixtures(project))} fixture render(s) changed" in out
    prefix_line = next(line for line in out.splitlines() if "  main build:" in line)
    assert "shared prefix unchanged" in prefix_line
    assert run(capsys, "--exit-code")[0] == 1
    assert run(capsys, "--fail-on-cache-break")[0] == 0


def test_first_line_of_system_template_breaks_the_prefix(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    system = project / "prompts/main/build_system.md"
    system.write_text("Be brief. " + system.read_text(encoding="utf-8"), encoding="utf-8")
    code, out, _ = run(capsys)
    assert code == 0
    prefix_line = next(line for line in out.splitlines() if "  main build:" in line)
    assert "shared prefix BROKEN" in prefix_line
    first_words = system.read_text(encoding="utf-8").removeprefix("Be brief. ")[:20]
    assert f"+Be brief. {first_words}" in out
    code, _, _ = run(capsys, "--fail-on-cache-break")
    assert code == 1


def test_json_holds_changes_and_prefixes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(project / "prompts/main/build_module.md", MODULE_LINE + "\n", EDITED_LINE + "\n")
    code, out, _ = run(capsys, "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["changed"] is True
    assert document["cache_broken"] is False
    assert {c["fixture"] for c in document["changes"]} == set(build_fixtures(project))
    change = document["changes"][0]
    assert {"set", "fixture", "kind", "message", "role", "status", "diff"} <= change.keys()
    assert change["set"] == "main"
    assert change["message"] == 2
    assert change["tokens_after"] > change["tokens_before"]
    prefix = next(p for p in document["prefixes"] if (p["set"], p["kind"]) == ("main", "build"))
    assert prefix["tokens_before"] == prefix["tokens_after"] > 0
    assert prefix["broken"] is False
    assert prefix["changed"] is False
    assert prefix["reaches_minimum_after"] is False


def test_markdown_of_a_fixed_history(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(project / "prompts/main/build_module.md", MODULE_LINE + "\n", EDITED_LINE + "\n")
    git(project, "commit", "-q", "-am", "edit module prompt")
    # The working tree is dirty on purpose: comparing two revisions must ignore it.
    (project / "prompts/main/test_module.md").write_text("dirty {{specs_block}}\n", "utf-8")
    code, out, _ = run(capsys, "HEAD~1", "HEAD", "--format", "markdown", "--encoding", "estimate")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "<!-- jaunt-prompts-diff -->"
    assert lines[1] == "## Prompt diff: `HEAD~1` → `HEAD`"
    # The summary table comes first, one row per changed fixture.
    table_start = lines.index(
        "| Set | Fixture | Kind | Status | Messages changed | Tokens before | Tokens after "
        "| Change |"
    )
    assert table_start < lines.index("### Shared prefix per kind")
    rows = [
        line
        for line in lines[table_start + 2 :]
        if line.startswith("| main |") and "| changed |" in line
    ]
    assert len(rows) == len(build_fixtures(project))
    assert all("| changed | 1 |" in row for row in rows)
    assert "| main | build | ~" in out
    assert "shared prefix unchanged" in out
    # One collapsible section per changed fixture, each holding a diff block.
    assert out.count("<details><summary>") == len(build_fixtures(project))
    assert out.count("</details>") == len(build_fixtures(project))
    assert out.count("```diff\n") == len(build_fixtures(project))
    assert f"+{EDITED_LINE}\n" in out
    assert "dirty" not in out
    # The same history renders the same comment twice (the workflow updates, not adds).
    assert run(capsys, "HEAD~1", "HEAD", "--format", "markdown", "--encoding", "estimate")[1] == out


def test_markdown_stays_under_the_comment_limit(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from jaunt.promptkit.project import Project
    from jaunt.promptkit.review import diff_project
    from jaunt.promptkit.review_report import markdown_report
    from jaunt.promptkit.tokens import get_tokenizer

    system = project / "prompts/main/build_system.md"
    system.write_text("Be brief.\n" + system.read_text(encoding="utf-8"), encoding="utf-8")
    diff = diff_project(Project.discover(), get_tokenizer("estimate"))
    full = markdown_report(diff)
    short = markdown_report(diff, budget=len(full) // 2)
    assert len(short) < len(full)
    assert "more fixture section(s) left out" in short


def test_unknown_revision_and_no_git_are_usage_errors(
    project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = run(capsys, "no-such-rev")
    assert code == 2
    assert err.strip() == "jaunt-prompts diff: unknown git revision 'no-such-rev'"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "jaunt.toml").write_text("", encoding="utf-8")
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    code, _, err = run(capsys)
    assert code == 2
    assert "not in a git repository" in err
    assert "Traceback" not in err


def test_cache_contract_fails_on_any_system_message_change(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "jaunt.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "[prompts]\n", "[prompts]\ncache_contract = true\n"
        ),
        encoding="utf-8",
    )
    git(project, "commit", "-q", "-am", "declare the cache contract")
    test_system = project / "prompts/main/test_system.md"
    # One test fixture only: no shared prefix to measure, but the contract still holds.
    test_system.write_text(test_system.read_text(encoding="utf-8") + "\nBe brief.\n", "utf-8")
    code, out, _ = run(capsys, "--fail-on-cache-break")
    assert code == 1
    assert "cache contract ([prompts] cache_contract = true): BROKEN" in out


def test_workflow_and_its_readme_copy_post_one_comment_found_by_the_marker() -> None:
    from jaunt.promptkit.review_report import COMMENT_MARKER

    workflow = (REPO / ".github" / "workflows" / "prompt-diff.yml").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    copy = readme.split("```yaml\nname: prompt diff\n", 1)[1].split("```", 1)[0]
    for text in (workflow, copy):
        assert 'diff "$BASE_SHA" HEAD --format markdown > prompt-diff.md' in text
        assert f'startswith("{COMMENT_MARKER}")' in text
        assert "--method PATCH" in text
        assert "-F body=@prompt-diff.md" in text
        assert "GH_TOKEN: ${{ github.token }}" in text
        assert "pull-requests: write" in text
        assert "fetch-depth: 0" in text
        assert "--fail-on-cache-break" in text
        assert "API_KEY" not in text


def test_prefix_verdicts() -> None:
    from jaunt.promptkit.review import PrefixDiff, PrefixSide

    def side(tokens: tuple[str, ...], requests: int = 3) -> PrefixSide:
        return PrefixSide(requests, len(tokens), None, tokens)

    long = tuple(f"t{i}" for i in range(1100))
    same = PrefixDiff("s", "build", side(long), side(long))
    assert (same.changed, same.broken, same.verdict()) == (False, False, "shared prefix unchanged")
    grew = PrefixDiff("s", "build", side(long), side((*long, "more")))
    assert (grew.changed, grew.broken) == (True, False)
    edited = PrefixDiff("s", "build", side(long), side(("x", *long[1:])))
    assert (edited.changed, edited.broken) == (True, True)
    shrunk = PrefixDiff("s", "build", side(long), side(long[:1000]))
    assert shrunk.fell_below_minimum
    assert shrunk.broken
    assert "BROKEN" in shrunk.verdict()
    lonely = PrefixDiff("s", "test", side(long, requests=1), side(("x",), requests=1))
    assert (lonely.changed, lonely.broken, lonely.tokens_after) == (False, False, None)
    assert "not measured" in lonely.verdict()


def test_works_in_a_linked_worktree_with_uncommitted_changes(
    project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    linked = tmp_path / "linked"
    git(project, "worktree", "add", "-q", str(linked), "-b", "topic")
    edit(linked / "prompts/main/build_module.md", MODULE_LINE + "\n", EDITED_LINE + "\n")
    monkeypatch.chdir(linked / "prompts" / "main")
    code, out, _ = run(capsys, "main", "--exit-code")
    assert code == 1
    assert out.count(f"+{EDITED_LINE}\n") == len(build_fixtures(project))


def test_a_broken_config_at_the_base_is_named_by_revision_and_path(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "jaunt.toml"
    good = config.read_text(encoding="utf-8")
    config.write_text("[prompts\n", encoding="utf-8")
    git(project, "commit", "-q", "-am", "break the config")
    config.write_text(good, encoding="utf-8")
    code, _, err = run(capsys)
    assert code == 2
    assert err.startswith("jaunt-prompts diff: HEAD:jaunt.toml: invalid TOML")
    assert "jaunt-diff-" not in err


def test_a_fixture_broken_in_the_working_tree_fails_exit_code(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "prompt_fixtures" / "pure_function.toml").write_text('kind = "nope"\n', "utf-8")
    code, out, _ = run(capsys, "--exit-code")
    assert code == 1
    assert "failed to render" in out
    assert "pure_function.toml" in out
