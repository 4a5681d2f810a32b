"""Token counts for rendered prompts, offline.

Prompt authors budget in tokens. The exact counts come from ``bpe-openai`` (the optional
``tokens`` extra), which ships OpenAI's BPE tables, so nothing is downloaded (``tiktoken``
fetches its tables on first use, which fails without network). Without it installed,
:func:`get_tokenizer` falls back to an estimate of one token per four characters, and every
number it formats carries a ``~`` so nobody mistakes it for a real count.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

DEFAULT_ENCODING = "o200k_base"
ESTIMATE = "estimate"
# The encodings bpe-openai ships: o200k_base (GPT-4o, GPT-4.1, o-series) and cl100k_base
# (GPT-4, GPT-3.5).
ENCODINGS: tuple[str, ...] = ("o200k_base", "cl100k_base")
CHARS_PER_TOKEN = 4


class _Encoder(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


@dataclass(frozen=True)
class Tokenizer:
    """Turns text into tokens; ``exact`` is False for the chars/4 estimate."""

    name: str
    exact: bool
    _encoder: _Encoder | None = None

    @property
    def label(self) -> str:
        """What the counts mean, for a report's heading."""
        if self.exact:
            return f"{self.name} (bpe-openai)"
        return (
            f"estimate, 1 token per {CHARS_PER_TOKEN} characters (exact counts: the 'tokens' extra)"
        )

    def encode(self, text: str) -> Sequence[Hashable]:
        """The tokens of ``text``; with the estimate, ``text`` cut into 4-character pieces.

        The pieces make prefix comparisons work the same way for both: two texts share
        as many leading "tokens" as they share leading 4-character pieces.
        """
        if self._encoder is not None:
            return _encode_in_chunks(self._encoder, text)
        return [text[i : i + CHARS_PER_TOKEN] for i in range(0, len(text), CHARS_PER_TOKEN)]

    def count(self, text: str) -> int:
        if self._encoder is not None:
            return len(_encode_in_chunks(self._encoder, text))
        return -(-len(text) // CHARS_PER_TOKEN)

    def format(self, count: int) -> str:
        """``1,234`` for an exact count, ``~1,234`` for an estimate."""
        return f"{count:,}" if self.exact else f"~{count:,}"


ESTIMATE_TOKENIZER = Tokenizer(ESTIMATE, exact=False)

# bpe-openai refuses inputs of about a million characters ("too long to encode safely") and
# chunks producing more than 200,000 tokens; text is fed to it in pieces this long, cut at
# a line break where there is one, so a huge message is counted instead of crashing.
ENCODE_CHUNK_CHARS = 64_000


def _encode_in_chunks(encoder: _Encoder, text: str) -> list[int]:
    """``encoder.encode_ordinary(text)``, in line-aligned pieces when ``text`` is long.

    Exact for text up to :data:`ENCODE_CHUNK_CHARS`; beyond it the count can differ from
    one whole-text encoding by a token or so per piece, at the cuts.
    """
    if len(text) <= ENCODE_CHUNK_CHARS:
        return encoder.encode_ordinary(text)
    tokens: list[int] = []
    start = 0
    while start < len(text):
        end = min(start + ENCODE_CHUNK_CHARS, len(text))
        if end < len(text):
            cut = text.rfind("\n", start + ENCODE_CHUNK_CHARS // 2, end)
            end = cut + 1 if cut != -1 else end
        tokens += encoder.encode_ordinary(text[start:end])
        start = end
    return tokens


def get_tokenizer(encoding: str = DEFAULT_ENCODING) -> Tokenizer:
    """The exact tokenizer for ``encoding`` if bpe-openai is installed, else the estimate.

    ``encoding="estimate"`` asks for the estimate. An unknown encoding is a ``ValueError``.
    """
    if encoding == ESTIMATE:
        return ESTIMATE_TOKENIZER
    if encoding not in ENCODINGS:
        raise ValueError(
            f"unknown token encoding {encoding!r} (choose one of {', '.join(ENCODINGS)}, "
            f"or {ESTIMATE})"
        )
    encoder = _load_encoder(encoding)
    if encoder is None:
        return ESTIMATE_TOKENIZER
    return Tokenizer(encoding, exact=True, _encoder=encoder)


@functools.cache
def _load_encoder(encoding: str) -> Any:
    # Imported here: loading the tables takes most of a second, and only counting needs it.
    with warnings.catch_warnings():
        # bpe-openai reads its tables (at import) with a deprecated importlib.resources call.
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import bpe_openai
        except ImportError:
            return None
        return bpe_openai.get_encoding(encoding)
