"""Pytest fixtures and hooks for the real-model tests (loaded by conftest.py).

``real_model_server`` starts llama-cpp-python's server with SmolLM2-135M once per session
on a free loopback port and stops it by its process id at the end.

Tests marked ``real_model`` run only when selected (``pytest -m real_model``), so a plain
``uv run pytest`` stays fast even where the ``e2e`` group is installed; selected without
the group, they skip with the reason (or fail, when ``JAUNT_REQUIRE_REAL_MODEL=1``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from helpers.llama_server import LlamaServer, ServerStartError, missing_requirements

MARKER = "real_model"
# Set by CI: there a missing model is a failure, never a quiet skip.
REQUIRE_ENV = "JAUNT_REQUIRE_REAL_MODEL"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if MARKER in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason=f"real-model test: select it with -m {MARKER}")
    for item in items:
        if item.get_closest_marker(MARKER) is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def real_model_server() -> Iterator[LlamaServer]:
    reason = missing_requirements()
    if reason is not None:
        if os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0"):
            pytest.fail(f"{REQUIRE_ENV} is set but {reason}", pytrace=False)
        pytest.skip(f"real model unavailable: {reason}")
    try:
        with LlamaServer.start() as server:
            yield server
    except ServerStartError as exc:
        # Installed but broken is a failure, not a skip: CI must notice.
        pytest.fail(str(exc), pytrace=False)
