"""`jaunt-prompts eval`: the runner through the real openai SDK against a scripted local server,
the response cache, the statistics, and the behavioural checks' safety rails."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.fake_openai import FakeOpenAIServer, Reply

from jaunt.promptkit.cli.main import main
from jaunt.promptkit.errors import FixtureError
from jaunt.promptkit.eval.checks import CheckLimits, run_checks
from jaunt.promptkit.eval.stats import sign_test_p, wilson_interval
from jaunt.promptkit.fixtures import load_fixture, parse_fixture

KEY_ENV = "JAUNT_EVAL_TEST_KEY"
SECRET = "sk-eval-test-NEVER-SHOWN-5521"
GOOD = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"
MARKER = "EVAL-TEST-MARKER"

BUILD_FIXTURE = """\
kind = "build"
spec_module = "calc.ops"
generated_module = "calc.__generated__.ops"
expected_names = ["add"]

[[specs]]
ref = "calc.ops:add"
source = '''
def add(a: int, b: int) -> int:
    \"\"\"The sum.\"\"\"
'''
"""
CHECKS = """
[checks]
asserts = ['assert add(2, 3) == 5']
"""
TEST_FIXTURE = """\
kind = "test"
spec_module = "tests.specs.test_ops"
generated_module = "tests.__generated__.test_ops"
expected_names = ["test_add"]

[[specs]]
ref = "tests.specs.test_ops:test_add"
source = '''
def test_add() -> None:
    \"\"\"add(2, 3) is 5.\"\"\"
'''

[[dependency_apis]]
ref = "calc.ops:add"
api = '''def add(a: int, b: int) -> int: ...'''

