"""``jaunt-prompts preview`` over plain HTTP: a real server, a real watcher, real files.

The page itself is driven in a headless browser in test_preview_browser.py; here the
server's guards (bind address, Host, Origin), its document and its event stream are checked
with ``http.client`` against 127.0.0.1. Every wait polls with a deadline.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jaunt.promptkit.preview import (
    PreviewServer,
    PreviewState,
    allowed_hosts,
    changed_lines,
    check_bind_host,
)
from jaunt.promptkit.preview.server import PreviewError
from jaunt.promptkit.project import Project
from jaunt.promptkit.scrub import REDACTED
from jaunt.promptkit.session import AuthoringSession
from jaunt.promptkit.tokens import ESTIMATE_TOKENIZER

REPO = Path(__file__).resolve().parent.parent
DEADLINE_S = 15.0
PREVIEW = (sys.executable, "-m", "jaunt.promptkit.cli.main", "preview")


def example_project(root: Path) -> Path:
    """A copy of this repository's example project: its fixtures and the house-style set."""
    shutil.copytree(REPO / "prompt_fixtures", root / "prompt_fixtures")
    shutil.copytree(REPO / "prompts", root / "prompts")
    return root


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[PreviewServer, Path]]:
    root = example_project(tmp_path)
    project = Project.discover(cwd=root, set_name="house-style")
    session = AuthoringSession(project.set_source, project.fixtures_dir, ESTIMATE_TOKENIZER)
    server = PreviewServer([session], project.root, port=0)
    server.start()
    try:
        yield server, root
    finally:
        server.stop()


