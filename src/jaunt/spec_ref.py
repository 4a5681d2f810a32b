"""Canonical references to spec objects: ``pkg.mod:Qualname``."""

from __future__ import annotations

from typing import NewType

SpecRef = NewType("SpecRef", str)


def spec_ref_module(ref: SpecRef | str) -> str:
    """The module part of ``pkg.mod:Qualname`` (the whole string when there is no colon)."""
    return ref.partition(":")[0]


def spec_ref_qualname(ref: SpecRef | str) -> str:
    """The qualified-name part of ``pkg.mod:Qualname`` (empty when there is no colon)."""
    return ref.partition(":")[2]
