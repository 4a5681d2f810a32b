"""pytest plugin (entry point ``pytest11``): snapshot your project's prompts.

A test that takes the ``jaunt_prompt_case`` argument runs once per (template set x
fixture); ``jaunt_prompt_snapshot`` is syrupy's ``snapshot`` storing each case as one
Markdown file::

    def test_prompts(jaunt_prompt_case, jaunt_prompt_snapshot):
        assert jaunt_prompt_case.markdown() == jaunt_prompt_snapshot

The project is found as every ``jaunt-prompts`` command finds it, from pytest's rootdir:
the nearest ``jaunt.toml`` upwards; its ``[prompts]`` set (else the packaged one) against
every fixture of ``<project root>/prompt_fixtures``. Settings (``[tool.pytest.ini_options]``
or ``pytest.ini``; paths relative to the rootdir), each optional:

* ``jaunt_config``: the project's ``jaunt.toml``, instead of the nearest one.
* ``jaunt_prompt_fixtures``: the fixtures folder, instead of the project's.
* ``jaunt_prompt_sets``: override set folders to snapshot instead of the project's set.

The plugin is loaded in every pytest run of an environment where jaunt is installed, so
it imports nothing heavy up front, and syrupy only when a test asks for a snapshot.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from jaunt.promptkit.errors import LayerError

if TYPE_CHECKING:
    from jaunt.promptkit.project import Project
    from jaunt.promptkit.snapshots.cases import PromptCase
    from jaunt.promptkit.template_set import TemplateSet

CASE_ARG = "jaunt_prompt_case"
INI_FIXTURES = "jaunt_prompt_fixtures"
INI_CONFIG = "jaunt_config"
INI_SETS = "jaunt_prompt_sets"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        INI_FIXTURES,
        "jaunt: prompt fixtures folder (default: <project root>/prompt_fixtures)",
        type="string",
        default="",
    )
    parser.addini(
        INI_CONFIG,
        "jaunt: the project's jaunt.toml (default: the nearest one from the rootdir upwards)",
        type="string",
        default="",
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
        fixtures_dir = _project(metafunc.config).fixtures_dir
        pytest.fail(f"jaunt prompt cases: no *.toml fixtures in {fixtures_dir}", pytrace=False)
    metafunc.config.stash[_SET_ERRORS] = _lint_errors(metafunc.config)
    metafunc.parametrize(CASE_ARG, cases, ids=[case.id for case in cases])


def project_prompt_cases(config: pytest.Config) -> list[PromptCase]:
    """The (set x fixture) cases of the project at pytest's rootdir, as every command sees it."""
    from jaunt.promptkit.fixtures import load_fixture_dir
    from jaunt.promptkit.snapshots.cases import prompt_cases

    project = _project(config)
    fixtures = load_fixture_dir(project.fixtures_dir)
    return prompt_cases(_project_sets(config, project), fixtures)


def _project(config: pytest.Config) -> Project:
    from jaunt.promptkit.project import Project

    explicit_config: str = config.getini(INI_CONFIG)
    explicit_fixtures: str = config.getini(INI_FIXTURES)
    return Project.discover(
        cwd=config.rootpath,
        config=explicit_config or None,
        fixtures_dir=explicit_fixtures or None,
    )


def _project_sets(config: pytest.Config, project: Project) -> list[TemplateSet]:
    from jaunt.promptkit.template_set import SetSource

    set_dirs: list[Path] = [Path(p) for p in config.getini(INI_SETS)]
    if set_dirs:
        return [SetSource.from_dir(d).load() for d in set_dirs]
    return [project.set_source.load()]


def _lint_errors(config: pytest.Config) -> dict[str, list[str]]:
    """``path:line:col: CODE message`` of each lint error, by set name."""
    from jaunt.promptkit.files import display_path
    from jaunt.promptkit.lint import lint_set_source
    from jaunt.promptkit.template_set import SetSource

    set_dirs: list[Path] = [Path(p) for p in config.getini(INI_SETS)]
    sources = (
        [SetSource.from_dir(d) for d in set_dirs] if set_dirs else [_project(config).set_source]
    )
    errors: dict[str, list[str]] = {}
    for source in sources:
        found = [f for f in lint_set_source(source) if f.severity == "error"]
        errors[source.name] = [
            f"{display_path(f.path, config.rootpath)}:{f.line}:{f.column}: {f.code} {f.message}"
            for f in sorted(found)
        ]
    return errors


_SET_ERRORS = pytest.StashKey[dict[str, list[str]]]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """A case whose set has lint errors, or that does not render, fails with one line each."""
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get(CASE_ARG) if callspec is not None else None
    if case is None:
        return
    errors = item.config.stash.get(_SET_ERRORS, {}).get(case.template_set.name, [])
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)
    from jaunt.promptkit.errors import LayerError
    from jaunt.promptkit.files import display_path

    try:
        case.markdown()
    except LayerError as exc:
        pytest.fail(exc.one_line(display_path), pytrace=False)


class PromptSnapshot:
    """syrupy's snapshot for one case; a mismatch fails with the whole diff of each message.

    pytest cuts long assertion explanations (and syrupy's diff with them) unless run with
    ``-vv``; a prompt reviewer needs the whole changed message and nothing else, so the
    failure is raised here as one message, without a traceback.
    """

    def __init__(self, snapshot: Any, case_id: str) -> None:
        self._snapshot = snapshot
        self._case_id = case_id

    def __eq__(self, other: object) -> bool:
        if self._snapshot == other:
            return True
        from jaunt.promptkit.snapshots.cases import drift_report

        result = self._snapshot.executions[self._snapshot.num_executions - 1]
        stored = result.recalled_data
        pytest.fail(drift_report(self._case_id, stored, str(other)), pytrace=False)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<prompt snapshot {self._case_id}>"


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
    callspec = getattr(request.node, "callspec", None)
    case = callspec.params.get(CASE_ARG) if callspec is not None else None
    case_id = case.id if case is not None else request.node.name
    return PromptSnapshot(snapshot.use_extension(MarkdownSnapshotExtension), case_id)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under ``--snapshot-update``, a run with failures or collection errors deletes nothing.

    A broken template fails its cases (or their collection) before their snapshots are
    used; syrupy would then take the good snapshots for unused ones and delete them. Runs
    before syrupy's own hook and turns its unused-snapshot clean-up off for this run only.
    """
    option = session.config.option
    if not getattr(option, "update_snapshots", False):
        return
    broken = session.testsfailed > 0 or exitstatus in (
        pytest.ExitCode.INTERRUPTED,
        pytest.ExitCode.INTERNAL_ERROR,
        pytest.ExitCode.USAGE_ERROR,
    )
    if broken and not getattr(option, "disable_unused_snapshots", False):
        option.disable_unused_snapshots = True
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                "jaunt: the run failed, so no unused snapshot is deleted; fix it and update again"
            )
