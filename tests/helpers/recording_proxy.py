"""A recording HTTP proxy on 127.0.0.1, for tests against a real OpenAI-compatible server.

It forwards every request unchanged to ``upstream`` and keeps each JSON request body with
the JSON answer, so a test can read what really went over the wire (for instance that a
retry request carries the first attempt's errors)::

    with RecordingProxy(server.base_url) as proxy:
        llm = LLMConfig(..., base_url=proxy.base_url)
        ...
        proxy.exchanges[1].request["messages"]

Standard library only; never imported at runtime.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Generous: a 2-core machine running a model can take minutes on a long prompt; the
# client's own timeout is the bound a test relies on.
UPSTREAM_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Exchange:
    """One forwarded request and its answer (bodies parsed as JSON when they are JSON)."""

    path: str
    request: dict[str, Any]
    status: int
    response: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.request.get("messages", []))

    @property
    def user_text(self) -> str:
        return "\n".join(m["content"] for m in self.messages if m.get("role") == "user")


@dataclass
class RecordingProxy:
    """Forwards ``<base_url>/...`` to ``<upstream>/...``; ``upstream`` ends like ``.../v1``."""

    upstream: str
    exchanges: list[Exchange] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.upstream = self.upstream.rstrip("/")
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RecordingProxy:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=lambda: httpd.serve_forever(poll_interval=0.05),
            name="recording-proxy",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "proxy not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def chat_exchanges(self) -> list[Exchange]:
        with self._lock:
            return [e for e in self.exchanges if e.path.rstrip("/").endswith("/chat/completions")]

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)


def _json_or_raw(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        return {"_raw": data.decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {"_value": value}


def _make_handler(proxy: RecordingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests read proxy.exchanges instead

        def do_GET(self) -> None:
            self._forward(None)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self._forward(self.rfile.read(length))

        def _forward(self, body: bytes | None) -> None:
            # Paths arrive as /v1/...; the upstream URL already ends in /v1.
            suffix = self.path.removeprefix("/v1")
            request = urllib.request.Request(
                proxy.upstream + suffix,
                data=body,
                method=self.command,
                headers={
                    name: value
                    for name, value in self.headers.items()
                    if name.lower() in ("content-type", "authorization", "accept")
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=UPSTREAM_TIMEOUT_S) as response:
                    status, data = response.status, response.read()
                    content_type = response.headers.get("content-type", "application/json")
            except urllib.error.HTTPError as exc:
                status, data = exc.code, exc.read()
                content_type = exc.headers.get("content-type", "application/json")
            except OSError as exc:
                status, content_type = 502, "application/json"
                data = json.dumps({"error": {"message": f"proxy: upstream failed: {exc}"}}).encode()
            proxy._record(
                Exchange(self.path, _json_or_raw(body or b""), status, _json_or_raw(data))
            )
            try:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout); nothing to tell it

    return Handler
