"""The preview server: the standard library's threading HTTP server, server-sent events.

One thread per connection (``ThreadingHTTPServer``) is plenty for a page a few browser tabs
look at, and keeps the install free of an ASGI stack. Each session's :class:`Watcher` runs in
its own thread (the same watcher ``jaunt-prompts watch`` runs) and hands every change to
:class:`PreviewState`; the new document goes to every open ``/events`` stream at once.

Safe by default:

* it binds to a loopback address unless ``allow_remote`` is given (:func:`check_bind_host`);
* every request's ``Host`` header must name the bound address and port (a DNS-rebinding page
  on ``evil.example`` resolving to 127.0.0.1 gets 403); bound to every interface (``0.0.0.0``),
  any IP address with the right port is accepted, as no DNS name is involved;
* the page changes nothing, so any other method than GET/HEAD is refused: 403 when its
  ``Origin`` is not this server, else 405;
* the page and its script and stylesheet come from this package (no other origin is allowed
  by the Content-Security-Policy either), and the script builds the DOM with ``textContent``.
"""

from __future__ import annotations

import functools
import http.server
import ipaddress
import json
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from jaunt.promptkit.errors import LayerError
from jaunt.promptkit.preview.state import PreviewState
from jaunt.promptkit.scrub import scrub_data
from jaunt.promptkit.session import AuthoringSession
from jaunt.promptkit.watch import ChangeEvent, Watcher, WatchOptions

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
# An idle event stream sends a comment this often, so a dead connection is noticed and closed.
KEEPALIVE_S = 15.0
# The watches are normally in place within the notify backend's first timeout (200 ms).
WATCH_START_TIMEOUT_S = 10.0

_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class PreviewError(LayerError):
    """The preview cannot start as asked (an address it must not or cannot bind)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind_host(host: str, *, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless ``allow_remote``: the page shows your prompts."""
    if is_loopback(host) or allow_remote:
        return
    raise PreviewError(
        f"refusing to serve on {host}: the preview shows your templates and fixtures to "
        "anyone who can reach that address; pass --allow-remote to do it anyway"
    )


