"""Loading prompt templates: the packaged defaults, override directories, ``[prompts]`` paths.

A *template set* is the four templates jaunt renders: ``build_system``, ``build_module``,
``test_system`` and ``test_module``. An override set is a directory holding any of
``<name>.md``; a file it lacks falls back to the packaged default.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from jaunt.promptkit.errors import TemplateFileError
from jaunt.promptkit.files import decode_text, read_text
from jaunt.promptkit.settings import PromptsConfig
from jaunt.templates import Template

TemplateName = Literal["build_system", "build_module", "test_system", "test_module"]
TEMPLATE_NAMES: tuple[TemplateName, ...] = (
    "build_system",
    "build_module",
    "test_system",
    "test_module",
)
PACKAGED_SET_NAME = "packaged"


@dataclass(frozen=True)
class TemplateSet:
    """Four parsed templates, and where each came from."""

    name: str
    templates: Mapping[TemplateName, Template]

    def system(self, kind: Literal["build", "test"]) -> Template:
        return self.templates["build_system" if kind == "build" else "test_system"]

    def module(self, kind: Literal["build", "test"]) -> Template:
        return self.templates["build_module" if kind == "build" else "test_module"]

    def path_of(self, name: TemplateName) -> str:
        return self.templates[name].path or name


def read_template_text(path: str | os.PathLike[str]) -> str:
    """Read a template file as UTF-8, with errors that name the file."""
    return read_text(path, TemplateFileError, "template file")


def load_template_file(path: str | os.PathLike[str]) -> Template:
    """Read and parse one template file."""
    return Template(read_template_text(path), path=str(path))


def packaged_template_path(name: TemplateName) -> str:
    """Where a packaged template lives (a real file path for any normal install)."""
    return str(resources.files("jaunt.prompts").joinpath(f"{name}.md"))


@functools.cache
def _packaged_template(name: TemplateName) -> Template:
    resource = resources.files("jaunt.prompts").joinpath(f"{name}.md")
    path = str(resource)
    return Template(
        decode_text(resource.read_bytes(), path, TemplateFileError, "template file"), path=path
    )


def load_packaged_set() -> TemplateSet:
    """The packaged default templates (parsed once per process)."""
    return TemplateSet(PACKAGED_SET_NAME, {n: _packaged_template(n) for n in TEMPLATE_NAMES})


def load_set_dir(directory: str | os.PathLike[str], *, name: str | None = None) -> TemplateSet:
    """An override set: ``<directory>/<template>.md`` where present, packaged defaults elsewhere."""
    root = Path(directory)
    if not root.is_dir():
        raise TemplateFileError("template set directory not found", path=str(root))
    templates: dict[TemplateName, Template] = {}
    for template_name in TEMPLATE_NAMES:
        candidate = root / f"{template_name}.md"
        templates[template_name] = (
            load_template_file(candidate)
            if candidate.exists()
            else _packaged_template(template_name)
        )
    return TemplateSet(name or root.name, templates)


def load_set_from_config(prompts: PromptsConfig | None, *, name: str = "jaunt.toml") -> TemplateSet:
    """The set named by ``[prompts]``: each non-empty path replaces one packaged template.

    Paths are used as given; the ``jaunt.toml`` loader has already made them absolute.
    """
    if prompts is None:
        return load_packaged_set()
    templates: dict[TemplateName, Template] = {}
    overridden = False
    for template_name in TEMPLATE_NAMES:
        path = getattr(prompts, template_name)
        if path:
            templates[template_name] = load_template_file(path)
            overridden = True
        else:
            templates[template_name] = _packaged_template(template_name)
    return TemplateSet(name if overridden else PACKAGED_SET_NAME, templates)
