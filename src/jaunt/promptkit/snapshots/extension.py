"""The syrupy extension that stores a rendered prompt as one readable Markdown file.

Needs syrupy (a dev dependency). ``import jaunt`` never imports this module; the pytest
plugin imports it only when a test asks for ``jaunt_prompt_snapshot``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from jaunt.promptkit.files import atomic_write

if TYPE_CHECKING:
    from syrupy.data import SnapshotCollection
    from syrupy.types import SerializableData


class MarkdownSnapshotExtension(SingleFileSnapshotExtension):
    """One ``.md`` file per snapshot, holding exactly the rendered Markdown text.

    Files are read and written with ``newline=""``, so the file's bytes are the rendered
    text's bytes on every platform (no newline translation), the same bytes
    ``jaunt-prompts render --out`` writes.
    """

    _write_mode = WriteMode.TEXT
    file_extension = "md"
    # Two lines of context around each changed line make a template diff readable.
    _context_line_count = 2

    def read_snapshot_data_from_location(
        self, *, snapshot_location: str, snapshot_name: str, session_id: str
    ) -> SerializableData | None:
        try:
            with open(snapshot_location, encoding="utf-8", newline="") as f:
                return f.read()
        except FileNotFoundError:
            return None

    @classmethod
    def write_snapshot_collection(
        cls,
        *,
        snapshot_collection: SnapshotCollection,
        name_order: dict[str, int] | None = None,
    ) -> None:
        data = next(iter(snapshot_collection)).data
        if not isinstance(data, str):
            raise TypeError(f"a Markdown prompt snapshot must be str, not {type(data).__name__}")
        location = Path(snapshot_collection.location)
        # Atomic, and never through a symlink that leads out of the tests' folder (the one
        # holding ``__snapshots__``): ``--snapshot-update`` must not write elsewhere on disk.
        atomic_write(location, data, within=snapshot_root(location))


def snapshot_root(location: Path) -> Path:
    """The folder a snapshot file must stay in: the parent of its ``__snapshots__`` folder."""
    parts = location.absolute().parts
    if "__snapshots__" in parts:
        index = len(parts) - 1 - parts[::-1].index("__snapshots__")
        return Path(*parts[:index])
    return location.absolute().parent