[checks]
good = { "calc.ops" = '''
def add(a, b):
    return a + b
''' }
bad = { "calc.ops" = '''
def add(a, b):
    return a * b
''' }
"""


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    fixtures = tmp_path / "eval_fixtures"
    fixtures.mkdir()
    (fixtures / "add.toml").write_text(BUILD_FIXTURE + CHECKS, "utf-8")
    (fixtures / "add_again.toml").write_text(
        BUILD_FIXTURE.replace("calc.ops", "calc.ops2") + CHECKS, "utf-8"
    )
    # A second set: its build system prompt carries a marker the fake model reacts to.
    better = tmp_path / "sets" / "better"
    better.mkdir(parents=True)
    (better / "build_system.md").write_text(f"Write Python code only. {MARKER}\n", "utf-8")


def marker_responder(body: dict[str, Any]) -> Reply:
    """Good code when the system prompt has the marker, else a module missing its name."""
    system = body["messages"][0]["content"]
    return Reply(content=GOOD if MARKER in system else "x = 1\n")


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(honour="max_tokens", responder=marker_responder) as fake:
        yield fake


def run_eval(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["eval", *args])
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    return code, out, err


def base_args(server_url: str, *extra: str) -> list[str]:
    (Path("jaunt.toml")).write_text(
        "[llm]\n"
        'model = "fake-model"\n'
        f'api_key_env = "{KEY_ENV}"\n'
        f'base_url = "{server_url}"\n'
        "max_retries = 0\n",
        "utf-8",
    )
    return list(extra)


# --- statistics ----------------------------------------------------------------------------


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(5, 10)
    assert (low, high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_sign_test_is_exact_and_two_sided() -> None:
    assert sign_test_p(8, 0) == pytest.approx(2 / 256)
    assert sign_test_p(0, 8) == sign_test_p(8, 0)
    assert sign_test_p(3, 3) == 1.0
    assert sign_test_p(0, 0) == 1.0
    assert sign_test_p(9, 1) == pytest.approx(2 * 11 / 1024)


# --- the command ----------------------------------------------------------------------------


def test_two_sets_json_schema_and_paired_comparison(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    args = base_args(server.base_url)
    code, out, err = run_eval(
        capsys, *args, "--set", "packaged", "--prompts", "sets/better", "--samples", "3",
        "--seed", "7", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert [s["name"] for s in data["sets"]] == ["packaged", "better"]
    packaged, better = data["sets"]
    assert [f["fixture"] for f in better["fixtures"]] == ["add", "add_again"]
    row = better["fixtures"][0]
    assert (row["samples"], row["valid"], row["first_attempt_valid"]) == (3, 3, 3)
    assert row["passed"] is None  # checks not run without --run-checks
    assert packaged["fixtures"][0]["valid"] == 0
    assert packaged["fixtures"][0]["attempts"] == 6  # two attempts each
    assert better["totals"]["valid_ci95"][0] > 0.5
    assert better["totals"]["cost_usd"] is None  # a model without a price: n/a
    (comparison,) = data["comparisons"]
    assert comparison["baseline"] == "packaged"
    assert comparison["candidate"] == "better"
    assert (comparison["wins"], comparison["losses"], comparison["ties"]) == (6, 0, 0)
    assert comparison["p_value"] == pytest.approx(2 / 64)
    # Sample i got seed S + i, the same seeds in both sets.
    seeds = sorted(r.body["seed"] for r in server.requests)
    assert set(seeds) == {7, 8, 9}
    assert "[1/12]" in err  # progress on stderr


def test_text_and_markdown_reports(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    args = base_args(server.base_url)
    code, out, _ = run_eval(capsys, *args, "--set", "packaged", "--prompts", "sets/better")
    assert code == 0
    assert "set better: valid 2/2 100% [34%, 100%]" in out
    assert "better vs packaged on valid: 2 wins, 0 losses, 0 ties" in out
    code, out, _ = run_eval(
        capsys, *args, "--set", "packaged", "--prompts", "sets/better", "--format", "markdown"
    )
    assert "| better | 2/2 100% [34%, 100%] |" in out
    assert "| add | build | 0/1 (0) / - | 1/1 (1) / - |" in out


def test_cache_replays_without_any_request_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer(honour="max_tokens", responder=marker_responder) as live:
        args = base_args(live.base_url)
        common = [*args, "--prompts", "sets/better", "--set", "packaged", "--samples", "2"]
        code, first, _ = run_eval(
            capsys, *common, "--cache", "cache", "--format", "json", "--attempts-file", "a1.jsonl"
        )
        assert code == 0
        assert live.requests
    # The server is gone: any request would fail the run (exit 2).
    code, second, err = run_eval(
        capsys, *common, "--cache", "cache", "--format", "json", "--attempts-file", "a2.jsonl"
    )
    assert code == 0, err
    assert "0 request(s) sent" in err
    assert second == first
    assert Path("a1.jsonl").read_bytes() == Path("a2.jsonl").read_bytes()
    # Without the cache the stopped server is an error, not a report.
    code, _, err = run_eval(capsys, *common, "--format", "json")
    assert code == 2
    assert "cannot connect" in err


def test_attempts_file_has_one_line_per_attempt(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    args = base_args(server.base_url)
    code, _, _ = run_eval(capsys, *args, "add", "--attempts-file", "out/attempts.jsonl")
    assert code == 0
    lines = [json.loads(line) for line in Path("out/attempts.jsonl").read_text().splitlines()]
    assert [line["attempt"] for line in lines] == [1, 2]  # packaged: invalid, retried
    first = lines[0]
    assert first["set"] == "packaged"
    assert first["fixture"] == "add"
    assert first["seed"] == 0
    assert first["raw_answer"] == "x = 1\n"
    assert first["errors"] == ["Missing top-level definition: add"]
    assert first["usage"]["input_tokens"] == 11
    assert first["finish_reason"] == "stop"
    assert len(first["messages_sha256"]) == 64
    assert lines[1]["messages_sha256"] != first["messages_sha256"]  # the retry's errors


def test_threshold_missed_exits_1(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    args = base_args(server.base_url)
    code, _, err = run_eval(capsys, *args, "--min-valid", "0.5")
    assert code == 1
    assert "threshold missed: set packaged: valid 0/2" in err
    code, _, _ = run_eval(capsys, *args, "--prompts", "sets/better", "--min-valid", "0.5")
    assert code == 0


def test_retry_fixture_starts_from_its_error_context(
    server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = BUILD_FIXTURE.replace(
        'expected_names = ["add"]',
        'expected_names = ["add"]\nerror_context = ["previous output errors: boom-77"]',
    )
    (tmp_path / "eval_fixtures" / "retry.toml").write_text(text, "utf-8")
    args = base_args(server.base_url)
    code, _, _ = run_eval(capsys, *args, "retry", "--prompts", "sets/better")
    assert code == 0
    assert "boom-77" in server.requests[0].body["messages"][-1]["content"]


def test_unknown_set_and_missing_key_are_usage_errors(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = base_args(server.base_url)
    code, _, err = run_eval(capsys, *args, "--set", "nope")
    assert code == 2
    assert "unknown template set 'nope'" in err
    monkeypatch.delenv(KEY_ENV)
    code, _, err = run_eval(capsys, *args)
    assert code == 2
    assert KEY_ENV in err
    assert "Traceback" not in err
    assert not server.requests


# --- checks: model-written code -------------------------------------------------------------


def probe_answer(target: Path) -> str:
    """Module code that, when run, writes its environment to ``target``."""
    return (
        "import json, os\n"
        f"with open({str(target)!r}, 'w') as f:\n"
        "    json.dump(dict(os.environ), f)\n"
        "def add(a, b):\n    return a + b\n"
    )


def test_model_code_never_runs_without_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "ran.json"
    with FakeOpenAIServer(honour="max_tokens", default=Reply(content=probe_answer(target))) as fake:
        args = base_args(fake.base_url)
        code, out, _ = run_eval(capsys, *args, "add", "--format", "json")
        assert code == 0
        assert json.loads(out)["sets"][0]["fixtures"][0]["valid"] == 1
        assert not target.exists()
        # The same run with the flag does execute it (so the probe is a real one).
        code, out, err = run_eval(capsys, *args, "add", "--format", "json", "--run-checks")
        assert code == 0, err
        assert target.exists()
        assert json.loads(out)["sets"][0]["fixtures"][0]["passed"] == 1


def test_model_code_never_sees_the_api_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-secret-1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-secret-2")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-other-secret-3")
    target = tmp_path / "env.json"
    with FakeOpenAIServer(honour="max_tokens", default=Reply(content=probe_answer(target))) as fake:
        args = base_args(fake.base_url)
        code, _, err = run_eval(capsys, *args, "add", "--run-checks")
    assert code == 0, err
    seen = target.read_text()
    environment = json.loads(seen)
    for secret in (SECRET, "sk-openai-secret-1", "org-secret-2", "sk-other-secret-3"):
        assert secret not in seen
    assert not [k for k in environment if k.endswith("_API_KEY") or k.startswith("OPENAI_")]
    assert KEY_ENV not in environment
    # It ran in a temporary folder outside the project (its HOME), not in the project.
    assert not Path(environment["HOME"]).is_relative_to(tmp_path)
    assert not Path(environment["HOME"]).exists()  # and the folder is gone


def test_model_code_is_killed_at_its_time_limit(tmp_path: Path) -> None:
    fixture = parse_fixture(BUILD_FIXTURE + CHECKS, path="add.toml")
    # The child also starts a grandchild: the whole process group dies.
    forever = (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "while True:\n    pass\n"
    )
    started = time.monotonic()
    result = run_checks(fixture, forever, CheckLimits(timeout_s=1.0))
    elapsed = time.monotonic() - started
    assert not result.passed
    assert result.timed_out
    assert "time limit" in result.detail
    assert elapsed < 10


def test_model_code_has_a_memory_limit() -> None:
    fixture = parse_fixture(BUILD_FIXTURE + CHECKS, path="add.toml")
    hog = "blob = bytearray(2 * 1024 * 1024 * 1024)\ndef add(a, b):\n    return a + b\n"
    result = run_checks(fixture, hog, CheckLimits(timeout_s=20, memory_mb=256))
    assert not result.passed
    assert "MemoryError" in result.detail


def test_build_checks_pass_and_fail_on_behaviour() -> None:
    fixture = parse_fixture(BUILD_FIXTURE + CHECKS, path="add.toml")
    assert run_checks(fixture, GOOD).passed
    failed = run_checks(fixture, WRONG)
    assert not failed.passed
    assert "check 1 failed" in failed.detail


def test_test_checks_need_pass_on_good_and_fail_on_bad() -> None:
    fixture = parse_fixture(TEST_FIXTURE, path="t.toml")
    real = "from calc.ops import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    weak = "from calc.ops import add\n\ndef test_add():\n    assert add(2, 2) == 4\n"
    assert run_checks(fixture, real).passed
    assert "do not fail on the bad implementation" in run_checks(fixture, weak).detail
    broken = "def test_add():\n    assert False\n"
    assert "fail on the good implementation" in run_checks(fixture, broken).detail


# --- fixture format -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        ("[checks]\nasserts = 'x'\n", "checks.asserts", "must be an array of strings"),
        ("[checks]\nwhatever = 1\n", "checks.whatever", "unknown key"),
        ("[checks]\nmodules = { 'a' = 'x' }\n", "checks.asserts", "need asserts"),
        ("[checks]\nasserts = ['1']\ngood = { 'a' = '' }\n", "checks", "for test fixtures"),
        ("[checks]\nasserts = ['1']\nmodules = { 'a b' = '' }\n", "checks.modules", "dotted"),
    ],
)
def test_bad_checks_name_file_and_key(extra: str, key: str, message: str) -> None:
    with pytest.raises(FixtureError) as info:
        parse_fixture(BUILD_FIXTURE + extra, path="f.toml")
    line = info.value.one_line()
    assert line.startswith("f.toml:")
    assert f"'{key}'" in line
    assert message in line


def test_packaged_eval_fixtures_load_with_checks() -> None:
    root = Path(__file__).resolve().parent.parent / "eval_fixtures"
    fixtures = [load_fixture(p) for p in sorted(root.glob("*.toml"))]
    kinds = [f.context.kind for f in fixtures if f.checks is not None]
    assert kinds.count("build") >= 12
    assert kinds.count("test") >= 4
    assert os.path.isdir(root)


def test_concurrency_does_not_change_the_report(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    args = base_args(server.base_url)
    common = [*args, "--set", "packaged", "--prompts", "sets/better", "--samples", "3"]
    _, serial, _ = run_eval(capsys, *common, "--format", "json")
    code, parallel, _ = run_eval(capsys, *common, "--format", "json", "--concurrency", "4")
    assert code == 0

    def without_latency(text: str) -> Any:
        data = json.loads(text)
        for entry in data["sets"]:
            for row in [*entry["fixtures"], entry["totals"]]:
                del row["mean_latency_s"]  # live timings differ run to run
        return data

    assert without_latency(parallel) == without_latency(serial)


def test_cache_key_covers_model_messages_and_sampling() -> None:
    from jaunt.promptkit.eval.cache import request_key

    def key(**changes: object) -> str:
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "seed": 1}
        body.update(changes)
        return request_key("POST", "/v1/chat/completions", json.dumps(body).encode())

    base = key()
    assert key() == base
    # The same body with keys in another order is the same request.
    reordered = json.dumps(
        {"seed": 1, "messages": [{"role": "user", "content": "hi"}], "model": "m"}
    )
    assert request_key("POST", "/v1/chat/completions", reordered.encode()) == base
    for change in ({"model": "n"}, {"seed": 2}, {"temperature": 0.7}, {"max_tokens": 5}):
        assert key(**change) != base
    assert key(messages=[{"role": "user", "content": "hi!"}]) != base


def test_an_echoed_key_stays_out_of_the_attempts_file_and_the_cache(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def echo_key(body: dict[str, Any]) -> Reply:
        return Reply(content=f"x = 1  # the key is {SECRET}\n")

    with FakeOpenAIServer(honour="max_tokens", responder=echo_key) as fake:
        args = base_args(fake.base_url)
        code, _, _ = run_eval(capsys, *args, "add", "--attempts-file", "a.jsonl", "--cache", "c")
    assert code == 0
    attempts = Path("a.jsonl").read_text("utf-8")
    cached = "".join(p.read_text("utf-8") for p in Path("c").rglob("*.json"))
    assert cached
    assert SECRET not in attempts + cached
    assert "the key is ***" in attempts
    assert "the key is ***" in cached
