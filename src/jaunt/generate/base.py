"""Backend-independent generation types: the module context, the result, the retry loop.

The retry loop (:meth:`GeneratorBackend.generate_with_retry`) is the only place that asks
the model again. Transport retries (429, 5xx, timeouts) belong to the SDK underneath a
backend; an error that survives them is a :class:`~jaunt.errors.GenerationBackendError`
and is raised, never retried here.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from jaunt.errors import ModelAnswerError
from jaunt.spec_ref import SpecRef
from jaunt.validation import validate_generated_source

logger = logging.getLogger("jaunt.generate")

ERROR_LINE_PREFIX = "previous output errors: "
# The previous answer is shown whole up to these sizes, as excerpts around errors beyond.
MAX_LISTING_LINES = 200
MAX_LISTING_CHARS = 16_000
EXCERPT_RADIUS = 4
MAX_LINE_CHARS = 240


@dataclass(frozen=True)
class ModuleSpecContext:
    """Everything the model needs to write one generated module."""

    kind: Literal["build", "test"]
    spec_module: str
    generated_module: str
    expected_names: list[str]
    spec_sources: dict[SpecRef, str]
    decorator_prompts: dict[SpecRef, str]
    dependency_apis: dict[SpecRef, str]
    dependency_generated_modules: dict[str, str]
    # Reference notes about third-party libraries; sent as its own user message when non-empty.
    skills_block: str = ""


@dataclass(frozen=True)
class TokenUsage:
    """Tokens one model call used, as the server reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    # Prompt tokens served from the provider's prompt cache (0 when not reported).
    cached_prompt_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
            self.cached_prompt_tokens + other.cached_prompt_tokens,
        )


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


# "line 3:5: ..." (validate_generated_source) or "path.py:3:5: ..." (compile_check).
_ERROR_LINE = re.compile(r"(?:^line |:)(\d+):(\d+): ")


def build_error_context(errors: list[str], previous_output: str | None) -> list[str]:
    """The ``extra_error_context`` of the next attempt: error lines, then the output shown."""
    lines = [f"{ERROR_LINE_PREFIX}{error}" for error in errors]
    if previous_output and previous_output.strip():
        lines.append(_previous_output_block(previous_output, errors))
    return lines


def _previous_output_block(output: str, errors: list[str]) -> str:
    # Imported here: jaunt.messages imports this module.
    from jaunt.messages import fenced

    source_lines = output.replace("\r\n", "\n").split("\n")
    width = len(str(len(source_lines)))

    def numbered(index: int) -> str:
        text = source_lines[index]
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + " [...]"
        return f"{index + 1:>{width}} | {text}"

    if len(source_lines) <= MAX_LISTING_LINES and len(output) <= MAX_LISTING_CHARS:
        listing = [numbered(i) for i in range(len(source_lines))]
        title = "Your previous output, with line numbers:"
    else:
        listing = _excerpts(source_lines, errors, numbered)
        title = f"Excerpts of your previous output ({len(source_lines)} lines), with line numbers:"
    body = "\n".join(listing)
    return f"{title}\n\n{fenced(body, 'text')}"


def _excerpts(
    source_lines: list[str], errors: list[str], numbered: Callable[[int], str]
) -> list[str]:
    error_lines = sorted(
        {int(m.group(1)) for e in errors for m in [_ERROR_LINE.search(e)] if m is not None}
    )
    wanted: set[int] = set(range(min(20, len(source_lines))))  # the imports and first names
    for line_number in error_lines:
        start = max(0, line_number - 1 - EXCERPT_RADIUS)
        wanted |= set(range(start, min(len(source_lines), line_number + EXCERPT_RADIUS)))
    wanted |= set(range(max(0, len(source_lines) - 10), len(source_lines)))
    listing: list[str] = []
    previous = -1
    for index in sorted(wanted):
        if index != previous + 1:
            listing.append(f"... ({index - previous - 1} lines omitted) ...")
        listing.append(numbered(index))
        previous = index
    # Errors on many lines could still add up to a huge listing: keep the bound.
    total = 0
    for position, entry in enumerate(listing):
        total += len(entry) + 1
        if total > MAX_LISTING_CHARS:
            return [*listing[:position], "... (rest omitted) ..."]
    return listing
