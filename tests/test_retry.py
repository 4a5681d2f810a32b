"""generate_with_retry with scripted (real, non-mock) backends: attempts, error context, records."""

from __future__ import annotations

import asyncio

import pytest

from jaunt.generate.base import (
    ERROR_LINE_PREFIX,
    AttemptObserver,
    AttemptRecord,
    GenerationResult,
    GeneratorBackend,
    ModuleSpecContext,
    TokenUsage,
    build_error_context,
)
from jaunt.promptkit.context import MAX_LISTING_CHARS
from jaunt.promptkit.errors import GenerationBackendError, ModelAnswerError
from jaunt.promptkit.messages import render_messages
from jaunt.promptkit.template_set import load_packaged_set
from jaunt.spec_ref import SpecRef

CTX = ModuleSpecContext(
    kind="build",
    spec_module="shop.pricing",
    generated_module="shop.__generated__.pricing",
    expected_names=["apply_discount", "Cart"],
    spec_sources={SpecRef("shop.pricing:apply_discount"): "def apply_discount(p): ..."},
    decorator_prompts={},
    dependency_apis={},
    dependency_generated_modules={},
)
GOOD = "def apply_discount(p):\n    return p\n\n\nclass Cart:\n    pass\n"
BAD = "def apply_discount(p):\n    return p\n"


class ScriptedBackend(GeneratorBackend):
    """Answers from a script: a string is returned, an exception raised; records every call.

    Implements only ``generate_module``, as a third-party backend may.
    """

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[list[str] | None] = []

    async def generate_module(
        self, ctx: ModuleSpecContext, *, extra_error_context: list[str] | None = None
    ) -> str:
        self.calls.append(extra_error_context)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _run(backend: GeneratorBackend, max_attempts: int = 2) -> GenerationResult:
    return asyncio.run(backend.generate_with_retry(CTX, max_attempts=max_attempts))


def test_good_first_answer_is_one_call() -> None:
    backend = ScriptedBackend(GOOD)
    result = _run(backend)
    assert (result.attempts, result.source, result.errors, result.ok) == (1, GOOD, [], True)
    assert backend.calls == [None]
    assert result.attempt_errors == [[]]


def test_bad_then_good_calls_twice_with_the_errors_and_the_output() -> None:
    backend = ScriptedBackend(BAD, GOOD)
    result = _run(backend)
    assert result.attempts == 2
    assert result.source == GOOD
    assert result.errors == []
    assert result.attempt_errors == [["Missing top-level definition: Cart"], []]
    assert len(backend.calls) == 2
    context = backend.calls[1]
    assert context is not None
    assert context[0] == "previous output errors: Missing top-level definition: Cart"
    # The model sees the code the errors are about, with line numbers.
    assert "1 | def apply_discount(p):" in context[1]
    assert "2 |     return p" in context[1]


def test_max_attempts_one_makes_one_call() -> None:
    backend = ScriptedBackend(BAD, GOOD)
    result = _run(backend, max_attempts=1)
    assert (result.attempts, result.source) == (1, None)
    assert result.errors == ["Missing top-level definition: Cart"]
    assert len(backend.calls) == 1


def test_all_attempts_fail() -> None:
    backend = ScriptedBackend("def (:\n", BAD, BAD)
    result = _run(backend, max_attempts=3)
    assert result.attempts == 3
    assert result.source is None
    assert result.errors == ["Missing top-level definition: Cart"]
    assert result.attempt_errors[0][0].startswith("line 1:5: SyntaxError: ")
    # Attempt 3 is told about attempt 2's errors, not attempt 1's.
    third = backend.calls[2]
    assert third is not None
    assert third[0] == "previous output errors: Missing top-level definition: Cart"
    assert not any("SyntaxError" in line for line in third)


def test_zero_attempts_is_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts must be at least 1"):
        _run(ScriptedBackend(GOOD), max_attempts=0)


def test_syntax_error_retry_points_at_the_line() -> None:
    broken = "def apply_discount(p):\n    return p +\n\nclass Cart: pass\n"
    backend = ScriptedBackend(broken, GOOD)
    result = _run(backend)
    assert result.ok
    context = backend.calls[1]
    assert context is not None
    assert context[0].startswith(f"{ERROR_LINE_PREFIX}line 2:")
    assert "2 |     return p +" in context[1]


