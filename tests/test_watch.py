"""``jaunt-prompts watch`` driven for real: a subprocess, a temp project, an editor's moves.

Every wait polls with a deadline; nothing asserts on speed (see benchmarks/watch_latency.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEADLINE_S = 15.0


class WatchProcess:
    """The watcher in a subprocess, its stdout collected line by line by a reader thread."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jaunt.promptkit.cli.main", "watch", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, what: str, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            if check():
                return
            if self.proc.poll() is not None:
                pytest.fail(f"watcher exited ({self.proc.returncode}) waiting for {what}")
            time.sleep(0.02)
        output = "\n".join(self.lines)
        pytest.fail(f"timed out waiting for {what}; output so far:\n{output}")

    def wait_line(self, text: str, after: int = 0) -> str:
        self.wait_for(repr(text), lambda: any(text in line for line in self.lines[after:]))
        return next(line for line in self.lines[after:] if text in line)

    def stop(self, signum: int = signal.SIGINT) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "fx").mkdir()
    for name in ("pure_function", "class_methods", "test_module"):
        shutil.copy(REPO / "prompt_fixtures" / f"{name}.toml", tmp_path / "fx")
    (tmp_path / "set").mkdir()
    for template in (REPO / "src" / "jaunt" / "prompts").glob("*.md"):
        shutil.copy(template, tmp_path / "set")
    return tmp_path


@pytest.fixture
def watcher(project: Path) -> Iterator[WatchProcess]:
    process = WatchProcess(project, "--fixtures", "fx", "--prompts", "set", "--out", "out")
    process.wait_line("watching ")
    yield process
    if process.proc.poll() is None:
        process.proc.kill()
        process.proc.wait()


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def test_watch_follows_an_editing_session(project: Path, watcher: WatchProcess) -> None:
    out = project / "out"
    pure, klass, test_out = (
        out / "pure_function.md",
        out / "class_methods.md",
        out / "test_module.md",
    )
    assert "Output Python code only" in read(pure)
    assert any(line.startswith("pure_function ") for line in watcher.lines)
    test_before = read(test_out)

    # A template edit re-renders the fixtures of its kind, and only those.
    mark = len(watcher.lines)
    edit(project / "set" / "build_system.md", "Output Python code only", "EDIT-ONE code only")
    watcher.wait_for("template edit in output", lambda: "EDIT-ONE" in read(pure))
    assert "EDIT-ONE" in read(klass)
    line = watcher.wait_line("set/build_system.md changed", mark)
    assert "2 fixtures re-rendered in " in line
    assert "2 changed +2 -2" in line
    assert " ms after save" in line
    assert read(test_out) == test_before

    # A fixture edit re-renders that fixture.
    mark = len(watcher.lines)
    klass_before = read(klass)
    edit(
        project / "fx" / "pure_function.toml",
        'spec_module = "shop.pricing"',
        'spec_module = "shop.rebates"',
    )
    watcher.wait_for("fixture edit in output", lambda: "shop.rebates" in read(pure))
    assert "1 fixture re-rendered" in watcher.wait_line("fx/pure_function.toml changed", mark)
    assert read(klass) == klass_before

    # A broken template: the error with file:line:col, the last good output kept.
    mark = len(watcher.lines)
    good = read(pure)
    module = project / "set" / "build_module.md"
    edit(module, "{{specs_block}}", "{{specs_block}")
    watcher.wait_line("FAILED, last good output kept", mark)
    watcher.wait_line("JP001", mark)
    failure = watcher.wait_line("FAILED pure_function: set/build_module.md:", mark)
    assert "closing" in failure
    assert read(pure) == good

    # Fixed: recovers on the next save.
    mark = len(watcher.lines)
    edit(module, "{{specs_block}", "FIXED {{specs_block}}")
    watcher.wait_for("recovery in output", lambda: "FIXED" in read(pure))

    # An atomic save (write a temp file, rename it over the template).
    system = project / "set" / "build_system.md"
    atomic_write(system, read(system).replace("EDIT-ONE", "ATOMIC"))
    watcher.wait_for("atomic save in output", lambda: "ATOMIC" in read(pure))

    # Deleted and recreated.
    text = read(system)
    system.unlink()
    time.sleep(0.1)
    system.write_text(text.replace("ATOMIC", "RECREATED"), encoding="utf-8")
    watcher.wait_for("recreated template in output", lambda: "RECREATED" in read(pure))

    # Invalid TOML in a fixture: reported with the file, then fixed.
    mark = len(watcher.lines)
    fixture = project / "fx" / "class_methods.toml"
    fixture_text = read(fixture)
    fixture.write_text("kind = \n" + fixture_text, encoding="utf-8")
    line = watcher.wait_line("FAILED class_methods: fx/class_methods.toml: invalid TOML", mark)
    assert "line 1" in line
    assert "RECREATED" in read(klass)
    fixture.write_text(fixture_text.replace("inventory", "warehouse"), encoding="utf-8")
    watcher.wait_for("fixed fixture in output", lambda: "warehouse" in read(klass))

    # A new fixture file appears.
    atomic_write(project / "fx" / "fresh.toml", read(project / "fx" / "pure_function.toml"))
    watcher.wait_for("new fixture output", lambda: "shop.rebates" in read(out / "fresh.md"))

    # A fixture deleted for good: its output file goes too (--out mirrors the fixtures).
    (project / "fx" / "fresh.toml").unlink()
    watcher.wait_for(
        "output of the deleted fixture removed", lambda: not (out / "fresh.md").exists()
    )
    assert pure.exists()

    assert watcher.proc.poll() is None
    code, stderr = watcher.stop(signal.SIGINT)
    assert code == 0
    assert "Traceback" not in stderr
    assert "stopped." in stderr


