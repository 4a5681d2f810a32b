"""Running prompt fixtures through a model: the library behind ``jaunt-prompts generate``.

What to ask (:func:`llm_config` merges ``[llm]`` with overrides), whom to ask
(:func:`make_backend`), the run (:func:`generate_fixture`: one
:meth:`~jaunt.generate.base.GeneratorBackend.generate_with_retry`, whose attempt records
are the whole account of what happened) and where the module goes (:func:`write_module`).
Nothing here prints; nothing here validates an answer (the retry loop did, once).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jaunt.generate.base import AttemptObserver, GenerationResult, GeneratorBackend
from jaunt.promptkit.errors import ConfigError
from jaunt.promptkit.files import atomic_write
from jaunt.promptkit.fixtures import Fixture
from jaunt.promptkit.scrub import scrub
from jaunt.promptkit.settings import JauntConfig, LLMConfig, api_key_env_problem
from jaunt.promptkit.template_set import TemplateSet

if TYPE_CHECKING:
    import httpx2

    from jaunt.generate.openai_backend import OpenAIBackend

DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"


@dataclass(frozen=True)
class LLMOverrides:
    """Settings that win over ``[llm]`` (``None``: keep the config's)."""

    model: str | None = None
    base_url: str | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None
    seed: int | None = None


def llm_config(config: JauntConfig | None, overrides: LLMOverrides) -> LLMConfig:
    """``[llm]`` of ``config`` (if any) with ``overrides`` applied.

    Without an ``[llm]`` table a model override is enough (key from ``OPENAI_API_KEY``);
    with neither, :class:`~jaunt.errors.ConfigError`.
    """
    llm = config.llm if config is not None else None
    if llm is None:
        if not overrides.model:
            where = f"{config.path} has no [llm] table" if config else "no jaunt.toml found"
            raise ConfigError(f"no model to ask: pass --model NAME ({where})")
        llm = LLMConfig(provider="openai", model=overrides.model, api_key_env=DEFAULT_API_KEY_ENV)
    changes: dict[str, Any] = {
        name: value
        for name, value in dataclasses.asdict(overrides).items()
        if value is not None and value != ""
    }
    return dataclasses.replace(llm, **changes)


def make_backend(
    llm: LLMConfig, templates: TemplateSet, *, transport: httpx2.AsyncBaseTransport | None = None
) -> OpenAIBackend:
    """The OpenAI backend for ``llm`` with ``templates`` (and an httpx ``transport``, e.g.
    eval's response cache); a missing key says how to set one."""
    from jaunt.generate.openai_backend import OpenAIBackend  # here: keeps callers light

    try:
        return OpenAIBackend(llm, templates=templates, transport=transport)
    except ConfigError as exc:
        if llm.base_url is None or api_key_env_problem(llm.api_key_env):
            raise
        # A local server ignores the key, but the SDK (and jaunt) still want one set.
        raise ConfigError(
            f"{exc} (a server that ignores keys still needs a value, e.g. "
            f"export {llm.api_key_env}=local)"
        ) from None


@dataclass(frozen=True)
class FixtureRun:
    """One fixture generated: the result (with a record per attempt) and the time it took."""

    fixture: Fixture
    result: GenerationResult
    seconds: float


async def generate_fixture(
    backend: GeneratorBackend,
    fixture: Fixture,
    *,
    max_attempts: int = 2,
    observer: AttemptObserver | None = None,
) -> FixtureRun:
    """Generate ``fixture``'s module with retries; backend errors are raised."""
    started = time.monotonic()
    result = await backend.generate_with_retry(
        fixture.context, max_attempts=max_attempts, observer=observer
    )
    return FixtureRun(fixture, result, time.monotonic() - started)


def module_text(source: str) -> str:
    """A module's file text: the code as fenced (the backend's answer), one final newline,
    scrubbed (a model that echoes a key back must not write it into a file)."""
    return scrub(source.rstrip()) + "\n"


def write_module(out_dir: Path, run: FixtureRun) -> Path | None:
    """Write the run's module to ``out_dir``: ``<fixture>.py``, or ``<fixture>.failed.py``.

    Each file is written whole or not at all (:func:`~jaunt.promptkit.files.atomic_write`,
    never through a symlink out of ``out_dir``). A validated module replaces
    ``<fixture>.py`` and removes a stale ``.failed.py``; a run that never validated writes
    its last attempt's code to ``<fixture>.failed.py`` and never removes or truncates the
    last good module. Returns the file written (``None``: no attempt produced code).
    """
    name, result = run.fixture.name, run.result
    out_dir.mkdir(parents=True, exist_ok=True)
    good, bad = out_dir / f"{name}.py", out_dir / f"{name}.failed.py"
    source = result.last_source
    if result.ok:
        atomic_write(good, module_text(source or ""), within=out_dir)
        bad.unlink(missing_ok=True)
        return good
    if source is None:
        return None
    return atomic_write(bad, module_text(source), within=out_dir)
