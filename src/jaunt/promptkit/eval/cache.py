"""A response cache for ``eval``, as an httpx2 transport under the OpenAI SDK.

A rerun with the same model, messages and sampling settings replays the stored answer and
sends no request. The key is the SHA-256 of the request's method, path and JSON body with
sorted keys: the body holds the model, the messages and every sampling setting (temperature,
seed, token cap), so any change misses. The host is left out on purpose: a local server
restarted on another port replays the same answers.

Each entry is one JSON file ``<dir>/<key[:2]>/<key>.json`` holding the response body and the
latency measured when it was recorded, so a replayed report shows the same latency and is
byte-identical. Only 200 answers are stored (an error is never replayed). Files are written
to a temporary name in the same folder and renamed: a crash leaves no half entry.

The transport also tells the running attempt what happened (:class:`RequestLog` through
:data:`CURRENT_REQUEST_LOG`): the raw response body and the latency.
"""

from __future__ import annotations

import hashlib
import json
import time
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from jaunt.promptkit.files import atomic_write
from jaunt.promptkit.scrub import scrub, scrub_data

CACHE_FORMAT = 1


@dataclass
class RequestLog:
    """What the last request of an attempt did; filled by :class:`CachingTransport`."""

    body: bytes = b""
    seconds: float = 0.0
    from_cache: bool = False
    requests: int = 0  # requests actually sent to the server


# Set by the eval runner around each attempt (each attempt runs in its own task context).
CURRENT_REQUEST_LOG: ContextVar[RequestLog | None] = ContextVar("jaunt_eval_request", default=None)


def request_key(method: str, path: str, body: bytes) -> str:
    """The cache key of a request: its method, URL path and canonical JSON body."""
    try:
        canonical: Any = json.loads(body) if body else None
        text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        text = body.decode("utf-8", "replace")
    digest = hashlib.sha256()
    digest.update(f"{CACHE_FORMAT}\n{method.upper()}\n{path}\n".encode())
    digest.update(text.encode("utf-8"))
    return digest.hexdigest()


class CachingTransport(httpx2.AsyncBaseTransport):
    """Serves stored answers; sends (and stores) what it has not seen.

    ``directory`` ``None``: no cache, only the request log (latency, raw body).
    """

    def __init__(
        self, directory: Path | None, inner: httpx2.AsyncBaseTransport | None = None
    ) -> None:
        self.directory = directory
        self.inner = inner if inner is not None else httpx2.AsyncHTTPTransport()
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / key[:2] / f"{key}.json"

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        log = CURRENT_REQUEST_LOG.get()
        key = request_key(request.method, request.url.path, body)
        if self.directory is not None:
            stored = self._load(key)
            if stored is not None:
                self.hits += 1
                content, seconds = stored
                if log is not None:
                    log.body, log.seconds, log.from_cache = content, seconds, True
                return httpx2.Response(
                    200,
                    headers={"content-type": "application/json"},
                    content=content,
                    request=request,
                )
        started = time.monotonic()
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        seconds = round(time.monotonic() - started, 3)
        await response.aclose()
        self.misses += 1
        if log is not None:
            log.body, log.seconds, log.from_cache = content, seconds, False
            log.requests += 1
        if self.directory is not None and response.status_code == 200:
            self._store(key, content, seconds)
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            content=content,
            request=request,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()

    def shared(self) -> httpx2.AsyncBaseTransport:
        """A view for one of several clients: closing the client leaves this transport open."""
        return _SharedView(self)

    def _load(self, key: str) -> tuple[bytes, float] | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
            return entry["body"].encode("utf-8"), float(entry["seconds"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # absent or unreadable: ask the server again

    def _store(self, key: str, content: bytes, seconds: float) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Scrubbed: an answer that echoes a key must not sit in a cache file. A JSON body is
        # scrubbed value by value (and stays valid JSON); its bytes are kept when clean.
        text = content.decode("utf-8")
        try:
            data = json.loads(text)
        except ValueError:
            body = scrub(text)
        else:
            clean = scrub_data(data)
            body = text if clean == data else json.dumps(clean, ensure_ascii=False)
        entry = {"format": CACHE_FORMAT, "seconds": seconds, "body": body}
        atomic_write(path, json.dumps(entry, ensure_ascii=False), within=self.directory)


class _SharedView(httpx2.AsyncBaseTransport):
    def __init__(self, owner: CachingTransport) -> None:
        self.owner = owner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self.owner.handle_async_request(request)

    async def aclose(self) -> None:
        return None  # the owner closes the connections once every client is done
