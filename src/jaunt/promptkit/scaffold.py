"""``jaunt-prompts init``: a working prompt project to start from.

The scaffold holds a ``jaunt.toml`` whose ``[prompts]`` points at a copy of the packaged
templates under ``prompts/<name>/``, one example fixture, a test file that snapshots every
fixture through the pytest plugin, and that test's snapshot, so ``jaunt-prompts render``,
``jaunt-prompts lint`` and ``pytest`` pass in it as they are. Nothing existing is ever
overwritten: if any file of the scaffold is already there, nothing is written at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from jaunt.promptkit.errors import ProjectError
from jaunt.promptkit.fixtures import load_fixture
from jaunt.promptkit.messages import messages_to_markdown, render_messages
from jaunt.promptkit.project import FIXTURES_DIR_NAME, SETS_DIR_NAME
from jaunt.promptkit.settings import CONFIG_FILE_NAME, load_config
from jaunt.promptkit.template_set import (
    CONFIG_SET_NAME,
    TEMPLATE_NAMES,
    load_set_from_config,
    packaged_template_path,
)

EXAMPLE_FIXTURE = '''\
description = "An example: one pure function. Copy it to describe your own modules."
kind = "build"
spec_module = "shop.pricing"
generated_module = "shop.__generated__.pricing"
expected_names = ["apply_discount"]

[[specs]]
ref = "shop.pricing:apply_discount"
source = \'\'\'
def apply_discount(price: Decimal, percent: int) -> Decimal:
    """Return ``price`` reduced by ``percent`` per cent, rounded half-even to cents.

    ``percent`` outside 0..100 raises ``ValueError``.
    """
\'\'\'
'''

TEST_FILE = '''\
"""Every fixture rendered with the project's templates, pinned as one Markdown snapshot each.

A template edit fails the cases it changes, with a diff; accept it with
`pytest --snapshot-update` and review the snapshot diff.
"""


def test_prompts(jaunt_prompt_case, jaunt_prompt_snapshot):
    assert jaunt_prompt_case.markdown() == jaunt_prompt_snapshot
'''


@dataclass(frozen=True)
class Scaffold:
    """What ``init`` wrote: the project folder and its files, in the order written."""

    root: Path
    files: list[Path]


def init_project(directory: str | os.PathLike[str] = ".", *, set_name: str = "main") -> Scaffold:
    """Write the scaffold into ``directory`` (made if missing); refuse if any file exists."""
    if not set_name or "/" in set_name or set_name.startswith("."):
        raise ProjectError(f"not a usable set name: {set_name!r}")
    root = Path(directory)
    set_dir = Path(SETS_DIR_NAME) / set_name
    prompts_table = "".join(
        f'{name} = "{(set_dir / f"{name}.md").as_posix()}"\n' for name in TEMPLATE_NAMES
    )
    texts: dict[Path, str] = {
        Path(CONFIG_FILE_NAME): (
            "# jaunt's project file; jaunt-prompts reads [prompts] (and [llm] for generate).\n"
            f"[prompts]\n{prompts_table}"
        ),
        **{
            set_dir / f"{name}.md": Path(packaged_template_path(name)).read_text("utf-8")
            for name in TEMPLATE_NAMES
        },
        Path(FIXTURES_DIR_NAME) / "example.toml": EXAMPLE_FIXTURE,
        Path("tests") / "test_prompts.py": TEST_FILE,
    }
    snapshot = (
        Path("tests")
        / "__snapshots__"
        / "test_prompts"
        / f"test_prompts[{CONFIG_SET_NAME}-example].md"
    )
    existing = [p.as_posix() for p in (*texts, snapshot) if (root / p).exists()]
    if existing:
        raise ProjectError(
            f"{root}: not overwriting existing files ({', '.join(existing)}); "
            "choose an empty folder"
        )
    written: list[Path] = []
    for relative, text in texts.items():
        written.append(_create(root / relative, text))
    # The snapshot is rendered from the files just written, as the plugin will render it.
    config = load_config(root / CONFIG_FILE_NAME)
    templates = load_set_from_config(config.prompts)
    fixture = load_fixture(root / FIXTURES_DIR_NAME / "example.toml")
    markdown = messages_to_markdown(
        render_messages(templates, fixture.context, fixture.error_context)
    )
    written.append(_create(root / snapshot, markdown))
    return Scaffold(root, written)


def _create(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # "x": never replace a file that appeared since the check above.
    with path.open("x", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return path
