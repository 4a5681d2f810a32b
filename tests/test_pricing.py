"""The price table: packaged prices, overrides from jaunt.toml, costs in three modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from jaunt.promptkit.errors import ConfigError
from jaunt.promptkit.pricing import load_price_table, project_price_table
from jaunt.promptkit.settings import load_config

REQUIRED = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o4-mini")


def test_packaged_table_has_every_model_with_source_and_date() -> None:
    table = load_price_table()
    for model in (*REQUIRED, "gpt-5", "gpt-5-mini"):
        price = table.get(model)
        assert price.model == model
        assert price.source.startswith("https://platform.openai.com/docs/pricing")
        assert len(price.read_on) == 10
        assert 0 < price.cached_input_per_mtok <= price.input_per_mtok < price.output_per_mtok
        assert price.batch_discount == 0.5


def test_cost_standard_cached_and_batch() -> None:
    price = load_price_table().get("gpt-4.1")  # 2.00 / 0.50 / 8.00 per million
    assert price.cost(input_tokens=1_000_000) == pytest.approx(2.0)
    assert price.cost(input_tokens=1_000_000, cached_input_tokens=500_000) == pytest.approx(1.25)
    assert price.cost(input_tokens=0, output_tokens=1_000_000) == pytest.approx(8.0)
    assert price.cost(input_tokens=1_000_000, output_tokens=1_000_000, batch=True) == (
        pytest.approx(5.0)
    )


def test_unknown_model_names_the_table_and_known_models() -> None:
    with pytest.raises(ConfigError) as caught:
        load_price_table().get("gpt-9-ultra")
    message = str(caught.value)
    assert "gpt-9-ultra" in message
    assert "prices.toml" in message
    assert "gpt-4.1-mini" in message
    assert "[prices.gpt-9-ultra]" in message


def test_override_changes_only_given_keys_and_adds_models() -> None:
    table = load_price_table(
        {
            "gpt-4.1": {"input_per_mtok": 3.0},
            "local-llama": {"input_per_mtok": 0, "output_per_mtok": 0.0},
        },
        overrides_path="jaunt.toml",
    )
    changed = table.get("gpt-4.1")
    assert changed.input_per_mtok == 3.0
    assert changed.output_per_mtok == 8.0
    assert changed.source == "jaunt.toml"
    added = table.get("local-llama")
    assert added.cost(input_tokens=10**6, output_tokens=10**6) == 0.0
    assert added.batch_discount == 0.0
    assert load_price_table().get("gpt-4.1").input_per_mtok == 2.0


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"m": {"input_per_mtok": "cheap", "output_per_mtok": 1}}, "must be a number, not string"),
        ({"m": {"input_per_mtok": 1}}, "prices.m.output_per_mtok': missing required key"),
        ({"gpt-4o": {"batch_discount": 2}}, "must be between 0 and 1"),
        ({"gpt-4o": {"input_per_mtok": -1}}, "must be at least 0"),
        ({"gpt-4o": {"price": 1}}, "prices.gpt-4o.price': unknown key"),
        ({"gpt-4o": 3}, "must be a table ([prices.gpt-4o]), not integer"),
    ],
)
def test_bad_overrides_are_one_line_config_errors(
    overrides: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_price_table(overrides, overrides_path="jaunt.toml")  # type: ignore[arg-type]
    assert expected in str(caught.value)
    assert str(caught.value).startswith("jaunt.toml: ")
    assert "\n" not in str(caught.value)


def test_prices_and_cache_contract_are_read_from_jaunt_toml(tmp_path: Path) -> None:
    config_file = tmp_path / "jaunt.toml"
    config_file.write_text(
        "[prompts]\ncache_contract = true\n\n[prices.gpt-4o]\noutput_per_mtok = 12.5\n",
        encoding="utf-8",
    )
    config = load_config(config_file)
    assert config.cache_contract is True
    assert project_price_table(config).get("gpt-4o").output_per_mtok == 12.5
    assert project_price_table(None).get("gpt-4o").output_per_mtok == 10.0
    config_file.write_text('[prompts]\ncache_contract = "yes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"prompts\.cache_contract': must be true or false"):
        load_config(config_file)
