"""`jaunt-prompts generate --batch` against the local Files/Batches fake, through the real SDK:
1,000 fixtures, retries in a second batch, and real kills (SIGKILL) at each point of a run."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.fake_batch import Answer, FakeBatchServer
from shop_context import SHOP_CTX

from jaunt.promptkit.cli.main import main
from jaunt.promptkit.fixtures import dump_fixture
from jaunt.promptkit.pricing import load_price_table

KEY_ENV = "JAUNT_BATCH_CMD_KEY"
SECRET = "sk-batch-cmd-NEVER-PRINTED-4242"
GOOD = "def apply_discount(price, percent):\n    return price\n\n\nclass Cart:\n    pass\n"
BAD = "def apply_discount(price, percent):\n    return price\n"
FAST = ["--poll-interval", "0.01", "--max-poll-interval", "0.05"]


def every_tenth_bad_first(custom_id: str, body: dict[str, Any]) -> Answer:
    """Modules m0000, m0010, ... answer without Cart on attempt 1, then right."""
    number = int(custom_id[1:5])
    bad = number % 10 == 0 and "#a1" in custom_id
    return Answer(BAD if bad else f"```python\n{GOOD}```", prompt_tokens=1200, cached_tokens=1024)


def write_fixtures(root: Path, count: int) -> None:
    folder = root / "prompt_fixtures"
    folder.mkdir(exist_ok=True)
    for i in range(count):
        ctx = dataclasses.replace(SHOP_CTX, generated_module=f"shop.__generated__.m{i:04d}")
        (folder / f"m{i:04d}.toml").write_text(dump_fixture(ctx), "utf-8")


def write_config(root: Path, server: FakeBatchServer) -> None:
    (root / "jaunt.toml").write_text(
        "[llm]\n"
        'model = "gpt-4o-mini"\n'
        f'api_key_env = "{KEY_ENV}"\n'
        f'base_url = "{server.base_url}"\n'
        "max_retries = 0\n",
        "utf-8",
    )


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FakeBatchServer]:
    with FakeBatchServer(answer=every_tenth_bad_first) as fake:
        write_config(tmp_path, fake)
        yield fake


def generate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["generate", "--batch", "--state", "state", "--out", "out", *FAST, *args])
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    return code, err


def assert_all_written(root: Path, count: int) -> None:
    written = sorted(p.name for p in (root / "out").iterdir())
    assert written == [f"m{i:04d}.py" for i in range(count)]
    assert all((root / "out" / name).read_text("utf-8") == GOOD for name in written)


def test_a_thousand_fixtures_in_one_run(
    server: FakeBatchServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fixtures(tmp_path, 1000)
    started = time.monotonic()
    code, err = generate(capsys, "--all")
    elapsed = time.monotonic() - started

    assert code == 0, err
    assert_all_written(tmp_path, 1000)
    # One batch of 1,000, then the 100 invalid answers together in a second batch.
    assert server.creates == 2
    totals = sorted(b["request_counts"]["total"] for b in server.batches.values())
    assert totals == [100, 1000]
    assert len(server.submissions) == 1100
    assert max(server.submissions.values()) == 1
    retry = server.bodies["m0010#a2"]["messages"][-1]["content"]
    assert "previous output errors: Missing top-level definition: Cart" in retry
    assert "1000/1000 modules validated (100 on a retry), 0 failed" in err
    assert "tokens 1,320,000 in (1,126,400 cached)" in err
    assert "batch: 1000 modules | submitted 1000 | in progress 1000" in err
    print(f"1,000 fixtures through generate --batch: {elapsed:.1f} s")


def test_running_again_resumes_and_a_good_file_survives_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hold = threading.Event()
    write_fixtures(tmp_path, 2)
    with FakeBatchServer(answer=lambda c, b: Answer(BAD), hold=hold) as server:
        write_config(tmp_path, server)
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "m0000.py").write_text("good = 1\n", "utf-8")
        code, err = generate(capsys, "--all", "--max-wait", "0")
        assert code == 1
        assert "2 still in flight" in err
        assert "run the same command again to continue" in err
        hold.set()
        code, err = generate(capsys, "--all")
    assert code == 1
    assert "FAILED m0000 after 2 attempt(s): Missing top-level definition: Cart" in err
    assert (tmp_path / "out" / "m0000.py").read_text("utf-8") == "good = 1\n"
    assert (tmp_path / "out" / "m0000.failed.py").read_text("utf-8") == BAD
    assert server.creates == 2


def test_cancel_stops_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hold = threading.Event()
    write_fixtures(tmp_path, 3)
    with FakeBatchServer(answer=lambda c, b: Answer(GOOD), hold=hold) as server:
        write_config(tmp_path, server)
        generate(capsys, "--all", "--max-wait", "0")
        code, err = generate(capsys, "--all", "--cancel")
        assert server.cancels == 1
        assert code == 1
        assert "(run cancelled)" in err
        code, err = generate(capsys, "--all")
        assert server.creates == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch", "--out", "o", "--all"], "--batch needs --state DIR"),
        (["--batch", "--state", "s", "--all"], "--batch needs --out DIR"),
        (["--state", "s", "--out", "o", "--all"], "need --batch"),
    ],
)
def test_usage_errors(
    server: FakeBatchServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    write_fixtures(tmp_path, 1)
    assert main(["generate", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_changed_fixture_cannot_reuse_the_state(
    server: FakeBatchServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fixtures(tmp_path, 1)
    assert generate(capsys, "--all")[0] == 0
    ctx = dataclasses.replace(SHOP_CTX, generated_module="shop.__generated__.other")
    (tmp_path / "prompt_fixtures" / "m0000.toml").write_text(dump_fixture(ctx), "utf-8")
    code, err = generate(capsys, "--all")
    assert code == 2
    assert "asks something else than when this state folder was started" in err


def test_the_report_shows_the_cost_at_batch_price(
    server: FakeBatchServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fixtures(tmp_path, 20)
    code, err = generate(capsys, "--all")
    assert code == 0, err
    price = load_price_table().get("gpt-4o-mini")
    # 22 answers (2 retries) of 1,200 tokens in (1,024 cached) and 20 out.
    usage = {"input_tokens": 22 * 1200, "cached_input_tokens": 22 * 1024, "output_tokens": 440}
    batch = price.cost(**usage, batch=True)
    online = price.cost(**usage, batch=False)
    assert batch < online
    assert (
        f"tokens 26,400 in (22,528 cached) / 440 out; cost ${batch:.4f} at batch price "
        f"({price.batch_discount:.0%} off; online ${online:.4f})"
    ) in err
    assert "(batch price)" in err.splitlines()[-3]  # the progress line's estimate


def test_the_cost_uses_the_projects_price_overrides(
    server: FakeBatchServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "jaunt.toml"
    config.write_text(
        config.read_text("utf-8")
        + "\n[prices.gpt-4o-mini]\ninput_per_mtok = 1000\ncached_input_per_mtok = 1000\n",
        "utf-8",
    )
    write_fixtures(tmp_path, 1)
    code, err = generate(capsys, "--all")
    assert code == 0, err
    packaged = load_price_table().get("gpt-4o-mini")
    # Two answers (m0000 is retried) of 1,200 tokens in and 20 out at $1,000 per million
    # input tokens (cached or not), the packaged output price.
    batch = (2400 * 1000 + 40 * packaged.output_per_mtok) / 1e6 * (1 - packaged.batch_discount)
    assert f"cost ${batch:.4f} at batch price" in err


# --- real kills -------------------------------------------------------------------------------


def start_cli(root: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, KEY_ENV: SECRET}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jaunt.promptkit.cli.main",
            "generate",
            "--batch",
            "--state",
            "state",
            "--out",
            "out",
            "--all",
            *FAST,
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_when(process: subprocess.Popen[bytes], event: threading.Event) -> None:
    assert event.wait(60), "the CLI never reached the point to kill it at"
    process.kill()  # SIGKILL: no clean-up code runs
    process.wait(10)


@pytest.mark.parametrize("route", ["upload", "create"])
def test_killed_after_the_server_acted_but_before_the_reply(
    route: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fixtures(tmp_path, 20)
    with FakeBatchServer(answer=every_tenth_bad_first, hang={route: 30.0}) as server:
        write_config(tmp_path, server)
        kill_when(start_cli(tmp_path), server.arrived[route])
        # The upload (or batch) exists on the server; the killed process never learned its id.
        assert (server.uploads, server.creates) == ((1, 0) if route == "upload" else (1, 1))
        server.hang.clear()
        code, err = generate(capsys, "--all")
    assert code == 0, err
    assert_all_written(tmp_path, 20)
    assert server.uploads == 2  # the first file found again, plus the retry batch's file
    assert server.creates == 2
    assert max(server.submissions.values()) == 1


def test_killed_between_upload_and_create(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fixtures(tmp_path, 20)
    with FakeBatchServer(answer=every_tenth_bad_first, hang_before_create=30.0) as server:
        write_config(tmp_path, server)
        kill_when(start_cli(tmp_path), server.arrived["before-create"])
        assert (server.uploads, server.creates) == (1, 0)
        server.hang_before_create = 0.0
        code, err = generate(capsys, "--all")
    assert code == 0, err
    assert_all_written(tmp_path, 20)
    assert server.uploads == 2  # the recorded upload is reused; the second is the retry file
    assert server.creates == 2
    assert max(server.submissions.values()) == 1


def test_a_thousand_fixtures_killed_between_create_and_collect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fixtures(tmp_path, 1000)
    hold = threading.Event()
    with FakeBatchServer(answer=every_tenth_bad_first, hold=hold) as server:
        write_config(tmp_path, server)
        kill_when(start_cli(tmp_path), server.arrived["retrieve"])
        assert server.creates == 1
        hold.set()
        code, err = generate(capsys, "--all")
    assert code == 0, err
    assert_all_written(tmp_path, 1000)
    assert server.creates == 2
    assert len(server.submissions) == 1100
    assert max(server.submissions.values()) == 1  # the fake's count: nothing sent twice


def test_the_file_runner_feeds_the_external_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers.fake_openai import FakeOpenAIServer, Reply

    write_fixtures(tmp_path, 2)
    args = ["--all", "--engine", "external", "--model", "local-model"]
    code, err = generate(capsys, *args)
    assert code == 1
    waiting = [line for line in err.splitlines() if line.startswith("waiting for ")]
    assert len(waiting) == 1
    assert "vllm run-batch -i " in waiting[0]
    input_path = tmp_path / "state" / "requests" / "job-00001.jsonl"
    output_path = tmp_path / "state" / "results" / "job-00001.output.jsonl"
    with FakeOpenAIServer(default=Reply(content=GOOD)) as chat:
        runner = subprocess.run(
            [
                sys.executable,
                "-m",
                "jaunt.promptkit.cli.batch",
                str(input_path),
                str(output_path),
                "--base-url",
                chat.base_url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert runner.returncode == 0, runner.stderr
        assert "2 requests to http://127.0.0.1:" in runner.stderr
        assert len(chat.requests) == 2
    code, err = generate(capsys, *args)
    assert code == 0, err
    assert_all_written(tmp_path, 2)


def test_local_engine_through_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers.fake_openai import FakeOpenAIServer, Reply

    write_fixtures(tmp_path, 3)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAIServer(default=Reply(content=GOOD)) as chat:
        local = ("--engine", "local", "--model", "local", "--base-url", chat.base_url)
        code, err = generate(capsys, "--all", *local)
        assert code == 2
        assert "e.g. export OPENAI_API_KEY=local" in err
        monkeypatch.setenv("OPENAI_API_KEY", "local")
        code, err = generate(capsys, "--all", *local)
        assert code == 0, err
        assert len(chat.requests) == 3
        assert_all_written(tmp_path, 3)
        code, err = generate(capsys, "--all", *local)
        assert code == 0, err
        assert len(chat.requests) == 3  # collected answers are not asked for again
