"""One Markdown snapshot per (template set x fixture): the packaged set and every set under
``prompts/`` against every fixture in ``prompt_fixtures/``.

A template change shows up as a failing snapshot with a text diff; accept it with
``uv run pytest tests/test_snapshots.py --snapshot-update`` and review the ``.md`` diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from jaunt.fixtures import load_fixture_dir
from jaunt.prompt_cases import PromptCase, discover_sets, prompt_cases
from jaunt.snapshot import MarkdownSnapshotExtension

ROOT = Path(__file__).resolve().parent.parent
CASES = prompt_cases(discover_sets(ROOT / "prompts"), load_fixture_dir(ROOT / "prompt_fixtures"))


@pytest.fixture
def md_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(MarkdownSnapshotExtension)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_prompt(case: PromptCase, md_snapshot: SnapshotAssertion) -> None:
    assert case.markdown() == md_snapshot
