"""The cacheable prefix: how much of every request of one kind is identical from the start.

Providers cache the longest identical prefix of a request and reuse it for the next one, but
only from :data:`CACHE_MINIMUM_TOKENS` on (OpenAI: 1,024 tokens, then in steps of 128). A
prompt set is cache-friendly when the requests of all modules of a kind share a long prefix:
a static system message, then the user message's fixed opening. A placeholder in the system
template ends the shared prefix right there, and this module says so, naming it.

A request is compared the way providers serialize it: each message becomes its framing tokens
(start, role) followed by its content tokens and an end token, in order. Contents are
tokenized per message, as the framing tokens between them keep BPE merges from crossing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

from jaunt.promptkit.fixtures import Fixture
from jaunt.promptkit.messages import Message, placeholder_values
from jaunt.promptkit.template_set import TemplateSet
from jaunt.promptkit.tokens import Tokenizer

CACHE_MINIMUM_TOKENS = 1024
CACHE_INCREMENT_TOKENS = 128


def request_tokens(messages: Sequence[Message], tokenizer: Tokenizer) -> list[Hashable]:
    """The request as one token sequence; framing tokens are tuples no text token equals."""
    tokens: list[Hashable] = []
    for message in messages:
        tokens += [("<|start|>",), ("<|role|>", message["role"])]
        tokens += tokenizer.encode(message["content"])
        tokens.append(("<|end|>",))
    return tokens


def common_prefix_length(sequences: Sequence[Sequence[Hashable]]) -> int:
    """How many leading items every sequence shares (0 for no sequences)."""
    if not sequences:
        return 0
    shortest = min(len(s) for s in sequences)
    first = sequences[0]
    for i in range(shortest):
        item = first[i]
        if any(s[i] != item for s in sequences[1:]):
            return i
    return shortest


def cached_tokens(shared: int) -> int:
    """How many of ``shared`` prefix tokens a provider caches (0 below the minimum)."""
    if shared < CACHE_MINIMUM_TOKENS:
        return 0
    steps = (shared - CACHE_MINIMUM_TOKENS) // CACHE_INCREMENT_TOKENS
    return CACHE_MINIMUM_TOKENS + steps * CACHE_INCREMENT_TOKENS


@dataclass(frozen=True)
class PrefixEnd:
    """Where the requests first differ: message ``index`` (0-based), and the cause if known.

    ``placeholder`` is the first placeholder whose values differ between the requests, at
    ``path:line:column`` of the template that renders the message; ``None`` when the
    messages themselves differ (the skills notes are present in some requests only).
    """

    index: int
    role: str
    placeholder: str | None = None
    path: str | None = None
    line: int = 0
    column: int = 0

    def describe(self, show_path: Callable[[str], str] = str) -> str:
        if self.placeholder is None:
            return f"message {self.index + 1} ({self.role})"
        where = f"{show_path(self.path or '<template>')}:{self.line}:{self.column}"
        return f"{{{{{self.placeholder}}}}} at {where} ({self.role} message)"


@dataclass(frozen=True)
class PrefixReport:
    """The shared prefix of the requests of one template set and kind.

    ``ends_at`` says where the requests first differ (``None`` with fewer than two requests
    or when they are all identical); ``shortest`` is the token count of the shortest request.
    """

    set_name: str
    kind: Literal["build", "test"]
    requests: int
    shared_tokens: int
    shortest: int
    ends_at: PrefixEnd | None

    @property
    def reaches_minimum(self) -> bool:
        return self.shared_tokens >= CACHE_MINIMUM_TOKENS

    @property
    def cached_tokens(self) -> int:
        return cached_tokens(self.shared_tokens)

    def describe(self, tokenizer: Tokenizer, show_path: Callable[[str], str] = str) -> str:
        """One line for a terminal, e.g. ``packaged build: 412 tokens shared by 7 ...``."""
        fmt = tokenizer.format
        head = f"{self.set_name} {self.kind}: "
        if self.requests < 2:
            return head + (
                f"{self.requests} fixture only, nothing to compare "
                f"(its request is {fmt(self.shortest)} tokens)"
            )
        text = f"{fmt(self.shared_tokens)} tokens shared by all {self.requests} requests"
        if self.ends_at:
            text += f", up to {self.ends_at.describe(show_path)}"
        if self.reaches_minimum:
            text += f"; cacheable ({fmt(self.cached_tokens)} tokens cached per request)"
        else:
            text += f"; below the {CACHE_MINIMUM_TOKENS:,}-token cache minimum, nothing is cached"
        return head + text


Request = tuple[Fixture, Sequence[Message], Sequence[Hashable]]
"""A fixture, its rendered messages and their :func:`request_tokens`."""


def analyze_prefix(
    template_set: TemplateSet, kind: Literal["build", "test"], requests: Sequence[Request]
) -> PrefixReport:
    """The shared prefix of ``requests`` (the fixtures of ``kind`` rendered with the set)."""
    token_lists = [tokens for _, _, tokens in requests]
    shared = common_prefix_length(token_lists)
    shortest = min((len(t) for t in token_lists), default=0)
    ends_at = None
    if len(requests) > 1 and any(len(t) != shared for t in token_lists):
        ends_at = _where_requests_differ(template_set, kind, requests)
    return PrefixReport(template_set.name, kind, len(requests), shared, shortest, ends_at)


def _where_requests_differ(
    template_set: TemplateSet,
    kind: Literal["build", "test"],
    requests: Sequence[Request],
) -> PrefixEnd:
    """Name what ends the shared prefix: a placeholder in a template, or the skills notes."""
    message_lists = [messages for _, messages, _ in requests]
    index = 0
    while all(len(m) > index for m in message_lists) and all(
        m[index] == message_lists[0][index] for m in message_lists
    ):
        index += 1
    last = [len(m) - 1 for m in message_lists]
    if index == 0:
        template = template_set.system(kind)
    elif all(index == n for n in last):
        template = template_set.module(kind)
    else:
        # Only the skills notes sit between the system message and the module message.
        return PrefixEnd(index, "user: skills notes")
    values = [placeholder_values(f.context, f.error_context) for f, _, _ in requests]
    role = "system" if index == 0 else "user"
    for occurrence in template.occurrences:
        if any(v[occurrence.name] != values[0][occurrence.name] for v in values[1:]):
            return PrefixEnd(
                index,
                role,
                occurrence.name,
                template.path,
                occurrence.line,
                occurrence.column,
            )
    return PrefixEnd(index, role)
