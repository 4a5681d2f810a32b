"""A tiny OpenAI-compatible Chat Completions server for jaunt's ``examples/01_slugify``.

Used by scripts/check_jaunt_adoption.sh: jaunt (with this layer inside) talks to it through
the real ``openai`` SDK, so ``jaunt build`` and ``jaunt test`` run end to end without a
network or a model. Standard library only; listens on 127.0.0.1 only.

It answers from the request's last user message: a test request (the module template asks
for "pytest" tests of a "test module") gets a test module defining every required name, a
build request gets a correct ``slugify``/``post_slug`` module. Required names are read from
the "- `name`" list the packaged module templates render.

Usage: python scripts/jaunt_example_server.py --port-file FILE   (writes the port when ready)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAX_BODY = 4_000_000

IMPLEMENTATION = """\
from __future__ import annotations

import re


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.strip().lower()).strip("-")
    if not slug:
        raise ValueError("title is empty after cleaning")
    return slug


def post_slug(title: str, *, post_id: int) -> str:
    if post_id < 1:
        raise ValueError("post_id must be >= 1")
    return f"{slugify(title)}-{post_id}"
"""

TEST_BODY = """\
    assert slugify("  Hello, World!  ") == "hello-world"
    assert slugify("C++ > Java") == "c-java"
    assert post_slug("Hello, World!", post_id=7) == "hello-world-7"
    for bad in ["", "   ", "---"]:
        with pytest.raises(ValueError):
            slugify(bad)
    with pytest.raises(ValueError):
        post_slug("Hello", post_id=0)
"""

_NAME_ITEM = re.compile(r"^- `([A-Za-z_][A-Za-z0-9_]*)`$", re.MULTILINE)


def answer_for(messages: list[dict[str, str]]) -> str:
    system = messages[0].get("content", "") if messages else ""
    user = messages[-1].get("content", "") if messages else ""
    names = _NAME_ITEM.findall(user)
    if "test generator" in system or "test module" in user:
        tests = "\n\n".join(f"def {name}() -> None:\n{TEST_BODY}" for name in names)
        code = f"import pytest\n\nfrom slugify_demo import post_slug, slugify\n\n\n{tests}"
    else:
        code = IMPLEMENTATION
    return f"```python\n{code}```"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}\n")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not self.path.endswith("/chat/completions") or not 0 < length <= MAX_BODY:
            self.send_error(404 if length else 400)
            return
        try:
            request = json.loads(self.rfile.read(length))
            content = answer_for(request["messages"])
        except (ValueError, KeyError, TypeError) as exc:
            self.send_error(400, str(exc))
            return
        body = json.dumps(
            {
                "id": "chatcmpl-adoption",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model", "adoption"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", type=Path, required=True)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    temp = args.port_file.with_name(args.port_file.name + ".tmp")
    temp.write_text(str(server.server_address[1]), encoding="utf-8")
    temp.replace(args.port_file)  # the script waits for a non-empty file: never a half one
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