def request(
    server: PreviewServer, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    port = int(server.url.rstrip("/").rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def state(server: PreviewServer) -> dict[str, Any]:
    status, body = request(server, "GET", "/api/state")
    assert status == 200
    result: dict[str, Any] = json.loads(body)
    return result


def wait_for(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


# --- guards --------------------------------------------------------------------------------


def test_dns_rebinding_host_gets_403(served: tuple[PreviewServer, Path]) -> None:
    server, _ = served
    for path in ("/", "/api/state", "/events", "/static/app.js"):
        status, body = request(server, "GET", path, {"Host": "evil.example"})
        assert status == 403, path
        assert b"class_methods" not in body
    port = server.url.rstrip("/").rsplit(":", 1)[1]
    # The right name with another port is another origin too.
    assert request(server, "GET", "/", {"Host": "127.0.0.1:1"})[0] == 403
    assert request(server, "GET", "/", {"Host": f"evil.example:{port}"})[0] == 403
    assert request(server, "GET", "/", {"Host": f"127.0.0.1:{port}"})[0] == 200
    assert request(server, "GET", "/", {"Host": f"localhost:{port}"})[0] == 200


def test_state_changing_requests_from_other_origins_are_refused(
    served: tuple[PreviewServer, Path],
) -> None:
    server, _ = served
    host = server.url.removeprefix("http://").rstrip("/")
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        foreign = request(server, method, "/", {"Host": host, "Origin": "http://evil.example"})
        assert foreign[0] == 403, method
        assert request(server, method, "/", {"Host": host})[0] == 403, method
        # Same origin: nothing to change, so not allowed either, but not a 403.
        assert request(server, method, "/", {"Host": host, "Origin": f"http://{host}"})[0] == 405


def test_responses_carry_a_strict_content_security_policy(
    served: tuple[PreviewServer, Path],
) -> None:
    server, _ = served
    port = int(server.url.rstrip("/").rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/")
    response = conn.getresponse()
    page = response.read().decode()
    csp = response.getheader("Content-Security-Policy") or ""
    conn.close()
    assert "script-src 'self'" in csp
    assert "default-src 'none'" in csp
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    # Everything the page loads comes from this server.
    assert "http://" not in page
    assert "https://" not in page


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.com", "::"])
def test_non_loopback_bind_is_refused_without_the_flag(host: str) -> None:
    with pytest.raises(PreviewError, match="--allow-remote"):
        check_bind_host(host, allow_remote=False)
    check_bind_host(host, allow_remote=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_binds_are_allowed(host: str) -> None:
    check_bind_host(host, allow_remote=False)


def test_cli_refuses_a_non_loopback_host_with_exit_2(tmp_path: Path) -> None:
    root = example_project(tmp_path)
    result = subprocess.run(
        [*PREVIEW, "--host", "0.0.0.0"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("jaunt-prompts preview: refusing to serve on 0.0.0.0")
    assert "--allow-remote" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cli_warns_when_allowed_to_serve_beyond_loopback(tmp_path: Path) -> None:
    root = example_project(tmp_path)
    proc = subprocess.Popen(
        [*PREVIEW, "--port", "0", "--host", "0.0.0.0", "--allow-remote", "--encoding", "estimate"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("preview at "):
                break
        port = int(line.split()[2].rstrip("/").rsplit(":", 1)[1])
        # Bound to every interface: an IP-literal Host is fine, a DNS name still is not.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/", headers={"Host": f"127.0.0.1:{port}"})
        assert conn.getresponse().status == 200
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/", headers={"Host": f"evil.example:{port}"})
        assert conn.getresponse().status == 403
        conn.close()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "warning: serving on 0.0.0.0" in err
    assert proc.returncode == 0


def test_allowed_hosts_name_the_bound_address_and_port() -> None:
    assert allowed_hosts("127.0.0.1", 8765) == {"127.0.0.1:8765", "localhost:8765"}
    assert allowed_hosts("::1", 9) == {"[::1]:9", "localhost:9"}
    assert allowed_hosts("10.0.0.5", 80) == {"10.0.0.5:80"}


# --- the document and the event stream ------------------------------------------------------


def test_document_holds_every_fixture_and_no_secret(
    served: tuple[PreviewServer, Path],
) -> None:
    server, _ = served
    doc = state(server)
    names = {f["name"] for f in doc["fixtures"]}
    assert names == {p.stem for p in (REPO / "prompt_fixtures").glob("*.toml")}
    column = doc["sets"][0]
    assert column["set"] == "house-style"
    fixture = column["fixtures"]["class_methods"]
    assert fixture["ok"]
    assert [m["role"] for m in fixture["messages"]] == ["system", "user"]
    system = fixture["messages"][0]
    assert system["content"].startswith("You are the code generator of jaunt")
    assert system["tokens"].startswith("~")
    # The system message is static, so every build request shares all of it.
    assert system["prefix_chars"] == len(system["content"])


def test_the_api_key_never_reaches_the_page(tmp_path: Path) -> None:
    root = example_project(tmp_path)
    secret = "sk-preview-test-SECRET-0123456789"
    (root / "jaunt.toml").write_text(
        '[llm]\nprovider = "openai"\nmodel = "gpt-4.1-mini"\napi_key_env = "PREVIEW_TEST_KEY"\n'
        'base_url = "http://user:pw-SECRET@127.0.0.1:9/v1"\n'
    )
    env = {**os.environ, "PREVIEW_TEST_KEY": secret, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [*PREVIEW, "--port", "0", "--encoding", "estimate"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("preview at "):
                break
        url = line.split()[2]
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        bodies = b""
        for path in ("/", "/api/state", "/static/app.js", "/static/style.css"):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path)
            response = conn.getresponse()
            assert response.status == 200, path
            bodies += response.read()
            conn.close()
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    assert b"class_methods" in bodies
    assert b"SECRET" not in bodies
    assert b"PREVIEW_TEST_KEY" not in bodies


class EventReader:
    """Reads ``/events`` in a thread; ``documents`` collects each ``state`` event's JSON."""

    def __init__(self, server: PreviewServer) -> None:
        port = int(server.url.rstrip("/").rsplit(":", 1)[1])
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.request("GET", "/events")
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type", "").startswith("text/event-stream")
        self.documents: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for raw in self.response:
                line = raw.decode("utf-8")
                if line.startswith("data: "):
                    self.documents.append(json.loads(line[6:]))
        except (OSError, ValueError):
            return


def test_an_edit_reaches_the_event_stream_with_its_changed_lines(
    served: tuple[PreviewServer, Path],
) -> None:
    server, root = served
    reader = EventReader(server)
    wait_for("the first document", lambda: bool(reader.documents))
    template = root / "prompts" / "house-style" / "build_module.md"
    text = template.read_text()
    template.write_text(text.replace("\n", "\nEDITED-BY-THE-TEST\n", 1))

    def edited() -> bool:
        return any(
            "EDITED-BY-THE-TEST" in m["content"]
            for d in reader.documents
            for m in d["sets"][0]["fixtures"]["pure_function"]["messages"]
        )

    wait_for("the edit on the event stream", edited)
    doc = reader.documents[-1]
    module = doc["sets"][0]["fixtures"]["pure_function"]["messages"][-1]
    lines = module["content"].split("\n")
    assert [lines[i] for i in module["changed"]] == ["EDITED-BY-THE-TEST"]
    # The system message did not change: nothing highlighted there.
    assert doc["sets"][0]["fixtures"]["pure_function"]["messages"][0]["changed"] == []
    change = doc["last_change"]
    assert change["paths"] == ["prompts/house-style/build_module.md"]
    assert "pure_function" in change["changed"]
    assert change["render_ms"] >= 0
    reader.conn.close()


def test_a_broken_template_shows_its_error_and_the_page_recovers(
    served: tuple[PreviewServer, Path],
) -> None:
    server, root = served
    template = root / "prompts" / "house-style" / "build_module.md"
    good = template.read_text()
    template.write_text(good.replace("{{specs_block}}", "{{specs_block}", 1))
    wait_for("the error", lambda: not state(server)["sets"][0]["fixtures"]["pure_function"]["ok"])
    doc = state(server)
    failed = doc["sets"][0]["fixtures"]["pure_function"]
    assert any("build_module.md:" in e for e in failed["errors"])
    assert doc["sets"][0]["errors"]
    # Test fixtures use other templates: they still render.
    assert doc["sets"][0]["fixtures"]["test_module"]["ok"]
    template.write_text(good)
    wait_for("recovery", lambda: state(server)["sets"][0]["fixtures"]["pure_function"]["ok"])
    assert state(server)["sets"][0]["errors"] == []


def test_compare_shows_two_sets_side_by_side(tmp_path: Path) -> None:
    root = example_project(tmp_path)
    project = Project.discover(cwd=root, set_name="house-style")
    sessions = [
        AuthoringSession(project.set_source, project.fixtures_dir, ESTIMATE_TOKENIZER),
        AuthoringSession(project.set_named("packaged"), project.fixtures_dir, ESTIMATE_TOKENIZER),
    ]
    server = PreviewServer(sessions, project.root, port=0)
    server.start()
    try:
        doc = state(server)
    finally:
        server.stop()
    assert [c["set"] for c in doc["sets"]] == ["house-style", "packaged"]
    ours, packaged = (c["fixtures"]["class_methods"]["messages"][0] for c in doc["sets"])
    assert "house style" in ours["content"].lower()
    assert ours["content"] != packaged["content"]


# --- changed lines -------------------------------------------------------------------------


def test_changed_lines_marks_inserted_and_replaced_lines() -> None:
    assert changed_lines("a\nb\nc", "a\nB\nc") == [1]
    assert changed_lines("a\nc", "a\nb\nc") == [1]
    assert changed_lines("a\nb\nc", "a\nb\nc") == []
    # A deletion marks the line that now stands where the deleted ones were.
    assert changed_lines("a\nb\nc", "a\nc") == [1]
    assert changed_lines("a\nb", "a") == [0]


def test_head_of_the_event_stream_ends(served: tuple[PreviewServer, Path]) -> None:
    server, _ = served
    status, body = request(server, "HEAD", "/events")
    assert status == 200
    assert body == b""


def test_cli_unknown_compare_set_is_a_usage_error(tmp_path: Path) -> None:
    root = example_project(tmp_path)
    result = subprocess.run(
        [*PREVIEW, "--port", "0", "--compare", "nope"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("jaunt-prompts preview: unknown template set 'nope'")
    assert "Traceback" not in result.stderr


def test_the_prefix_end_inside_a_message_is_located(tmp_path: Path) -> None:
    # A placeholder in the system template ends the shared prefix inside the system message.
    root = example_project(tmp_path)
    system = root / "prompts" / "house-style" / "build_system.md"
    system.write_text("Shared opening line.\nModule: {{spec_module}}\n", encoding="utf-8")
    project = Project.discover(cwd=root, set_name="house-style")
    session = AuthoringSession(project.set_source, project.fixtures_dir, ESTIMATE_TOKENIZER)
    session.render_all()
    doc = PreviewState([session], project.root).document()
    fixtures = doc["sets"][0]["fixtures"]
    messages = fixtures["pure_function"]["messages"]
    assert messages[0]["content"].startswith("Shared opening line.\nModule: shop.")
    # The boundary is the longest common start of all the build requests' system messages.
    systems = [f["messages"][0]["content"] for f in fixtures.values() if f["ok"]]
    build = [s for s, fx in zip(systems, doc["fixtures"], strict=True) if fx["kind"] == "build"]
    shared = build[0]
    for text in build[1:]:
        while not text.startswith(shared):
            shared = shared[:-1]
    assert shared.startswith("Shared opening line.\nModule: ")
    assert messages[0]["prefix_chars"] == len(shared)
    # Everything after the message the prefix ends in is outside it.
    assert messages[-1]["prefix_chars"] == 0
    # The only test fixture has nothing to share with.
    assert fixtures["test_module"]["messages"][0]["prefix_chars"] is None


def test_cli_port_in_use_is_a_usage_error_before_rendering(tmp_path: Path) -> None:
    import socket

    root = example_project(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*PREVIEW, "--port", str(port), "--encoding", "estimate"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.startswith(f"jaunt-prompts preview: cannot serve on 127.0.0.1:{port}: ")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_changed_lines_of_huge_messages_compare_by_position() -> None:
    # Past the diff's size bound the comparison is position by position (linear).
    before = "\n".join(f"line {i}" for i in range(5000))
    assert changed_lines(before, before.replace("line 2500\n", "EDITED\n")) == [2500]
    assert changed_lines(before, before + "\nmore") == [5000]


def test_a_key_pasted_into_a_spec_shows_as_stars_on_the_page(tmp_path: Path) -> None:
    root = example_project(tmp_path)
    pasted = "sk-proj-PASTEDINTHEPREVIEW0123456789"
    fixture = root / "prompt_fixtures" / "pure_function.toml"
    text = fixture.read_text("utf-8")
    first_def = text.index("def ")
    fixture.write_text(text[:first_def] + f"# {pasted}\n" + text[first_def:], "utf-8")
    project = Project.discover(cwd=root)
    session = AuthoringSession(project.set_source, project.fixtures_dir, ESTIMATE_TOKENIZER)
    server = PreviewServer([session], project.root, port=0)
    server.start()
    try:
        status, body = request(server, "GET", "/api/state")
    finally:
        server.stop()
    assert status == 200
    assert pasted.encode() not in body
    messages = json.loads(body)["sets"][0]["fixtures"]["pure_function"]["messages"]
    assert any(f"# {REDACTED}" in m["content"] for m in messages)
