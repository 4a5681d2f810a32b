"""Attempt records through the real openai SDK against a scripted server on 127.0.0.1.

Each attempt of ``generate_with_retry`` leaves a record: the messages sent, the raw answer,
the extracted source, the errors, the usage (cached prompt tokens included), the finish
reason and the latency. ``generate`` prints from these records; nothing validates twice.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.fake_openai import FakeOpenAIServer, Reply, fake_llm
from shop_context import SHOP_CTX

from jaunt.generate.base import GenerationResult, ModuleSpecContext, TokenUsage
from jaunt.generate.openai_backend import OpenAIBackend
from jaunt.promptkit.capture import CAPTURE_ENV
from jaunt.promptkit.cli.main import main
from jaunt.promptkit.context import build_error_context
from jaunt.promptkit.fixtures import dump_fixture
from jaunt.promptkit.messages import render_messages
from jaunt.promptkit.settings import LLMConfig
from jaunt.promptkit.template_set import load_packaged_set

KEY_ENV = "JAUNT_TEST_RECORDS_KEY"
SECRET = "sk-records-test-0000"
CTX = SHOP_CTX
GOOD = "def apply_discount(price, percent):\n    return price\n\n\nclass Cart:\n    pass"
BAD = "def apply_discount(price, percent):\n    return price"
SRC = Path(__file__).resolve().parent.parent / "src" / "jaunt"


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


def _retry(
    backend_factory: Any, ctx: ModuleSpecContext = CTX, max_attempts: int = 2
) -> GenerationResult:
    async def go() -> GenerationResult:
        async with backend_factory() as backend:
            result: GenerationResult = await backend.generate_with_retry(
                ctx, max_attempts=max_attempts
            )
            return result

    return asyncio.run(go())


def test_each_attempt_is_recorded_as_sent_and_as_answered(server: FakeOpenAIServer) -> None:
    first_answer = f"Here it is:\n\n```python\n{BAD}\n```\nDone."
    server.script(
        Reply(content=first_answer, prompt_tokens=100, completion_tokens=7, delay_s=0.05),
        Reply(content=GOOD, prompt_tokens=130, completion_tokens=9, cached_tokens=96),
    )

    result = _retry(lambda: OpenAIBackend(_llm(server)))

    assert result.ok
    first, second = result.records
    templates = load_packaged_set()
    # Messages: the shared renderer's output, exactly what went over the wire.
    assert first.messages == render_messages(templates, CTX) == server.requests[0].messages
    assert second.messages == render_messages(templates, CTX, second.error_context)
    assert second.messages == server.requests[1].messages
    assert first.error_context == []
    assert second.error_context == build_error_context(first.errors, first.source)
    # Raw answer, extracted source, errors.
    assert (first.answer, first.source) == (first_answer, BAD)  # the code as fenced
    assert first.errors == ["Missing top-level definition: Cart"]
    assert (second.answer, second.source, second.errors) == (GOOD, GOOD, [])
    assert (first.ok, second.ok) == (False, True)
    # Usage as the server reported it, cached prompt tokens included.
    assert first.usage == TokenUsage(100, 7, 107, 0)
    assert second.usage == TokenUsage(130, 9, 139, 96)
    assert (first.finish_reason, second.finish_reason) == ("stop", "stop")
    assert first.latency_s is not None
    assert first.latency_s >= 0.05  # the server's delay is inside the attempt's time
    assert second.latency_s is not None
    assert second.latency_s > 0
    assert [r.number for r in result.records] == [1, 2]
    # The old per-attempt views are the records'.
    assert result.attempt_errors == [first.errors, second.errors]
    assert result.attempt_usage == [first.usage, second.usage]
    assert result.usage == TokenUsage(230, 16, 246, 96)


@pytest.mark.parametrize(
    ("reply", "answer", "finish_reason", "error"),
    [
        (
            Reply(content="def apply_discount(", finish_reason="length", completion_tokens=4),
            "def apply_discount(",
            "length",
            "cut off at the output token limit",
        ),
        (Reply(content=None, refusal="No."), None, "stop", "the model refused: No."),
        (Reply(content="   "), "   ", "stop", "answer was empty"),
        (Reply(content="No code.\n```python\n```"), "No code.\n```python\n```", "stop", "no code"),
        (Reply(no_choices=True), None, None, "no choices"),
    ],
)
def test_an_unusable_answer_keeps_its_text_usage_and_finish_reason(
    server: FakeOpenAIServer,
    reply: Reply,
    answer: str | None,
    finish_reason: str | None,
    error: str,
) -> None:
    server.script(reply)

    result = _retry(lambda: OpenAIBackend(_llm(server)), max_attempts=1)

    (record,) = result.records
    assert record.source is None
    assert len(record.errors) == 1
    assert error in record.errors[0]
    assert record.answer == answer
    assert record.finish_reason == finish_reason
    assert record.usage is not None  # the server counted the tokens even so
    assert record.usage.prompt_tokens == reply.prompt_tokens
    assert result.errors == record.errors


def test_replaced_call_openai_fills_what_it_can(server: FakeOpenAIServer) -> None:
    # jaunt's own tests replace this one method: answer, messages and source are still
    # recorded; usage and finish reason, which only a response carries, stay None.
    seen: list[list[dict[str, str]]] = []

    class Canned(OpenAIBackend):
        async def _call_openai(self, messages: list[dict[str, str]]) -> str:
            seen.append(messages)
            return f"```python\n{GOOD}\n```"

    result = _retry(lambda: Canned(_llm(server)))

    (record,) = result.records
    assert record.messages == seen[0] == render_messages(load_packaged_set(), CTX)
    assert record.answer == f"```python\n{GOOD}\n```"
    assert (record.source, record.errors) == (GOOD, [])
    assert (record.usage, record.finish_reason) == (None, None)
    assert record.latency_s is not None
    assert record.latency_s > 0
    assert server.requests == []


def test_concurrent_generations_keep_their_records_apart(server: FakeOpenAIServer) -> None:
    # The usage the server reports depends on the module asked for: each result must hold
    # its own request's numbers, whatever order the answers come back in.
    def respond(body: dict[str, Any]) -> Reply:
        user = body["messages"][-1]["content"]
        number = next(n for n in range(1, 13) if f"shop.__generated__.m{n}`" in user)
        return Reply(content=GOOD, prompt_tokens=1000 + number, delay_s=0.01 * (13 - number))

    server.responder = respond
    contexts = [
        ModuleSpecContext(**{**CTX.__dict__, "generated_module": f"shop.__generated__.m{n}"})
        for n in range(1, 13)
    ]

    async def go() -> list[GenerationResult]:
        async with OpenAIBackend(_llm(server)) as backend:
            return await asyncio.gather(*(backend.generate_with_retry(c) for c in contexts))

    results = asyncio.run(go())

    for number, result in enumerate(results, start=1):
        (record,) = result.records
        assert record.usage is not None
        assert record.usage.prompt_tokens == 1000 + number
        assert f"shop.__generated__.m{number}`" in record.messages[-1]["content"]  # type: ignore[index]


# --- one validation, read by everyone --------------------------------------------------------


def _calls_of(name: str) -> dict[str, list[str]]:
    """Which source modules call ``name``, and from which functions."""
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Call):
                    callee = node.func
                    called = callee.attr if isinstance(callee, ast.Attribute) else None
                    if isinstance(callee, ast.Name):
                        called = callee.id
                    if called == name:
                        found.setdefault(str(path.relative_to(SRC)), []).append(function.name)
    return found


def test_answers_are_validated_in_one_place() -> None:
    # The retry loop (and any other attempt loop) validates through validate_record; the
    # generate command, capture and reports read the errors from the records.
    assert _calls_of("validate_generated_source") == {"generate/base.py": ["validate_record"]}
    users = _calls_of("validate_record")
    assert "promptkit/cli/generate_cmd.py" not in users
    assert "promptkit/generation.py" not in users


def test_generate_prints_the_records(
    server: FakeOpenAIServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prompt_fixtures").mkdir()
    (tmp_path / "prompt_fixtures" / "pricing.toml").write_text(dump_fixture(CTX), "utf-8")
    (tmp_path / "jaunt.toml").write_text(
        f'[llm]\nmodel = "fake-model"\napi_key_env = "{KEY_ENV}"\n'
        f'base_url = "{server.base_url}"\nmax_retries = 0\n',
        "utf-8",
    )
    server.script(
        Reply(content="partial", finish_reason="length", prompt_tokens=50, completion_tokens=3),
        Reply(content=GOOD, prompt_tokens=60, completion_tokens=9, cached_tokens=48),
    )

    code = main(["generate", "pricing"])

    out, err = capsys.readouterr()
    assert code == 0
    assert out == GOOD + "\n"
    assert "attempt 1/2: FAILED in " in err
    assert "finish_reason length; tokens 50 in / 3 out" in err
    assert "  - the answer was cut off at the output token limit" in err
    assert "attempt 2/2: ok in " in err
    assert "finish_reason stop; tokens 60 in / 9 out (48 cached)" in err
    assert "pricing: validated on attempt 2" in err
    assert "tokens 110 in / 12 out" in err


def test_a_subclass_generate_module_stays_in_the_retry_loop(server: FakeOpenAIServer) -> None:
    class Prefixed(OpenAIBackend):
        async def generate_module(
            self, ctx: ModuleSpecContext, *, extra_error_context: list[str] | None = None
        ) -> str:
            source = await super().generate_module(ctx, extra_error_context=extra_error_context)
            return "from __future__ import annotations\n\n" + source

    server.script(Reply(content=GOOD))

    result = _retry(lambda: Prefixed(_llm(server)))

    assert result.source == "from __future__ import annotations\n\n" + GOOD
    assert len(server.requests) == 1
