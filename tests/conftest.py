"""Shared pytest setup.

From real_model_server.py: the ``real_model_server`` fixture, and the hook that runs
``real_model`` tests only when ``-m real_model`` selects them.

Hypothesis: speed is the benchmarks' business, so no per-example deadline (a loaded
2-core CI machine would make it flaky). Under CI (``CI`` set) the examples are
derandomized, so a run is reproducible and a red build is a real bug, not a dice roll;
local runs keep exploring new examples.
"""

import os

from hypothesis import settings
from real_model_server import pytest_collection_modifyitems, real_model_server

settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

__all__ = ["pytest_collection_modifyitems", "real_model_server"]
