"""The batch path (jaunt.generate.batch) through the real openai SDK against a local fake of the
Files and Batches endpoints (tests/helpers/fake_batch.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from helpers.fake_batch import Answer, Ending, FakeBatchServer
from helpers.fake_openai import FakeOpenAIServer, Reply
from hypothesis import given
from hypothesis import strategies as st
from shop_context import SHOP_CTX

from jaunt.generate.base import ModuleSpecContext
from jaunt.generate.batch import (
    BatchOptions,
    BatchOutcome,
    BatchProgress,
    BatchStateError,
    check_answer,
    generate_batch,
    parse_output_lines,
    run_batch_file,
)
from jaunt.generate.openai_backend import chat_request_body, token_limit_field
from jaunt.promptkit.context import build_error_context
from jaunt.promptkit.errors import GenerationBackendError
from jaunt.promptkit.messages import render_messages
from jaunt.promptkit.settings import LLMConfig
from jaunt.promptkit.template_set import load_packaged_set

GOOD = "def apply_discount(price, percent):\n    return price\n\n\nclass Cart:\n    pass\n"
BAD = "def apply_discount(price, percent):\n    return price\n"
FAST = BatchOptions(poll_interval_s=0.01, max_poll_interval_s=0.02)
TEMPLATES = load_packaged_set()


def ctx_named(name: str) -> ModuleSpecContext:
    return dataclasses.replace(SHOP_CTX, generated_module=f"shop.__generated__.{name}")


@pytest.fixture
def server() -> Iterator[FakeBatchServer]:
    with FakeBatchServer(answer=lambda cid, body: Answer(f"```python\n{GOOD}```")) as fake:
        yield fake


def llm_for(server: FakeBatchServer | FakeOpenAIServer, **extra: Any) -> LLMConfig:
    return LLMConfig(
        "openai", "gpt-4o-mini", "JAUNT_BATCH_KEY", base_url=server.base_url, max_retries=0, **extra
    )


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAUNT_BATCH_KEY", "sk-batch-test-secret")


def run(
    requests: list[tuple[str, ModuleSpecContext]],
    server: FakeBatchServer | FakeOpenAIServer,
    state: Path,
    options: BatchOptions = FAST,
    **kwargs: Any,
) -> BatchOutcome:
    return asyncio.run(
        generate_batch(
            requests,
            state_dir=state,
            llm=llm_for(server),
            templates=TEMPLATES,
            options=options,
            **kwargs,
        )
    )


def test_lines_carry_the_online_request_and_statuses_walk_to_completed(
    server: FakeBatchServer, tmp_path: Path
) -> None:
    seen: list[BatchProgress] = []
    outcome = run([("pricing", SHOP_CTX)], server, tmp_path / "s", on_progress=seen.append)

    result = outcome.results["pricing"]
    assert result.ok
    assert result.source == GOOD.rstrip("\n")  # the code as fenced
    assert result.attempts == 1
    assert result.attempt_usage[0] is not None
    assert result.attempt_usage[0].prompt_tokens == 100
    (batch_id,) = server.batches
    assert server.history[batch_id] == ["validating", "in_progress", "finalizing", "completed"]
    # The body is exactly what the online backend sends, plus the cache key.
    llm = llm_for(server)
    messages = render_messages(TEMPLATES, SHOP_CTX)
    expected = chat_request_body(llm, messages, token_field=token_limit_field(llm, server.base_url))
    body = server.bodies["pricing#a1"]
    key = body.pop("prompt_cache_key")
    assert body == expected
    assert key.startswith("jaunt-")
    assert server.batches[batch_id]["endpoint"] == "/v1/chat/completions"
    assert server.batches[batch_id]["completion_window"] == "24h"
    assert seen[-1].completed == 1
    assert seen[-1].submitted == 1


def test_invalid_answers_are_retried_once_in_a_second_batch_with_the_retry_text(
    tmp_path: Path,
) -> None:
    def answer(cid: str, body: dict[str, Any]) -> Answer:
        # "b*" modules answer without Cart on attempt 1.
        return Answer(BAD if cid.startswith("b") and cid.endswith("#a1") else GOOD)

    requests = [(f"{p}{i}", ctx_named(f"{p}{i}")) for p in "ab" for i in range(3)]
    with FakeBatchServer(answer=answer) as server:
        outcome = run(requests, server, tmp_path / "s")

    assert all(r.ok for r in outcome.results.values())
    assert [outcome.results[f"b{i}"].attempts for i in range(3)] == [2, 2, 2]
    assert outcome.results["a0"].attempts == 1
    assert outcome.results["b0"].attempt_errors[0] == ["Missing top-level definition: Cart"]
    assert server.creates == 2  # the failures went out together, as one second batch
    second = server.bodies["b0#a2"]["messages"]
    retry_text = build_error_context(["Missing top-level definition: Cart"], BAD.rstrip("\n"))
    assert second == render_messages(TEMPLATES, ctx_named("b0"), retry_text)
    assert max(server.submissions.values()) == 1


def test_attempts_run_out(tmp_path: Path) -> None:
    with FakeBatchServer(answer=lambda cid, body: Answer(BAD)) as server:
        outcome = run([("m", SHOP_CTX)], server, tmp_path / "s")
    result = outcome.results["m"]
    assert not result.ok
    assert result.attempts == 2
    assert result.errors == ["Missing top-level definition: Cart"]
    assert outcome.progress.failed == 1


def test_error_file_lines_are_sent_once_more_then_reported(tmp_path: Path) -> None:
    def answer(cid: str, body: dict[str, Any]) -> Answer:
        if cid.startswith("flaky") and ".r" not in cid:
            return Answer(status=500, error_message="overloaded")
        if cid.startswith("broken"):
            return Answer(status=400, error_message="bad request")
        return Answer(GOOD)

    requests = [(n, ctx_named(n)) for n in ("ok", "flaky", "broken")]
    with FakeBatchServer(answer=answer) as server:
        outcome = run(requests, server, tmp_path / "s")

    assert outcome.results["ok"].ok
    assert outcome.results["flaky"].ok
    assert outcome.results["flaky"].attempts == 1  # a lost request is not a model attempt
    broken = outcome.results["broken"]
    assert not broken.ok
    assert broken.errors == ["HTTP 400: bad request"]
    assert server.submissions["broken#a1"] == 1
    assert server.submissions["broken#a1.r2"] == 1
    assert "broken#a1.r3" not in server.submissions
    assert [a.custom_id for a in outcome.attempts["broken"]] == ["broken#a1", "broken#a1.r2"]


def test_an_expired_batch_keeps_its_partial_output_and_resends_the_rest_once(
    server: FakeBatchServer, tmp_path: Path
) -> None:
    server.end_next(Ending("expired", answered=2), Ending("expired", answered=0))
    requests = [(f"m{i}", ctx_named(f"m{i}")) for i in range(4)]
    outcome = run(requests, server, tmp_path / "s")

    assert [outcome.results[f"m{i}"].ok for i in range(4)] == [True, True, False, False]
    assert outcome.results["m2"].errors[0].startswith("no answer: batch ")
    assert "ended expired" in outcome.results["m2"].errors[0]
    # m0, m1 answered in the first batch and were never sent again.
    assert server.submissions["m0#a1"] == 1
    assert "m0#a1.r2" not in server.submissions
    assert server.submissions["m2#a1.r2"] == 1
    assert server.creates == 2


def test_a_failed_batch_is_resent_once(server: FakeBatchServer, tmp_path: Path) -> None:
    server.end_next(Ending("failed"))
    outcome = run([("m", SHOP_CTX)], server, tmp_path / "s")
    assert outcome.results["m"].ok
    assert server.creates == 2


def test_max_wait_returns_and_the_next_call_resumes_without_resubmitting(
    tmp_path: Path,
) -> None:
    import threading

    hold = threading.Event()
    with FakeBatchServer(answer=lambda c, b: Answer(GOOD), hold=hold) as server:
        options = dataclasses.replace(FAST, max_wait_s=0.1)
        first = run([("m", SHOP_CTX)], server, tmp_path / "s", options)
        assert not first.complete
        assert first.unfinished == ["m"]
        assert first.results == {}
        hold.set()
        second = run([("m", SHOP_CTX)], server, tmp_path / "s")
        assert second.results["m"].ok
        assert server.uploads == 1
        assert server.creates == 1
        # A finished run asked again costs nothing either.
        third = run([("m", SHOP_CTX)], server, tmp_path / "s")
        assert third.results["m"].source == GOOD.rstrip("\n")  # the code as fenced
        assert server.creates == 1


def test_cancel_cancels_in_flight_batches_and_nothing_is_submitted_after(
    tmp_path: Path,
) -> None:
    import threading

    hold = threading.Event()
    with FakeBatchServer(answer=lambda c, b: Answer(GOOD), hold=hold) as server:
        short = dataclasses.replace(FAST, max_wait_s=0.05)
        run([("m", SHOP_CTX)], server, tmp_path / "s", short)
        outcome = run([("m", SHOP_CTX)], server, tmp_path / "s", FAST, cancel=True)
        assert server.cancels == 1
        assert outcome.cancelled
        assert not outcome.results["m"].ok
        again = run([("m", SHOP_CTX)], server, tmp_path / "s")
        assert server.creates == 1
        assert again.cancelled


def test_limits_split_the_requests_into_files(server: FakeBatchServer, tmp_path: Path) -> None:
    requests = [(f"m{i}", ctx_named(f"m{i}")) for i in range(7)]
    options = dataclasses.replace(FAST, max_requests_per_file=3)
    outcome = run(requests, server, tmp_path / "s", options)
    assert all(r.ok for r in outcome.results.values())
    assert server.creates == 3
    sizes = sorted(b["request_counts"]["total"] for b in server.batches.values())
    assert sizes == [1, 3, 3]

    one_line = len((tmp_path / "s" / "requests" / "job-00001.jsonl").read_bytes()) // 3
    by_bytes = dataclasses.replace(FAST, max_bytes_per_file=one_line * 2 + 10)
    with FakeBatchServer(answer=lambda c, b: Answer(GOOD)) as other:
        run(requests, other, tmp_path / "s2", by_bytes)
        assert other.creates == 4
        for file_id, info in other.files.items():
            if info["purpose"] == "batch":
                assert len(other.contents[file_id]) <= one_line * 2 + 10


def test_cached_tokens_are_reported_and_cache_keys_follow_the_system_message(
    tmp_path: Path,
) -> None:
    test_ctx = dataclasses.replace(SHOP_CTX, kind="test", generated_module="shop.tests.t")
    with FakeBatchServer(answer=lambda c, b: Answer(GOOD, cached_tokens=64)) as server:
        outcome = run(
            [("a", ctx_named("a")), ("b", ctx_named("b")), ("t", test_ctx)],
            server,
            tmp_path / "s",
            dataclasses.replace(FAST, max_attempts=1),
        )
    keys = {cid: body["prompt_cache_key"] for cid, body in server.bodies.items()}
    assert keys["a#a1"] == keys["b#a1"] != keys["t#a1"]
    assert outcome.progress.usage.cached_prompt_tokens == 3 * 64


def test_the_state_folder_refuses_other_inputs(server: FakeBatchServer, tmp_path: Path) -> None:
    run([("m", SHOP_CTX)], server, tmp_path / "s")
    changed = dataclasses.replace(SHOP_CTX, expected_names=["apply_discount"])
    with pytest.raises(BatchStateError, match="asks something else"):
        run([("m", changed)], server, tmp_path / "s")
    with pytest.raises(BatchStateError, match="model"):
        asyncio.run(
            generate_batch(
                [("m", SHOP_CTX)],
                state_dir=tmp_path / "s",
                llm=dataclasses.replace(llm_for(server), model="other"),
                templates=TEMPLATES,
                options=FAST,
            )
        )


def test_local_engine_runs_the_same_lines_against_a_chat_server(tmp_path: Path) -> None:
    with FakeOpenAIServer(default=Reply(content=GOOD)) as chat:
        options = dataclasses.replace(FAST, engine="local")
        outcome = run([("a", ctx_named("a")), ("b", ctx_named("b"))], chat, tmp_path / "s", options)
        assert all(r.ok for r in outcome.results.values())
        assert len(chat.requests) == 2
        sent = [r.body["messages"] for r in chat.requests]
        assert render_messages(TEMPLATES, ctx_named("a")) in sent
        again = run([("a", ctx_named("a")), ("b", ctx_named("b"))], chat, tmp_path / "s", options)
        assert len(chat.requests) == 2
        assert again.results["b"].ok


def test_run_batch_file_writes_the_batch_output_format(tmp_path: Path) -> None:
    lines = [
        {"custom_id": "x", "method": "POST", "url": "/v1/chat/completions", "body": {"m": 1}},
        {"custom_id": "y", "method": "POST", "url": "/v1/chat/completions", "body": {"m": 2}},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    with FakeOpenAIServer() as chat:
        chat.script(Reply(content=GOOD), Reply(status=400, error_message="nope"))
        client = openai.AsyncOpenAI(api_key="k", base_url=chat.base_url, max_retries=0)
        # One at a time: the scripted replies go to the lines in order.
        stats = asyncio.run(
            run_batch_file(source, tmp_path / "out.jsonl", client=client, concurrency=1)
        )
    assert (stats.requests, stats.succeeded, stats.failed) == (2, 1, 1)
    out = parse_output_lines((tmp_path / "out.jsonl").read_text("utf-8"))
    assert out["x"]["response"]["status_code"] == 200
    assert out["x"]["response"]["body"]["choices"][0]["message"]["content"] == GOOD
    assert out["y"]["response"]["status_code"] == 400
    assert out["y"]["response"]["body"]["error"]["message"] == "nope"


def test_external_engine_waits_for_a_vllm_style_output_file(tmp_path: Path) -> None:
    options = dataclasses.replace(FAST, engine="external", max_wait_s=0.05)
    llm = LLMConfig("openai", "local-model", "JAUNT_BATCH_KEY")
    first = asyncio.run(
        generate_batch(
            [("m", SHOP_CTX)],
            state_dir=tmp_path / "s",
            llm=llm,
            templates=TEMPLATES,
            options=options,
        )
    )
    assert first.unfinished == ["m"]
    ((input_path, output_path),) = first.progress.waiting_for
    request = json.loads(Path(input_path).read_text("utf-8"))
    # What `vllm run-batch -i input -o output` writes.
    vllm_line = {
        "id": "vllm-1",
        "custom_id": request["custom_id"],
        "response": {
            "status_code": 200,
            "request_id": "vllm-batch-1",
            "body": {
                "id": "cmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": "local-model",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": GOOD},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            },
        },
        "error": None,
    }
    Path(output_path).write_text(json.dumps(vllm_line) + "\n", "utf-8")
    second = asyncio.run(
        generate_batch(
            [("m", SHOP_CTX)],
            state_dir=tmp_path / "s",
            llm=llm,
            templates=TEMPLATES,
            options=options,
        )
    )
    assert second.results["m"].source == GOOD.rstrip("\n")  # the code as fenced


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
completion_like = st.fixed_dictionaries(
    {},
    optional={
        "choices": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "message": st.fixed_dictionaries(
                        {}, optional={"content": json_values, "refusal": json_values}
                    )
                    | json_values,
                    "finish_reason": json_values,
                },
            )
            | json_values,
            max_size=2,
        )
        | json_values,
        "usage": st.fixed_dictionaries(
            {}, optional={"prompt_tokens": json_values, "completion_tokens": json_values}
        )
        | json_values,
    },
)


@given(body=completion_like)
def test_any_answer_body_is_judged_never_raised(body: dict[str, Any]) -> None:
    _, source, errors, usage, _ = check_answer(
        body, SHOP_CTX, token_field="max_tokens", max_output_tokens=10
    )
    assert (source is not None and not errors) or errors
    assert usage is None or isinstance(usage.prompt_tokens, int)


@given(text=st.text(max_size=300))
def test_any_output_file_text_is_read_never_raised(text: str) -> None:
    lines = parse_output_lines(text)
    assert all(isinstance(v, dict) for v in lines.values())


def test_provider_errors_are_one_scrubbed_line_and_the_run_resumes(tmp_path: Path) -> None:
    with FakeBatchServer(answer=lambda c, b: Answer(GOOD)) as server:
        host_port = server.base_url.removeprefix("http://")
        llm = dataclasses.replace(
            llm_for(server), base_url=f"http://user:pw-secret@{host_port}".replace("/v1", "/nope")
        )
        with pytest.raises(GenerationBackendError) as caught:
            asyncio.run(
                generate_batch(
                    [("m", SHOP_CTX)],
                    state_dir=tmp_path / "s",
                    llm=llm,
                    templates=TEMPLATES,
                    options=FAST,
                )
            )
        message = str(caught.value)
        assert "HTTP 404" in message
        assert "pw-secret" not in message
        assert "sk-batch-test-secret" not in message
        assert "pw-secret" not in (tmp_path / "s" / "state.json").read_text("utf-8")
        outcome = run([("m", SHOP_CTX)], server, tmp_path / "s")
        assert outcome.results["m"].ok


def test_each_attempt_keeps_its_record(server: FakeBatchServer, tmp_path: Path) -> None:
    outcome = run([("pricing", SHOP_CTX)], server, tmp_path / "s")
    (attempt,) = outcome.attempts["pricing"]
    assert attempt.answer == f"```python\n{GOOD}```"
    assert attempt.source == GOOD.rstrip("\n")  # the code as fenced
    assert attempt.errors == []
    assert attempt.finish_reason == "stop"
    assert attempt.usage is not None
    assert attempt.usage.total_tokens == 120
    assert attempt.latency_s is not None
    assert attempt.latency_s >= 0
    assert attempt.batch_id in server.batches
    assert outcome.messages_of(attempt) == render_messages(TEMPLATES, SHOP_CTX)


def test_a_damaged_or_busy_state_folder_is_a_clear_error(
    server: FakeBatchServer, tmp_path: Path
) -> None:
    import fcntl

    state = tmp_path / "s"
    run([("m", SHOP_CTX)], server, state)
    with (state / "lock").open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        with pytest.raises(BatchStateError, match="another process is using this state folder"):
            run([("m", SHOP_CTX)], server, state)
    (state / "results" / "job-00001.json").write_text("{not json", "utf-8")
    with pytest.raises(BatchStateError, match="the batch state is damaged"):
        run([("m", SHOP_CTX)], server, state)


def test_jaunts_three_field_llm_config_works(
    server: FakeBatchServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @dataclasses.dataclass(frozen=True)
    class JauntLLMConfig:  # jaunt's own jaunt.config.LLMConfig
        provider: str
        model: str
        api_key_env: str

    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    outcome = asyncio.run(
        generate_batch(
            [("m", SHOP_CTX)],
            state_dir=tmp_path / "s",
            llm=JauntLLMConfig("openai", "gpt-4o-mini", "JAUNT_BATCH_KEY"),
            templates=TEMPLATES,
            options=FAST,
        )
    )
    assert outcome.results["m"].ok
    # A server that is not api.openai.com gets the token cap as max_tokens, as online.
    assert "max_tokens" in server.bodies["m#a1"]


@pytest.mark.parametrize("seed", range(4))
def test_lost_calls_and_replies_never_submit_twice(seed: int, tmp_path: Path) -> None:
    """A third of all API calls fail, half of them after the server acted; every failure
    ends the run (max_retries=0), and the next run continues from the state folder."""

    def answer(cid: str, body: dict[str, Any]) -> Answer:
        return Answer(BAD if cid.startswith("m1") and "#a1" in cid else GOOD)

    requests = [(f"m{i}", ctx_named(f"m{i}")) for i in range(12)]
    options = dataclasses.replace(FAST, max_requests_per_file=5)
    with FakeBatchServer(answer=answer, chaos_rate=0.33, chaos_seed=seed) as server:
        for _ in range(300):
            try:
                outcome = run(requests, server, tmp_path / "s", options)
            except GenerationBackendError:
                continue
            break
        else:
            pytest.fail("the run never finished")
    assert server.chaos_failures > 0
    assert all(r.ok for r in outcome.results.values())
    assert max(server.submissions.values()) == 1
    uploaded = [f for f in server.files.values() if f["purpose"] == "batch"]
    assert len(uploaded) == server.creates  # no file uploaded twice either
