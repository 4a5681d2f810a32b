"""Opt-in capture: real runs become fixtures that load and render to the very requests sent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.fake_openai import FakeOpenAIServer, Reply

from jaunt.generate.base import GenerationResult, ModuleSpecContext
from jaunt.generate.openai_backend import OpenAIBackend
from jaunt.promptkit.capture import (
    CAPTURE_ENV,
    capture_context,
    capture_directory,
    fixture_file_name,
)
from jaunt.promptkit.fixtures import load_fixture
from jaunt.promptkit.messages import render_messages
from jaunt.promptkit.settings import LLMConfig
from jaunt.promptkit.template_set import load_packaged_set
from jaunt.spec_ref import SpecRef

KEY_ENV = "JAUNT_TEST_CAPTURE_KEY"
CTX = ModuleSpecContext(
    kind="build",
    spec_module="shop.pricing",
    generated_module="shop.__generated__.pricing",
    expected_names=["apply_discount", "Cart"],
    spec_sources={
        SpecRef("shop.pricing:apply_discount"): 'def apply_discount(p):\n    """Use {{x}}."""',
        SpecRef("shop.pricing:Cart"): "class Cart:\n    '''A cart.'''",
    },
    decorator_prompts={SpecRef("shop.pricing:Cart"): "Keep it a dataclass."},
    dependency_apis={SpecRef("shop.money:to_cents"): "def to_cents(amount) -> int: ..."},
    dependency_generated_modules={"shop.__generated__.money": "def to_cents(a):\n    return a\n"},
    skills_block="Notes about a library.",
)
GOOD = "def apply_discount(p):\n    return p\n\n\nclass Cart:\n    pass"
BAD = "def apply_discount(p):\n    return p"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-capture-test")
    monkeypatch.delenv(CAPTURE_ENV, raising=False)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def _retry(llm: LLMConfig) -> GenerationResult:
    async def main() -> GenerationResult:
        async with OpenAIBackend(llm) as backend:
            return await backend.generate_with_retry(CTX)

    return asyncio.run(main())


def test_round_trip_capture_load_render_same_messages(
    server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CAPTURE_ENV, str(tmp_path / "captured"))
    server.script(Reply(content=BAD), Reply(content=GOOD))
    result = _retry(LLMConfig("openai", "m", KEY_ENV, base_url=server.base_url))
    assert result.ok
    files = sorted(p.name for p in (tmp_path / "captured").iterdir())
    assert files == [
        "shop.__generated__.pricing-attempt2.toml",
        "shop.__generated__.pricing.toml",
    ]
    first = load_fixture(tmp_path / "captured" / "shop.__generated__.pricing.toml")
    second = load_fixture(tmp_path / "captured" / "shop.__generated__.pricing-attempt2.toml")
    assert first.context == CTX
    assert first.error_context == []
    assert second.context == CTX
    assert second.error_context[0] == "previous output errors: Missing top-level definition: Cart"
    templates = load_packaged_set()
    for fixture, request, record in zip(
        (first, second), server.requests, result.records, strict=True
    ):
        # Captured from the attempt's record: its error context, its messages.
        assert fixture.error_context == record.error_context
        assert render_messages(templates, fixture.context, fixture.error_context) == (
            request.messages
        )
        assert record.messages == request.messages


def test_config_directory_used_when_env_is_unset(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.script(Reply(content=GOOD))
    llm = LLMConfig(
        "openai", "m", KEY_ENV, base_url=server.base_url, capture_fixtures_dir=str(tmp_path)
    )
    assert _retry(llm).ok
    assert [p.name for p in tmp_path.iterdir()] == ["shop.__generated__.pricing.toml"]


def test_no_capture_by_default(
    server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    server.script(Reply(content=GOOD))
    assert _retry(LLMConfig("openai", "m", KEY_ENV, base_url=server.base_url)).ok
    assert list(tmp_path.iterdir()) == []


def test_env_wins_over_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CAPTURE_ENV, str(tmp_path / "env"))
    assert capture_directory(str(tmp_path / "config")) == tmp_path / "env"
    monkeypatch.setenv(CAPTURE_ENV, "  ")
    assert capture_directory(str(tmp_path / "config")) == tmp_path / "config"
    assert capture_directory("") is None


def test_file_names_are_deterministic_and_safe() -> None:
    assert fixture_file_name("pkg.__generated__.mod") == "pkg.__generated__.mod.toml"
    assert fixture_file_name("pkg.mod", attempt=3) == "pkg.mod-attempt3.toml"
    assert fixture_file_name("../evil/x y") == ".._evil_x_y.toml"
    assert fixture_file_name("") == "module.toml"


def test_unwritable_directory_does_not_break_generation(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    assert capture_context(blocker / "sub", CTX) is None


def test_unencodable_context_is_skipped(tmp_path: Path) -> None:
    ctx = ModuleSpecContext(**{**CTX.__dict__, "skills_block": "bad \ud800"})
    assert capture_context(tmp_path, ctx) is None
    assert list(tmp_path.iterdir()) == []
