"""`jaunt-prompts generate` through the real openai SDK against a scripted local server."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.fake_openai import FakeOpenAIServer, Reply
from shop_context import SHOP_CTX

from jaunt.generate.base import ModuleSpecContext
from jaunt.promptkit.capture import CAPTURE_ENV
from jaunt.promptkit.cli import generate_cmd
from jaunt.promptkit.cli.main import main
from jaunt.promptkit.fixtures import dump_fixture
from jaunt.spec_ref import SpecRef

KEY_ENV = "JAUNT_GEN_TEST_KEY"
SECRET = "sk-gen-test-NEVER-PRINTED-7311"

CTX = SHOP_CTX
GOOD = "def apply_discount(price, percent):\n    return price\n\n\nclass Cart:\n    pass\n"
BAD = "def apply_discount(price, percent):\n    return price\n"
CHATTY_GOOD = f"Here is the module:\n\n```python\n{GOOD}```\n\nIt applies the discount."


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.delenv(CAPTURE_ENV, raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray jaunt.toml or prompt_fixtures/ from the checkout
    (tmp_path / "prompt_fixtures").mkdir()
    (tmp_path / "prompt_fixtures" / "pricing.toml").write_text(dump_fixture(CTX), "utf-8")


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(honour="max_tokens") as fake:
        yield fake


def write_config(directory: Path, server: FakeOpenAIServer, extra: str = "") -> Path:
    path = directory / "jaunt.toml"
    path.write_text(
        "[llm]\n"
        'model = "fake-model"\n'
        f'api_key_env = "{KEY_ENV}"\n'
        f'base_url = "{server.base_url}"\n'
        "max_retries = 0\n" + extra,
        "utf-8",
    )
    return path


def run_generate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["generate", *args])
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    return code, out, err


def test_prints_the_extracted_module_and_reports_the_attempt(
    server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(tmp_path, server)
    server.script(Reply(content=CHATTY_GOOD, prompt_tokens=321, completion_tokens=45))

    code, out, err = run_generate(capsys, "pricing")

    assert code == 0
    assert out == GOOD  # stdout holds the module only: `generate f > f.py` works
    assert "model 'fake-model' at " in err
    assert "== pricing: build shop.__generated__.pricing" in err
    assert "attempt 1/2: asking the model" in err
    assert "attempt 1/2: ok in " in err
    assert "finish_reason stop; tokens 321 in / 45 out" in err
    assert "pricing: validated on attempt 1" in err
    assert len(server.requests) == 1


def test_retry_shows_the_errors_and_sends_them_back(
    server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(tmp_path, server)
    server.script(Reply(content=BAD), Reply(content=GOOD))

    code, out, err = run_generate(capsys, "pricing")

    assert code == 0
    assert out == GOOD
    first_failed = err.index("attempt 1/2: FAILED")
    assert err.index("  - Missing top-level definition: Cart") > first_failed
    assert err.index("attempt 2/2: ok") > first_failed
    assert "pricing: validated on attempt 2" in err
    assert "previous output errors: Missing top-level definition: Cart" in (
        server.requests[1].user_text
    )


def test_every_attempt_failing_exits_1_and_writes_the_last_answer_aside(
    server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(tmp_path, server)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "pricing.py").write_text("stale = 1\n", "utf-8")
    server.script(Reply(content=BAD), Reply(content="def apply_discount(:\n"))

    code, out, err = run_generate(capsys, "pricing", "--out", str(out_dir))

    assert code == 1
    assert out == ""
    assert "pricing: FAILED after 2 attempts" in err
    assert "line 1:" in err  # the syntax error of attempt 2, with its position
    # A failed run never removes or truncates the last good module (hostile-input issue).
    assert (out_dir / "pricing.py").read_text("utf-8") == "stale = 1\n"
    assert "kept the previous pricing.py" in err
    assert (out_dir / "pricing.failed.py").read_text("utf-8") == "def apply_discount(:\n"


def test_a_failed_module_on_stdout_is_labelled(
    server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(tmp_path, server)
    server.script(Reply(content=BAD))

    code, out, _ = run_generate(capsys, "pricing", "--attempts", "1")

    assert code == 1
    assert out.splitlines()[0].startswith("# ---- pricing: shop.__generated__.pricing (last")
    assert out.endswith(BAD)


def test_a_truncated_answer_is_a_failed_attempt_with_its_reason(
    server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(tmp_path, server)
    long_answer = " ".join(["word"] * 50)
    server.default = Reply(content=long_answer)

    code, _, err = run_generate(capsys, "pricing", "--max-output-tokens", "8", "--attempts", "1")

    assert code == 1
    assert "finish_reason length" in err
    assert "cut off at the output token limit (max_tokens=8" in err
    assert server.requests[0].body["max_tokens"] == 8


def test_llm_settings_from_config_reach_the_request_and_flags_override_them(
    server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_dir = tmp_path / "project"
    config_dir.mkdir()
    config = write_config(
        config_dir, server, "temperature = 0.5\nmax_output_tokens = 77\nseed = 3\n"
    )
    server.default = Reply(content=GOOD)

    # The project is the config's folder; the fixtures are named explicitly.
    fixtures = ("--fixtures", "prompt_fixtures")
    code, _, _ = run_generate(capsys, "pricing", "--config", str(config), *fixtures)
    code2, _, _ = run_generate(
        capsys,
        "pricing",
        *fixtures,
        "--config",
        str(config),
        "--temperature",
        "0",
        "--seed",
        "9",
        "--model",
        "other",
    )

    assert (code, code2) == (0, 0)
    first, second = server.requests[0].body, server.requests[1].body
    assert (first["temperature"], first["max_tokens"], first["seed"]) == (0.5, 77, 3)
    assert "max_completion_tokens" not in first  # a local server honours only max_tokens
    assert (second["temperature"], second["seed"], second["model"]) == (0, 9, "other")


def test_all_writes_one_module_per_fixture(
    server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(tmp_path, server)
    other = ModuleSpecContext(
        kind="test",
        spec_module="tests.specs.pricing",
        generated_module="tests.__generated__.pricing",
        expected_names=["test_discount"],
        spec_sources={SpecRef("tests.specs.pricing:test_discount"): "def test_discount(): ..."},
        decorator_prompts={},
        dependency_apis={},
        dependency_generated_modules={},
    )
    (tmp_path / "prompt_fixtures" / "pricing_tests.toml").write_text(dump_fixture(other), "utf-8")

    def answer(body: dict[str, object]) -> Reply:
        user = str(body["messages"][-1]["content"])  # type: ignore[index]
        return Reply(
            content="def test_discount():\n    pass\n" if "test_discount" in user else GOOD
        )

    server.responder = answer

    code, out, err = run_generate(capsys, "--all", "--out", "out")

    assert code == 0
    assert out == ""
    assert (tmp_path / "out" / "pricing.py").read_text("utf-8") == GOOD
    assert "def test_discount" in (tmp_path / "out" / "pricing_tests.py").read_text("utf-8")
    assert "2/2 fixtures validated" in err


def test_set_option_uses_the_named_template_set(
    server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(tmp_path, server)
    custom = tmp_path / "prompts" / "terse"
    custom.mkdir(parents=True)
    (custom / "build_system.md").write_text("Write Python only. Terse set.\n", "utf-8")
    server.default = Reply(content=GOOD)

    code, _, err = run_generate(capsys, "pricing", "--set", "terse")

    assert code == 0
    assert "template set 'terse'" in err
    system = server.requests[0].messages[0]
    assert system["role"] == "system"
    assert "Terse set." in system["content"]


def test_missing_key_names_the_variable_without_a_traceback(
    server: FakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_config(tmp_path, server)
    monkeypatch.delenv(KEY_ENV)

    code, out, err = run_generate(capsys, "pricing")

    assert code == 2
    assert out == ""
    assert f"environment variable {KEY_ENV} is not set or empty" in err
    assert f"export {KEY_ENV}=local" in err  # what to do for a local server
    assert "Traceback" not in err
    assert server.requests == []


def test_unreachable_server_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer() as fake:
        config = write_config(tmp_path, fake)
    # The server is stopped: nothing listens on its port any more.

    code, _, err = run_generate(capsys, "pricing", "--config", str(config))

    assert code == 2
    assert "jaunt-prompts generate: error: cannot connect to http://127.0.0.1:" in err
    assert "attempt 1/2: no answer after" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "name at least one FIXTURE, or pass --all"),
        (["nope"], "no fixture 'nope': not a file, nor prompt_fixtures/nope.toml"),
        (["pricing", "--model", "m", "--config", "missing.toml"], "missing.toml: config file"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run_generate(capsys, *args)
    assert code == 2
    assert message in err


def test_without_config_or_model_it_asks_for_a_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_generate(capsys, "pricing")
    assert code == 2
    assert "no model to ask: pass --model NAME (no jaunt.toml found)" in err


def test_without_config_a_model_and_base_url_are_enough(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "local")
    server.default = Reply(content=GOOD)

    code, out, _ = run_generate(
        capsys, "prompt_fixtures/pricing.toml", "--model", "m", "--base-url", server.base_url
    )

    assert code == 0
    assert out == GOOD


def test_broken_fixture_names_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "prompt_fixtures" / "broken.toml").write_text('kind = "neither"\n', "utf-8")
    code, _, err = run_generate(capsys, "broken", "--model", "m")
    assert code == 2
    assert "prompt_fixtures/broken.toml: key '" in err


def test_slow_answers_show_progress_when_not_a_terminal(
    server: FakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_config(tmp_path, server)
    monkeypatch.setattr(generate_cmd, "QUIET_TICK_S", 0.05)
    server.script(Reply(content=GOOD, delay_s=0.4))

    code, _, err = run_generate(capsys, "pricing")

    assert code == 0
    assert "attempt 1/2: still waiting (" in err


def test_console_entry_point_runs_in_a_fresh_process(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    write_config(tmp_path, server)
    server.default = Reply(content=GOOD)
    done = subprocess.run(
        [sys.executable, "-m", "jaunt.promptkit.cli.main", "generate", "pricing"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == GOOD


def test_ctrl_c_stops_a_waiting_generation_with_exit_130(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    write_config(tmp_path, server)
    server.default = Reply(content=GOOD, delay_s=30)
    process = subprocess.Popen(
        [sys.executable, "-m", "jaunt.promptkit.cli.main", "generate", "pricing"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        seen = ""
        while "asking the model" not in seen:
            line = process.stderr.readline()
            assert line, f"exited early: {seen}"
            seen += line
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert "jaunt-prompts generate: interrupted" in err
    assert "Traceback" not in err
    assert out == ""
