"""The authoring loop's model: a template set and fixtures, rendered into per-fixture results.

``jaunt-prompts render`` renders once and prints; ``jaunt-prompts watch`` keeps an
:class:`AuthoringSession` alive and asks it to reload only what a file change touches.
Both render through :func:`jaunt.promptkit.snapshots.cases.render_markdown`'s renderer,
so an output file is byte for byte the snapshot of the same case.

Nothing here stops at the first problem: a broken template fails only the fixtures of its
kind, a broken fixture fails only itself, and every failure keeps the file and line.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from jaunt.promptkit.errors import FixtureError, TemplateError, TemplateSyntaxError
from jaunt.promptkit.files import display_path
from jaunt.promptkit.fixtures import Fixture, fixture_paths, load_fixture
from jaunt.promptkit.lint import Finding, lint_set_source
from jaunt.promptkit.messages import Message, messages_to_markdown, render_messages
from jaunt.promptkit.prefix import PrefixReport, analyze_prefix, request_tokens
from jaunt.promptkit.template_set import (
    TEMPLATE_NAMES,
    SetSource,
    TemplateName,
    TemplateSet,
    load_packaged_set,
    load_template_file,
)
from jaunt.promptkit.tokens import Tokenizer
from jaunt.templates import Template

Kind = Literal["build", "test"]
KINDS: tuple[Kind, ...] = ("build", "test")


def kind_of_template(name: TemplateName) -> Kind:
    return "build" if name.startswith("build") else "test"


# --- template sets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedSet:
    """A set as loaded: usable templates, the errors of broken ones, and lint findings.

    A broken template is replaced by the packaged one in ``template_set`` only so that the
    other kind still renders; fixtures of the broken template's kind fail with ``errors``.
    """

    source: SetSource
    template_set: TemplateSet
    errors: dict[TemplateName, list[TemplateError]]
    findings: list[Finding]

    def kind_errors(self, kind: Kind) -> list[TemplateError]:
        return [
            e for n in TEMPLATE_NAMES if kind_of_template(n) == kind for e in self.errors.get(n, [])
        ]

    def kind_findings(self, kind: Kind) -> list[Finding]:
        paths = {
            self.source.path_of(n).resolve() for n in TEMPLATE_NAMES if kind_of_template(n) == kind
        }
        return [f for f in self.findings if Path(f.path).resolve() in paths]


def load_set(source: SetSource) -> LoadedSet:
    """Load every template of ``source`` that parses, record the others, and lint the set."""
    packaged = load_packaged_set()
    templates: dict[TemplateName, Template] = {}
    errors: dict[TemplateName, list[TemplateError]] = {}
    for name in TEMPLATE_NAMES:
        if not source.is_override(name):
            templates[name] = packaged.templates[name]
            continue
        try:
            templates[name] = load_template_file(source.path_of(name))
        except TemplateSyntaxError as exc:
            errors[name] = list(exc.errors)
            templates[name] = packaged.templates[name]
        except TemplateError as exc:
            errors[name] = [exc]
            templates[name] = packaged.templates[name]
    return LoadedSet(source, TemplateSet(source.name, templates), errors, lint_set_source(source))


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """A fixture rendered: its messages, their Markdown (the snapshot text) and token count."""

    fixture: Fixture
    set_name: str
    messages: list[Message]
    markdown: str
    tokens: Sequence[Hashable]

    @property
    def name(self) -> str:
        return self.fixture.name

    @property
    def kind(self) -> Kind:
        return self.fixture.context.kind

    @property
    def chars(self) -> int:
        return sum(len(m["content"]) for m in self.messages)


@dataclass(frozen=True)
class Failed:
    """A fixture that could not be rendered; ``errors`` are ``path:line:col: message`` lines."""

    name: str
    path: str
    kind: Kind | None
    set_name: str
    errors: list[str]


Outcome = Rendered | Failed


def render_fixture(loaded: LoadedSet, fixture: Fixture, tokenizer: Tokenizer) -> Outcome:
    kind = fixture.context.kind
    set_name = loaded.template_set.name
    broken = loaded.kind_errors(kind)
    if broken:
        return Failed(
            fixture.name, fixture.path, kind, set_name, [_template_error(e) for e in broken]
        )
    try:
        messages = render_messages(loaded.template_set, fixture.context, fixture.error_context)
    except TemplateError as exc:
        return Failed(fixture.name, fixture.path, kind, set_name, [_template_error(exc)])
    return Rendered(
        fixture,
        set_name,
        messages,
        messages_to_markdown(messages),
        request_tokens(messages, tokenizer),
    )


def _template_error(exc: TemplateError) -> str:
    return exc.one_line(display_path)


def _fixture_error(exc: FixtureError) -> str:
    return exc.one_line(display_path)


# --- the session -----------------------------------------------------------------------------


@dataclass
class AuthoringSession:
    """One template set and a set of fixture files, with the latest outcome of each fixture.

    ``fixture_files`` empty means "every fixture in ``fixtures_dir``", including ones that
    appear later (the watcher adds them).
    """

    source: SetSource
    fixtures_dir: Path
    tokenizer: Tokenizer
    fixture_files: list[Path] = field(default_factory=list)
    loaded: LoadedSet | None = None
    fixtures: dict[Path, Fixture | Failed] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    @property
    def follows_dir(self) -> bool:
        return not self.fixture_files

    def current_set(self) -> LoadedSet:
        if self.loaded is None:
            self.loaded = load_set(self.source)
        return self.loaded

    def render_all(self) -> list[Outcome]:
        """Load the set and every fixture, render them all; outcomes in fixture order."""
        self.loaded = load_set(self.source)
        paths = self.fixture_files or fixture_paths(self.fixtures_dir)
        self.fixtures = {p.resolve(): self._load(p) for p in paths}
        self.outcomes = {}
        for fixture in self.fixtures.values():
            self._render(fixture)
        return list(self.outcomes.values())

    def reload_templates(self) -> list[Outcome]:
        """Reload the set after a template change; re-render the fixtures of changed kinds."""
        before = self.loaded
        self.loaded = load_set(self.source)
        changed = {
            kind
            for kind in KINDS
            if before is None or _kind_templates(before, kind) != _kind_templates(self.loaded, kind)
        }
        return self.rerender_kinds(changed)

    def rerender_kinds(self, kinds: Iterable[Kind]) -> list[Outcome]:
        wanted = set(kinds)
        redone: list[Outcome] = []
        for fixture in self.fixtures.values():
            kind = fixture.context.kind if isinstance(fixture, Fixture) else fixture.kind
            if kind in wanted:
                redone.append(self._render(fixture))
        return redone

    def reload_fixture(self, path: Path) -> Outcome | None:
        """Re-read one fixture file; ``None`` when it is gone or not one this session renders."""
        key = path.resolve()
        if key not in self.fixtures and not (
            self.follows_dir and key.parent == self.fixtures_dir.resolve()
        ):
            return None
        if not path.exists():
            gone = self.fixtures.pop(key, None)
            if gone is not None:
                self.outcomes.pop(gone.name, None)
            return None
        fixture = self._load(path)
        self.fixtures[key] = fixture
        if self.follows_dir:
            # Keep directory order (sorted by name), as render_all does.
            self.fixtures = dict(sorted(self.fixtures.items()))
        return self._render(fixture)

    def prefix_reports(self) -> list[PrefixReport]:
        loaded = self.current_set()
        reports: list[PrefixReport] = []
        for kind in KINDS:
            rendered = [
                o for o in self.outcomes.values() if isinstance(o, Rendered) and o.kind == kind
            ]
            if rendered:
                reports.append(
                    analyze_prefix(
                        loaded.template_set,
                        kind,
                        [(r.fixture, r.messages, r.tokens) for r in rendered],
                    )
                )
        return reports

    def _load(self, path: Path) -> Fixture | Failed:
        try:
            return load_fixture(path)
        except FixtureError as exc:
            return Failed(path.stem, str(path), None, self.source.name, [_fixture_error(exc)])

    def _render(self, fixture: Fixture | Failed) -> Outcome:
        outcome = (
            fixture
            if isinstance(fixture, Failed)
            else render_fixture(self.current_set(), fixture, self.tokenizer)
        )
        self.outcomes[outcome.name] = outcome
        # Keep outcomes in fixture order whatever order they were redone in.
        order = {f.name: i for i, f in enumerate(self.fixtures.values())}
        self.outcomes = dict(
            sorted(self.outcomes.items(), key=lambda kv: order.get(kv[0], 1 << 30))
        )
        return outcome


def _kind_templates(loaded: LoadedSet, kind: Kind) -> tuple[object, ...]:
    ts = loaded.template_set
    system, module = ts.system(kind), ts.module(kind)
    return (
        system.text,
        system.path,
        module.text,
        module.path,
        tuple(map(str, loaded.kind_errors(kind))),
    )
