"""Hostile and broken servers, through the real openai SDK against 127.0.0.1.

A server that trickles its answer, a 200 that is not a chat completion, error pages: every
one ends in bounded time as a failed attempt or a one-line error, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from helpers.fake_openai import FakeOpenAIServer, Reply, fake_llm
from shop_context import SHOP_CTX

from jaunt.generate.base import GenerationResult
from jaunt.generate.openai_backend import OpenAIBackend
from jaunt.promptkit.capture import CAPTURE_ENV
from jaunt.promptkit.errors import GenerationBackendError, ModelAnswerError
from jaunt.promptkit.settings import LLMConfig

KEY_ENV = "JAUNT_TEST_OPENAI_KEY"
SECRET = "sk-test-DO-NOT-LEAK-4242"
GOOD = "def apply_discount(price, percent):\n    return price\n\n\nclass Cart:\n    pass"


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
    return fake_llm(server, KEY_ENV, **overrides)


def _retry(server: FakeOpenAIServer, max_attempts: int = 1, **llm: Any) -> GenerationResult:
    async def main() -> GenerationResult:
        async with OpenAIBackend(_llm(server, **llm)) as backend:
            return await backend.generate_with_retry(SHOP_CTX, max_attempts=max_attempts)

    return asyncio.run(main())


def _completion(content: str = GOOD, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
    body.update(changes)
    return body


# --- one deadline per request -----------------------------------------------------------------


def test_a_dripping_server_is_cut_off_at_the_deadline(server: FakeOpenAIServer) -> None:
    # Each piece arrives well inside any per-read timeout; the whole body would take ~15 s.
    body = json.dumps(_completion(GOOD + "\n# " + "x" * 1000)).encode()
    server.default = Reply(raw_body=body, drip_bytes=4, drip_interval_s=0.05)
    started = time.monotonic()
    with pytest.raises(GenerationBackendError) as info:
        _retry(server, timeout_s=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 3.0, elapsed
    message = str(info.value)
    assert "1 s deadline" in message
    assert "timeout_s" in message
    assert "\n" not in message


def test_the_deadline_holds_for_every_sdk_retry(server: FakeOpenAIServer) -> None:
    body = json.dumps(_completion(GOOD + "\n# " + "x" * 1000)).encode()
    server.default = Reply(raw_body=body, drip_bytes=4, drip_interval_s=0.05)
    started = time.monotonic()
    with pytest.raises(GenerationBackendError, match=r"after 1 SDK retry"):
        _retry(server, timeout_s=0.5, max_retries=1)
    # two requests of 0.5 s each plus the SDK's short backoff, not the 40 s the server wanted
    assert time.monotonic() - started < 4.0
    assert len(server.requests) == 2


def test_a_slow_but_honest_server_within_the_deadline_is_fine(server: FakeOpenAIServer) -> None:
    body = json.dumps(_completion()).encode()
    server.default = Reply(raw_body=body, drip_bytes=200, drip_interval_s=0.01)
    result = _retry(server, timeout_s=5.0)
    assert result.ok, result.errors


# --- every answer shape -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(raw_body=b"{not json", content_type="application/json"), "not valid JSON"),
        (
            Reply(raw_body=b"<html><body>Gateway</body></html>", content_type="text/html"),
            "not a chat completion",
        ),
        (Reply(raw_body=b"", content_type="application/json"), "not"),
        (Reply(body=[1, 2, 3]), "not a chat completion"),
        (Reply(body="just a string"), "not a chat completion"),
        (Reply(body=_completion(choices=[])), "no choices"),
        (Reply(body=_completion(choices="abc")), "'choices'"),
        (Reply(body=_completion(choices=[7])), "choices"),
        (Reply(body=_completion(choices=[{"message": "hi"}])), "message"),
        (
            Reply(body=_completion(choices=[{"message": {"content": 5}, "finish_reason": "stop"}])),
            "content",
        ),
        (Reply(body=_completion(usage="lots")), "usage"),
        (Reply(body=_completion(usage={"prompt_tokens": "3"})), "usage"),
        (Reply(body={"error": {"message": "overloaded"}}), "overloaded"),
    ],
)
def test_a_200_that_is_not_a_chat_completion_is_a_failed_attempt(
    server: FakeOpenAIServer, reply: Reply, expected: str
) -> None:
    server.script(reply, Reply(content=GOOD))
    result = _retry(server, max_attempts=2)
    assert result.ok, result.errors  # the second attempt was asked, and worked
    first = result.attempt_errors[0]
    assert len(first) == 1
    assert expected in first[0], first[0]
    assert "Traceback" not in first[0]
    assert "\n" not in first[0]


def test_a_bad_200_alone_raises_model_answer_error(server: FakeOpenAIServer) -> None:
    server.default = Reply(raw_body=b"<html>oops</html>", content_type="text/html")

    async def main() -> str:
        async with OpenAIBackend(_llm(server)) as backend:
            return await backend.generate_module(SHOP_CTX)

    with pytest.raises(ModelAnswerError, match="not a chat completion"):
        asyncio.run(main())


def test_429_after_the_retries_says_they_are_spent(server: FakeOpenAIServer) -> None:
    server.default = Reply(status=429, error_message="Rate limit reached, please retry later")
    with pytest.raises(GenerationBackendError) as info:
        _retry(server, max_retries=1)
    message = str(info.value)
    assert "rate limited (HTTP 429)" in message
    assert "gave up after 1 SDK retry" in message
    assert message.startswith("rate limited")
    assert len(server.requests) == 2


def test_html_error_page_is_one_line(server: FakeOpenAIServer) -> None:
    page = b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body>\n</html>\n"
    server.default = Reply(status=502, raw_body=page, content_type="text/html")
    with pytest.raises(GenerationBackendError) as info:
        _retry(server)
    assert "\n" not in str(info.value)
    assert "HTTP 502" in str(info.value)


def test_a_client_without_the_deadline_is_still_bounded(server: FakeOpenAIServer) -> None:
    # A caller may hand the backend its own SDK client (a transport seam): the whole call
    # is still bounded, by timeout_s x attempts plus retry waits.
    import openai

    body = json.dumps(_completion(GOOD + "\n# " + "x" * 1000)).encode()
    server.default = Reply(raw_body=body, drip_bytes=4, drip_interval_s=0.05)

    async def main() -> GenerationResult:
        async with OpenAIBackend(_llm(server, timeout_s=0.5)) as backend:
            await backend._client.close()
            backend._client = openai.AsyncOpenAI(
                api_key=SECRET, base_url=server.base_url, timeout=0.5, max_retries=0
            )
            return await backend.generate_with_retry(SHOP_CTX, max_attempts=1)

    started = time.monotonic()
    with pytest.raises(GenerationBackendError, match="the bound of all its SDK attempts"):
        asyncio.run(main())
    assert time.monotonic() - started < 4.0


def test_an_oversized_request_is_not_sent(server: FakeOpenAIServer) -> None:
    with pytest.raises(GenerationBackendError, match=r"max_request_chars.*nothing was sent"):
        _retry(server, max_request_chars=1000)
    assert server.requests == []


def test_an_oversized_answer_is_a_failed_attempt(server: FakeOpenAIServer) -> None:
    server.script(Reply(content="x = 1\n" + "# pad\n" * 2000), Reply(content=GOOD))
    result = _retry(server, max_attempts=2, max_answer_bytes=5000)
    assert result.ok
    assert "max_answer_bytes" in result.attempt_errors[0][0]
