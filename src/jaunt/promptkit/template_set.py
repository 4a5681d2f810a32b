"""Loading prompt templates: the packaged defaults, override directories, ``[prompts]`` paths.

A *template set* is the four templates jaunt renders: ``build_system``, ``build_module``,
``test_system`` and ``test_module``. An override set is a directory holding any of
``<name>.md``; a file it lacks falls back to the packaged default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from jaunt.promptkit.errors import ProjectError, TemplateFileError
from jaunt.promptkit.files import decode_text, read_text, safe_resolve
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
# The name of the set jaunt.toml's [prompts] makes, everywhere (reports, snapshot ids).
CONFIG_SET_NAME = "project"


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


# Parsed packaged templates, keyed by the file's identity: parsed once per process, yet an
# edit to the packaged file (an editable install, jaunt's own prompt authors) is seen.
_PACKAGED_CACHE: dict[TemplateName, tuple[tuple[int, int], Template]] = {}


def _packaged_template(name: TemplateName) -> Template:
    resource = resources.files("jaunt.prompts").joinpath(f"{name}.md")
    path = str(resource)
    try:
        stat = os.stat(path)
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError:  # not a plain file (a zipped install): it cannot change anyway
        stamp = (0, 0)
    cached = _PACKAGED_CACHE.get(name)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    template = Template(
        decode_text(resource.read_bytes(), path, TemplateFileError, "template file"), path=path
    )
    _PACKAGED_CACHE[name] = (stamp, template)
    return template


def load_packaged_set() -> TemplateSet:
    """The packaged default templates (parsed again only when a file changes)."""
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


def load_set_from_config(
    prompts: PromptsConfig | None, *, name: str = CONFIG_SET_NAME
) -> TemplateSet:
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


@dataclass(frozen=True)
class SetSource:
    """Where a template set comes from: the packaged defaults, a directory, or ``[prompts]``."""

    name: str
    directory: Path | None = None
    prompts: PromptsConfig | None = None

    @classmethod
    def packaged(cls) -> SetSource:
        return cls(PACKAGED_SET_NAME)

    @classmethod
    def from_dir(cls, directory: str | os.PathLike[str]) -> SetSource:
        root = Path(directory)
        if not root.is_dir():
            raise ProjectError(f"template set directory not found: {root}")
        return cls(root.resolve().name, directory=root.resolve())

    @classmethod
    def from_config(cls, prompts: PromptsConfig) -> SetSource:
        if not any(getattr(prompts, n) for n in TEMPLATE_NAMES):
            return cls.packaged()
        return cls(CONFIG_SET_NAME, prompts=prompts)

    def path_of(self, name: TemplateName) -> Path:
        """The file ``name`` is read from: the override if there is one, else the packaged one."""
        if self.directory is not None:
            candidate = self.directory / f"{name}.md"
            if candidate.exists():
                return candidate
        if self.prompts is not None and getattr(self.prompts, name):
            return Path(getattr(self.prompts, name))
        return Path(packaged_template_path(name))

    def load(self) -> TemplateSet:
        """The set's templates, strictly: the first unreadable or broken template raises."""
        if self.directory is not None:
            return load_set_dir(self.directory, name=self.name)
        if self.prompts is not None:
            return load_set_from_config(self.prompts, name=self.name)
        return load_packaged_set()

    def is_override(self, name: TemplateName) -> bool:
        return self.path_of(name) != Path(packaged_template_path(name))

    def watch_dirs(self) -> set[Path]:
        """Directories whose files can change this set (the packaged one too: editable installs)."""
        dirs = {Path(packaged_template_path("build_system")).parent.resolve()}
        if self.directory is not None:
            dirs.add(self.directory.resolve())
        if self.prompts is not None:
            dirs |= {
                Path(getattr(self.prompts, n)).resolve().parent
                for n in TEMPLATE_NAMES
                if getattr(self.prompts, n)
            }
        return {d for d in dirs if d.is_dir()}

    def owns(self, path: Path) -> list[TemplateName]:
        """The templates of this set that ``path`` is (or would be, once created) the file of."""
        resolved = safe_resolve(path)
        owned: list[TemplateName] = []
        for name in TEMPLATE_NAMES:
            if safe_resolve(self.path_of(name)) == resolved:
                owned.append(name)
            elif self.directory is not None and resolved == (self.directory / f"{name}.md"):
                owned.append(name)  # deleted from the set: falls back to the packaged file
        return owned
