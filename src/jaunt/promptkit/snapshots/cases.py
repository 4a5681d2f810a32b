"""Prompt cases: one (template set x fixture) pair, rendered to the snapshot's Markdown.

The snapshot tests of this repository, the ``jaunt_prompts`` pytest plugin and anything
else that wants "every set against every fixture" build their cases here. Nothing in this
module needs syrupy or pytest.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jaunt.promptkit.fixtures import Fixture
from jaunt.promptkit.messages import Message, messages_to_markdown, render_messages
from jaunt.promptkit.template_set import TemplateSet, load_packaged_set, load_set_dir


def render_markdown(template_set: TemplateSet, fixture: Fixture) -> str:
    """The snapshot text of ``fixture`` rendered with ``template_set``.

    The same bytes ``jaunt-prompts render --out`` writes to ``<out>/<fixture>.md``.
    """
    return messages_to_markdown(
        render_messages(template_set, fixture.context, fixture.error_context)
    )


@dataclass(frozen=True)
class PromptCase:
    """One fixture rendered with one template set."""

    template_set: TemplateSet
    fixture: Fixture

    @property
    def id(self) -> str:
        """``<set>-<fixture>``: the pytest id, and so the snapshot file's name."""
        return f"{self.template_set.name}-{self.fixture.name}"

    def messages(self) -> list[Message]:
        return render_messages(self.template_set, self.fixture.context, self.fixture.error_context)

    def markdown(self) -> str:
        return render_markdown(self.template_set, self.fixture)


def set_dirs(prompts_root: str | os.PathLike[str]) -> list[Path]:
    """The override set directories under ``prompts_root`` (none when it does not exist)."""
    root = Path(prompts_root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def discover_sets(prompts_root: str | os.PathLike[str]) -> list[TemplateSet]:
    """The packaged set, then every override set under ``prompts_root`` (sorted by name)."""
    return [load_packaged_set(), *(load_set_dir(d) for d in set_dirs(prompts_root))]


def prompt_cases(
    template_sets: Iterable[TemplateSet], fixtures: Sequence[Fixture]
) -> list[PromptCase]:
    """Every set against every fixture, set-major, each in the order given."""
    cases = [PromptCase(s, f) for s in template_sets for f in fixtures]
    ids = [case.id for case in cases]
    # Two sets (or fixtures) whose names collide would share one snapshot file.
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"prompt cases with the same id: {', '.join(duplicates)}")
    return cases
