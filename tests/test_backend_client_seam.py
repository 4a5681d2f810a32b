"""The public seam for the HTTP client: ``OpenAIBackend(..., client=...)`` or ``transport=...``.

Users and tests inject an httpx transport (or a whole ``openai.AsyncOpenAI``) the way httpx
users do, instead of patching private methods. Exercised with ``httpx.MockTransport``
handlers and with real HTTP to a scripted server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest
from helpers.fake_openai import FakeOpenAIServer, Reply
from shop_context import SHOP_CTX

from jaunt.generate.base import GenerationResult, TokenUsage
from jaunt.generate.openai_backend import OpenAIBackend
from jaunt.promptkit.capture import CAPTURE_ENV
from jaunt.promptkit.errors import ConfigError, GenerationBackendError
from jaunt.promptkit.messages import render_messages
from jaunt.promptkit.settings import LLMConfig
from jaunt.promptkit.template_set import load_packaged_set

KEY_ENV = "JAUNT_TEST_SEAM_KEY"
SECRET = "sk-seam-test-1234"
CTX = SHOP_CTX
GOOD = "def apply_discount(price, percent):\n    return price\n\n\nclass Cart:\n    pass"
ROOT = Path(__file__).resolve().parent.parent
BASE_URL = "http://127.0.0.1:9/v1"  # never contacted: a mock transport answers


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.delenv(CAPTURE_ENV, raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def _llm(base_url: str = BASE_URL, **overrides: Any) -> LLMConfig:
    values: dict[str, Any] = {
        "provider": "openai",
        "model": "fake-model",
        "api_key_env": KEY_ENV,
        "base_url": base_url,
        "timeout_s": 5.0,
        "max_retries": 0,
    }
    values.update(overrides)
    return LLMConfig(**values)


def _completion(content: str, *, cached: int = 0, finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": 40,
            "completion_tokens": 5,
            "total_tokens": 45,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }


def _retry(backend: OpenAIBackend, max_attempts: int = 2) -> GenerationResult:
    async def go() -> GenerationResult:
        async with backend:
            return await backend.generate_with_retry(CTX, max_attempts=max_attempts)

    return asyncio.run(go())


def test_a_mock_transport_answers_every_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_completion(f"```python\n{GOOD}\n```", cached=32))

    result = _retry(OpenAIBackend(_llm(), transport=httpx.MockTransport(handler)))

    assert result.ok
    assert result.source == GOOD
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == f"{BASE_URL}/chat/completions"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    body = json.loads(request.content)
    assert body["model"] == "fake-model"
    assert body["messages"] == render_messages(load_packaged_set(), CTX)
    (record,) = result.records
    assert record.usage == TokenUsage(40, 5, 45, 32)
    assert record.finish_reason == "stop"


def test_the_sdk_retries_and_error_handling_run_over_the_transport() -> None:
    statuses = iter([503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        if status != 200:
            return httpx.Response(
                status, json={"error": {"message": "busy"}}, headers={"retry-after-ms": "1"}
            )
        return httpx.Response(200, json=_completion(GOOD))

    result = _retry(OpenAIBackend(_llm(max_retries=1), transport=httpx.MockTransport(handler)))
    assert result.ok
    assert result.attempts == 1  # the SDK retried the 503 underneath one attempt

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"message": f"bad key {SECRET}"}})

    with pytest.raises(GenerationBackendError, match="authentication failed") as info:
        _retry(OpenAIBackend(_llm(), transport=httpx.MockTransport(refuse)))
    assert SECRET not in str(info.value)


def test_a_real_transport_over_loopback(server: FakeOpenAIServer) -> None:
    server.script(Reply(content=GOOD, cached_tokens=7))
    transport = httpx.AsyncHTTPTransport(retries=0)

    result = _retry(OpenAIBackend(_llm(server.base_url), transport=transport))

    assert result.ok
    assert len(server.requests) == 1
    assert server.requests[0].messages == result.records[0].messages
    assert result.records[0].usage is not None
    assert result.records[0].usage.cached_prompt_tokens == 7


def test_an_injected_client_is_used_as_configured_and_left_open(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client brings its own key: the variable [llm] names is not read.
    monkeypatch.delenv(KEY_ENV)
    server.script(Reply(content=GOOD))

    async def go() -> tuple[GenerationResult, bool]:
        client = openai.AsyncOpenAI(
            api_key="sk-injected-client", base_url=server.base_url, max_retries=0
        )
        async with OpenAIBackend(_llm("http://127.0.0.1:9/unused"), client=client) as backend:
            assert backend.base_url == server.base_url + "/"
            result = await backend.generate_with_retry(CTX)
        closed = client.is_closed()
        await client.close()
        return result, closed

    result, closed = asyncio.run(go())

    assert result.ok
    assert not closed  # the caller's client: the backend does not close it
    assert server.requests[0].headers["authorization"] == "Bearer sk-injected-client"


def test_without_an_injected_client_the_key_variable_is_still_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(ConfigError, match=KEY_ENV):
        OpenAIBackend(_llm(), transport=httpx.MockTransport(lambda r: httpx.Response(500)))


def test_client_and_transport_together_are_refused() -> None:
    client = openai.AsyncOpenAI(api_key="k", base_url=BASE_URL)
    with pytest.raises(ValueError, match="client or transport, not both"):
        OpenAIBackend(_llm(), client=client, transport=httpx.MockTransport(lambda r: None))  # type: ignore[arg-type, return-value]


def test_the_readme_transport_example_runs_and_prints_what_it_shows() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index("## Attempt records and your own HTTP client") :]
    code, shown = re.findall(r"^```(?:python|text)\n(.*?)^```$", section, flags=re.S | re.M)[:2]
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == shown
