"""An offline cost forecast: what N builds of a project's modules cost, in three modes.

The modules are the project's fixtures (each stands for one module jaunt builds), or a
stated number of modules per kind, each as large as the kind's average fixture. Input
tokens come from the offline tokenizer; output tokens are a stated estimate per request.

The three modes:

- **standard**: every input token at the input price;
- **prompt caching**: within one build, the first request of a kind pays full price and
  every later one reads the kind's shared prefix from the provider's cache (only what
  :func:`jaunt.promptkit.prefix.cached_tokens` says is cacheable: nothing below 1,024
  tokens, then steps of 128) at the cached-input price;
- **Batch API**: the standard price cut by the model's batch discount (no cache credit
  counted: batch requests are not promised cache hits).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from jaunt.promptkit.errors import ProjectError
from jaunt.promptkit.files import read_text
from jaunt.promptkit.prefix import cached_tokens
from jaunt.promptkit.pricing import ModelPrice

Kind = Literal["build", "test"]
DEFAULT_OUTPUT_TOKENS = 1000
"""Output tokens assumed per request when nothing better is known (a mid-sized module)."""


@dataclass(frozen=True)
class RecordedOutput:
    """Output tokens per request as recorded by real runs (``eval --attempts-file``)."""

    tokens_per_request: int
    attempts: int


def recorded_output_tokens(path: str | os.PathLike[str]) -> RecordedOutput:
    """The mean ``usage.output_tokens`` of the attempts in an ``eval --attempts-file``.

    Attempts without usage (the server reported none) are skipped; a line that is not an
    attempt object, or a file with no usage at all, is a :class:`ProjectError` naming it.
    """
    text = read_text(path, ProjectError, "attempts file")
    total = counted = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise ProjectError(
                "not a JSON line of an attempts file", path=str(path), line=number
            ) from None
        usage = record.get("usage") if isinstance(record, dict) else None
        if usage is None:
            continue
        tokens = usage.get("output_tokens") if isinstance(usage, dict) else None
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
            raise ProjectError(
                "usage.output_tokens must be a whole number", path=str(path), line=number
            )
        total += tokens
        counted += 1
    if not counted:
        raise ProjectError(
            "no attempt with recorded usage (write one with `jaunt-prompts eval --attempts-file`)",
            path=str(path),
        )
    return RecordedOutput(round(total / counted), counted)


@dataclass(frozen=True)
class KindLoad:
    """The requests of one kind in one build: each request's input tokens, and the shared prefix.

    ``shared_prefix_tokens`` is the token length of the prefix all requests of the kind
    share (what a provider could cache); only its cacheable part earns the cache price.
    """

    kind: Kind
    request_tokens: tuple[int, ...]
    shared_prefix_tokens: int

    @property
    def cacheable_tokens(self) -> int:
        """Prefix tokens a provider caches per request (0 with fewer than two requests)."""
        if len(self.request_tokens) < 2:
            return 0
        return cached_tokens(self.shared_prefix_tokens)

    def scaled(self, modules: int) -> KindLoad:
        """``modules`` requests, each as large as this kind's average request."""
        if not self.request_tokens:
            return KindLoad(self.kind, (), self.shared_prefix_tokens)
        average = round(sum(self.request_tokens) / len(self.request_tokens))
        # One fixture shares its whole request with nobody: no prefix to count on.
        shared = self.shared_prefix_tokens if len(self.request_tokens) >= 2 else 0
        return KindLoad(self.kind, (average,) * modules, shared)


@dataclass(frozen=True)
class KindForecast:
    """Token totals of one kind over all builds."""

    kind: Kind
    requests: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int

    @property
    def uncached_input_tokens(self) -> int:
        return self.input_tokens - self.cached_input_tokens


@dataclass(frozen=True)
class Forecast:
    """The forecast of ``builds`` builds: tokens per kind and USD in the three modes."""

    price: ModelPrice
    builds: int
    output_tokens_per_request: int
    kinds: tuple[KindForecast, ...]

    @property
    def requests(self) -> int:
        return sum(k.requests for k in self.kinds)

    @property
    def input_tokens(self) -> int:
        return sum(k.input_tokens for k in self.kinds)

    @property
    def cached_input_tokens(self) -> int:
        return sum(k.cached_input_tokens for k in self.kinds)

    @property
    def output_tokens(self) -> int:
        return sum(k.output_tokens for k in self.kinds)

    @property
    def standard_usd(self) -> float:
        return self.price.cost(input_tokens=self.input_tokens, output_tokens=self.output_tokens)

    @property
    def cached_usd(self) -> float:
        return self.price.cost(
            input_tokens=self.input_tokens,
            cached_input_tokens=self.cached_input_tokens,
            output_tokens=self.output_tokens,
        )

    @property
    def batch_usd(self) -> float:
        return self.price.cost(
            input_tokens=self.input_tokens, output_tokens=self.output_tokens, batch=True
        )

    def modes(self) -> list[tuple[str, float]]:
        return [
            ("standard", self.standard_usd),
            ("prompt caching", self.cached_usd),
            ("Batch API", self.batch_usd),
        ]


def forecast(
    loads: Sequence[KindLoad],
    price: ModelPrice,
    *,
    builds: int = 1,
    output_tokens_per_request: int = DEFAULT_OUTPUT_TOKENS,
) -> Forecast:
    """Tokens and prices of ``builds`` builds of ``loads`` (see the module docstring)."""
    if builds < 0 or output_tokens_per_request < 0:
        raise ValueError("builds and output tokens must not be negative")
    kinds: list[KindForecast] = []
    for load in loads:
        n = len(load.request_tokens)
        # The first request of each build writes the cache; the others read from it.
        cached_per_build = load.cacheable_tokens * max(n - 1, 0)
        kinds.append(
            KindForecast(
                kind=load.kind,
                requests=n * builds,
                input_tokens=sum(load.request_tokens) * builds,
                cached_input_tokens=cached_per_build * builds,
                output_tokens=n * builds * output_tokens_per_request,
            )
        )
    return Forecast(price, builds, output_tokens_per_request, tuple(kinds))


def format_usd(usd: float) -> str:
    """``$12.34``; small amounts keep enough digits to differ from zero (``$0.0042``)."""
    if usd == 0:
        return "$0.00"
    if abs(usd) < 0.01:
        return f"${usd:.4f}"
    return f"${usd:,.2f}"
