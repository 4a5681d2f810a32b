"""pytest plugin (entry point ``pytest11``): snapshot your project's prompts.

A test that takes the ``jaunt_prompt_case`` argument runs once per (template set x
fixture); ``jaunt_prompt_snapshot`` is syrupy's ``snapshot`` storing each case as one
Markdown file::

    def test_prompts(jaunt_prompt_case, jaunt_prompt_snapshot):
        assert jaunt_prompt_case.markdown() == jaunt_prompt_snapshot

Settings (``[tool.pytest.ini_options]`` or ``pytest.ini``; paths relative to the rootdir):

* ``jaunt_prompt_fixtures`` (default ``prompt_fixtures``): the fixtures directory.
* ``jaunt_config`` (default ``jaunt.toml``): its ``[prompts]`` set is snapshot; without
  the file (or without overrides) the packaged set is.
* ``jaunt_prompt_sets``: override set directories to snapshot instead of ``jaunt_config``'s.

The plugin is loaded in every pytest run of an environment where jaunt is installed, so
it imports nothing heavy up front, and syrupy only when a test asks for a snapshot.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from jaunt.promptkit.errors import LayerError

if TYPE_CHECKING:
    from jaunt.promptkit.snapshots.cases import PromptCase
    from jaunt.promptkit.template_set import TemplateSet

CASE_ARG = "jaunt_prompt_case"
INI_FIXTURES = "jaunt_prompt_fixtures"
INI_CONFIG = "jaunt_config"
INI_SETS = "jaunt_prompt_sets"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        INI_FIXTURES, "jaunt: prompt fixtures directory", type="string", default="prompt_fixtures"
    )
    parser.addini(
        INI_CONFIG,
        "jaunt: jaunt.toml whose [prompts] set is snapshot",
        type="string",
        default="jaunt.toml",
    )
    parser.addini(
        INI_SETS, "jaunt: override set directories to snapshot (instead of [prompts])", "paths"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if CASE_ARG not in metafunc.fixturenames:
        return
    try:
        cases = project_prompt_cases(metafunc.config)
    except (LayerError, ValueError) as exc:
        # A broken fixture or template is the user's input, not a plugin crash: one line.
        pytest.fail(f"jaunt prompt cases: {exc}", pytrace=False)
    if not cases:
        fixtures_dir = _ini_path(metafunc.config, INI_FIXTURES)
        pytest.fail(f"jaunt prompt cases: no *.toml fixtures in {fixtures_dir}", pytrace=False)
    metafunc.parametrize(CASE_ARG, cases, ids=[case.id for case in cases])


def project_prompt_cases(config: pytest.Config) -> list[PromptCase]:
    """The (set x fixture) cases the ini settings describe."""
    from jaunt.promptkit.fixtures import load_fixture_dir
    from jaunt.promptkit.snapshots.cases import prompt_cases

    fixtures = load_fixture_dir(_ini_path(config, INI_FIXTURES))
    return prompt_cases(_project_sets(config), fixtures)


def _project_sets(config: pytest.Config) -> list[TemplateSet]:
    from jaunt.promptkit.settings import load_config
    from jaunt.promptkit.template_set import load_packaged_set, load_set_dir, load_set_from_config

    set_dirs: list[Path] = [Path(p) for p in config.getini(INI_SETS)]
    if set_dirs:
        return [load_set_dir(d) for d in set_dirs]
    config_path = _ini_path(config, INI_CONFIG)
    if not config_path.is_file():
        return [load_packaged_set()]
    return [load_set_from_config(load_config(config_path).prompts, name="project")]


def _ini_path(config: pytest.Config, name: str) -> Path:
    value: str = config.getini(name)
    return config.rootpath / value


@pytest.fixture
def jaunt_prompt_snapshot(request: pytest.FixtureRequest) -> Any:
    """syrupy's ``snapshot`` with the Markdown single-file extension (needs syrupy)."""
    try:
        from jaunt.promptkit.snapshots.extension import MarkdownSnapshotExtension
    except ImportError as exc:
        pytest.fail(
            f"jaunt_prompt_snapshot needs syrupy ({exc}); install it with "
            "`pip install syrupy` or `uv add --group dev syrupy`",
            pytrace=False,
        )
    try:
        snapshot = request.getfixturevalue("snapshot")
    except pytest.FixtureLookupError:
        pytest.fail(
            "jaunt_prompt_snapshot needs syrupy's pytest plugin, which is not active "
            "(was it disabled with `-p no:syrupy`?)",
            pytrace=False,
        )
    return snapshot.use_extension(MarkdownSnapshotExtension)
