"""The project: which config, template set, fixtures and output every command uses.

Found once, the same way for every consumer (``lint``, ``render``, ``watch``,
``generate``, ``eval``, ``diff``, ``cost``, ``preview``, the pytest plugin): an explicit
``--config PATH``, else the nearest ``jaunt.toml`` from the start folder upwards, else no
config. The project's root is the config's folder (the start folder without one); named
sets live in ``<root>/prompts/<name>/`` and fixtures in ``<root>/prompt_fixtures/``, so a
command run from a sub-folder sees exactly what it sees from the root.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from jaunt.promptkit.errors import ConfigError, ProjectError
from jaunt.promptkit.files import display_path
from jaunt.promptkit.fixtures import FIXTURE_SUFFIX, fixture_paths
from jaunt.promptkit.settings import CONFIG_FILE_NAME, JauntConfig, find_config, load_config
from jaunt.promptkit.template_set import CONFIG_SET_NAME, PACKAGED_SET_NAME, SetSource

FIXTURES_DIR_NAME = "prompt_fixtures"
SETS_DIR_NAME = "prompts"


@dataclass(frozen=True)
class Project:
    """A project as found: its root, config, fixtures folder, sets folder and chosen set."""

    root: Path
    config_path: Path | None
    config: JauntConfig | None
    fixtures_dir: Path
    sets_dir: Path
    set_source: SetSource

    @classmethod
    def discover(
        cls,
        *,
        cwd: str | os.PathLike[str] | None = None,
        config: str | os.PathLike[str] | None = None,
        set_name: str | None = None,
        prompts_dir: str | os.PathLike[str] | None = None,
        fixtures_dir: str | os.PathLike[str] | None = None,
    ) -> Project:
        """Find the project from ``cwd`` (default: the current folder).

        ``set_name`` and ``prompts_dir`` choose a set instead of the config's ``[prompts]``
        (at most one of them); relative paths given here are relative to ``cwd``, as on a
        command line. Raises :class:`ProjectError` or :class:`ConfigError` (one line each).
        """
        start = Path(cwd) if cwd is not None else Path.cwd()
        if set_name and prompts_dir:
            raise ProjectError("choose the set with either a set name or a prompts folder")
        config_path: Path | None
        if config is not None:
            config_path = _under(start, config)
            if not config_path.is_file():
                raise ConfigError("config file not found", path=str(config))
        else:
            config_path = find_config(start)
        loaded = load_config(config_path) if config_path is not None else None
        root = config_path.parent.resolve() if config_path is not None else start.resolve()
        sets_dir = root / SETS_DIR_NAME
        project = cls(
            root=root,
            config_path=config_path,
            config=loaded,
            fixtures_dir=(
                _under(start, fixtures_dir)
                if fixtures_dir is not None
                else root / FIXTURES_DIR_NAME
            ),
            sets_dir=sets_dir,
            set_source=SetSource.packaged(),
        )
        if set_name:
            chosen = project.set_named(set_name)
        elif prompts_dir is not None:
            chosen = SetSource.from_dir(_under(start, prompts_dir))
        else:
            chosen = project.config_set()
        return replace(project, set_source=chosen)

    def config_set(self) -> SetSource:
        """The set ``[prompts]`` makes (named ``project``), or the packaged set without one."""
        if self.config is None:
            return SetSource.packaged()
        return SetSource.from_config(self.config.prompts)

    def named_set_dirs(self) -> list[Path]:
        """The override sets under ``<root>/prompts/``, sorted by name."""
        if not self.sets_dir.is_dir():
            return []
        return sorted(
            p for p in self.sets_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
        )

    def set_named(self, name: str) -> SetSource:
        """``packaged``, ``project`` (the config's ``[prompts]``), or a set under ``prompts/``."""
        if name == PACKAGED_SET_NAME:
            return SetSource.packaged()
        if name == CONFIG_SET_NAME and self.config is not None:
            return self.config_set()
        directory = self.sets_dir / name
        if not directory.is_dir():
            known = [PACKAGED_SET_NAME, *(d.name for d in self.named_set_dirs())]
            if self.config is not None and self.config_set().name == CONFIG_SET_NAME:
                known.append(CONFIG_SET_NAME)
            raise ProjectError(
                f"unknown template set {name!r}: no {directory}/ (sets: {', '.join(known)})"
            )
        return SetSource.from_dir(directory)

    def all_set_sources(self) -> list[SetSource]:
        """The packaged set, every set under ``prompts/``, and ``[prompts]`` if it overrides."""
        sources = [SetSource.packaged(), *(SetSource.from_dir(d) for d in self.named_set_dirs())]
        configured = self.config_set()
        if configured.name == CONFIG_SET_NAME:
            sources.append(configured)
        return sources

    def fixture_files(self, names: Sequence[str] = ()) -> list[Path]:
        """FIXTURE arguments as files: a stem in the fixtures folder or a path; none: all."""
        root = self.fixtures_dir
        if not names:
            if not root.is_dir():
                raise ProjectError(f"fixture folder not found: {root}")
            return fixture_paths(root)
        paths: list[Path] = []
        for name in names:
            in_dir = root / f"{name}{FIXTURE_SUFFIX}"
            as_path = Path(name)
            if in_dir.is_file():
                found = in_dir
            elif as_path.is_file():
                found = as_path
            else:
                known = sorted(p.stem for p in fixture_paths(root)) if root.is_dir() else []
                hint = f" (fixtures: {', '.join(known)})" if known else ""
                raise ProjectError(
                    f"no fixture {name!r}: not a file, nor {display_path(in_dir)}{hint}"
                )
            if found not in paths:
                paths.append(found)
        check_unique_names(paths)
        return paths

    def describe(self) -> str:
        """One line saying what was found, for ``--help``-level diagnostics and reports."""
        config = str(self.config_path) if self.config_path else f"no {CONFIG_FILE_NAME}"
        return f"project {self.root} ({config}), set {self.set_source.name}"


def check_unique_names(paths: Sequence[Path]) -> None:
    """Two fixtures of one run may not share a name: their outputs would overwrite each other."""
    seen: dict[str, Path] = {}
    for path in paths:
        name = path.name.removesuffix(FIXTURE_SUFFIX)
        if name in seen:
            raise ProjectError(
                f"two fixtures are named {name!r}: {display_path(seen[name])} and "
                f"{display_path(path)} (their outputs would overwrite each other; rename one)"
            )
        seen[name] = path


def _under(start: Path, path: str | os.PathLike[str]) -> Path:
    given = Path(path).expanduser()
    return given if given.is_absolute() else start / given
