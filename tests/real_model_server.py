"""Pytest fixtures for the real-model tests (loaded by conftest.py).

``real_model_server`` starts llama-cpp-python's server with SmolLM2-135M once per session
on a free loopback port and stops it by its process id at the end. Without the ``e2e``
dependency group every test using it is skipped with the reason, so a plain
``uv run pytest`` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jaunt.testing.llama_server import LlamaServer, ServerStartError, missing_requirements


@pytest.fixture(scope="session")
def real_model_server() -> Iterator[LlamaServer]:
    reason = missing_requirements()
    if reason is not None:
        pytest.skip(f"real model unavailable: {reason}")
    try:
        with LlamaServer.start() as server:
            yield server
    except ServerStartError as exc:
        # Installed but broken is a failure, not a skip: CI must notice.
        pytest.fail(str(exc), pytrace=False)
