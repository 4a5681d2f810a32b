"""Shared pytest setup. Real-model server fixture: see real_model_server.py."""

from real_model_server import real_model_server

__all__ = ["real_model_server"]
