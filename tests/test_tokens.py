"""Offline token counts: bpe-openai when installed, a marked chars/4 estimate otherwise."""

from __future__ import annotations

import sys

import pytest

from jaunt.promptkit import tokens
from jaunt.promptkit.tokens import ESTIMATE_TOKENIZER, get_tokenizer


def test_exact_counts_match_known_o200k_and_cl100k_values() -> None:
    o200k = get_tokenizer("o200k_base")
    assert o200k.exact
    # Reference values from OpenAI's tiktoken for these encodings.
    assert o200k.count("hello world") == 2
    assert list(o200k.encode("hello world")) == [24912, 2375]
    cl100k = get_tokenizer("cl100k_base")
    assert list(cl100k.encode("hello world")) == [15339, 1917]
    assert o200k.format(1234) == "1,234"
    assert "o200k_base" in o200k.label


def test_special_token_text_is_counted_as_plain_text() -> None:
    # A spec may well contain "<|endoftext|>"; counting must not raise or treat it specially.
    tokenizer = get_tokenizer()
    assert tokenizer.count("<|endoftext|>") > 1


def test_estimate_is_marked_and_rounds_up() -> None:
    estimate = get_tokenizer("estimate")
    assert estimate is ESTIMATE_TOKENIZER
    assert not estimate.exact
    assert estimate.count("") == 0
    assert estimate.count("abcde") == 2
    assert estimate.format(1234) == "~1,234"
    assert "estimate" in estimate.label
    # Pieces: a shared 8-character start is two shared "tokens".
    assert list(estimate.encode("abcdefgh-x")) == ["abcd", "efgh", "-x"]


def test_falls_back_to_the_estimate_without_bpe_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens._load_encoder.cache_clear()
    # None in sys.modules makes `import bpe_openai` raise ImportError, as if not installed.
    monkeypatch.setitem(sys.modules, "bpe_openai", None)
    try:
        tokenizer = get_tokenizer("o200k_base")
        assert not tokenizer.exact
        assert tokenizer.format(tokenizer.count("x" * 40)) == "~10"
    finally:
        tokens._load_encoder.cache_clear()


def test_unknown_encoding_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown token encoding 'p50k'"):
        get_tokenizer("p50k")
