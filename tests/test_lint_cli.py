"""``jaunt-prompts lint``: targets, output formats, exit codes, colour, rule docs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from jaunt.promptkit.cli.main import main
from jaunt.promptkit.cli.style import ansi, use_color
from jaunt.promptkit.lint import Finding
from jaunt.promptkit.lint.report import format_github, format_text

REPO = Path(__file__).resolve().parent.parent
BAD_MODULE = "Write {{generated_module}}.\n{{spec_modul}}\n{{error_context_block}}\ntail\n"
WARN_ONLY_SYSTEM = (
    "Output Python code only. Define every required name. Never edit user files.\n"
    "You write {{generated_module}}.\n"
)
ANSI = re.compile(r"\x1b\[")


def lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["lint", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory as the current directory, with no colour forced either way."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ---- exit codes --------------------------------------------------------------------------------


def test_no_paths_lints_packaged_templates_clean(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = lint(capsys)
    assert (code, out) == (0, "")
    assert "All checks passed (4 template files checked)" in err


def test_errors_exit_1_with_text_lines_relative_to_cwd(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project / "set" / "build_module.md", BAD_MODULE)
    code, out, err = lint(capsys, str(project / "set"))
    assert code == 1
    lines = out.splitlines()
    assert "set/build_module.md:2:1: JP002 unknown placeholder {{spec_modul}}: " in out
    assert all(re.match(r"^set/build_module\.md:\d+:\d+: JP\d{3} ", line) for line in lines)
    assert "set/build_module.md:1:1: JP004 " in out
    assert any(line.endswith("(warning)") for line in lines)
    assert not ANSI.search(out)  # captured output is not a terminal
    assert re.search(r"Found \d+ errors and \d+ warnings? \(1 template file checked\)\.", err)


def test_warnings_alone_exit_0(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project / "build_system.md", WARN_ONLY_SYSTEM)
    code, out, _ = lint(capsys, str(path))
    assert code == 0
    assert out == "build_system.md:2:11: JP007 " + (
        "placeholder {{generated_module}} in the build_system template: a per-module system "
        "prompt defeats prompt caching (warning)\n"
    )


def test_missing_path_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project / "ok.md", "fine")
    code, out, err = lint(capsys, "ok.md", "nope/build_system.md")
    assert (code, out) == (2, "")
    assert "nope/build_system.md: no such file or directory" in err


def test_directory_without_templates_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "empty").mkdir()
    code, _, err = lint(capsys, "empty")
    assert code == 2
    assert "empty: no *.md templates" in err


def test_invalid_utf8_is_a_finding_not_a_crash(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project / "p" / "test_system.md", b"ok\n\x80\n")
    code, out, _ = lint(capsys, "p/test_system.md")
    assert code == 1
    assert out.startswith("p/test_system.md:2:1: JP020 not valid UTF-8 (byte 0x80")


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["lint", "--format", "xml"])
    assert exc.value.code == 2


# ---- default targets ---------------------------------------------------------------------------


def test_defaults_include_prompt_sets_and_jaunt_toml(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project / "prompts" / "terse" / "build_module.md", BAD_MODULE)
    write(project / "prompts" / "fine" / "test_system.md", WARN_ONLY_SYSTEM)
    write(project / "custom" / "tm.md", "Tests for {{generated_module}}.\n")
    write(project / "jaunt.toml", '[prompts]\ntest_module = "custom/tm.md"\n')
    code, out, err = lint(capsys, "--format", "json")
    assert code == 1
    found = {(f["path"], f["code"]) for f in json.loads(out)}
    assert ("prompts/terse/build_module.md", "JP002") in found
    assert ("prompts/fine/test_system.md", "JP007") in found
    assert ("custom/tm.md", "JP003") in found
    assert "(7 template files checked)" in err


def test_defaults_report_a_broken_jaunt_toml(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project / "jaunt.toml", "[prompts]\nbuild_system = 3\n")
    code, _, err = lint(capsys)
    assert code == 2
    assert "jaunt.toml: key 'prompts.build_system'" in err


def test_a_directory_of_sets(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project / "prompts" / "a" / "build_module.md", BAD_MODULE)
    write(project / "prompts" / "b" / "test_sytem.md", "notes")
    code, out, _ = lint(capsys, "prompts")
    assert code == 1
    assert "prompts/a/build_module.md:2:1: JP002 " in out
    assert "prompts/b/test_sytem.md:1:1: JP008 " in out


def test_paths_outside_cwd_stay_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "t" / "build_module.md", BAD_MODULE)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    _, out, _ = lint(capsys, str(path))
    assert out.startswith(f"{path}:")


# ---- formats -----------------------------------------------------------------------------------


def test_json_format(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project / "build_module.md", BAD_MODULE)
    code, out, _ = lint(capsys, "build_module.md", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert isinstance(data, list)
    assert data
    for item in data:
        assert set(item) == {"path", "line", "column", "code", "severity", "message"}
        assert item["severity"] in {"error", "warning"}
    assert {
        "path": "build_module.md",
        "line": 2,
        "column": 1,
        "code": "JP002",
        "severity": "error",
        "message": "unknown placeholder {{spec_modul}}: did you mean {{spec_module}}?",
    } in data


def test_json_format_with_no_findings_is_an_empty_list(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = lint(capsys, "--format", "json")
    assert code == 0
    assert json.loads(out) == []


def test_github_format(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project / "build_module.md", BAD_MODULE)
    code, out, _ = lint(capsys, "build_module.md", "--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert (
        "::error file=build_module.md,line=2,col=1,title=JP002::"
        "unknown placeholder {{spec_modul}}: did you mean {{spec_module}}?"
    ) in lines
    assert any(line.startswith("::warning file=build_module.md,line=1,col=1,") for line in lines)
    pattern = re.compile(r"^::(error|warning) file=[^,]+,line=\d+,col=\d+,title=JP\d{3}::.+$")
    assert all(pattern.match(line) for line in lines)


def test_github_escapes_properties_and_message() -> None:
    finding = Finding("a,b:c.md", 1, 2, "JP001", "error", "50% bad\nsecond line")
    [line] = format_github([finding])
    assert line == "::error file=a%2Cb%3Ac.md,line=1,col=2,title=JP001::50%25 bad%0Asecond line"


# ---- colour ------------------------------------------------------------------------------------


def test_colour_only_on_a_terminal_without_no_color() -> None:
    assert use_color(True, {}) is True
    assert use_color(False, {}) is False
    assert use_color(True, {"NO_COLOR": "1"}) is False
    assert use_color(True, {"NO_COLOR": ""}) is True  # no-color.org: empty means unset
    finding = Finding("p.md", 1, 1, "JP002", "error", "bad")
    [plain] = format_text([finding])
    [coloured] = format_text([finding], style=ansi)
    assert plain == "p.md:1:1: JP002 bad"
    assert ANSI.search(coloured)
    assert ANSI.sub("", re.sub(r"\x1b\[[0-9;]*m", "", coloured)) == plain


# ---- rule docs ---------------------------------------------------------------------------------


def test_list_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "--list-rules")
    assert code == 0
    assert re.search(r"^JP002\s+error\s+unknown-placeholder\s+", out, re.MULTILINE)
    assert re.search(r"^JP007\s+warning\s+placeholder-in-system-template", out, re.MULTILINE)


def test_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "--explain", "jp005")
    assert code == 0
    assert out.startswith("JP005 error-context-not-last (error; applies to module templates)")
    code, out, _ = lint(capsys, "--explain", "unknown-placeholder")
    assert (code, out.split()[0]) == (0, "JP002")
    code, _, err = lint(capsys, "--explain", "JP999")
    assert code == 2
    assert "unknown rule 'JP999'" in err


# ---- a real process ---------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv on PATH")
def test_real_subprocess(tmp_path: Path) -> None:
    bad = write(tmp_path / "build_module.md", BAD_MODULE)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.run(
        ["uv", "run", "--quiet", "jaunt-prompts", "lint", "--format", "json", str(bad)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert {f["code"] for f in json.loads(proc.stdout)} >= {"JP002", "JP005"}
    assert "Found " in proc.stderr
    ok = subprocess.run(
        ["uv", "run", "--quiet", "jaunt-prompts", "lint"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_list_rules_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "--list-rules", "--format", "json")
    assert code == 0
    rules = json.loads(out)
    assert [r["code"] for r in rules] == sorted(r["code"] for r in rules)
    assert {"code", "name", "severity", "applies_to", "summary", "doc"} <= set(rules[0])


def test_markdown_format_is_only_for_the_rule_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = lint(capsys, "--format", "markdown")
    assert code == 2
    assert "--list-rules" in err


def test_docs_rule_reference_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "--list-rules", "--format", "markdown")
    assert code == 0
    assert (REPO / "docs" / "lint-rules.md").read_text(encoding="utf-8") == out, (
        "regenerate: uv run jaunt-prompts lint --list-rules --format markdown > docs/lint-rules.md"
    )


def test_a_file_reached_twice_is_counted_once(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project / "prompts" / "s" / "build_module.md", BAD_MODULE)
    write(project / "jaunt.toml", '[prompts]\nbuild_module = "prompts/s/build_module.md"\n')
    code, out, err = lint(capsys)
    assert code == 1
    assert "(5 template files checked)" in err
    assert len(out.splitlines()) == len(set(out.splitlines()))


def test_readme_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "--list-rules", "--format", "markdown")
    assert code == 0
    summary = out.split("\n## ", 1)[0]
    table = "\n".join(line for line in summary.splitlines() if line.startswith("|"))
    assert table.count("| JP0") >= 15
    assert table in (REPO / "README.md").read_text(encoding="utf-8"), (
        "copy the rule table of docs/lint-rules.md into the README's Linting section"
    )


def test_cache_contract_makes_a_system_placeholder_an_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        project / "prompts" / "s" / "build_system.md",
        "You write {{spec_module}}. Never edit the user's files.\n",
    )
    code, out, _ = lint(capsys)
    assert code == 0, out
    assert "prompts/s/build_system.md:1:11: JP007 " in out
    write(project / "jaunt.toml", "[prompts]\ncache_contract = true\n")
    code, out, _ = lint(capsys)
    assert code == 1
    assert (
        "prompts/s/build_system.md:1:11: JP021 placeholder {{spec_module}} in the build_system "
        "template: a per-module system prompt breaks the cache contract "
        "([prompts] cache_contract = true)"
    ) in out
    assert "JP007" not in out