def test_model_answer_error_is_a_failed_attempt() -> None:
    backend = ScriptedBackend(ModelAnswerError("the answer was empty"), GOOD)
    result = _run(backend)
    assert result.ok
    assert result.attempt_errors == [["the answer was empty"], []]
    assert backend.calls[1] == ["previous output errors: the answer was empty"]


def test_backend_error_is_raised_not_retried() -> None:
    backend = ScriptedBackend(GenerationBackendError("authentication failed"), GOOD)
    with pytest.raises(GenerationBackendError, match="authentication failed"):
        _run(backend)
    assert len(backend.calls) == 1


class RecordingBackend(GeneratorBackend):
    """Knows more than ``generate_module`` tells: hands the loop a record per attempt."""

    def __init__(self, *answers: str, usage: TokenUsage | None = None) -> None:
        self.answers = list(answers)
        self.usage = usage

    async def generate_module(
        self, ctx: ModuleSpecContext, *, extra_error_context: list[str] | None = None
    ) -> str:
        raise AssertionError("the retry loop asks _attempt, not generate_module")

    async def _attempt(
        self, ctx: ModuleSpecContext, error_context: list[str], *, number: int
    ) -> AttemptRecord:
        await asyncio.sleep(0.001)
        answer = self.answers.pop(0)
        return AttemptRecord(
            number,
            messages=[{"role": "user", "content": f"attempt {number}"}],
            answer=f"```python\n{answer}```",
            source=answer,
            usage=self.usage,
            finish_reason="stop",
        )


def test_records_of_a_generate_module_only_backend_hold_what_it_can_know() -> None:
    result = _run(ScriptedBackend(ModelAnswerError("the answer was empty"), BAD), max_attempts=2)
    first, second = result.records
    assert (first.number, first.source, first.errors) == (1, None, ["the answer was empty"])
    assert (second.number, second.source) == (2, BAD)
    assert second.errors == ["Missing top-level definition: Cart"]
    assert first.error_context == []
    assert second.error_context == ["previous output errors: the answer was empty"]
    # What generate_module cannot tell stays None; the loop times every attempt.
    for record in result.records:
        assert (record.messages, record.answer, record.usage, record.finish_reason) == (
            None,
            None,
            None,
            None,
        )
        assert record.latency_s is not None
        assert record.latency_s >= 0
    assert not first.ok
    assert not second.ok


def test_a_backend_record_reaches_the_result_validated_once_by_the_loop() -> None:
    usage = TokenUsage(prompt_tokens=100, completion_tokens=20, total_tokens=120)
    result = _run(RecordingBackend(BAD, GOOD, usage=usage))
    first, second = result.records
    assert first.messages == [{"role": "user", "content": "attempt 1"}]
    assert first.answer == f"```python\n{BAD}```"
    assert first.errors == ["Missing top-level definition: Cart"]
    assert first.finish_reason == "stop"
    assert second.ok
    assert second.error_context[0] == "previous output errors: Missing top-level definition: Cart"
    assert first.latency_s is not None
    assert first.latency_s > 0
    assert result.source == GOOD


def test_usage_is_kept_per_attempt_and_summed() -> None:
    usage = TokenUsage(prompt_tokens=100, completion_tokens=20, total_tokens=120)
    result = _run(RecordingBackend(BAD, GOOD, usage=usage))
    assert result.attempt_usage == [usage, usage]
    assert [r.usage for r in result.records] == [usage, usage]
    assert result.usage == TokenUsage(200, 40, 240, 0)


def test_no_usage_reported_gives_none() -> None:
    result = _run(ScriptedBackend(GOOD))
    assert result.attempt_usage == [None]
    assert result.usage == TokenUsage()


def test_last_source_is_the_last_code_of_a_failed_run() -> None:
    result = _run(ScriptedBackend(BAD, ModelAnswerError("cut off")))
    assert result.source is None
    assert result.last_source == BAD


