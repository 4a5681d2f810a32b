"""Configuration: ``[llm]`` and ``[prompts]`` of ``jaunt.toml``.

Other tables of ``jaunt.toml`` belong to the rest of jaunt and are ignored here; inside
``[llm]`` and ``[prompts]`` every key is checked, and every problem is a
:class:`~jaunt.errors.ConfigError` whose message starts with ``<file>: key '<key>'``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from jaunt.promptkit.errors import ConfigError
from jaunt.promptkit.files import read_text, toml_type
from jaunt.promptkit.scrub import scrub_url
from jaunt.validation import MAX_SOURCE_CHARS

CONFIG_FILE_NAME = "jaunt.toml"

TokenLimitParam = Literal["auto", "max_tokens", "max_completion_tokens"]
TOKEN_LIMIT_PARAMS: tuple[str, ...] = get_args(TokenLimitParam)
SUPPORTED_PROVIDERS = ("openai",)

# What an OpenAI-compatible base URL may start with; anything else only fails after retries.
BASE_URL_SCHEMES = ("http", "https")

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_OUTPUT_TOKENS = 16384
# A generated module is tens of kilobytes; a body past this is a broken or hostile server.
DEFAULT_MAX_ANSWER_BYTES = 2_000_000
# Beyond any model's context window (about 500,000 tokens): a request this large is a
# mistake (a runaway fixture or template) that would only cost money to be refused.
DEFAULT_MAX_REQUEST_CHARS = 2_000_000


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def api_key_env_problem(name: str) -> str:
    """Why ``name`` is not a usable ``api_key_env`` ("" when it is); never quotes a key."""
    if not name.strip():
        return "must name an environment variable"
    if not _ENV_NAME.fullmatch(name):
        # Most likely the key itself was pasted here: do not echo it anywhere.
        return (
            "must be the NAME of an environment variable holding the key (letters, digits "
            "and _), not the key itself; the value is not shown"
        )
    return ""


def base_url_problem(url: str, *, allow_insecure: bool = False) -> str:
    """Why ``url`` cannot be a base URL ("" when it can); never quotes user-info."""
    shown = scrub_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # raises ValueError for a bad port or an unbracketed IPv6
    except ValueError:
        return (
            f"{shown!r} is not a valid URL (an IPv6 address needs brackets, e.g. "
            "http://[::1]:8080/v1)"
        )
    if parts.scheme not in BASE_URL_SCHEMES:
        return f"must be an http:// or https:// URL (e.g. http://127.0.0.1:8080/v1), not {shown!r}"
    if not parts.hostname:
        return f"{shown!r} names no host"
    if parts.scheme == "http" and not allow_insecure and not is_loopback_host(parts.hostname):
        return (
            f"{shown!r} is plain http:// to another machine: prompts and the API key would "
            "travel unencrypted. Use https://, a loopback address, or set "
            "[llm] allow_insecure_base_url = true"
        )
    return ""


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ``::1``)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class PromptsConfig:
    """Override template paths, one per template; ``""`` means the packaged default.

    Relative paths are resolved by the ``jaunt.toml`` loader against that file's directory.
    """

    build_system: str = ""
    build_module: str = ""
    test_system: str = ""
    test_module: str = ""


@dataclass(frozen=True)
class LLMConfig:
    """How to reach the model. Holds the *name* of the key variable, never the key itself.

    ``token_limit_param`` picks the request field that carries ``max_output_tokens``:
    ``"max_completion_tokens"`` (what OpenAI's reasoning models require),
    ``"max_tokens"`` (the only one llama-cpp-python's server and many other
    OpenAI-compatible servers honour), or ``"auto"``: the former for ``api.openai.com``
    (and no base URL at all), the latter for any other server.

    ``capture_fixtures_dir``: when non-empty, every context the backend generates from is
    also written there as a prompt fixture (see :mod:`jaunt.promptkit.capture`).
    """

    provider: str
    model: str
    api_key_env: str
    base_url: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    # Generated modules longer than this many characters are rejected before parsing.
    max_source_chars: int = MAX_SOURCE_CHARS
    temperature: float | None = None
    # Sampling seed for servers that honour it (llama.cpp does); None sends none.
    seed: int | None = None
    token_limit_param: TokenLimitParam = "auto"
    capture_fixtures_dir: str = ""
    # Bodies larger than this are a failed attempt (0: no limit).
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES
    # Plain http:// to a host that is not loopback is refused unless this is set.
    allow_insecure_base_url: bool = False
    # Requests whose messages hold more characters than this are not sent (0: no limit).
    max_request_chars: int = DEFAULT_MAX_REQUEST_CHARS


# Inside jaunt, the settings jaunt's own ``LLMConfig`` does not carry take these values
# (see :func:`llm_settings`); README "Using this layer in jaunt" says why each.
JAUNT_DEFAULTS: dict[str, object] = {
    # jaunt used the SDK's default (600 s) and its default model reasons for minutes on a
    # large module: a shorter deadline would turn slow-but-fine builds into failures.
    "timeout_s": 600.0,
    # The SDK's own default, which jaunt had.
    "max_retries": 2,
    # jaunt sent no cap. A reasoning model spends output tokens on its reasoning too, so the
    # cap must leave room for that above the module itself; it still bounds a runaway answer.
    "max_output_tokens": 32768,
    # jaunt sent no temperature; OpenAI's reasoning models refuse any but the default.
    "temperature": None,
}


def llm_settings(llm: object) -> LLMConfig:
    """The layer's full settings from any ``LLMConfig``-like object.

    The one place that reads jaunt's own ``jaunt.config.LLMConfig`` (``provider``, ``model``,
    ``api_key_env``, perhaps more as jaunt adds fields): every field of ours it lacks takes
    :data:`JAUNT_DEFAULTS`, else our default. Our own ``LLMConfig`` comes back as is.
    """
    if isinstance(llm, LLMConfig):
        return llm
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(LLMConfig):
        if hasattr(llm, spec.name):
            values[spec.name] = getattr(llm, spec.name)
        elif spec.name in JAUNT_DEFAULTS:
            values[spec.name] = JAUNT_DEFAULTS[spec.name]
        elif spec.default is dataclasses.MISSING:
            raise ConfigError(f"LLM settings ({type(llm).__name__}) have no {spec.name!r}")
    return LLMConfig(**values)


@dataclass(frozen=True)
class JauntConfig:
    """The parts of ``jaunt.toml`` Layer 1 reads; ``llm`` is ``None`` without an ``[llm]`` table."""

    path: Path
    llm: LLMConfig | None
    prompts: PromptsConfig
    # [prompts] cache_contract = true: the system templates must stay static (lint JP-rule,
    # `diff --fail-on-cache-break`); kept here, not on PromptsConfig, which is jaunt's type.
    cache_contract: bool = False
    # The raw [prices.<model>] tables; jaunt.promptkit.pricing.load_price_table checks them.
    prices: dict[str, Any] = field(default_factory=dict)


def find_config(start_dir: str | os.PathLike[str] = ".") -> Path | None:
    """The nearest ``jaunt.toml`` in ``start_dir`` or one of its parents, if any."""
    here = Path(start_dir).resolve()
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(path: str | os.PathLike[str]) -> JauntConfig:
    """Read ``[llm]`` and ``[prompts]`` of a ``jaunt.toml``; prompt paths come back absolute."""
    config_path = Path(path).absolute()
    shown = str(path)
    text = read_text(path, ConfigError, "config file")
    return parse_config(text, path=shown, base_dir=config_path.parent)


def parse_config(text: str, *, path: str, base_dir: str | os.PathLike[str]) -> JauntConfig:
    """Parse ``jaunt.toml`` text; ``path`` names the file in errors, ``base_dir`` anchors paths."""
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already ends in "(at line L, column C)".
        raise ConfigError(f"invalid TOML: {exc}", path=path) from None
    except RecursionError:
        raise ConfigError("invalid TOML: arrays or tables nested too deeply", path=path) from None
    reader = _Reader(path, Path(base_dir).absolute())
    llm_table = reader.table(data, "llm")
    prompts_table = reader.table(data, "prompts")
    prices_table = reader.table(data, "prices")
    cache_contract = False
    if prompts_table is not None and "cache_contract" in prompts_table:
        cache_contract = prompts_table.pop("cache_contract")
        if not isinstance(cache_contract, bool):
            raise reader.fail(
                "prompts.cache_contract", f"must be true or false, not {toml_type(cache_contract)}"
            )
    return JauntConfig(
        path=Path(path).absolute(),
        llm=None if llm_table is None else reader.llm(llm_table),
        prompts=PromptsConfig() if prompts_table is None else reader.prompts(prompts_table),
        cache_contract=cache_contract,
        prices=dict(prices_table or {}),
    )


_LLM_KEYS = (
    "provider",
    "model",
    "api_key_env",
    "base_url",
    "timeout_s",
    "max_retries",
    "max_output_tokens",
    "max_source_chars",
    "temperature",
    "seed",
    "token_limit_param",
    "capture_fixtures_dir",
    "max_answer_bytes",
    "max_request_chars",
    "allow_insecure_base_url",
    "allow_outside_project",
)
_PROMPT_KEYS = ("build_system", "build_module", "test_system", "test_module")
_PROMPT_TABLE_KEYS = (*_PROMPT_KEYS, "allow_outside_project")


class _Reader:
    def __init__(self, path: str, base_dir: Path) -> None:
        self.path = path
        self.base_dir = base_dir

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, path=self.path, key=key)

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any] | None:
        if key not in data:
            return None
        value = data[key]
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table ([{key}]), not {toml_type(value)}")
        return value

    def unknown_keys(self, table: dict[str, Any], section: str, allowed: tuple[str, ...]) -> None:
        for unknown in sorted(set(table) - set(allowed)):
            raise self.fail(f"{section}.{unknown}", f"unknown key (allowed: {', '.join(allowed)})")

    def string(self, table: dict[str, Any], section: str, key: str, default: str | None) -> str:
        if key not in table:
            if default is None:
                raise self.fail(f"{section}.{key}", "missing required key")
            return default
        value = table[key]
        if not isinstance(value, str):
            raise self.fail(f"{section}.{key}", f"must be a string, not {toml_type(value)}")
        return value

    def number(self, table: dict[str, Any], key: str, default: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"llm.{key}", f"must be a number, not {toml_type(value)}")
        if not math.isfinite(value):
            raise self.fail(f"llm.{key}", f"must be a finite number, not {value}")
        return float(value)

    def boolean(self, table: dict[str, Any], section: str, key: str) -> bool:
        value = table.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(f"{section}.{key}", f"must be true or false, not {toml_type(value)}")
        return value

    def integer(self, table: dict[str, Any], key: str, default: int, minimum: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"llm.{key}", f"must be an integer, not {toml_type(value)}")
        if value < minimum:
            raise self.fail(f"llm.{key}", f"must be at least {minimum}, not {value}")
        return value

    def path_value(self, raw: str, key: str, *, allow_outside: bool) -> str:
        """``raw`` made absolute against the config's folder, which it must stay inside.

        Containment with consent: a path (or a symlink on it) that leads out of the project
        folder is refused unless ``allow_outside_project = true`` stands in the same table,
        so a ``jaunt.toml`` from elsewhere cannot send ``~/.ssh/id_rsa`` to a model.
        """
        if not raw:
            return ""
        if "\x00" in raw:
            raise self.fail(key, "must not contain a NUL character")
        path = self.base_dir / Path(raw).expanduser()
        if not allow_outside:
            try:
                resolved = path.resolve()
                root = self.base_dir.resolve()
            except (OSError, RuntimeError) as exc:  # a symlink loop
                raise self.fail(key, f"cannot resolve {raw!r}: {exc}") from None
            if resolved != root and root not in resolved.parents:
                section = key.split(".")[0]
                raise self.fail(
                    key,
                    f"{raw!r} resolves to {resolved}, outside the project folder {root}; "
                    f"set [{section}] allow_outside_project = true to allow it",
                )
        return str(path)

    def llm(self, table: dict[str, Any]) -> LLMConfig:
        self.unknown_keys(table, "llm", _LLM_KEYS)
        provider = self.string(table, "llm", "provider", "openai")
        if provider not in SUPPORTED_PROVIDERS:
            raise self.fail(
                "llm.provider",
                f"unsupported provider {provider!r} (supported: {', '.join(SUPPORTED_PROVIDERS)}; "
                'any OpenAI-compatible server works with provider = "openai" and base_url)',
            )
        model = self.string(table, "llm", "model", None)
        if not model.strip():
            raise self.fail("llm.model", "must not be empty")
        api_key_env = self.string(table, "llm", "api_key_env", "OPENAI_API_KEY")
        problem = api_key_env_problem(api_key_env)
        if problem:
            raise self.fail("llm.api_key_env", problem)
        base_url = self.string(table, "llm", "base_url", "") or None
        allow_insecure = self.boolean(table, "llm", "allow_insecure_base_url")
        if base_url is not None:
            problem = base_url_problem(base_url, allow_insecure=allow_insecure)
            if problem:
                raise self.fail("llm.base_url", problem)
        timeout_s = self.number(table, "timeout_s", DEFAULT_TIMEOUT_S)
        if timeout_s <= 0:
            raise self.fail("llm.timeout_s", f"must be greater than 0, not {timeout_s:g}")
        temperature: float | None = None
        if "temperature" in table:
            temperature = self.number(table, "temperature", 0.0)
            if not 0.0 <= temperature <= 2.0:
                raise self.fail("llm.temperature", f"must be between 0 and 2, not {temperature:g}")
        seed = self.integer(table, "seed", 0, 0) if "seed" in table else None
        token_limit_param = self.string(table, "llm", "token_limit_param", "auto")
        if token_limit_param not in TOKEN_LIMIT_PARAMS:
            raise self.fail(
                "llm.token_limit_param",
                f"must be one of {', '.join(TOKEN_LIMIT_PARAMS)}, not {token_limit_param!r}",
            )
        return LLMConfig(
            provider=provider,
            model=model,
            api_key_env=api_key_env,
            base_url=base_url,
            timeout_s=timeout_s,
            max_retries=self.integer(table, "max_retries", DEFAULT_MAX_RETRIES, 0),
            max_output_tokens=self.integer(
                table, "max_output_tokens", DEFAULT_MAX_OUTPUT_TOKENS, 1
            ),
            max_source_chars=self.integer(table, "max_source_chars", MAX_SOURCE_CHARS, 1),
            temperature=temperature,
            seed=seed,
            token_limit_param=token_limit_param,  # type: ignore[arg-type]  # checked above
            capture_fixtures_dir=self.path_value(
                self.string(table, "llm", "capture_fixtures_dir", ""),
                "llm.capture_fixtures_dir",
                allow_outside=self.boolean(table, "llm", "allow_outside_project"),
            ),
            max_answer_bytes=self.integer(table, "max_answer_bytes", DEFAULT_MAX_ANSWER_BYTES, 0),
            max_request_chars=self.integer(
                table, "max_request_chars", DEFAULT_MAX_REQUEST_CHARS, 0
            ),
            allow_insecure_base_url=allow_insecure,
        )

    def prompts(self, table: dict[str, Any]) -> PromptsConfig:
        self.unknown_keys(table, "prompts", _PROMPT_TABLE_KEYS)
        allow_outside = self.boolean(table, "prompts", "allow_outside_project")
        paths = {
            key: self.path_value(
                self.string(table, "prompts", key, ""),
                f"prompts.{key}",
                allow_outside=allow_outside,
            )
            for key in _PROMPT_KEYS
        }
        return PromptsConfig(**paths)