@dataclass
class Broadcast:
    """The latest document and a condition the event streams wait on."""

    payload: bytes = b"{}"
    version: int = 0
    closed: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def publish(self, document: dict[str, Any]) -> None:
        # The page leaves the process: every text on it passes the scrubber (a key pasted
        # into a spec shows as ***).
        data = json.dumps(scrub_data(document), ensure_ascii=False).encode("utf-8")
        with self._cond:
            self.payload = data
            self.version += 1
            self._cond.notify_all()

    def wait_newer(self, seen: int, timeout: float) -> tuple[int, bytes] | None:
        """The document if newer than ``seen`` (waiting up to ``timeout``), else None."""
        with self._cond:
            self._cond.wait_for(lambda: self.version > seen or self.closed, timeout)
            if self.version > seen and not self.closed:
                return self.version, self.payload
            return None

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allowed_hosts: frozenset[str]
    # Bound to every interface (0.0.0.0 or ::): any address of the machine may be asked for.
    wildcard: bool
    broadcast: Broadcast
    log: Callable[[str], None] | None


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    # --- guards -----------------------------------------------------------------------------

    def _host_ok(self) -> bool:
        host = self.headers.get("Host", "").lower()
        if host in self.server.allowed_hosts or (
            self.server.wildcard and _ip_literal_host(host, self.server.server_address[1])
        ):
            return True
        self._plain(403, "forbidden: unexpected Host header\n")
        return False

    def _origin_ok(self) -> bool:
        # Called after _host_ok: the page's own origin is http://<the Host it asked for>.
        origin = self.headers.get("Origin", "").lower()
        if origin == f"http://{self.headers.get('Host', '').lower()}":
            return True
        self._plain(403, "forbidden: cross-origin request\n")
        return False

    # --- methods ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        if not self._host_ok():
            return
        path = self.path.split("?", 1)[0]
        if path in _STATIC:
            name, content_type = _STATIC[path]
            self._send(200, content_type, _asset(name))
        elif path == "/api/state":
            _, payload = self.server.broadcast.wait_newer(-1, 0) or (0, b"{}")
            self._send(200, "application/json; charset=utf-8", payload)
        elif path == "/events":
            self._events()
        elif path == "/favicon.ico":
            self._send(204, "image/x-icon", b"")
        else:
            self._plain(404, "not found\n")

    def do_HEAD(self) -> None:
        self.do_GET()

    def _refuse_change(self) -> None:
        # The page changes nothing; a foreign origin gets 403 first, whatever it asks.
        if self._host_ok() and self._origin_ok():
            self._plain(405, "method not allowed\n", allow="GET, HEAD")

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse_change

    # --- responses --------------------------------------------------------------------------

    def _events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self._security_headers()
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        seen = -1
        broadcast = self.server.broadcast
        try:
            while not broadcast.closed:
                newer = broadcast.wait_newer(seen, KEEPALIVE_S)
                if newer is None:
                    if broadcast.closed:
                        break
                    self.wfile.write(b": keep-alive\n\n")
                else:
                    seen, payload = newer
                    self.wfile.write(b"event: state\ndata: " + payload + b"\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return

    def _send(self, status: int, content_type: str, body: bytes, **extra: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name.replace("_", "-").title(), value)
        self._security_headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _plain(self, status: int, text: str, **extra: str) -> None:
        self._send(status, "text/plain; charset=utf-8", text.encode("utf-8"), **extra)

    def _security_headers(self) -> None:
        for name, value in _SECURITY_HEADERS.items():
            self.send_header(name, value)

    def log_message(self, format: str, *args: Any) -> None:
        log = self.server.log
        if log is not None:
            log(f"{self.address_string()} {format % args}")


def _asset(name: str) -> bytes:
    return resources.files("jaunt.promptkit.preview").joinpath("static", name).read_bytes()


def _is_unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _ip_literal_host(header: str, port: int) -> bool:
    """``Host`` names an IP address (not a DNS name, so not a rebinding) and our port."""
    name, sep, given_port = header.rpartition(":")
    if not sep or given_port != str(port):
        return False
    name = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` header values that name this server (lower case)."""
    names = {host}
    if is_loopback(host):
        names |= {"localhost", "127.0.0.1"} if ":" not in host else {"localhost"}
    shown = {f"[{n}]" if ":" in n else n for n in names}
    return frozenset(f"{n}:{port}".lower() for n in shown)


@dataclass
class PreviewServer:
    """Serve the preview of ``sessions`` (the main set first, an optional set to compare).

    ``watch_options[i]`` configures session ``i``'s watcher; ``emit`` gets the watchers'
    report lines (the same lines ``watch`` prints); ``log`` gets one line per request.
    :meth:`start` renders, binds and starts the threads; :meth:`stop` ends them.
    """

    sessions: Sequence[AuthoringSession]
    root: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    allow_remote: bool = False
    watch_options: Sequence[WatchOptions] = ()
    emit: Callable[[str], None] = lambda line: None
    log: Callable[[str], None] | None = None
    state: PreviewState = field(init=False)
    broadcast: Broadcast = field(default_factory=Broadcast)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _httpd: _Server | None = None

    def __post_init__(self) -> None:
        self.state = PreviewState(self.sessions, self.root)

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start() first"
        port = self._httpd.server_address[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}/"

    def start(self) -> None:
        check_bind_host(self.host, allow_remote=self.allow_remote)
        # Bind first: a port in use fails before anything is rendered or printed.
        server_class = _Server6 if ":" in self.host else _Server
        try:
            httpd = server_class((self.host, self.port), _Handler)
        except OSError as exc:
            raise PreviewError(f"cannot serve on {self.host}:{self.port}: {exc.strerror}") from exc
        httpd.allowed_hosts = allowed_hosts(self.host, httpd.server_address[1])
        httpd.wildcard = _is_unspecified(self.host)
        httpd.broadcast = self.broadcast
        httpd.log = self.log
        watchers = []
        try:
            for index, session in enumerate(self.sessions):
                options = (
                    self.watch_options[index] if index < len(self.watch_options) else WatchOptions()
                )
                prefix = f"[{session.source.name}] " if len(self.sessions) > 1 else ""
                watcher = Watcher(session, options, self._emitter(prefix))
                watcher.listeners.append(self._listener(index))
                watcher.start()
                watchers.append(watcher)
        except BaseException:
            httpd.server_close()
            raise
        # Requests are answered from here on, with every set's first document published.
        self._httpd = httpd
        self._spawn("preview-http", httpd.serve_forever)
        for watcher in watchers:
            self._spawn("preview-watch", functools.partial(watcher.run, self._stop))
        # Announce the page only once a save would be seen.
        for watcher in watchers:
            watcher.watching.wait(WATCH_START_TIMEOUT_S)

    def stop(self) -> None:
        self._stop.set()
        self.broadcast.close()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _emitter(self, prefix: str) -> Callable[[str], None]:
        def emit(line: str) -> None:
            self.emit(prefix + line)

        return emit

    def _listener(self, index: int) -> Callable[[ChangeEvent], None]:
        def listen(event: ChangeEvent) -> None:
            self.broadcast.publish(self.state.update(index, event))

        return listen

    def _spawn(self, name: str, target: Callable[[], object]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)
