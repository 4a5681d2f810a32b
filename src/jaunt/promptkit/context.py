"""What the model is asked to write: the module context, and the retry error context.

:class:`ModuleSpecContext` is everything jaunt knows about one generated module; the
error context (:func:`build_error_context`) is what a retry adds: the previous attempt's
errors, one ``previous output errors: ...`` line each, then its output with numbered lines
(excerpts around the errors when it is long). The names stay importable from
:mod:`jaunt.generate.base`, where jaunt imports them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from jaunt.promptkit.markdown import fenced
from jaunt.spec_ref import SpecRef

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


def usage_from_json(data: Mapping[str, Any] | None) -> TokenUsage | None:
    """The :class:`TokenUsage` a ``to_json`` dict holds (``None`` stays ``None``)."""
    return None if data is None else TokenUsage(**data)


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


@dataclass(frozen=True)
class AttemptRecord:
    """What one attempt of :meth:`~jaunt.generate.base.GeneratorBackend.generate_with_retry` did.

    The one account of an attempt: ``generate``, capture, evaluation and batch reports read
    it, and nothing validates an answer a second time. A field the backend cannot know stays
    ``None`` (a backend that only implements ``generate_module`` knows neither the messages
    nor the raw answer, the usage or the finish reason).

    * ``number``: 1 for the first attempt.
    * ``error_context``: the ``extra_error_context`` this attempt was given (empty on the first).
    * ``messages``: the role/content messages sent, exactly as sent.
    * ``answer``: the raw answer text (also when it was unusable, e.g. cut off).
    * ``source``: the module extracted from the answer (``None`` when there was none).
    * ``errors``: why the attempt failed (answer problems or validation errors); empty = ok.
    * ``usage``: the tokens the server reported (cached prompt tokens included).
    * ``finish_reason``: the server's ``finish_reason`` (``"stop"``, ``"length"``, ...).
    * ``latency_s``: wall-clock seconds the attempt took (render, request and extraction).
    """

    number: int
    error_context: list[str] = field(default_factory=list)
    messages: list[dict[str, str]] | None = None
    answer: str | None = None
    source: str | None = None
    errors: list[str] = field(default_factory=list)
    usage: TokenUsage | None = None
    finish_reason: str | None = None
    latency_s: float | None = None

    @property
    def ok(self) -> bool:
        """The attempt produced a module that validated."""
        return self.source is not None and not self.errors

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (for reports and saved runs); :meth:`from_json` reads it back."""
        return asdict(self)  # the usage becomes a dict too

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AttemptRecord:
        values = {name: data[name] for name in _RECORD_FIELDS if name in data}
        usage = usage_from_json(values.pop("usage", None))
        return cls(**values, usage=usage)


_RECORD_FIELDS = tuple(f.name for f in fields(AttemptRecord))

# "line 3:5: ..." (validate_generated_source) or "path.py:3:5: ..." (compile_check).
_ERROR_LINE = re.compile(r"(?:^line |:)(\d+):(\d+): ")


def build_error_context(errors: list[str], previous_output: str | None) -> list[str]:
    """The ``extra_error_context`` of the next attempt: error lines, then the output shown."""
    lines = [f"{ERROR_LINE_PREFIX}{error}" for error in errors]
    if previous_output and previous_output.strip():
        lines.append(_previous_output_block(previous_output, errors))
    return lines


def _previous_output_block(output: str, errors: list[str]) -> str:
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
