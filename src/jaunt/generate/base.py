"""Backend-independent generation types: the module context, the result, the retry loop.

The retry loop (:meth:`GeneratorBackend.generate_with_retry`) is the only place that asks
the model again. Transport retries (429, 5xx, timeouts) belong to the SDK underneath a
backend; an error that survives them is a :class:`~jaunt.errors.GenerationBackendError`
and is raised, never retried here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextvars import ContextVar
from dataclasses import dataclass, field

from jaunt.promptkit.context import (
    ERROR_LINE_PREFIX,
    ModuleSpecContext,
    TokenUsage,
    build_error_context,
)
from jaunt.promptkit.errors import ModelAnswerError
from jaunt.promptkit.scrub import scrubbed_logger
from jaunt.validation import validate_generated_source

logger = scrubbed_logger("jaunt.generate")


@dataclass
class GenerationResult:
    """The outcome of :meth:`GeneratorBackend.generate_with_retry`.

    ``source`` is the validated module, or ``None`` when every attempt failed; ``errors``
    are the last attempt's errors (empty on success). ``attempt_errors[i]`` and
    ``attempt_usage[i]`` describe attempt ``i + 1`` (usage is ``None`` when the backend
    reported none, e.g. a test double).
    """

    attempts: int
    source: str | None
    errors: list[str] = field(default_factory=list)
    attempt_errors: list[list[str]] = field(default_factory=list)
    attempt_usage: list[TokenUsage | None] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.source is not None

    @property
    def usage(self) -> TokenUsage:
        """The tokens of all attempts together."""
        total = TokenUsage()
        for usage in self.attempt_usage:
            if usage is not None:
                total += usage
        return total


@dataclass
class AttemptState:
    """What the running attempt knows; a backend reads and fills it via :func:`current_attempt`."""

    number: int
    usage: TokenUsage | None = None
    # The server's finish_reason for the attempt's last call ("stop", "length", ...), if known.
    finish_reason: str | None = None


# Concurrent generate_with_retry calls each run in their own task (their own context), so
# the usage a backend records lands on the right attempt without any shared mutable state.
_CURRENT_ATTEMPT: ContextVar[AttemptState | None] = ContextVar("jaunt_attempt", default=None)


def current_attempt() -> AttemptState | None:
    """The attempt being run by ``generate_with_retry`` in this task, if any."""
    return _CURRENT_ATTEMPT.get()


def record_usage(usage: TokenUsage) -> None:
    """Add one model call's usage to the running attempt (no-op outside the retry loop)."""
    state = _CURRENT_ATTEMPT.get()
    if state is not None:
        state.usage = usage if state.usage is None else state.usage + usage


class GeneratorBackend(ABC):
    """A model that writes generated modules from a :class:`ModuleSpecContext`."""

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
        self, ctx: ModuleSpecContext, *, max_attempts: int = 2
    ) -> GenerationResult:
        """Generate and validate, asking again with the errors (and the answer) on failure.

        Attempt ``n + 1`` gets ``extra_error_context`` = one ``previous output errors: ...``
        line per error of attempt ``n``, then attempt ``n``'s module with numbered lines
        (bounded: excerpts around the errors when it is long). The error context renders
        at the end of the user message, so the prompt prefix stays cacheable.
        """
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        result = GenerationResult(attempts=0, source=None)
        error_context: list[str] | None = None
        for number in range(1, max_attempts + 1):
            state = AttemptState(number)
            token = _CURRENT_ATTEMPT.set(state)
            try:
                source, errors = await self._one_attempt(ctx, error_context)
            finally:
                _CURRENT_ATTEMPT.reset(token)
            result.attempts = number
            result.errors = errors
            result.attempt_errors.append(errors)
            result.attempt_usage.append(state.usage)
            if not errors:
                result.source = source
                return result
            logger.info(
                "%s: attempt %d/%d failed: %s",
                ctx.generated_module,
                number,
                max_attempts,
                "; ".join(errors),
            )
            error_context = build_error_context(errors, source)
        return result

    async def _one_attempt(
        self, ctx: ModuleSpecContext, error_context: list[str] | None
    ) -> tuple[str | None, list[str]]:
        try:
            source = await self.generate_module(ctx, extra_error_context=error_context)
        except ModelAnswerError as exc:
            return None, [str(exc)]
        return source, validate_generated_source(source, ctx.expected_names)


__all__ = [
    "ERROR_LINE_PREFIX",
    "AttemptState",
    "GenerationResult",
    "GeneratorBackend",
    "ModuleSpecContext",
    "TokenUsage",
    "build_error_context",
    "current_attempt",
    "record_usage",
]
