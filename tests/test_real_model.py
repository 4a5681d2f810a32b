"""The packaged prompts against a real model: SmolLM2-135M served by llama-cpp-python.

Needs the ``e2e`` dependency group; without it every test here is skipped with the reason.
Run them with ``uv run --group e2e pytest -m real_model``. Requests go through a recording
proxy, so the assertions are about what really went over the wire.

A 135M model writes poor code; these tests do not ask it to write good code. They ask the
pipeline around it to be right: every request succeeds, no fence survives extraction,
every failure says what is wrong, a retry carries the previous errors, the output-token
cap stops a long answer, and each context finishes in bounded time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.llama_server import LlamaServer, missing_requirements
from helpers.recording_proxy import RecordingProxy

from jaunt.generate.base import ERROR_LINE_PREFIX, GenerationResult, ModuleSpecContext
from jaunt.generate.openai_backend import OpenAIBackend
from jaunt.promptkit.capture import CAPTURE_ENV
from jaunt.promptkit.fixtures import load_fixture
from jaunt.promptkit.settings import LLMConfig

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "prompt_fixtures"
# The small fixtures (under ~1,000 prompt tokens): a few seconds each on two cores.
SMALL_FIXTURES = ["pure_function", "decorator_prompt", "skills_notes", "test_module"]
KEY_ENV = "JAUNT_REAL_MODEL_KEY"
# Enough for these modules; a runaway answer stops here instead of filling the context.
MAX_OUTPUT_TOKENS = 768
# Per context, both attempts: generous for a loaded 2-core machine, yet a hang fails.
CONTEXT_DEADLINE_S = 300.0

# What a failed attempt's error can say: a syntax error with its position, a missing
# name, or why the answer was unusable (ModelAnswerError).
KNOWN_ERROR = re.compile(
    r"^line \d+:\d+: "
    r"|^Missing top-level definition: [A-Za-z_]\w*$"
    r"|^the answer was cut off at the output token limit"
    r"|^the model's answer (was empty|held no code)"
)


@pytest.fixture
def proxy(real_model_server: LlamaServer) -> Iterator[RecordingProxy]:
    with RecordingProxy(real_model_server.base_url) as recording:
        yield recording


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "local")  # llama.cpp ignores keys; the backend wants one
    monkeypatch.delenv(CAPTURE_ENV, raising=False)


def llm_for(proxy: RecordingProxy, **overrides: object) -> LLMConfig:
    llm = LLMConfig(
        provider="openai",
        model="SmolLM2-135M-Instruct.Q4_1",
        api_key_env=KEY_ENV,
        base_url=proxy.base_url,
        timeout_s=CONTEXT_DEADLINE_S,
        max_retries=0,
        max_output_tokens=MAX_OUTPUT_TOKENS,
        temperature=0.0,
        seed=0,
    )
    return dataclasses.replace(llm, **overrides)  # type: ignore[arg-type]


def generate(llm: LLMConfig, ctx: ModuleSpecContext, attempts: int = 2) -> GenerationResult:
    async def go() -> GenerationResult:
        async with OpenAIBackend(llm) as backend:
            # The records keep every attempt's code, including the ones that failed.
            return await asyncio.wait_for(
                backend.generate_with_retry(ctx, max_attempts=attempts), CONTEXT_DEADLINE_S
            )

    return asyncio.run(go())


@pytest.mark.real_model
@pytest.mark.parametrize("name", SMALL_FIXTURES)
def test_packaged_prompts_on_a_fixture(name: str, proxy: RecordingProxy) -> None:
    ctx = load_fixture(FIXTURES_DIR / f"{name}.toml").context

    result = generate(llm_for(proxy), ctx)

    exchanges = proxy.chat_exchanges()
    assert len(exchanges) == result.attempts
    for exchange in exchanges:
        assert exchange.status == 200, exchange.response
        assert exchange.request["max_tokens"] == MAX_OUTPUT_TOKENS
        assert exchange.request["temperature"] == 0.0
    for record, exchange in zip(result.records, exchanges, strict=True):
        assert record.messages == exchange.messages  # what the record says was sent, was
        if record.source is not None:
            assert "```" not in record.source, record.source
    assert len(result.attempt_errors) == result.attempts
    for usage in result.attempt_usage:
        assert usage is not None
        assert usage.prompt_tokens > 0
        assert usage.completion_tokens > 0
    if result.ok:
        assert result.errors == []
        assert result.source is not None
        assert "```" not in result.source
        compile(result.source, f"{ctx.generated_module}.py", "exec")
    else:
        assert result.errors, "a failed result must say what is wrong"
        for error in result.errors:
            assert KNOWN_ERROR.search(error), error
    # Attempt n+1 carried attempt n's errors, on the wire.
    for number in range(1, result.attempts):
        retry_text = exchanges[number].user_text
        for error in result.attempt_errors[number - 1]:
            assert f"{ERROR_LINE_PREFIX}{error}" in retry_text


@pytest.mark.real_model
def test_the_retry_request_carries_the_first_attempts_errors(proxy: RecordingProxy) -> None:
    base = load_fixture(FIXTURES_DIR / "pure_function.toml").context
    # A name no spec defines: attempt 1 fails for certain, whatever the model writes.
    unreachable = "zz_name_no_spec_defines"
    ctx = dataclasses.replace(base, expected_names=[*base.expected_names, unreachable])

    result = generate(llm_for(proxy), ctx)

    assert not result.ok
    assert result.attempts == 2
    first_errors = result.attempt_errors[0]
    # Attempt 1 failed for certain: on the missing name, or earlier, on source that does not
    # parse (then no name can be checked).
    assert f"Missing top-level definition: {unreachable}" in first_errors or any(
        "SyntaxError" in error for error in first_errors
    ), first_errors
    first, retry = proxy.chat_exchanges()
    assert ERROR_LINE_PREFIX not in first.user_text
    for error in first_errors:
        assert f"{ERROR_LINE_PREFIX}{error}" in retry.user_text
    # The system message and the start of the user message are unchanged (prompt cache).
    assert retry.messages[0] == first.messages[0]
    assert retry.user_text.startswith(first.user_text.rstrip()[:500])


@pytest.mark.real_model
def test_the_output_token_cap_stops_a_long_answer(proxy: RecordingProxy) -> None:
    ctx = load_fixture(FIXTURES_DIR / "pure_function.toml").context

    result = generate(llm_for(proxy, max_output_tokens=16), ctx, attempts=1)

    (exchange,) = proxy.chat_exchanges()
    assert exchange.request["max_tokens"] == 16
    assert "max_completion_tokens" not in exchange.request
    assert exchange.response["choices"][0]["finish_reason"] == "length"
    assert exchange.response["usage"]["completion_tokens"] <= 16
    assert not result.ok
    (error,) = result.errors
    assert error.startswith("the answer was cut off at the output token limit (max_tokens=16")
    (record,) = result.records
    assert record.finish_reason == "length"
    assert record.answer == exchange.response["choices"][0]["message"]["content"]


@pytest.mark.real_model
def test_generate_command_against_the_real_model(
    real_model_server: LlamaServer, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jaunt.promptkit.cli.main",
            "generate",
            str(FIXTURES_DIR / "pure_function.toml"),
            "--model",
            real_model_server.model,
            "--base-url",
            real_model_server.base_url,
            "--temperature",
            "0",
            "--max-output-tokens",
            str(MAX_OUTPUT_TOKENS),
            "--out",
            str(out_dir),
        ],
        capture_output=True,
        text=True,
        timeout=CONTEXT_DEADLINE_S,
        check=False,
        cwd=tmp_path,
        env={**_clean_env(), "OPENAI_API_KEY": "local"},
    )
    assert done.returncode in (0, 1), done.stderr
    assert "attempt 1/2: asking the model" in done.stderr
    assert re.search(r"finish_reason \w+; tokens \d+ in / \d+ out", done.stderr), done.stderr
    written = sorted(p.name for p in out_dir.iterdir())
    if done.returncode == 0:
        assert written == ["pure_function.py"]
    else:  # the last answer is kept aside, if it held any code at all
        assert set(written) <= {"pure_function.failed.py"}
    for name in written:
        assert "```" not in (out_dir / name).read_text("utf-8")


def test_without_the_e2e_group_the_reason_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    reason = missing_requirements()
    assert reason is not None
    assert "llama-cpp-python is not installed" in reason
    assert "uv sync --inexact --group e2e" in reason


def test_sigterm_is_an_interrupt_while_the_server_runs() -> None:
    # `timeout` in CI sends SIGTERM; Python's default would end the process without the
    # `finally` that stops the server (in its own session, the signal never reaches it).
    script = (
        "import sys, time\n"
        "from helpers.llama_server import _sigterm_interrupts\n"
        "try:\n"
        "    with _sigterm_interrupts():\n"
        "        print('ready', flush=True)\n"
        "        time.sleep(60)\n"
        "except KeyboardInterrupt:\n"
        "    print('stopping the server', flush=True)\n"
        "    sys.exit(3)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env=_clean_env(),
        cwd=Path(__file__).parent,  # the test helpers live in tests/
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert out == "stopping the server\n"
    assert process.returncode == 3


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", CAPTURE_ENV)}
