"""The authoring model and the watcher, driven directly (no subprocess, no file watching).

``AuthoringSession`` renders a set against fixtures and re-renders only what a change
touches; ``Watcher.handle`` turns a batch of changed paths into report lines. Both are
called here as the CLI calls them, on real files in a temp project.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jaunt.promptkit.session import AuthoringSession, Failed, Rendered
from jaunt.promptkit.snapshots.cases import render_markdown
from jaunt.promptkit.template_set import SetSource, load_packaged_set
from jaunt.promptkit.tokens import get_tokenizer
from jaunt.promptkit.watch import ChangeEvent, Watcher, WatchOptions

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "fx").mkdir()
    for name in ("pure_function", "class_methods", "test_module"):
        shutil.copy(REPO / "prompt_fixtures" / f"{name}.toml", tmp_path / "fx")
    shutil.copytree(REPO / "src" / "jaunt" / "prompts", tmp_path / "set")
    return tmp_path


def _session(project: Path) -> AuthoringSession:
    return AuthoringSession(SetSource.from_dir(project / "set"), project / "fx", get_tokenizer())


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_render_all_matches_the_snapshot_renderer(project: Path) -> None:
    session = _session(project)
    outcomes = session.render_all()
    assert [o.name for o in outcomes] == ["class_methods", "pure_function", "test_module"]
    assert all(isinstance(o, Rendered) for o in outcomes)
    packaged = load_packaged_set()  # the copied set holds the packaged text
    for outcome in outcomes:
        assert isinstance(outcome, Rendered)
        assert outcome.markdown == render_markdown(packaged, outcome.fixture)
        assert len(outcome.tokens) > 100
        assert outcome.set_name == "set"


def test_a_template_change_re_renders_only_its_kind(project: Path) -> None:
    session = _session(project)
    session.render_all()
    _edit(project / "set" / "build_module.md", "Write the generated module", "EDITED Write")
    redone = session.reload_templates()
    assert sorted(o.name for o in redone) == ["class_methods", "pure_function"]
    assert all(isinstance(o, Rendered) and "EDITED Write" in o.markdown for o in redone)
    assert session.reload_templates() == []  # nothing changed since


def test_a_broken_template_fails_its_kind_only_with_file_line_col(project: Path) -> None:
    session = _session(project)
    session.render_all()
    _edit(project / "set" / "test_module.md", "{{specs_block}}", "{{specs_block}")
    redone = session.reload_templates()
    assert [o.name for o in redone] == ["test_module"]
    [failed] = redone
    assert isinstance(failed, Failed)
    assert failed.errors[0].startswith(str(project / "set" / "test_module.md") + ":") or (
        "set/test_module.md:" in failed.errors[0]
    )
    assert isinstance(session.outcomes["pure_function"], Rendered)


def test_a_fixture_change_and_removal(project: Path) -> None:
    session = _session(project)
    session.render_all()
    fixture = project / "fx" / "pure_function.toml"
    _edit(fixture, 'spec_module = "shop.pricing"', 'spec_module = "shop.rebates"')
    outcome = session.reload_fixture(fixture)
    assert isinstance(outcome, Rendered)
    assert "shop.rebates" in outcome.markdown
    fixture.unlink()
    assert session.reload_fixture(fixture) is None
    assert "pure_function" not in session.outcomes
    # A new file in the folder is picked up; a file elsewhere is not this session's.
    (project / "fx" / "fresh.toml").write_text(
        (project / "fx" / "class_methods.toml").read_text("utf-8"), encoding="utf-8"
    )
    assert session.reload_fixture(project / "fx" / "fresh.toml") is not None
    assert session.reload_fixture(project / "elsewhere.toml") is None


def test_the_watcher_reports_a_template_edit_with_its_changed_line(project: Path) -> None:
    lines: list[str] = []
    out = project / "out"
    watcher = Watcher(_session(project), WatchOptions(out_dir=out), lines.append)
    watcher.start()
    assert (out / "pure_function.md").is_file()
    lines.clear()
    module = project / "set" / "build_module.md"
    _edit(module, "Write the generated module", "WATCHED Write the generated module")
    watcher.handle([module])
    assert "2 fixtures re-rendered" in lines[0]
    assert "2 changed +2 -2" in lines[0]
    # Each changed fixture shows its changed line (their module names differ).
    assert any(line.strip() == "class_methods:" for line in lines)
    assert any(line.strip() == "pure_function:" for line in lines)
    assert sum(line.strip().startswith("+WATCHED Write") for line in lines) == 2
    assert "WATCHED" in (out / "pure_function.md").read_text(encoding="utf-8")


def test_the_watcher_keeps_the_last_good_output_of_a_broken_fixture(project: Path) -> None:
    lines: list[str] = []
    out = project / "out"
    watcher = Watcher(_session(project), WatchOptions(out_dir=out), lines.append)
    watcher.start()
    good = (out / "class_methods.md").read_text(encoding="utf-8")
    fixture = project / "fx" / "class_methods.toml"
    fixture.write_text("kind = \n", encoding="utf-8")
    lines.clear()
    watcher.handle([fixture])
    assert "1 FAILED, last good output kept" in lines[0]
    assert any("FAILED class_methods:" in line and "invalid TOML" in line for line in lines)
    assert (out / "class_methods.md").read_text(encoding="utf-8") == good


def test_the_watcher_hands_each_batch_to_its_listeners(project: Path) -> None:
    # `preview` consumes these events; `watch` prints the lines of the same handle() call.
    events: list[ChangeEvent] = []
    lines: list[str] = []
    watcher = Watcher(_session(project), WatchOptions(), lines.append, listeners=[events.append])
    watcher.start()
    assert len(events) == 1
    assert events[0].paths == ()
    assert {o.name for o in events[0].outcomes} == {"pure_function", "class_methods", "test_module"}
    module = project / "set" / "build_module.md"
    _edit(module, "Write the generated module", "EVENT Write the generated module")
    lines.clear()
    watcher.handle([module])
    event = events[-1]
    assert event.paths == (module.absolute(),)
    assert sorted(o.name for o in event.outcomes) == ["class_methods", "pure_function"]
    assert all(isinstance(o, Rendered) and "EVENT" in o.markdown for o in event.outcomes)
    assert event.render_ms > 0
    assert event.since_save_ms is not None
    assert "2 fixtures re-rendered" in lines[0]
    fixture = project / "fx" / "class_methods.toml"
    fixture.unlink()
    watcher.handle([fixture])
    assert events[-1].removed == ("class_methods",)
    assert events[-1].outcomes == ()
