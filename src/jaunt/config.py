"""Configuration: ``[llm]`` and ``[prompts]`` of ``jaunt.toml``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PromptsConfig:
    """Override template paths, one per template; ``""`` means the packaged default.

    Relative paths are resolved by the ``jaunt.toml`` loader against that file's directory.
    """

    build_system: str = ""
    build_module: str = ""
    test_system: str = ""
    test_module: str = ""
