"""``jaunt-prompts cost`` and the forecast behind it: tokens split by cacheability, three prices."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from jaunt.promptkit.cli.cost_cmd import parse_modules
from jaunt.promptkit.cli.main import main
from jaunt.promptkit.cost import KindLoad, forecast, format_usd
from jaunt.promptkit.pricing import load_price_table

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "prompt_fixtures", tmp_path / "prompt_fixtures")
    (tmp_path / "jaunt.toml").write_text("", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    return tmp_path


def cost(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["cost", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_forecast_caches_the_shared_prefix_after_the_first_request_of_each_build() -> None:
    price = load_price_table().get("gpt-4.1")  # 2.00 in, 0.50 cached, 8.00 out per million
    load = KindLoad("build", (3000, 2000, 2500), shared_prefix_tokens=1300)
    result = forecast([load], price, builds=10, output_tokens_per_request=500)
    (kind,) = result.kinds
    assert kind.requests == 30
    assert kind.input_tokens == 75_000
    # 1,300 shared tokens cache as 1,280 (1,024 + 2 steps of 128) on 2 of 3 requests per build.
    assert kind.cached_input_tokens == 1280 * 2 * 10
    assert kind.output_tokens == 15_000
    assert result.standard_usd == pytest.approx((75_000 * 2.0 + 15_000 * 8.0) / 1e6)
    assert result.cached_usd == pytest.approx(
        ((75_000 - 25_600) * 2.0 + 25_600 * 0.5 + 15_000 * 8.0) / 1e6
    )
    assert result.batch_usd == pytest.approx(result.standard_usd / 2)


def test_below_the_cache_minimum_nothing_is_cached() -> None:
    price = load_price_table().get("gpt-4o")
    result = forecast([KindLoad("build", (900, 950), 340)], price, builds=5)
    assert result.cached_input_tokens == 0
    assert result.cached_usd == result.standard_usd


def test_cost_prints_the_three_modes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cost(capsys, "--model", "gpt-4.1-mini", "--builds", "20")
    assert code == 0
    assert "model gpt-4.1-mini" in out
    assert "platform.openai.com/docs/pricing" in out
    for mode in ("standard", "prompt caching", "Batch API"):
        assert any(line.strip().startswith(mode) and "$" in line for line in out.splitlines())
    assert "build: 160 requests" in out  # 8 build fixtures x 20 builds
    assert "cacheable" in out


def test_json_numbers_match_the_price_table(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cost(
        capsys,
        "--model",
        "gpt-4o",
        "--modules",
        "build=40,test=10",
        "--output-tokens",
        "0",
        "--format",
        "json",
    )
    assert code == 0
    document = json.loads(out)
    kinds = {k["kind"]: k for k in document["kinds"]}
    assert kinds["build"]["requests"] == 40
    assert kinds["test"]["requests"] == 10
    total_in = sum(k["input_tokens"] for k in document["kinds"])
    assert document["usd"]["standard"] == pytest.approx(total_in * 2.5 / 1e6)
    assert document["usd"]["batch"] == pytest.approx(document["usd"]["standard"] / 2)


def test_unknown_model_exits_2_naming_the_table(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cost(capsys, "--model", "gpt-99")
    assert code == 2
    assert out == ""
    assert err.startswith("jaunt-prompts cost: no price for model 'gpt-99' in the price table")
    assert "prices.toml" in err
    assert len(err.strip().splitlines()) == 1


def test_price_override_in_jaunt_toml(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "jaunt.toml").write_text(
        '[llm]\nmodel = "my-local"\n\n[prices.my-local]\ninput_per_mtok = 0\noutput_per_mtok = 0\n',
        encoding="utf-8",
    )
    code, out, _ = cost(capsys)
    assert code == 0
    assert "model my-local" in out
    assert "standard        $0.00" in out


def test_parse_modules() -> None:
    assert parse_modules("build=3,test=0") == {"build": 3, "test": 0}
    for bad in ("build", "docs=3", "build=x", "build=-1"):
        with pytest.raises(ValueError, match="--modules"):
            parse_modules(bad)


def test_format_usd_keeps_small_amounts_visible() -> None:
    assert format_usd(0) == "$0.00"
    assert format_usd(0.0042) == "$0.0042"
    assert format_usd(1234.5) == "$1,234.50"


def test_scaling_a_single_fixture_counts_no_shared_prefix() -> None:
    single = KindLoad("test", (2000,), shared_prefix_tokens=2000)
    assert single.scaled(10).cacheable_tokens == 0
    pair = KindLoad("build", (3000, 2000), shared_prefix_tokens=1100)
    assert pair.scaled(4).request_tokens == (2500,) * 4
    assert pair.scaled(4).cacheable_tokens == 1024


def test_output_tokens_from_an_eval_attempts_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    attempts = project / "attempts.jsonl"
    lines = [
        {"attempt": 1, "usage": {"input_tokens": 900, "output_tokens": 300}},
        {"attempt": 2, "usage": None},  # the server reported none: skipped
        {"attempt": 1, "usage": {"input_tokens": 950, "output_tokens": 500}},
    ]
    attempts.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    code, out, _ = cost(
        capsys, "--model", "gpt-4o", "--output-tokens-from", str(attempts), "--format", "json"
    )
    assert code == 0
    document = json.loads(out)
    assert document["output_tokens_per_request"] == 400
    assert document["output_tokens_source"] == f"mean of 2 recorded attempt(s) in {attempts}"
    code, out, _ = cost(capsys, "--model", "gpt-4o", "--output-tokens-from", str(attempts))
    assert f"(mean of 2 recorded attempt(s) in {attempts}: 400 per request)" in out
    # A file that is not an attempts file: one line naming it, exit 2.
    attempts.write_text('{"usage": {"output_tokens": "many"}}\n', encoding="utf-8")
    code, _, err = cost(capsys, "--model", "gpt-4o", "--output-tokens-from", str(attempts))
    assert code == 2
    assert err.count("\n") == 1
    assert "attempts.jsonl:1" in err
    assert "usage.output_tokens must be a whole number" in err
