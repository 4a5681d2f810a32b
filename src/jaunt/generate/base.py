"""Backend-independent generation types: the module context, the result, the retry loop.

The retry loop (:meth:`GeneratorBackend.generate_with_retry`) is the only place that asks
the model again, and the only place that validates an answer. Transport retries (429, 5xx,
timeouts) belong to the SDK underneath a backend; an error that survives them is a
:class:`~jaunt.errors.GenerationBackendError` and is raised, never retried here.

Each attempt leaves an :class:`AttemptRecord` on the result (messages sent, raw answer,
extracted source, errors, usage, finish reason, latency). A backend hands the retry loop
what it knows about an attempt by returning a record from :meth:`GeneratorBackend._attempt`;
the default fills what ``generate_module`` alone can tell (the source, or the answer error).
"""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from jaunt.promptkit.context import (
    ERROR_LINE_PREFIX,
    AttemptRecord,
    ModuleSpecContext,
    TokenUsage,
    build_error_context,
)
from jaunt.promptkit.errors import ModelAnswerError
from jaunt.promptkit.scrub import scrubbed_logger
from jaunt.validation import MAX_SOURCE_CHARS, validate_generated_source

logger = scrubbed_logger("jaunt.generate")


@dataclass
class GenerationResult:
    """The outcome of :meth:`GeneratorBackend.generate_with_retry`.

    ``source`` is the validated module, or ``None`` when every attempt failed; ``errors``
    are the last attempt's errors (empty on success). ``records[i]`` is attempt ``i + 1``.
    """

    attempts: int
    source: str | None
    errors: list[str] = field(default_factory=list)
    records: list[AttemptRecord] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.source is not None

    @property
    def attempt_errors(self) -> list[list[str]]:
        """The errors of each attempt (read-only: derived from :attr:`records`)."""
        return [list(record.errors) for record in self.records]

    @property
    def attempt_usage(self) -> list[TokenUsage | None]:
        """The usage of each attempt, ``None`` where the backend reported none (read-only)."""
        return [record.usage for record in self.records]

    @property
    def usage(self) -> TokenUsage:
        """The tokens of all attempts together."""
        total = TokenUsage()
        for record in self.records:
            if record.usage is not None:
                total += record.usage
        return total

    @property
    def last_source(self) -> str | None:
        """The validated module, else the last attempt's extracted code (``None``: no code)."""
        if self.source is not None:
            return self.source
        for record in reversed(self.records):
            if record.source is not None:
                return record.source
        return None


def validate_record(
    record: AttemptRecord, ctx: ModuleSpecContext, *, max_chars: int = MAX_SOURCE_CHARS
) -> AttemptRecord:
    """``record`` with the validation errors of its source: the one place answers are validated.

    A record that already failed (no source, or answer errors) is returned as it is. Every
    attempt loop (the retry loop here, a batch) validates through this, once per answer;
    everything downstream reads the errors from the record.
    """
    if record.source is None or record.errors:
        return record
    errors = validate_generated_source(
        record.source,
        ctx.expected_names,
        max_chars=max_chars,
        spec_module=ctx.spec_module,
        generated_module=ctx.generated_module,
    )
    return dataclasses.replace(record, errors=errors)


class AttemptObserver:
    """Told when each attempt starts and ends (e.g. to show progress); the default does nothing.

    The methods run on the event loop between attempts: keep them quick.
    """

    def attempt_started(self, ctx: ModuleSpecContext, number: int, max_attempts: int) -> None:
        """Attempt ``number`` of ``max_attempts`` is about to ask the model."""

    def attempt_finished(
        self, ctx: ModuleSpecContext, record: AttemptRecord, max_attempts: int
    ) -> None:
        """The attempt ended with an answer (good or not): ``record`` is final."""

    def attempt_aborted(
        self, ctx: ModuleSpecContext, number: int, seconds: float, error: BaseException
    ) -> None:
        """The attempt ended without an answer (backend error, cancelled): ``error`` propagates."""


class GeneratorBackend(ABC):
    """A model that writes generated modules from a :class:`ModuleSpecContext`."""

    # Longer generated modules fail validation unparsed (OpenAIBackend: [llm] max_source_chars).
    max_source_chars: int = MAX_SOURCE_CHARS

    @abstractmethod
    async def generate_module(
        self, ctx: ModuleSpecContext, *, extra_error_context: list[str] | None = None
    ) -> str:
        """The module source for ``ctx`` (code only, no Markdown).

        ``extra_error_context`` carries the previous attempt's problems on a retry.
        Raise :class:`~jaunt.errors.ModelAnswerError` for an unusable answer (a failed
        attempt) and :class:`~jaunt.errors.GenerationBackendError` for anything that is not
        the model's fault.
        """

    async def generate_with_retry(
        self,
        ctx: ModuleSpecContext,
        *,
        max_attempts: int = 2,
        observer: AttemptObserver | None = None,
    ) -> GenerationResult:
        """Generate and validate, asking again with the errors (and the answer) on failure.

        Attempt ``n + 1`` gets ``extra_error_context`` = one ``previous output errors: ...``
        line per error of attempt ``n``, then attempt ``n``'s module with numbered lines
        (bounded: excerpts around the errors when it is long). The error context renders
        at the end of the user message, so the prompt prefix stays cacheable. Every attempt
        is recorded in :attr:`GenerationResult.records`; ``observer`` hears of each one.
        """
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        watch = observer if observer is not None else AttemptObserver()
        result = GenerationResult(attempts=0, source=None)
        error_context: list[str] = []
        for number in range(1, max_attempts + 1):
            watch.attempt_started(ctx, number, max_attempts)
            started = time.perf_counter()
            try:
                record = await self._attempt(ctx, error_context, number=number)
            except BaseException as exc:
                watch.attempt_aborted(ctx, number, time.perf_counter() - started, exc)
                raise
            record = dataclasses.replace(
                validate_record(record, ctx, max_chars=self.max_source_chars),
                number=number,
                error_context=list(error_context),
                latency_s=time.perf_counter() - started,
            )
            result.records.append(record)
            result.attempts = number
            result.errors = list(record.errors)
            watch.attempt_finished(ctx, record, max_attempts)
            if record.ok:
                result.source = record.source
                return result
            logger.info(
                "%s: attempt %d/%d failed: %s",
                ctx.generated_module,
                number,
                max_attempts,
                "; ".join(record.errors),
            )
            error_context = build_error_context(record.errors, record.source)
        return result

    async def _attempt(
        self, ctx: ModuleSpecContext, error_context: list[str], *, number: int
    ) -> AttemptRecord:
        """Ask the model once; what the backend knows about the answer, not yet validated.

        Return a record with ``source`` set (to be validated by the retry loop) or with
        ``errors`` saying why the answer is unusable; raise for anything that is not the
        model's fault. Backends that know more (messages, raw answer, usage, finish reason)
        override this; the default knows only what :meth:`generate_module` returns.
        """
        try:
            source = await self.generate_module(ctx, extra_error_context=error_context or None)
        except ModelAnswerError as exc:
            return AttemptRecord(number, errors=[str(exc)])
        return AttemptRecord(number, source=source)


__all__ = [
    "ERROR_LINE_PREFIX",
    "AttemptObserver",
    "AttemptRecord",
    "GenerationResult",
    "GeneratorBackend",
    "ModuleSpecContext",
    "TokenUsage",
    "build_error_context",
    "validate_record",
]
