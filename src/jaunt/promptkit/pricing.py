"""The one price table: what a model costs per token, with where and when each price was read.

The table ships with the package (``prices.toml`` next to this module) and serves ``cost``,
``diff``, ``eval`` and batch reports alike. Prices change, so every entry carries the page it
was read from and the date, and a project overrides or adds entries in ``jaunt.toml``::

    [prices.gpt-4.1]
    input_per_mtok = 2.00            # USD per million input tokens
    cached_input_per_mtok = 0.50     # ... for input served from the provider's prompt cache
    output_per_mtok = 8.00
    batch_discount = 0.5             # 0.5 = half price through the Batch API

An override of a known model may give only the keys that changed; a new model needs at
least ``input_per_mtok`` and ``output_per_mtok`` (cached input then costs the same as input,
and the Batch API gives no discount, unless said otherwise).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from jaunt.promptkit.errors import ConfigError
from jaunt.promptkit.files import toml_type
from jaunt.promptkit.settings import JauntConfig

PRICES_FILE = "prices.toml"
TABLE_NAME = f"jaunt.promptkit/{PRICES_FILE}"
"""How errors name the packaged table."""

_NUMBER_KEYS = ("input_per_mtok", "cached_input_per_mtok", "output_per_mtok", "batch_discount")
_TEXT_KEYS = ("source", "read_on")
_KEYS = _NUMBER_KEYS + _TEXT_KEYS
PER_MTOK = 1_000_000
# The model diff and cost price with when neither --model nor [llm] model names one.
DEFAULT_PRICED_MODEL = "gpt-4.1-mini"


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens for one model, and where the prices come from."""

    model: str
    input_per_mtok: float
    cached_input_per_mtok: float
    output_per_mtok: float
    batch_discount: float
    source: str
    read_on: str

    def cost(
        self,
        *,
        input_tokens: int,
        cached_input_tokens: int = 0,
        output_tokens: int = 0,
        batch: bool = False,
    ) -> float:
        """USD for one or many requests; ``cached_input_tokens`` is part of ``input_tokens``.

        Through the Batch API (``batch=True``) the whole price is cut by ``batch_discount``.
        """
        cached = min(max(cached_input_tokens, 0), input_tokens)
        usd = (
            (input_tokens - cached) * self.input_per_mtok
            + cached * self.cached_input_per_mtok
            + output_tokens * self.output_per_mtok
        ) / PER_MTOK
        if batch:
            usd *= 1.0 - self.batch_discount
        return usd


class PriceTable:
    """Model name -> :class:`ModelPrice`; ``origin`` names the table in errors."""

    def __init__(self, prices: Mapping[str, ModelPrice], origin: str = TABLE_NAME) -> None:
        self._prices = dict(prices)
        self.origin = origin

    @property
    def models(self) -> list[str]:
        return sorted(self._prices)

    def __contains__(self, model: object) -> bool:
        return model in self._prices

    def get(self, model: str) -> ModelPrice:
        """The price of ``model``; unknown: a :class:`ConfigError` naming the table and models."""
        try:
            return self._prices[model]
        except KeyError:
            raise ConfigError(
                f"no price for model {model!r} in the price table ({self.origin}); "
                f"known models: {', '.join(self.models)}; add one in jaunt.toml as "
                f"[prices.{model}] with input_per_mtok and output_per_mtok"
            ) from None


def load_price_table(
    overrides: Mapping[str, Mapping[str, object]] | None = None,
    *,
    overrides_path: str | None = None,
) -> PriceTable:
    """The packaged table with ``overrides`` (the ``[prices.<model>]`` tables of jaunt.toml).

    ``overrides_path`` names the file the overrides come from, in errors and in each
    overridden entry's ``source``.
    """
    text = resources.files("jaunt.promptkit").joinpath(PRICES_FILE).read_text(encoding="utf-8")
    packaged = tomllib.loads(text)["models"]
    prices = {name: _entry(name, values, TABLE_NAME, None) for name, values in packaged.items()}
    origin = TABLE_NAME
    if overrides:
        where = overrides_path or "jaunt.toml"
        origin = f"{TABLE_NAME} with [prices] of {where}"
        for name, values in overrides.items():
            if not isinstance(values, Mapping):
                raise ConfigError(
                    f"must be a table ([prices.{name}]), not {toml_type(values)}",
                    path=overrides_path,
                    key=f"prices.{name}",
                )
            prices[name] = _entry(name, values, where, prices.get(name), path=overrides_path)
    return PriceTable(prices, origin)


def _entry(
    model: str,
    values: Mapping[str, Any],
    origin: str,
    base: ModelPrice | None,
    *,
    path: str | None = None,
) -> ModelPrice:
    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(message, path=path, key=f"prices.{model}.{key}" if key else None)

    for key in values:
        if key not in _KEYS:
            raise fail(key, f"unknown key (allowed: {', '.join(_KEYS)})")
    numbers: dict[str, float] = {}
    for key in _NUMBER_KEYS:
        if key not in values:
            continue
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(key, f"must be a number, not {toml_type(value)}")
        if value < 0 or (key == "batch_discount" and value > 1):
            limit = "between 0 and 1" if key == "batch_discount" else "at least 0"
            raise fail(key, f"must be {limit}, not {value:g}")
        numbers[key] = float(value)
    texts: dict[str, str] = {}
    for key in _TEXT_KEYS:
        if key in values:
            if not isinstance(values[key], str):
                raise fail(key, f"must be a string, not {toml_type(values[key])}")
            texts[key] = values[key]
    if base is not None:
        # An overridden price no longer comes from the provider page the packaged one cites.
        return replace(
            base,
            input_per_mtok=numbers.get("input_per_mtok", base.input_per_mtok),
            cached_input_per_mtok=numbers.get("cached_input_per_mtok", base.cached_input_per_mtok),
            output_per_mtok=numbers.get("output_per_mtok", base.output_per_mtok),
            batch_discount=numbers.get("batch_discount", base.batch_discount),
            source=texts.get("source", origin),
            read_on=texts.get("read_on", ""),
        )
    for key in ("input_per_mtok", "output_per_mtok"):
        if key not in numbers:
            raise fail(key, "missing required key (a model not in the packaged table needs it)")
    return ModelPrice(
        model=model,
        input_per_mtok=numbers["input_per_mtok"],
        cached_input_per_mtok=numbers.get("cached_input_per_mtok", numbers["input_per_mtok"]),
        output_per_mtok=numbers["output_per_mtok"],
        batch_discount=numbers.get("batch_discount", 0.0),
        source=texts.get("source", origin),
        read_on=texts.get("read_on", ""),
    )


def project_price_table(config: JauntConfig | None) -> PriceTable:
    """The packaged table with the ``[prices]`` overrides of ``config`` (if any)."""
    if config is None or not config.prices:
        return load_price_table()
    return load_price_table(config.prices, overrides_path=str(config.path))


def known_price(model: str, config: JauntConfig | None = None) -> ModelPrice | None:
    """``model``'s price in the packaged table with ``config``'s ``[prices]``; ``None`` for a
    model the table does not know (a local one: its cost is n/a, not an error)."""
    try:
        return project_price_table(config).get(model)
    except ConfigError:
        return None
