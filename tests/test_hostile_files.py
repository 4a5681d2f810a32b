"""Nothing lost, nothing written elsewhere: atomic writes, symlinks, non-regular files, limits."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.fake_openai import FakeOpenAIServer, Reply
from shop_context import SHOP_CTX

from jaunt.promptkit.capture import CAPTURE_ENV, capture_context
from jaunt.promptkit.cli.main import main
from jaunt.promptkit.errors import FixtureError, TemplateFileError
from jaunt.promptkit.files import MAX_INPUT_ENV, UnsafePathError, atomic_write, read_text
from jaunt.promptkit.fixtures import dump_fixture, load_fixture
from jaunt.promptkit.scrub import register_secret

REPO = Path(__file__).resolve().parent.parent
KEY_ENV = "JAUNT_HOSTILE_FILES_KEY"
SECRET = "sk-hostile-files-NEVER-WRITTEN-0042"
GOOD = "def apply_discount(price, percent):\n    return price\n\n\nclass Cart:\n    pass\n"
BAD = "def apply_discount(price, percent):\n    return price\n"


# --- atomic_write ---


def test_atomic_write_replaces_whole_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "a.md"
    atomic_write(target, "one\r\n")
    atomic_write(target, "two\n")
    assert target.read_bytes() == b"two\n"
    assert [p.name for p in target.parent.iterdir()] == ["a.md"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    target.write_text("previous", "utf-8")
    with pytest.raises(UnicodeEncodeError):
        atomic_write(target, "bad \udcff surrogate")
    assert target.read_text("utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]


def test_atomic_write_refuses_a_symlink_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious", "utf-8")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.md").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="outside"):
        atomic_write(folder / "a.md", "overwritten", within=folder)
    assert outside.read_text("utf-8") == "precious"


# --- reading: only regular files, bounded ---


def test_dev_zero_as_a_template_is_refused_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(TemplateFileError, match="not a regular file"):
        read_text("/dev/zero", TemplateFileError, "template file")
    assert time.monotonic() - started < 1.0


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_text(fifo, FixtureError, "fixture file")
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(timeout=2.0)
    if thread.is_alive():  # unblock the reader before failing
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a FIFO blocked")
    assert isinstance(outcome[0], FixtureError)
    assert "not a regular file" in str(outcome[0])


def test_an_oversized_file_names_the_limit_and_how_to_raise_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.md"
    big.write_text("x" * 2000, "utf-8")
    monkeypatch.setenv(MAX_INPUT_ENV, "1000")
    with pytest.raises(TemplateFileError, match=f"over the limit of 1,000 bytes.*{MAX_INPUT_ENV}"):
        read_text(big, TemplateFileError, "template file")
    monkeypatch.setenv(MAX_INPUT_ENV, "5000")
    assert read_text(big, TemplateFileError, "template file") == "x" * 2000


def test_a_fixture_with_a_bom_loads(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + dump_fixture(SHOP_CTX).encode("utf-8"))
    assert load_fixture(path).context.generated_module == SHOP_CTX.generated_module


# --- generate --out: a failed run never loses the previous module ---


@pytest.fixture
def gen_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.delenv(CAPTURE_ENV, raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prompt_fixtures").mkdir()
    (tmp_path / "prompt_fixtures" / "pricing.toml").write_text(dump_fixture(SHOP_CTX), "utf-8")
    with FakeOpenAIServer() as server:
        (tmp_path / "jaunt.toml").write_text(
            f'[llm]\nmodel = "m"\napi_key_env = "{KEY_ENV}"\nbase_url = "{server.base_url}"\n'
            "max_retries = 0\n",
            "utf-8",
        )
        yield server


def test_generate_out_keeps_the_previous_good_module_when_a_run_fails(
    gen_project: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gen_project.script(Reply(content=GOOD))
    assert main(["generate", "pricing", "--out", "out"]) == 0
    good = tmp_path / "out" / "pricing.py"
    assert good.read_text("utf-8") == GOOD

    gen_project.script(Reply(content=BAD), Reply(content=BAD))
    assert main(["generate", "pricing", "--out", "out"]) == 1
    assert good.read_text("utf-8") == GOOD  # not deleted, not truncated
    assert (tmp_path / "out" / "pricing.failed.py").read_text("utf-8") == BAD
    err = capsys.readouterr().err
    assert "kept the previous pricing.py" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "pricing.failed.py",
        "pricing.py",
    ]


def test_generate_out_refuses_a_symlink_out_of_the_folder(
    gen_project: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "elsewhere.py"
    outside.write_text("# precious\n", "utf-8")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "pricing.py").symlink_to(outside)
    gen_project.script(Reply(content=GOOD))
    assert main(["generate", "pricing", "--out", "out"]) == 2
    assert outside.read_text("utf-8") == "# precious\n"
    err = capsys.readouterr().err
    assert "refusing to write" in err
    assert "Traceback" not in err


# --- render --out: every failed target is reported ---


def test_render_out_reports_every_unwritable_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "prompt_fixtures").mkdir()
    for name in ("pure_function", "class_methods", "test_module"):
        shutil.copy(REPO / "prompt_fixtures" / f"{name}.toml", tmp_path / "prompt_fixtures")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (out / "pure_function.md").mkdir()  # a folder where the file should go
    (out / "class_methods.md").symlink_to(outside / "stolen.md")
    code = main(["render", "--out", "out"])
    err = capsys.readouterr().err
    assert code == 2
    assert "out/pure_function.md" in err
    assert "out/class_methods.md" in err
    assert not (outside / "stolen.md").exists()
    assert (out / "test_module.md").is_file()  # the writable one was still written


# --- capture ---


def test_capture_scrubs_a_key_an_answer_echoed(tmp_path: Path) -> None:
    register_secret(SECRET)
    path = capture_context(
        tmp_path, SHOP_CTX, [f"previous output errors: NameError: {SECRET}"], attempt=2
    )
    assert path is not None
    text = path.read_text("utf-8")
    assert SECRET not in text
    assert "***" in text


def test_capture_does_not_follow_a_symlink_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text("# precious\n", "utf-8")
    folder = tmp_path / "captured"
    folder.mkdir()
    (folder / "shop.__generated__.pricing.toml").symlink_to(outside)
    assert capture_context(folder, SHOP_CTX) is None
    assert outside.read_text("utf-8") == "# precious\n"
