"""OpenAIBackend through the real openai SDK against a scripted server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from helpers.fake_openai import FakeOpenAIServer, Reply, fake_llm
from shop_context import SHOP_CTX

from jaunt.generate.base import GenerationResult, ModuleSpecContext, TokenUsage
from jaunt.generate.openai_backend import OpenAIBackend, token_limit_field
from jaunt.promptkit.capture import CAPTURE_ENV
from jaunt.promptkit.errors import ConfigError, GenerationBackendError, ModelAnswerError
from jaunt.promptkit.messages import render_messages
from jaunt.promptkit.settings import LLMConfig
from jaunt.promptkit.template_set import load_packaged_set
from jaunt.spec_ref import SpecRef

KEY_ENV = "JAUNT_TEST_OPENAI_KEY"
SECRET = "sk-test-DO-NOT-LEAK-4242"

CTX = SHOP_CTX
TEST_CTX = ModuleSpecContext(
    kind="test",
    spec_module="tests.specs.pricing",
    generated_module="tests.__generated__.pricing",
    expected_names=["test_discount_rounds"],
    spec_sources={SpecRef("tests.specs.pricing:test_discount_rounds"): "def test_discount(): ..."},
    decorator_prompts={},
    dependency_apis={SpecRef("shop.pricing:apply_discount"): "def apply_discount(p, q): ..."},
    dependency_generated_modules={},
)
GOOD = "def apply_discount(price, percent):\n    return price\n\n\nclass Cart:\n    pass"
BAD = "def apply_discount(price, percent):\n    return price"

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.delenv(CAPTURE_ENV, raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def _llm(server: FakeOpenAIServer, **overrides: Any) -> LLMConfig:
    return fake_llm(server, KEY_ENV, **{"max_retries": 2, **overrides})


def _with_backend(llm: LLMConfig, use: Callable[[OpenAIBackend], Awaitable[T]]) -> T:
    async def main() -> T:
        async with OpenAIBackend(llm) as backend:
            return await use(backend)

    return asyncio.run(main())


def _generate(server: FakeOpenAIServer, ctx: ModuleSpecContext = CTX, **llm: Any) -> str:
    return _with_backend(_llm(server, **llm), lambda b: b.generate_module(ctx))


def _retry(server: FakeOpenAIServer, max_attempts: int = 2, **llm: Any) -> GenerationResult:
    return _with_backend(
        _llm(server, **llm), lambda b: b.generate_with_retry(CTX, max_attempts=max_attempts)
    )


# --- answers ---------------------------------------------------------------------------------


def test_unfenced_answer(server: FakeOpenAIServer) -> None:
    server.script(Reply(content=GOOD))
    assert _generate(server) == GOOD


def test_fenced_answer_with_prose(server: FakeOpenAIServer) -> None:
    server.script(Reply(content=f"Here it is:\n\n```python\n{GOOD}\n```\n\nHope this helps!"))
    assert _generate(server) == GOOD


def test_request_is_the_shared_renderers_messages(server: FakeOpenAIServer) -> None:
    server.script(Reply(content=GOOD))
    _generate(server)
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "fake-model"
    assert request.messages == render_messages(load_packaged_set(), CTX)
    assert request.headers["authorization"] == f"Bearer {SECRET}"


def test_requests_carry_expected_names_and_kind_rules(server: FakeOpenAIServer) -> None:
    server.script(Reply(content=GOOD), Reply(content="def test_discount_rounds():\n    pass"))
    _generate(server, CTX)
    _generate(server, TEST_CTX)
    build, test = server.requests
    assert "- `apply_discount`\n- `Cart`" in build.user_text
    assert "Do not write tests" in build.messages[0]["content"]
    assert "Do not write implementation code" in test.messages[0]["content"]
    assert "- `test_discount_rounds`" in test.user_text
    assert "Do not write implementation code" not in build.messages[0]["content"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(content="partial", finish_reason="length"), "cut off at the output token limit"),
        (Reply(content=""), "answer was empty"),
        (Reply(content="   \n"), "answer was empty"),
        (Reply(content=None), "answer was empty"),
        (Reply(content=None, refusal="I can't help with that."), "refused: I can't help"),
        (Reply(content="x", finish_reason="content_filter"), "content filter"),
        (Reply(no_choices=True), "no choices"),
        (Reply(content="```python\n```"), "held no code"),
    ],
)
def test_unusable_answers_are_failed_attempts(
    server: FakeOpenAIServer, reply: Reply, expected: str
) -> None:
    server.script(reply)
    with pytest.raises(ModelAnswerError, match=expected):
        _generate(server)
    server.script(reply, Reply(content=GOOD))
    result = _retry(server)
    assert result.ok
    assert result.attempts == 2
    assert expected.split(":")[0] in result.attempt_errors[0][0]
    assert f"previous output errors: {result.attempt_errors[0][0]}" in server.requests[-1].user_text


# --- transport: the SDK's retries, clear errors -----------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_errors_are_retried_by_the_sdk(server: FakeOpenAIServer, status: int) -> None:
    server.script(Reply(status=status), Reply(content=GOOD))
    result = _retry(server)
    assert result.ok
    assert result.attempts == 1  # one jaunt attempt; the SDK retried underneath
    assert len(server.requests) == 2


def test_persistent_500_raises_after_the_sdk_retries(server: FakeOpenAIServer) -> None:
    server.default = Reply(status=500, error_message="upstream exploded")
    with pytest.raises(GenerationBackendError, match=r"HTTP 500 .*after 2 SDK retries") as info:
        _retry(server)
    assert "upstream exploded" in str(info.value)
    assert len(server.requests) == 3  # 1 + max_retries: no second retry loop on top


def test_401_is_a_clear_error_with_one_request(server: FakeOpenAIServer) -> None:
    server.default = Reply(status=401, error_message=f"Incorrect API key provided: {SECRET}")
    with pytest.raises(GenerationBackendError) as info:
        _retry(server, max_attempts=3)
    message = str(info.value)
    assert "authentication failed" in message
    assert f"${KEY_ENV}" in message
    assert SECRET not in message
    assert "***" in message
    assert info.value.__cause__ is None
    assert len(server.requests) == 1


def test_404_unknown_model_is_raised(server: FakeOpenAIServer) -> None:
    server.default = Reply(status=404, error_message="model 'nope' not found")
    with pytest.raises(GenerationBackendError, match=r"HTTP 404 .*model 'nope' not found"):
        _retry(server)
    assert len(server.requests) == 1


def test_server_slower_than_the_timeout(server: FakeOpenAIServer) -> None:
    server.default = Reply(content=GOOD, delay_s=5.0)
    start = time.monotonic()
    with pytest.raises(
        GenerationBackendError, match=r"timed out: .*0.2 s deadline.* after 0 SDK retries"
    ):
        _retry(server, timeout_s=0.2, max_retries=0)
    assert time.monotonic() - start < 4.5  # gave up on its own, not when the server answered
    assert len(server.requests) == 1


def test_connection_refused(server: FakeOpenAIServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(GenerationBackendError, match=r"cannot connect to http://127\.0\.0\.1"):
        _retry(server, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)


# --- the retry loop over HTTP ------------------------------------------------------------------


def test_two_attempt_retry_shows_errors_and_output_and_keeps_the_prefix(
    server: FakeOpenAIServer,
) -> None:
    server.script(Reply(content=f"```python\n{BAD}\n```"), Reply(content=GOOD))
    result = _retry(server)
    assert result.ok
    assert result.attempts == 2
    assert result.attempt_errors == [["Missing top-level definition: Cart"], []]
    first, second = server.requests
    assert "previous output errors:" not in first.user_text
    assert "previous output errors: Missing top-level definition: Cart" in second.user_text
    assert "1 | def apply_discount(price, percent):" in second.user_text
    # Same system message, user message only extended: the prompt cache is reused.
    assert first.messages[0] == second.messages[0]
    assert second.messages[-1]["content"].startswith(first.messages[-1]["content"])


def test_max_attempts_one_makes_one_request(server: FakeOpenAIServer) -> None:
    server.script(Reply(content=BAD), Reply(content=GOOD))
    result = _retry(server, max_attempts=1)
    assert (result.ok, result.attempts, len(server.requests)) == (False, 1, 1)


def test_usage_of_every_attempt_is_kept(server: FakeOpenAIServer) -> None:
    server.script(
        Reply(content=BAD, prompt_tokens=100, completion_tokens=7, cached_tokens=0),
        Reply(content=GOOD, prompt_tokens=130, completion_tokens=9, cached_tokens=96),
    )
    result = _retry(server)
    assert result.attempt_usage == [TokenUsage(100, 7, 107, 0), TokenUsage(130, 9, 139, 96)]
    assert result.usage == TokenUsage(230, 16, 246, 96)


def test_twenty_concurrent_generations_overlap(server: FakeOpenAIServer) -> None:
    server.default = Reply(content=GOOD, delay_s=0.3)

    async def twenty(backend: OpenAIBackend) -> list[str]:
        return await asyncio.gather(*(backend.generate_module(CTX) for _ in range(20)))

    start = time.monotonic()
    answers = _with_backend(_llm(server), twenty)
    elapsed = time.monotonic() - start
    assert answers == [GOOD] * 20
    assert len(server.requests) == 20
    # Serial would be 6 s; a concurrency proof, with a generous bound for a busy machine.
    assert elapsed < 3.0


# --- token cap -------------------------------------------------------------------------------

LONG = " ".join(f"x{i} = {i}\n" for i in range(200))


def test_auto_cap_uses_max_tokens_for_local_servers_and_it_stops_the_answer() -> None:
    with FakeOpenAIServer(honour="max_tokens") as server:  # like llama-cpp-python
        server.default = Reply(content=LONG)
        with pytest.raises(ModelAnswerError, match=r"cut off .*max_tokens=10"):
            _generate(server, max_output_tokens=10)
        body = server.requests[0].body
        assert body["max_tokens"] == 10
        assert "max_completion_tokens" not in body


def test_newer_field_is_ignored_by_a_llama_cpp_like_server() -> None:
    # Why "auto" exists: with only max_completion_tokens such a server runs on uncapped.
    with FakeOpenAIServer(honour="max_tokens") as server:
        server.default = Reply(content=LONG)
        code = _generate(server, max_output_tokens=10, token_limit_param="max_completion_tokens")
        assert server.requests[0].body["max_completion_tokens"] == 10
        assert "max_tokens" not in server.requests[0].body
        assert code.count("=") == 200


def test_explicit_max_tokens_is_sent(server: FakeOpenAIServer) -> None:
    _generate(server, token_limit_param="max_tokens", max_output_tokens=77, temperature=0.0)
    body = server.requests[0].body
    assert (body["max_tokens"], body["temperature"]) == (77, 0.0)


@pytest.mark.parametrize(
    ("base_url", "param", "expected"),
    [
        ("https://api.openai.com/v1", "auto", "max_completion_tokens"),
        ("https://eu.api.openai.com/v1/", "auto", "max_completion_tokens"),
        ("http://127.0.0.1:8080/v1", "auto", "max_tokens"),
        ("https://openrouter.ai/api/v1", "auto", "max_tokens"),
        ("http://127.0.0.1:8080/v1", "max_completion_tokens", "max_completion_tokens"),
        ("https://api.openai.com/v1", "max_tokens", "max_tokens"),
    ],
)
def test_token_limit_field(base_url: str, param: Any, expected: str) -> None:
    llm = LLMConfig("openai", "m", KEY_ENV, token_limit_param=param)
    assert token_limit_field(llm, base_url) == expected


def test_default_base_url_is_openai_with_the_newer_field() -> None:
    backend = OpenAIBackend(LLMConfig("openai", "m", KEY_ENV))
    assert backend.base_url.startswith("https://api.openai.com/")
    assert backend.token_limit_field == "max_completion_tokens"


# --- configuration and the key ---------------------------------------------------------------


def test_openai_base_url_env_is_used_without_base_url(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    server.script(Reply(content=GOOD))
    assert _generate(server, base_url=None) == GOOD
    assert len(server.requests) == 1


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_or_empty_key_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv(KEY_ENV)
    else:
        monkeypatch.setenv(KEY_ENV, value)
    with pytest.raises(ConfigError, match=f"environment variable {KEY_ENV} is not set"):
        OpenAIBackend(LLMConfig("openai", "m", KEY_ENV))


@pytest.mark.parametrize("url", ["localhost:8080/v1", "ftp://127.0.0.1/v1"])
def test_base_url_without_http_scheme_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    # Refused up front, not after the SDK's retries as a vague "Connection error.".
    with pytest.raises(ConfigError, match="not an http:// or https:// URL"):
        OpenAIBackend(LLMConfig("openai", "m", KEY_ENV, base_url=url))
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        OpenAIBackend(LLMConfig("openai", "m", KEY_ENV))


def test_unsupported_provider() -> None:
    with pytest.raises(ConfigError, match="provider 'anthropic' is not supported"):
        OpenAIBackend(LLMConfig("anthropic", "m", KEY_ENV))


def test_key_never_in_repr_or_logs(
    server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.script(Reply(status=429), Reply(content=BAD), Reply(content=GOOD))

    async def use(backend: OpenAIBackend) -> GenerationResult:
        assert SECRET not in repr(backend)
        assert SECRET not in repr(backend.llm)
        return await backend.generate_with_retry(CTX)

    result = _with_backend(_llm(server), use)
    assert result.ok
    assert "jaunt.generate" in caplog.text  # the attempt log line is there...
    assert SECRET not in caplog.text  # ...and the key is not, nor in the SDK's debug logs
    assert SECRET not in repr(result)


def test_replacing_call_openai_keeps_extraction(server: FakeOpenAIServer) -> None:
    # jaunt's own tests replace this one method; the fence is still stripped.
    class Canned(OpenAIBackend):
        async def _call_openai(self, messages: list[dict[str, str]]) -> str:
            assert messages[0]["role"] == "system"
            return f"```python\n{GOOD}\n```"

    async def main() -> str:
        return await Canned(_llm(server)).generate_module(CTX)

    assert asyncio.run(main()) == GOOD
    assert server.requests == []
