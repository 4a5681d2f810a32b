"""Shared pytest setup.

From real_model_server.py: the ``real_model_server`` fixture, and the hook that runs
``real_model`` tests only when ``-m real_model`` selects them.
"""

from real_model_server import pytest_collection_modifyitems, real_model_server

__all__ = ["pytest_collection_modifyitems", "real_model_server"]
