"""Run template sets x fixtures x samples against a model and collect every attempt.

Each generation goes through :meth:`OpenAIBackend.generate_with_retry`, the path jaunt uses,
so the model receives exactly the messages the snapshots pin. Sample ``i`` (0-based) of a
run with ``seed S`` sends seed ``S + i`` to the server; the same (fixture, sample) pair gets
the same seed in every set, which is what makes the paired comparison fair.

Validity and per-attempt errors come from the :class:`GenerationResult` (nothing is
validated twice). The raw answer and latency of each attempt come from the transport under
the SDK (:mod:`jaunt.promptkit.eval.cache`), which also replays cached answers.

The library never prints: progress goes to the ``on_sample`` callback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jaunt.generate.base import GeneratorBackend, ModuleSpecContext, TokenUsage
from jaunt.promptkit.eval.checks import CheckLimits, run_checks
from jaunt.promptkit.fixtures import Fixture
from jaunt.promptkit.messages import Message
from jaunt.promptkit.settings import LLMConfig
from jaunt.promptkit.template_set import TemplateSet

if TYPE_CHECKING:
    import httpx2

    from jaunt.generate.openai_backend import OpenAIBackend


@dataclass(frozen=True)
class EvalSettings:
    llm: LLMConfig  # the model and sampling settings; ``seed`` is set per sample
    samples: int = 1
    seed: int = 0
    attempts: int = 2
    concurrency: int = 1
    run_checks: bool = False
    check_limits: CheckLimits = field(default_factory=CheckLimits)
    cache_dir: Path | None = None


@dataclass
class AttemptRecord:
    """One attempt as ``eval`` saw it (one line of the attempts file)."""

    number: int
    messages_sha256: str
    raw_answer: str | None = None
    source: str | None = None
    errors: list[str] = field(default_factory=list)
    usage: TokenUsage | None = None
    finish_reason: str | None = None
    latency_s: float = 0.0
    from_cache: bool = False


@dataclass
class SampleResult:
    set_name: str
    fixture: str
    kind: str
    sample: int
    seed: int
    valid: bool
    first_attempt_valid: bool
    attempts: list[AttemptRecord]
    passed: bool | None = None  # None: no checks ran for this sample
    check_detail: str = ""

    @property
    def usage(self) -> TokenUsage:
        total = TokenUsage()
        for attempt in self.attempts:
            if attempt.usage is not None:
                total += attempt.usage
        return total

    @property
    def latency_s(self) -> float:
        return sum(a.latency_s for a in self.attempts)


@dataclass
class EvalRun:
    settings: EvalSettings
    set_names: list[str]
    fixtures: list[Fixture]
    samples: list[SampleResult]
    requests_sent: int = 0
    cache_hits: int = 0


def messages_sha256(messages: Sequence[Message]) -> str:
    """The hash of the messages exactly as sent (role and content, in order)."""
    text = json.dumps(
        [{"role": m["role"], "content": m["content"]} for m in messages],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Recorder(GeneratorBackend):
    """Wraps the real backend for one generation and keeps what each attempt sent and got."""

    def __init__(self, inner: OpenAIBackend, initial_error_context: Sequence[str] = ()) -> None:
        self.inner = inner
        # A retry fixture's stored error context: attempt 1 is that retry.
        self.initial_error_context = list(initial_error_context)
        self.records: list[AttemptRecord] = []

    async def generate_module(
        self, ctx: ModuleSpecContext, *, extra_error_context: list[str] | None = None
    ) -> str:
        from jaunt.promptkit.eval.cache import CURRENT_REQUEST_LOG, RequestLog

        if extra_error_context is None and self.initial_error_context:
            extra_error_context = self.initial_error_context
        # One recorder per generation: attempts arrive in order.
        record = AttemptRecord(
            number=len(self.records) + 1,
            messages_sha256=messages_sha256(self.inner.render(ctx, extra_error_context)),
        )
        self.records.append(record)
        log = RequestLog()
        token = CURRENT_REQUEST_LOG.set(log)
        try:
            source = await self.inner.generate_module(ctx, extra_error_context=extra_error_context)
            record.source = source
            return source
        finally:
            CURRENT_REQUEST_LOG.reset(token)
            record.latency_s = log.seconds
            record.from_cache = log.from_cache
            _read_response(record, log.body)


def _read_response(record: AttemptRecord, body: bytes) -> None:
    """Raw answer, finish reason and usage from the response body, as the server sent them.

    Read from the body the transport saw (replayed or live) rather than from the backend's
    bookkeeping, so a replay reports exactly what the recording did.
    """
    try:
        data: Any = json.loads(body) if body else None
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    choices = data.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        choice = choices[0]
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        record.raw_answer = content if isinstance(content, str) else None
        reason = choice.get("finish_reason")
        record.finish_reason = reason if isinstance(reason, str) else None
    usage = data.get("usage")
    if isinstance(usage, dict):
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else 0
        record.usage = TokenUsage(
            prompt_tokens=_int(usage.get("prompt_tokens")),
            completion_tokens=_int(usage.get("completion_tokens")),
            total_tokens=_int(usage.get("total_tokens")),
            cached_prompt_tokens=_int(cached),
        )


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


BackendFactory = Callable[[LLMConfig, TemplateSet, "httpx2.AsyncBaseTransport"], "OpenAIBackend"]


def _default_factory(
    llm: LLMConfig, templates: TemplateSet, transport: httpx2.AsyncBaseTransport
) -> OpenAIBackend:
    from jaunt.promptkit.generation import make_backend

    return make_backend(llm, templates, transport=transport)


async def run_eval(
    sets: Sequence[TemplateSet],
    fixtures: Sequence[Fixture],
    settings: EvalSettings,
    *,
    on_sample: Callable[[SampleResult, int, int], None] | None = None,
    backend_factory: BackendFactory | None = None,
) -> EvalRun:
    """Every set x fixture x sample; results in that order whatever the concurrency.

    A :class:`~jaunt.promptkit.errors.GenerationBackendError` (server down, auth) stops the
    run and propagates; answers received so far stay in the cache.
    """
    from jaunt.promptkit.eval.cache import CachingTransport

    factory = backend_factory or _default_factory
    transport = CachingTransport(settings.cache_dir)
    seeds = [settings.seed + i for i in range(settings.samples)]
    backends: dict[tuple[int, int], OpenAIBackend] = {}
    for s, templates in enumerate(sets):
        for seed in seeds:
            llm = dataclasses.replace(settings.llm, seed=seed)
            backends[(s, seed)] = factory(llm, templates, transport.shared())
    jobs = [
        (s, f, i) for s in range(len(sets)) for f in range(len(fixtures)) for i in range(len(seeds))
    ]
    results: dict[tuple[int, int, int], SampleResult] = {}
    gate = asyncio.Semaphore(max(1, settings.concurrency))
    done = 0

    async def one(s: int, f: int, i: int) -> None:
        nonlocal done
        fixture, seed = fixtures[f], seeds[i]
        async with gate:
            recorder = _Recorder(backends[(s, seed)], fixture.error_context)
            result = await recorder.generate_with_retry(
                fixture.context, max_attempts=settings.attempts
            )
        # The verdicts come from the result (validated once, by the retry loop).
        for number, record in enumerate(recorder.records):
            if number < len(result.attempt_errors):
                record.errors = list(result.attempt_errors[number])
        sample = SampleResult(
            set_name=sets[s].name,
            fixture=fixture.name,
            kind=fixture.context.kind,
            sample=i,
            seed=seed,
            valid=result.ok,
            first_attempt_valid=result.ok and result.attempts == 1,
            attempts=recorder.records,
        )
        if settings.run_checks and fixture.checks is not None:
            if result.source is None:
                sample.passed, sample.check_detail = False, "no valid module"
            else:
                # A blocking child process: off the event loop.
                check = await asyncio.to_thread(
                    run_checks, fixture, result.source, settings.check_limits
                )
                sample.passed, sample.check_detail = check.passed, check.detail
        results[(s, f, i)] = sample
        done += 1
        if on_sample is not None:
            on_sample(sample, done, len(jobs))

    try:
        tasks = [asyncio.create_task(one(*job)) for job in jobs]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
    finally:
        for backend in backends.values():
            await backend.aclose()
        await transport.aclose()
    return EvalRun(
        settings=settings,
        set_names=[t.name for t in sets],
        fixtures=list(fixtures),
        samples=[results[job] for job in jobs],
        requests_sent=transport.misses,
        cache_hits=transport.hits,
    )
