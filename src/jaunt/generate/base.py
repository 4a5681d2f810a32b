"""Backend-independent generation types: the module context, the result, the retry loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from jaunt.spec_ref import SpecRef


@dataclass(frozen=True)
class ModuleSpecContext:
    """Everything the model needs to write one generated module."""

    kind: Literal["build", "test"]
    spec_module: str
    generated_module: str
    expected_names: list[str]
    spec_sources: dict[SpecRef, str]
    decorator_prompts: dict[SpecRef, str]
    dependency_apis: dict[SpecRef, str]
    dependency_generated_modules: dict[str, str]
    # Reference notes about third-party libraries; sent as its own user message when non-empty.
    skills_block: str = ""


@dataclass
class GenerationResult:
    """The outcome of :meth:`GeneratorBackend.generate_with_retry`."""

    attempts: int
    source: str | None
    errors: list[str] = field(default_factory=list)
