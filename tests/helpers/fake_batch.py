"""A local fake of OpenAI's Files and Batches endpoints on 127.0.0.1, for tests and benchmarks.

Standard library only, driven through the real ``openai`` SDK::

    with FakeBatchServer(answer=lambda custom_id, body: Answer("x = 1\\n")) as server:
        client = openai.AsyncOpenAI(api_key="k", base_url=server.base_url)
        ...
        assert max(server.submissions.values()) == 1   # no request submitted twice

Each ``GET /batches/{id}`` moves a batch one status on: ``validating -> in_progress ->
finalizing -> <end>``, where ``<end>`` is the next scripted :class:`Ending` (default:
completed). While ``hold`` is set (an unset :class:`threading.Event`) batches stay
``in_progress``. ``hang`` makes a route do its work and then not answer for a while, so a
test can kill the client between a remote action and its reply; ``arrived`` signals when
that route was reached; ``hang_before_create`` holds a create before it happens (then
refuses it). ``submissions`` counts each ``custom_id`` of every created batch.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Answer:
    """The response to one request line: a completion (status 200) or an error line."""

    content: str | None = "x = 1\n"
    status: int = 200
    finish_reason: str = "stop"
    error_message: str = "scripted error"
    prompt_tokens: int = 100
    completion_tokens: int = 20
    cached_tokens: int = 0


@dataclass(frozen=True)
class Ending:
    """How a batch ends: ``completed``, ``failed`` (no output) or ``expired`` after ``answered``
    lines (the rest get no output line at all)."""

    status: Literal["completed", "failed", "expired"] = "completed"
    answered: int = 0


Route = Literal["upload", "create"]


@dataclass
class FakeBatchServer:
    answer: Callable[[str, dict[str, Any]], Answer] = field(default=lambda cid, body: Answer())
    hold: threading.Event | None = None
    hang: dict[str, float] = field(default_factory=dict)  # route -> seconds of silence
    # Silence *before* acting: a create held here is refused (503) once it wakes, as if the
    # client had died before its request arrived.
    hang_before_create: float = 0.0
    # Chaos: each API call fails with HTTP 500 at this rate, half of them *after* acting
    # (an upload stored, a batch created, a status advanced, but the reply lost).
    chaos_rate: float = 0.0
    chaos_seed: int = 0
    submissions: Counter[str] = field(default_factory=Counter)
    uploads: int = 0
    creates: int = 0
    cancels: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._endings: deque[Ending] = deque()
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[str]] = {}
        self.arrived: dict[str, threading.Event] = {
            "upload": threading.Event(),
            "create": threading.Event(),
            "retrieve": threading.Event(),
            "before-create": threading.Event(),
        }
        self.bodies: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._chaos = random.Random(self.chaos_seed)
        self.chaos_failures = 0
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeBatchServer:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        httpd.daemon_threads = True
        httpd.block_on_close = False
        self._httpd = httpd
        self._thread = threading.Thread(
            target=lambda: httpd.serve_forever(poll_interval=0.02), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self.hold is not None:
            self.hold.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeBatchServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def end_next(self, *endings: Ending) -> None:
        """Script how the next created batches end, in order."""
        with self._lock:
            self._endings.extend(endings)

    # --- the API ----------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):06d}"

    def upload(self, filename: str, purpose: str, data: bytes) -> dict[str, Any]:
        with self._lock:
            self.uploads += 1
            file_id = self._new_id("file")
            info = {
                "id": file_id,
                "object": "file",
                "bytes": len(data),
                "created_at": int(time.time()),
                "filename": filename,
                "purpose": purpose,
                "status": "processed",
            }
            self.files[file_id] = info
            self.contents[file_id] = data
            return info

    def create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            file_id = body.get("input_file_id")
            if file_id not in self.contents:
                return 404, {"error": {"message": f"no file {file_id}"}}
            self.creates += 1
            lines = [json.loads(x) for x in self.contents[file_id].decode().splitlines() if x]
            for line in lines:
                self.submissions[line["custom_id"]] += 1
                self.bodies[line["custom_id"]] = line["body"]
            batch_id = self._new_id("batch")
            batch = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body.get("endpoint"),
                "errors": None,
                "input_file_id": file_id,
                "completion_window": body.get("completion_window"),
                "status": "validating",
                "output_file_id": None,
                "error_file_id": None,
                "created_at": int(time.time()),
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                "metadata": body.get("metadata"),
            }
            self.batches[batch_id] = batch
            self.history[batch_id] = ["validating"]
            batch["_ending"] = self._endings.popleft() if self._endings else Ending()
            batch["_lines"] = lines
            return 200, _public(batch)

    def retrieve(self, batch_id: str) -> tuple[int, dict[str, Any]]:
        held = self.hold is not None and not self.hold.is_set()
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return 404, {"error": {"message": f"no batch {batch_id}"}}
            status = batch["status"]
            following = {
                "validating": "in_progress",
                "in_progress": "in_progress" if held else "finalizing",
                "finalizing": "end",
                "cancelling": "cancelled",
            }.get(status)
            if following == "end":
                self._finish(batch, batch["_ending"].status, batch["_ending"])
            elif following == "cancelled":
                self._finish(batch, "cancelled", Ending("expired", answered=0))
            elif following is not None and following != status:
                batch["status"] = following
                self.history[batch_id].append(following)
            return 200, _public(batch)

    def cancel(self, batch_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return 404, {"error": {"message": f"no batch {batch_id}"}}
            if batch["status"] in ("completed", "failed", "expired", "cancelled"):
                return 409, {"error": {"message": f"batch is {batch['status']}"}}
            self.cancels += 1
            batch["status"] = "cancelling"
            self.history[batch_id].append("cancelling")
            return 200, _public(batch)

    def _finish(self, batch: dict[str, Any], status: str, ending: Ending) -> None:
        lines = batch["_lines"]
        if status == "failed":
            answered: list[dict[str, Any]] = []
            batch["errors"] = {
                "object": "list",
                "data": [{"code": "invalid_file", "message": "scripted failure", "line": None}],
            }
        elif status == "completed":
            answered = lines
        else:
            answered = lines[: ending.answered]
        out: list[bytes] = []
        err: list[bytes] = []
        completed = failed = 0
        for index, line in enumerate(answered):
            answer = self.answer(line["custom_id"], line["body"])
            entry: dict[str, Any] = {
                "id": f"batch_req_{index}",
                "custom_id": line["custom_id"],
                "error": None,
            }
            if answer.status == 200:
                completed += 1
                entry["response"] = {
                    "status_code": 200,
                    "request_id": f"req-{index}",
                    "body": _completion(answer, line["body"]),
                }
                out.append(json.dumps(entry).encode() + b"\n")
            else:
                failed += 1
                entry["response"] = {
                    "status_code": answer.status,
                    "request_id": f"req-{index}",
                    "body": {"error": {"message": answer.error_message, "type": "server_error"}},
                }
                err.append(json.dumps(entry).encode() + b"\n")
        for name, chunks in (("output_file_id", out), ("error_file_id", err)):
            if chunks:
                info = {
                    "id": self._new_id("file"),
                    "object": "file",
                    "bytes": sum(map(len, chunks)),
                    "created_at": int(time.time()),
                    "filename": f"{batch['id']}_{name}.jsonl",
                    "purpose": "batch_output",
                    "status": "processed",
                }
                self.files[info["id"]] = info
                self.contents[info["id"]] = b"".join(chunks)
                batch[name] = info["id"]
        batch["request_counts"] = {"total": len(lines), "completed": completed, "failed": failed}
        batch["status"] = status
        self.history[batch["id"]].append(status)

    def listing(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
        items = sorted(items, key=lambda x: x["id"], reverse=True)  # newest first
        after = query.get("after", [None])[0]
        if after is not None:
            ids = [x["id"] for x in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        limit = int(query.get("limit", ["20"])[0])
        page = items[:limit]
        return {
            "object": "list",
            "data": [_public(x) for x in page],
            "has_more": len(items) > limit,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }

    def chaos(self) -> bool:
        """Whether this call fails now (seeded, so a test run is reproducible)."""
        with self._lock:
            fail = self._chaos.random() < self.chaos_rate / 2
            self.chaos_failures += fail
            return fail

    def silence(self, route: str) -> None:
        """Hold the reply of ``route`` (work already done) while a test kills the client."""
        self.arrived[route].set()
        seconds = self.hang.get(route, 0.0)
        if seconds:
            self._stopping.wait(seconds)


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _completion(answer: Answer, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model", "fake")),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.content},
                "finish_reason": answer.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": answer.cached_tokens},
        },
    }


def _multipart(content_type: str, data: bytes) -> dict[str, tuple[str | None, bytes]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + data
    )
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        parts[str(name)] = (part.get_filename(), payload)
    return parts


def _make_handler(server: FakeBatchServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("content-length") or 0))

        def do_POST(self) -> None:
            data = self._body()
            if server.chaos():
                self._send(500, {"error": {"message": "chaos before acting"}})
                return
            self._post(data)

        def do_GET(self) -> None:
            if server.chaos():
                self._send(500, {"error": {"message": "chaos before acting"}})
                return
            self._get()

        def _post(self, data: bytes) -> None:
            path = urlsplit(self.path).path.removeprefix("/v1")
            if path == "/files":
                parts = _multipart(self.headers.get("content-type", ""), data)
                filename, payload = parts.get("file", (None, b""))
                purpose = parts.get("purpose", (None, b""))[1].decode()
                info = server.upload(filename or "upload.jsonl", purpose, payload)
                server.silence("upload")
                self._send(200, info)
            elif path == "/batches":
                if server.hang_before_create:
                    server.arrived["before-create"].set()
                    server._stopping.wait(server.hang_before_create)
                    self._send(503, {"error": {"message": "the client went away"}})
                    return
                status, payload = server.create(json.loads(data or b"{}"))
                server.silence("create")
                self._send(status, payload)
            elif path.startswith("/batches/") and path.endswith("/cancel"):
                self._send(*server.cancel(path.split("/")[2]))
            else:
                self._send(404, {"error": {"message": f"no route {path}"}})

        def _get(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path.removeprefix("/v1")
            query = parse_qs(parts.query)
            segments = path.strip("/").split("/")
            if path == "/files":
                purpose = query.get("purpose", [None])[0]
                with server._lock:
                    items = [f for f in server.files.values() if purpose in (None, f["purpose"])]
                self._send(200, server.listing(items, query))
            elif segments[0] == "files" and len(segments) == 3 and segments[2] == "content":
                content = server.contents.get(segments[1])
                if content is None:
                    self._send(404, {"error": {"message": "no such file"}})
                else:
                    self._send_raw(200, content, "application/octet-stream")
            elif path == "/batches":
                with server._lock:
                    items = list(server.batches.values())
                self._send(200, server.listing(items, query))
            elif segments[0] == "batches" and len(segments) == 2:
                server.arrived["retrieve"].set()
                self._send(*server.retrieve(segments[1]))
            else:
                self._send(404, {"error": {"message": f"no route {path}"}})

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            if status == 200 and server.chaos():
                status, payload = 500, {"error": {"message": "chaos after acting"}}
            self._send_raw(status, json.dumps(payload).encode(), "application/json")

        def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler
