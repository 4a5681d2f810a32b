"""A scripted OpenAI-compatible Chat Completions server on 127.0.0.1, for tests and benchmarks.

Standard library only (``http.server`` in a thread), so it can be driven through the real
``openai`` SDK without any network beyond loopback::

    with FakeOpenAIServer() as server:
        server.script(Reply(status=429), Reply(content="x = 1\\n"))
        llm = LLMConfig("openai", "fake-model", "FAKE_KEY", base_url=server.base_url)
        ...
        assert len(server.requests) == 2

Replies are taken from the script in order; when it is empty, ``default`` answers (or a
``responder`` callable, which sees the request body). Every request is recorded. Not part
of jaunt's runtime: nothing outside tests and benchmarks imports it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from jaunt.promptkit.settings import LLMConfig

Honour = Literal["max_tokens", "max_completion_tokens", "both", "none"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    ``status != 200`` sends an OpenAI-style error body with ``error_message``; 429 and 5xx
    replies carry ``retry-after-ms`` (``retry_after_ms``) so the SDK's retries stay fast.
    ``content`` is cut to the request's token cap (one word = one token) when the server
    honours the cap field the client sent (see :class:`FakeOpenAIServer`), and the
    ``finish_reason`` then becomes ``"length"``.
    """

    content: str | None = "x = 1\n"
    status: int = 200
    finish_reason: str = "stop"
    refusal: str | None = None
    delay_s: float = 0.0
    error_message: str = "scripted error"
    retry_after_ms: int = 5
    prompt_tokens: int = 11
    completion_tokens: int | None = None
    cached_tokens: int = 0
    no_choices: bool = False
    # Hostile or broken servers: ``body`` replaces the whole JSON body (any shape, e.g.
    # ``{"choices": "x"}``); ``raw_body`` is sent as bytes with ``content_type`` (an HTML
    # page, truncated JSON). ``drip_bytes``/``drip_interval_s`` send the body a few bytes
    # at a time, each piece well inside any per-read timeout.
    body: Any = None
    raw_body: bytes | None = None
    content_type: str = "application/json"
    drip_bytes: int = 0
    drip_interval_s: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.body.get("messages", []))

    @property
    def user_text(self) -> str:
        """All user message contents, joined."""
        return "\n".join(m["content"] for m in self.messages if m.get("role") == "user")


@dataclass
class FakeOpenAIServer:
    """The server; ``honour`` says which token-cap field it obeys (llama-cpp: ``max_tokens``)."""

    default: Reply = field(default_factory=Reply)
    responder: Callable[[dict[str, Any]], Reply] | None = None
    honour: Honour = "both"
    requests: list[RecordedRequest] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        handler = _make_handler(self)
        httpd = _Server(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        # Slow scripted replies must not hold up shutdown.
        httpd.block_on_close = False
        self._httpd = httpd
        self._thread = threading.Thread(
            # A short poll keeps stop() quick (shutdown waits for the next poll).
            target=lambda: httpd.serve_forever(poll_interval=0.02),
            name="fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    # --- scripting ------------------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        with self._lock:
            self._script.extend(replies)

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._script:
                return self._script.popleft()
        return self.responder(body) if self.responder is not None else self.default

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _cap(self, body: dict[str, Any]) -> int | None:
        fields = {
            "max_tokens": ("max_tokens",),
            "max_completion_tokens": ("max_completion_tokens",),
            "both": ("max_completion_tokens", "max_tokens"),
            "none": (),
        }[self.honour]
        for name in fields:
            value = body.get(name)
            if isinstance(value, int):
                return value
        return None

    def completion_body(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        content, finish_reason = reply.content, reply.finish_reason
        cap = self._cap(body)
        if content is not None and cap is not None:
            words = content.split(" ")
            if len(words) > cap:
                content, finish_reason = " ".join(words[:cap]), "length"
        completion_tokens = (
            reply.completion_tokens
            if reply.completion_tokens is not None
            else len((content or "").split())
        )
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if reply.refusal is not None:
            message["refusal"] = reply.refusal
        choices = (
            []
            if reply.no_choices
            else [
                {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
            ]
        )
        return {
            "id": f"chatcmpl-fake-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model", "fake")),
            "choices": choices,
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": reply.prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": reply.cached_tokens},
            },
        }


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops the SYNs of a burst of new connections,
    # and the client's 1 s SYN retransmit then looks like a slow backend.
    request_queue_size = 256


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like a real server

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests read server.requests instead

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = {"_invalid_json": raw.decode("utf-8", "replace")}
            server._record(
                RecordedRequest(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
            )
            reply = server._next_reply(body)
            if reply.delay_s:
                server._sleep(reply.delay_s)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
            elif reply.raw_body is not None:
                self._send(reply.status, reply.raw_body, reply=reply)
            elif reply.status != 200:
                error_type = "rate_limit_error" if reply.status == 429 else "api_error"
                self._send(
                    reply.status,
                    {"error": {"message": reply.error_message, "type": error_type, "code": None}},
                    {"retry-after-ms": str(reply.retry_after_ms)},
                )
            elif reply.body is not None:
                self._send(200, reply.body, reply=reply)
            else:
                self._send(200, server.completion_body(reply, body), reply=reply)

        def _send(
            self,
            status: int,
            payload: Any,
            headers: dict[str, str] | None = None,
            *,
            reply: Reply | None = None,
        ) -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
            content_type = reply.content_type if reply is not None else "application/json"
            try:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if reply is None or reply.drip_bytes <= 0:
                    self.wfile.write(data)
                    return
                for start in range(0, len(data), reply.drip_bytes):
                    if server._stopping.is_set():
                        return
                    self.wfile.write(data[start : start + reply.drip_bytes])
                    self.wfile.flush()
                    server._sleep(reply.drip_interval_s)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test); nothing to tell it

    return Handler


def fake_llm(server: FakeOpenAIServer, key_env: str, **overrides: Any) -> LLMConfig:
    """``[llm]`` settings for ``server``: a fake model, a 5 s deadline, no SDK retries (the
    tests script failures themselves), 1,000 output tokens; ``overrides`` win."""
    values: dict[str, Any] = {
        "provider": "openai",
        "model": "fake-model",
        "api_key_env": key_env,
        "base_url": server.base_url,
        "timeout_s": 5.0,
        "max_retries": 0,
        "max_output_tokens": 1000,
    }
    values.update(overrides)
    return LLMConfig(**values)
