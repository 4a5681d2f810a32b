"""The one scrubber, and every path out it guards: terminal, logs, errors, refusals."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.fake_openai import FakeOpenAIServer, Reply
from shop_context import SHOP_CTX

from jaunt.promptkit.capture import CAPTURE_ENV
from jaunt.promptkit.cli.main import main
from jaunt.promptkit.errors import ConfigError
from jaunt.promptkit.fixtures import dump_fixture
from jaunt.promptkit.scrub import ScrubFilter, register_secret, scrub
from jaunt.promptkit.settings import parse_config

KEY_ENV = "JAUNT_SCRUB_TEST_KEY"
SECRET = "local-secret-value-9f8e7d"  # not sk-shaped: only registration can catch it


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-123", "Authorization: ***"),
        ('{"authorization": "Bearer xyz"}', '{"authorization": "***"}'),
        ("proxy-authorization=Basic dXNlcjpwYXNz", "proxy-authorization=***"),
        ("sent bearer tok_123456 to server", "sent bearer *** to server"),
        ("the bearer of bad news", "the bearer of bad news"),
        ("http://user:pa55@host:8080/v1", "http://***@host:8080/v1"),
        ("see https://token@example.org/x", "see https://***@example.org/x"),
        ("key sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX in text", "key *** in text"),
        ("plain text, user@example.org mail", "plain text, user@example.org mail"),
        ("ask-me-anything", "ask-me-anything"),
    ],
)
def test_scrub_patterns(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_registered_and_passed_secrets_are_replaced() -> None:
    register_secret("registered-value-123456")
    assert scrub("a registered-value-123456 b") == "a *** b"
    assert scrub("x other-secret-7777 y", ["other-secret-7777"]) == "x *** y"
    register_secret("short")  # too short to scrub safely: ignored
    assert scrub("a short word") == "a short word"


def test_log_filter_scrubs_formatted_records(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("jaunt.test.scrub")
    logger.addFilter(ScrubFilter())
    caplog.set_level(logging.INFO)
    logger.info("calling %s with %s", "http://u:p@127.0.0.1/v1", "Authorization: Bearer abc")
    assert "u:p@" not in caplog.text
    assert "Bearer abc" not in caplog.text
    assert "http://***@127.0.0.1/v1" in caplog.text


# --- through the command line ----------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.delenv(CAPTURE_ENV, raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prompt_fixtures").mkdir()
    (tmp_path / "prompt_fixtures" / "pricing.toml").write_text(dump_fixture(SHOP_CTX), "utf-8")
    with FakeOpenAIServer() as server:
        yield server


def _config(tmp_path: Path, base_url: str, api_key_env: str = KEY_ENV) -> None:
    (tmp_path / "jaunt.toml").write_text(
        f'[llm]\nmodel = "m"\napi_key_env = "{api_key_env}"\nbase_url = "{base_url}"\n'
        "max_retries = 0\n",
        "utf-8",
    )


def test_a_refusal_quoting_the_key_is_printed_scrubbed(
    project: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _config(tmp_path, project.base_url)
    project.default = Reply(content=None, refusal=f"I will not use the key {SECRET}.")
    assert main(["generate", "pricing", "--attempts", "1"]) == 1
    out, err = capsys.readouterr()
    assert "the model refused" in err
    assert SECRET not in out + err
    assert "***" in err


def test_an_answer_echoing_the_key_is_printed_scrubbed(
    project: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _config(tmp_path, project.base_url)
    project.default = Reply(content=f"KEY = '{SECRET}'\n")
    main(["generate", "pricing", "--attempts", "1"])
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "KEY = '***'" in out


def test_progress_line_hides_url_user_info(
    project: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_user = project.base_url.replace("http://", "http://admin:hunter2-pass@")
    _config(tmp_path, with_user)
    project.default = Reply(content="x = 1\n")
    main(["generate", "pricing", "--attempts", "1"])
    out, err = capsys.readouterr()
    assert "hunter2" not in out + err
    assert "http://***@127.0.0.1" in err


def test_a_key_pasted_into_api_key_env_is_never_echoed(
    project: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pasted = "Zq9-notAnEnvName-but.a.key+value/123"
    _config(tmp_path, project.base_url, api_key_env=pasted)
    assert main(["generate", "pricing"]) == 2
    out, err = capsys.readouterr()
    assert pasted not in out + err
    assert "api_key_env" in err
    assert "not the key itself" in err


def test_config_error_for_a_pasted_key_does_not_quote_it() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(
            '[llm]\nmodel = "m"\napi_key_env = "sk-abc def ghi"\n', path="jaunt.toml", base_dir="."
        )
    assert "sk-abc" not in str(info.value)
    assert "llm.api_key_env" in str(info.value)


def test_scrub_is_linear_on_hostile_text() -> None:
    import time

    for text in ("a." * 500_000, "x://a" * 200_000, "bearer " * 100_000, "sk-" * 300_000):
        started = time.perf_counter()
        scrub(text)
        assert time.perf_counter() - started < 1.0  # quadratic took 9 s at 40 KB


# --- files written for review: snapshots, render --out, generated modules --------------------

PASTED_KEY = "sk-proj-PASTEDINTOASPEC0123456789"


def _project_with_a_key_in_a_spec(root: Path) -> None:
    (root / "prompt_fixtures").mkdir(exist_ok=True)
    fixture = dump_fixture(SHOP_CTX).replace(
        "def apply_discount(price, percent):",
        f"def apply_discount(price, percent):\n    # token {PASTED_KEY}",
    )
    assert PASTED_KEY in fixture
    (root / "prompt_fixtures" / "pricing.toml").write_text(fixture, "utf-8")


def test_a_key_in_a_spec_stays_out_of_render_out_and_snapshots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _project_with_a_key_in_a_spec(tmp_path)
    assert main(["render", "--out", "rendered", "--encoding", "estimate"]) == 0
    capsys.readouterr()
    written = (tmp_path / "rendered" / "pricing.md").read_text("utf-8")
    assert PASTED_KEY not in written
    assert "# token ***" in written
    # The snapshot text comes from the same function (the plugin's case markdown).
    from jaunt.promptkit.fixtures import load_fixture
    from jaunt.promptkit.snapshots.cases import render_markdown
    from jaunt.promptkit.template_set import load_packaged_set

    case = render_markdown(
        load_packaged_set(), load_fixture(tmp_path / "prompt_fixtures" / "pricing.toml")
    )
    assert case == written


def test_a_generated_module_that_echoes_the_key_is_written_scrubbed(
    project: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _config(tmp_path, project.base_url)
    echoed = (
        "```python\n"
        f"API_KEY = '{SECRET}'\n\n"
        "def apply_discount(price, percent):\n    return price\n\n\n"
        "class Cart:\n    pass\n```"
    )
    project.script(Reply(content=echoed))
    assert main(["generate", "pricing", "--out", "out", "--attempts", "1"]) == 0
    out, err = capsys.readouterr()
    module = (tmp_path / "out" / "pricing.py").read_text("utf-8")
    assert SECRET not in module + out + err
    assert "API_KEY = '***'" in module
