"""Prompt cases: one (template set x fixture) pair, rendered to the snapshot's Markdown.

The snapshot tests of this repository, the ``jaunt_prompts`` pytest plugin and anything
else that wants "every set against every fixture" build their cases here. Nothing in this
module needs syrupy or pytest.
"""

from __future__ import annotations

import difflib
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


def _message_sections(markdown: str) -> list[tuple[str, str]]:
    """(role, content) of each message of a snapshot text (see ``messages_to_markdown``)."""
    sections: list[tuple[str, list[str]]] = []
    lines = markdown.split("\n")
    for number, line in enumerate(lines):
        starts = line.startswith("# ") and line[2:] in ("system", "user", "assistant")
        if (
            starts
            and (number == 0 or lines[number - 1] == "")
            and (number + 1 < len(lines) and lines[number + 1] == "")
        ):
            sections.append((line[2:], []))
        elif sections:
            sections[-1][1].append(line)
        else:
            sections.append(("text", [line]))
    return [(role, "\n".join(body).strip("\n")) for role, body in sections]


def drift_report(case_id: str, stored: str | None, rendered: str, *, context: int = 2) -> str:
    """Why a case's snapshot check failed: every changed message, as a whole unified diff.

    Nothing is cut: each changed message gets its own diff with ``context`` lines around
    each change; unchanged messages are not shown.
    """
    if stored is None:
        return f"{case_id}: no snapshot yet; write it with `pytest --snapshot-update` and commit it"
    old, new = _message_sections(stored), _message_sections(rendered)
    lines = [f"{case_id}: the rendered prompt differs from its snapshot"]
    for index in range(max(len(old), len(new))):
        before = old[index] if index < len(old) else ("", "")
        after = new[index] if index < len(new) else ("", "")
        if before == after:
            continue
        role = after[0] or before[0]
        lines.append(f"message {index + 1} ({role}):")
        diff = difflib.unified_diff(
            before[1].split("\n"), after[1].split("\n"), lineterm="", n=context
        )
        lines += [line for line in diff if not line.startswith(("---", "+++"))]
    lines.append("if the change is intended: `pytest --snapshot-update`, then review the diff")
    return "\n".join(lines)