def test_concurrent_retries_keep_their_records_apart() -> None:
    class Delayed(GeneratorBackend):
        async def generate_module(
            self, ctx: ModuleSpecContext, *, extra_error_context: list[str] | None = None
        ) -> str:
            raise AssertionError("not called")

        async def _attempt(
            self, ctx: ModuleSpecContext, error_context: list[str], *, number: int
        ) -> AttemptRecord:
            tokens = len(ctx.generated_module)
            await asyncio.sleep(0.01)
            usage = TokenUsage(tokens, 1, tokens + 1)
            await asyncio.sleep(0.01)
            return AttemptRecord(number, source=GOOD, usage=usage)

    async def main() -> list[GenerationResult]:
        backend = Delayed()
        contexts = [
            ModuleSpecContext(**{**CTX.__dict__, "generated_module": "m" * n}) for n in range(1, 9)
        ]
        return await asyncio.gather(*(backend.generate_with_retry(c) for c in contexts))

    results = asyncio.run(main())
    assert [r.usage.prompt_tokens for r in results] == list(range(1, 9))


def test_observer_hears_each_attempt_start_and_end_and_an_abort() -> None:
    events: list[tuple[object, ...]] = []

    class Listen(AttemptObserver):
        def attempt_started(self, ctx: ModuleSpecContext, number: int, max_attempts: int) -> None:
            events.append(("start", number, max_attempts))

        def attempt_finished(
            self, ctx: ModuleSpecContext, record: AttemptRecord, max_attempts: int
        ) -> None:
            events.append(("end", record.number, tuple(record.errors)))

        def attempt_aborted(
            self, ctx: ModuleSpecContext, number: int, seconds: float, error: BaseException
        ) -> None:
            events.append(("abort", number, str(error)))

    backend = ScriptedBackend(BAD, GenerationBackendError("server gone"))
    with pytest.raises(GenerationBackendError):
        asyncio.run(backend.generate_with_retry(CTX, max_attempts=3, observer=Listen()))
    assert events == [
        ("start", 1, 3),
        ("end", 1, ("Missing top-level definition: Cart",)),
        ("start", 2, 3),
        ("abort", 2, "server gone"),
    ]


def test_retry_messages_keep_the_prefix_byte_identical() -> None:
    templates = load_packaged_set()
    first = render_messages(templates, CTX)
    second = render_messages(templates, CTX, build_error_context(["Missing x"], BAD))
    assert first[0] == second[0]
    assert second[-1]["content"].startswith(first[-1]["content"])
    assert "previous output errors: Missing x" in second[-1]["content"]
    assert "previous output errors:" not in first[-1]["content"]


def test_long_previous_output_becomes_excerpts_around_the_errors() -> None:
    output = "\n".join(f"x{i} = {i}" for i in range(1, 5001))
    context = build_error_context(["line 2500:3: SyntaxError: boom"], output)
    block = context[1]
    assert len(block) < MAX_LISTING_CHARS + 500
    assert "2500 | x2500 = 2500" in block
    assert "2497 | x2497 = 2497" in block
    assert "   1 | x1 = 1" in block
    assert "5000 | x5000 = 5000" in block
    assert "lines omitted" in block
    assert "1000 | x1000" not in block


def test_very_long_lines_are_cut() -> None:
    context = build_error_context(["e"], "x = '" + "a" * 10_000 + "'")
    assert len(context[1]) < 1000
    assert "[...]" in context[1]


def test_no_output_means_only_error_lines() -> None:
    assert build_error_context(["e1", "e2"], None) == [
        "previous output errors: e1",
        "previous output errors: e2",
    ]
    assert build_error_context(["e"], "   \n") == ["previous output errors: e"]


def test_output_with_backticks_cannot_break_the_listing_fence() -> None:
    block = build_error_context(["e"], 'DOC = """\n````\n"""')[1]
    assert "`````text" in block


def test_answer_importing_the_spec_stubs_fails_validation_with_the_reason() -> None:
    # A one-line answer that re-exports the user's own stubs must not "pass".
    backend = ScriptedBackend("from shop.pricing import apply_discount, Cart\n", GOOD)
    result = _run(backend)
    assert result.attempts == 2
    assert result.attempt_errors[0] == [
        f"Missing top-level definition: {name} "
        f"(`{name}` is imported from the spec module shop.pricing, not defined)"
        for name in ("apply_discount", "Cart")
    ]
    assert result.source == GOOD


def test_backend_source_cap_applies_in_the_retry_loop() -> None:
    backend = ScriptedBackend(GOOD)
    backend.max_source_chars = 10
    result = _run(backend, max_attempts=1)
    assert result.errors == [
        f"line 1:1: generated source too large ({len(GOOD)} characters, limit 10)"
    ]