def test_prefix_change_is_reported_when_a_placeholder_enters_the_system_prompt(
    project: Path, watcher: WatchProcess
) -> None:
    mark = len(watcher.lines)
    edit(
        project / "set" / "build_system.md",
        "Output Python code only",
        "Output {{spec_module}} only",
    )
    line = watcher.wait_line("set/build_system.md changed", mark)
    assert "build prefix " in line
    assert " → " in line
    watcher.wait_line("JP007", mark)


def test_sigterm_stops_cleanly(watcher: WatchProcess) -> None:
    code, stderr = watcher.stop(signal.SIGTERM)
    assert code == 0
    assert "Traceback" not in stderr


def test_usage_error_exits_2_before_watching(project: Path) -> None:
    process = WatchProcess(project, "--fixtures", "missing")
    assert process.proc.wait(timeout=DEADLINE_S) == 2
    _, stderr = process.stop()
    assert "fixture directory not found: missing" in stderr


def test_report_line_compares_with_the_committed_snapshot(project: Path) -> None:
    # In-process (Watcher.handle without the notify loop): what one re-render line says.
    from jaunt.promptkit.session import AuthoringSession
    from jaunt.promptkit.template_set import SetSource
    from jaunt.promptkit.tokens import get_tokenizer
    from jaunt.promptkit.watch import Watcher, WatchOptions

    snapshots = project / "snaps" / "test_snapshots"
    snapshots.mkdir(parents=True)
    session = AuthoringSession(SetSource.from_dir(project / "set"), project / "fx", get_tokenizer())
    lines: list[str] = []
    watcher = Watcher(session, WatchOptions(snapshot_dir=project / "snaps"), lines.append)
    watcher.start()
    committed = watcher.last_good["pure_function"]
    (snapshots / "test_prompt[set-pure_function].md").write_bytes(committed.encode("utf-8"))

    fixture = project / "fx" / "pure_function.toml"
    original = read(fixture)
    edit(fixture, 'spec_module = "shop.pricing"', 'spec_module = "shop.rebates"')
    mark = len(lines)
    watcher.handle([fixture])
    line = lines[mark]
    assert "pure_function.toml changed: 1 fixture re-rendered in " in line
    assert "1 changed +1 -1" in line
    assert "vs snapshot: 1 differ +1 -1" in line
    assert any("shop.rebates" in detail for detail in lines[mark + 1 :]), lines[mark:]

    fixture.write_text(original, encoding="utf-8")
    mark = len(lines)
    watcher.handle([fixture])
    assert "matches snapshot" in lines[mark]


