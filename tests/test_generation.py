"""The library behind `jaunt-prompts generate`: settings, the run, where modules go, records."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from shop_context import SHOP_CTX

from jaunt.generate.base import (
    AttemptRecord,
    GenerationResult,
    GeneratorBackend,
    ModuleSpecContext,
    TokenUsage,
)
from jaunt.promptkit.errors import ConfigError
from jaunt.promptkit.fixtures import Fixture, dump_fixture, load_fixture
from jaunt.promptkit.generation import (
    FixtureRun,
    LLMOverrides,
    generate_fixture,
    llm_config,
    write_module,
)
from jaunt.promptkit.settings import load_config

GOOD = "def apply_discount(price, percent):\n    return price\n\n\nclass Cart:\n    pass\n"
BAD = "def apply_discount(price, percent):\n    return price\n"


class Scripted(GeneratorBackend):
    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)

    async def generate_module(
        self, ctx: ModuleSpecContext, *, extra_error_context: list[str] | None = None
    ) -> str:
        return self.answers.pop(0)


def _fixture(tmp_path: Path) -> Fixture:
    path = tmp_path / "pricing.toml"
    path.write_text(dump_fixture(SHOP_CTX), "utf-8")
    return load_fixture(path)


def test_llm_config_needs_a_model_without_an_llm_table() -> None:
    with pytest.raises(ConfigError, match=r"no model to ask: pass --model NAME \(no jaunt.toml"):
        llm_config(None, LLMOverrides())
    llm = llm_config(None, LLMOverrides(model="m", base_url="http://127.0.0.1:1/v1", seed=3))
    assert (llm.model, llm.api_key_env, llm.base_url, llm.seed) == (
        "m",
        "OPENAI_API_KEY",
        "http://127.0.0.1:1/v1",
        3,
    )


def test_llm_config_overrides_win_over_the_table(tmp_path: Path) -> None:
    (tmp_path / "jaunt.toml").write_text(
        '[llm]\nmodel = "a"\napi_key_env = "K"\ntemperature = 0.5\nmax_output_tokens = 10\n',
        "utf-8",
    )
    config = load_config(tmp_path / "jaunt.toml")
    llm = llm_config(config, LLMOverrides(temperature=0.0, max_output_tokens=99))
    assert (llm.model, llm.api_key_env, llm.temperature, llm.max_output_tokens) == (
        "a",
        "K",
        0.0,
        99,
    )


def test_generate_fixture_returns_the_records_and_write_module_keeps_the_last_run(
    tmp_path: Path,
) -> None:
    fixture = _fixture(tmp_path)
    out = tmp_path / "out"

    failed = asyncio.run(generate_fixture(Scripted(BAD, BAD), fixture, max_attempts=2))
    assert [r.errors for r in failed.result.records] == [
        ["Missing top-level definition: Cart"],
        ["Missing top-level definition: Cart"],
    ]
    assert write_module(out, failed) == out / "pricing.failed.py"
    assert (out / "pricing.failed.py").read_text("utf-8") == BAD

    passed = asyncio.run(generate_fixture(Scripted(GOOD), fixture, max_attempts=2))
    assert passed.result.ok
    assert write_module(out, passed) == out / "pricing.py"
    assert sorted(p.name for p in out.iterdir()) == ["pricing.py"]  # the failure is gone


def test_write_module_without_any_code_writes_nothing(tmp_path: Path) -> None:
    fixture = _fixture(tmp_path)
    error = "the model's answer was empty"
    result = GenerationResult(
        attempts=1, source=None, errors=[error], records=[AttemptRecord(1, errors=[error])]
    )
    assert write_module(tmp_path / "out", FixtureRun(fixture, result, 0.1)) is None
    assert list((tmp_path / "out").iterdir()) == []


def test_a_record_round_trips_through_json() -> None:
    record = AttemptRecord(
        2,
        error_context=["previous output errors: x"],
        messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        answer="```python\nx = 1\n```",
        source="x = 1\n",
        errors=[],
        usage=TokenUsage(10, 3, 13, 8),
        finish_reason="stop",
        latency_s=0.25,
    )
    text = json.dumps(record.to_json())
    assert AttemptRecord.from_json(json.loads(text)) == record
    assert AttemptRecord.from_json({"number": 1}) == AttemptRecord(1)
