"""The one scrubber: secrets never leave the process.

``scrub(text)`` replaces, with ``***``:

* every registered secret value (the API key the backend read; :func:`register_secret`),
  and the value of the environment variable a caller names (``secrets=``);
* the value of an ``Authorization`` / ``Proxy-Authorization`` header and of a bearer token;
* the user-info of a URL (``https://user:password@host`` -> ``https://***@host``);
* anything shaped like an OpenAI-style secret key (``sk-...``), even one never registered
  (a key pasted into the wrong setting, or echoed back by a model).

Everything that leaves the process passes through it: the CLI's terminal output
(:class:`ScrubbingStream`), log records (:class:`ScrubFilter`), error messages, captured
fixtures, refusal texts and any report or page a feature writes. It is deliberately
cheap (one regular expression pass plus one ``str.replace`` per registered secret) so
callers need not think twice about using it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any, TextIO

__all__ = [
    "REDACTED",
    "ScrubFilter",
    "ScrubbingStream",
    "looks_like_secret",
    "register_secret",
    "scrub",
    "scrub_data",
    "scrub_url",
]

REDACTED = "***"
# Shorter values would scrub ordinary words ("local", "test") out of unrelated text.
_MIN_SECRET_CHARS = 8

_lock = threading.Lock()
_secrets: set[str] = set()

# (needle, pattern, replacement): a pattern runs only on text holding its needle (compared
# lower-cased), so the common case costs a substring search. Every repeat is bounded or
# anchored on a literal, which keeps each pass linear in the text.
_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    # Authorization: <value up to the end of the line, a quote or a comma>
    (
        "authorization",
        re.compile(r"(\b(?:proxy-)?authorization\b[\"']?\s*[:=]\s*[\"']?)[^\"'\r\n,}]+", re.I),
        rf"\1{REDACTED}",
    ),
    # Bearer <token>
    ("bearer", re.compile(r"(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.I), rf"\1{REDACTED}"),
    # scheme://user[:password]@host: the user-info between "://" and "@"
    ("://", re.compile(r"://[^/\s@\"'<>]{1,512}@"), f"://{REDACTED}@"),
    # OpenAI-style keys: sk-..., sk-proj-..., with at least 16 key characters
    ("sk-", re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),
)


def register_secret(value: str | None) -> None:
    """Scrub ``value`` from everything this process prints, logs or writes from now on."""
    if value and len(value.strip()) >= _MIN_SECRET_CHARS:
        with _lock:
            _secrets.add(value.strip())


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret replaced by ``***`` (see the module docstring)."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    extra = [s.strip() for s in secrets if s and len(s.strip()) >= _MIN_SECRET_CHARS]
    # Longest first, so a secret that contains another is replaced whole.
    for secret in sorted(extra, key=len, reverse=True) + known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    lowered = text.lower()
    for needle, pattern, replacement in _RULES:
        if needle in lowered:
            text = pattern.sub(replacement, text)
            lowered = text.lower()
    return text


def scrub_data(value: Any) -> Any:
    """A copy of JSON-like data (dicts, lists, strings, numbers) with every string scrubbed.

    For data about to be serialised: scrubbing the serialised text instead could cut an
    escape sequence in half (``\\"``) and break the document.
    """
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: scrub_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_data(item) for item in value]
    return value


def scrub_url(url: str) -> str:
    """A URL fit to show: user-info (``user:password@``) replaced by ``***``."""
    return scrub(url)


def looks_like_secret(value: str) -> bool:
    """True when ``value`` is shaped like a key rather than a name (e.g. ``sk-...``)."""
    return scrub(value, ()) != value or (
        len(value) >= 20 and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value)
    )


class ScrubFilter(logging.Filter):
    """A logging filter that scrubs each record's final message (and drops its args)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave the record to logging's own handling
            return True
        cleaned = scrub(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


_FILTER = ScrubFilter()


def scrubbed_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with the scrub filter on it (records logged there)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


class ScrubbingStream:
    """A text stream wrapper whose ``write`` scrubs; everything else is the inner stream's."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(scrub(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