def test_an_edit_to_a_packaged_template_re_renders_and_shows_the_line(tmp_path: Path) -> None:
    # The people who edit jaunt's own prompts edit src/jaunt/prompts/*.md: the watcher
    # must see those edits too (it once cached the packaged set for the whole process).
    from jaunt.promptkit.template_set import packaged_template_path

    (tmp_path / "fx").mkdir()
    shutil.copy(REPO / "prompt_fixtures" / "pure_function.toml", tmp_path / "fx")
    shutil.copy(REPO / "prompt_fixtures" / "test_module.toml", tmp_path / "fx")
    packaged = Path(packaged_template_path("build_module"))
    original = packaged.read_bytes()
    process = WatchProcess(tmp_path, "--fixtures", "fx", "--out", "out")
    try:
        process.wait_line("watching ")
        mark = len(process.lines)
        packaged.write_bytes(original + b"\nPACKAGED-EDIT-7731 keep it short.\n")
        process.wait_for(
            "packaged edit in output",
            lambda: "PACKAGED-EDIT-7731" in read(tmp_path / "out" / "pure_function.md"),
        )
        line = process.wait_line("build_module.md changed", mark)
        assert "1 fixture re-rendered" in line
        assert "no fixture uses it" not in line
        process.wait_line("+PACKAGED-EDIT-7731 keep it short.", mark)
        assert "PACKAGED-EDIT-7731" not in read(tmp_path / "out" / "test_module.md")
    finally:
        packaged.write_bytes(original)
        process.stop()


def test_a_fixtures_folder_deleted_and_made_again_is_followed(project: Path) -> None:
    process = WatchProcess(project, "--fixtures", "fx", "--prompts", "set", "--out", "out")
    try:
        process.wait_line("watching ")
        saved = {p.name: p.read_text(encoding="utf-8") for p in (project / "fx").iterdir()}
        shutil.rmtree(project / "fx")
        process.wait_for(
            "outputs of the deleted fixtures removed",
            lambda: not (project / "out" / "pure_function.md").exists(),
        )
        (project / "fx").mkdir()
        text = saved["pure_function.toml"].replace("shop.pricing", "shop.again")
        (project / "fx" / "pure_function.toml").write_text(text, encoding="utf-8")
        process.wait_for(
            "fixture in the new folder rendered",
            lambda: "shop.again" in read(project / "out" / "pure_function.md"),
        )
    finally:
        code, stderr = process.stop()
    assert code == 0
    assert "Traceback" not in stderr


def test_watch_does_not_watch_sub_folders_of_the_project(tmp_path: Path) -> None:
    from jaunt.promptkit.session import AuthoringSession
    from jaunt.promptkit.template_set import SetSource
    from jaunt.promptkit.tokens import get_tokenizer
    from jaunt.promptkit.watch import Watcher, WatchOptions

    (tmp_path / "prompt_fixtures").mkdir()
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / "jaunt.toml").write_text("", encoding="utf-8")
    session = AuthoringSession(SetSource.packaged(), tmp_path / "prompt_fixtures", get_tokenizer())
    options = WatchOptions(config_path=tmp_path / "jaunt.toml")
    dirs = Watcher(session, options, lambda line: None).watch_dirs()
    assert tmp_path.resolve() in dirs  # the config's folder, itself only
    assert all(".venv" not in d.parts for d in dirs)
