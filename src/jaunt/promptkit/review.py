"""Review a prompt change without calling a model: render both sides and compare them.

A *side* is the project at a git revision, or the working tree as it is (uncommitted and
untracked files included). A revision is read with ``git archive`` into a temporary folder
(only the project's ``jaunt.toml``, ``prompts/``, fixtures folder and the files its
``[prompts]`` names), so no checkout, worktree or index is touched and it works from any
sub-folder of any worktree. Every fixture is rendered with every set of the project
(packaged, each ``prompts/<name>/``, and ``[prompts]``) on both sides; nothing is sent
anywhere.

The result, :class:`PromptDiff`, holds per fixture the changed messages as unified diffs
and the request's tokens before and after; per set and kind the *shared prefix* (the
leading tokens every request of the kind shares: what a provider caches across modules)
before and after, and whether the change breaks it; and, given a price, the cost effect
for a number of builds.
"""

from __future__ import annotations

import difflib
import io
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from jaunt.promptkit.cost import Forecast, KindLoad, forecast
from jaunt.promptkit.errors import ConfigError, ProjectError
from jaunt.promptkit.files import display_path
from jaunt.promptkit.prefix import CACHE_MINIMUM_TOKENS, PrefixReport
from jaunt.promptkit.pricing import ModelPrice
from jaunt.promptkit.project import SETS_DIR_NAME, Project
from jaunt.promptkit.session import KINDS, AuthoringSession, Failed, Kind, Rendered
from jaunt.promptkit.settings import load_config
from jaunt.promptkit.template_set import TEMPLATE_NAMES, SetSource
from jaunt.promptkit.tokens import Tokenizer

WORKING_TREE = "working tree"
GIT_TIMEOUT_S = 60.0
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024
"""A revision's project files larger than this are refused rather than read into memory."""

FixtureStatus = Literal["changed", "unchanged", "added", "removed", "failed"]
MessageStatus = Literal["changed", "added", "removed"]


# --- the result --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageChange:
    """One rendered message that differs: ``index`` is 1-based, ``diff`` a unified diff."""

    set_name: str
    fixture: str
    kind: Kind
    index: int
    role: str
    status: MessageStatus
    tokens_before: int
    tokens_after: int
    diff: str


@dataclass(frozen=True)
class FixtureDiff:
    """One fixture rendered with one set on both sides.

    ``tokens_before``/``tokens_after`` count the whole request (``None`` where the fixture
    is absent or failed on that side); ``errors`` are one-line render or fixture errors.
    """

    set_name: str
    fixture: str
    kind: Kind | None
    status: FixtureStatus
    tokens_before: int | None
    tokens_after: int | None
    changes: tuple[MessageChange, ...] = ()
    unchanged_messages: int = 0
    errors: tuple[str, ...] = ()

    @property
    def token_change(self) -> int:
        return (self.tokens_after or 0) - (self.tokens_before or 0)


@dataclass(frozen=True)
class PrefixSide:
    """The shared prefix of one set and kind on one side."""

    requests: int
    tokens: int
    ends_at: str | None
    prefix: tuple[Hashable, ...] = field(repr=False, default=())

    @property
    def comparable(self) -> bool:
        """Two requests or more: with one, nothing is shared *across* modules."""
        return self.requests >= 2

    @property
    def reaches_minimum(self) -> bool:
        return self.comparable and self.tokens >= CACHE_MINIMUM_TOKENS


@dataclass(frozen=True)
class PrefixDiff:
    """The shared prefix of one set and kind, before and after.

    ``changed``: the prefix text differs. ``broken``: what was cached before is no longer a
    prefix of the new requests (every later build pays for it again), or the prefix fell
    below the provider's minimum cacheable length.
    """

    set_name: str
    kind: Kind
    before: PrefixSide | None
    after: PrefixSide | None

    @property
    def tokens_before(self) -> int | None:
        return self.before.tokens if self.before and self.before.comparable else None

    @property
    def tokens_after(self) -> int | None:
        return self.after.tokens if self.after and self.after.comparable else None

    @property
    def comparable(self) -> bool:
        return bool(self.before and self.after and self.before.comparable and self.after.comparable)

    def _both(self) -> tuple[PrefixSide, PrefixSide] | None:
        if self.before and self.after and self.before.comparable and self.after.comparable:
            return self.before, self.after
        return None

    @property
    def changed(self) -> bool:
        both = self._both()
        return both is not None and both[0].prefix != both[1].prefix

    @property
    def fell_below_minimum(self) -> bool:
        both = self._both()
        return both is not None and both[0].reaches_minimum and not both[1].reaches_minimum

    @property
    def broken(self) -> bool:
        both = self._both()
        if both is None:
            return False
        before, after = both
        kept = after.prefix[: len(before.prefix)] == before.prefix
        return not kept or self.fell_below_minimum

    def verdict(self) -> str:
        """``shared prefix unchanged``, ``... broken``, ``... grew``, or why not measured."""
        if not self.comparable:
            fewest = min(s.requests if s else 0 for s in (self.before, self.after))
            return f"shared prefix not measured ({fewest} {self.kind} fixture(s) on one side)"
        if self.broken:
            if self.changed:
                return "shared prefix BROKEN (its text changed: every cached prefix is lost)"
            return "shared prefix BROKEN (fell below the cache minimum)"
        if self.changed:
            return "shared prefix changed (extended; the cached part still matches)"
        return "shared prefix unchanged"


@dataclass(frozen=True)
class CostEffect:
    """USD of ``builds`` builds of a set's fixtures (input only), before and after."""

    set_name: str
    model: str
    builds: int
    before: Forecast
    after: Forecast


@dataclass(frozen=True)
class PromptDiff:
    """Everything ``jaunt-prompts diff`` reports."""

    base: str
    head: str
    tokenizer: Tokenizer
    fixtures: tuple[FixtureDiff, ...]
    prefixes: tuple[PrefixDiff, ...]
    costs: tuple[CostEffect, ...] = ()

    @property
    def changes(self) -> list[MessageChange]:
        return [c for f in self.fixtures for c in f.changes]

    @property
    def changed(self) -> bool:
        """Any rendered message (or fixture) differs, or a fixture fails to render."""
        return any(f.status != "unchanged" for f in self.fixtures)

    @property
    def cache_broken(self) -> bool:
        """A shared prefix changed or fell below the minimum (``--fail-on-cache-break``)."""
        return any(p.changed or p.broken for p in self.prefixes)

    def to_json(self) -> dict[str, Any]:
        """The JSON document of ``diff --format json`` (documented in the README)."""
        return {
            "base": self.base,
            "head": self.head,
            "tokenizer": {"name": self.tokenizer.name, "exact": self.tokenizer.exact},
            "changed": self.changed,
            "cache_broken": self.cache_broken,
            "cache_minimum_tokens": CACHE_MINIMUM_TOKENS,
            "changes": [
                {
                    "set": c.set_name,
                    "fixture": c.fixture,
                    "kind": c.kind,
                    "message": c.index,
                    "role": c.role,
                    "status": c.status,
                    "tokens_before": c.tokens_before,
                    "tokens_after": c.tokens_after,
                    "diff": c.diff,
                }
                for c in self.changes
            ],
            "fixtures": [
                {
                    "set": f.set_name,
                    "fixture": f.fixture,
                    "kind": f.kind,
                    "status": f.status,
                    "tokens_before": f.tokens_before,
                    "tokens_after": f.tokens_after,
                    "changed_messages": len(f.changes),
                    "unchanged_messages": f.unchanged_messages,
                    "errors": list(f.errors),
                }
                for f in self.fixtures
            ],
            "prefixes": [
                {
                    "set": p.set_name,
                    "kind": p.kind,
                    "requests_before": p.before.requests if p.before else 0,
                    "requests_after": p.after.requests if p.after else 0,
                    "tokens_before": p.tokens_before,
                    "tokens_after": p.tokens_after,
                    "reaches_minimum_before": bool(p.before and p.before.reaches_minimum),
                    "reaches_minimum_after": bool(p.after and p.after.reaches_minimum),
                    "changed": p.changed,
                    "broken": p.broken,
                    "ends_before": p.before.ends_at if p.before else None,
                    "ends_after": p.after.ends_at if p.after else None,
                    "verdict": p.verdict(),
                }
                for p in self.prefixes
            ],
            "costs": [
                {
                    "set": c.set_name,
                    "model": c.model,
                    "builds": c.builds,
                    "standard_usd_before": c.before.standard_usd,
                    "standard_usd_after": c.after.standard_usd,
                    "cached_usd_before": c.before.cached_usd,
                    "cached_usd_after": c.after.cached_usd,
                }
                for c in self.costs
            ],
        }


# --- one side ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SideSet:
    """One set rendered on one side: outcomes by fixture name, prefix reports by kind."""

    name: str
    outcomes: dict[str, Rendered | Failed]
    prefixes: dict[Kind, PrefixSide]
    loads: tuple[KindLoad, ...]


def render_side(
    project: Project, tokenizer: Tokenizer, *, hide: str = "", shown: str = ""
) -> list[SideSet]:
    """Every set of ``project`` with every fixture; ``hide`` -> ``shown`` in error lines."""
    if not project.fixtures_dir.is_dir():
        return []
    sides: list[SideSet] = []
    for source in distinct_sets(project):
        session = AuthoringSession(source, project.fixtures_dir, tokenizer)
        outcomes = session.render_all()
        by_name: dict[str, Rendered | Failed] = {}
        for outcome in outcomes:
            if isinstance(outcome, Failed) and hide:
                outcome = replace(outcome, errors=[e.replace(hide, shown) for e in outcome.errors])
            by_name[outcome.name] = outcome
        prefixes: dict[Kind, PrefixSide] = {}
        reports = session.prefix_reports()
        for report in reports:
            first = next(o for o in outcomes if isinstance(o, Rendered) and o.kind == report.kind)
            prefixes[report.kind] = _prefix_side(report, first, hide, shown)
        sides.append(SideSet(source.name, by_name, prefixes, _loads_by_kind(reports, outcomes)))
    return sides


def _loads_by_kind(
    reports: Sequence[PrefixReport], outcomes: Sequence[Rendered | Failed]
) -> tuple[KindLoad, ...]:
    """Per kind: the input tokens of each rendered fixture and the prefix they all share."""
    return tuple(
        KindLoad(
            report.kind,
            tuple(
                len(o.tokens) for o in outcomes if isinstance(o, Rendered) and o.kind == report.kind
            ),
            report.shared_tokens,
        )
        for report in reports
    )


def distinct_sets(project: Project) -> list[SetSource]:
    """The project's sets, without one that reads exactly the same files as an earlier one.

    ``jaunt-prompts init`` makes ``[prompts]`` name the files of ``prompts/main/``: the
    same templates twice would double every change in the report.
    """
    seen: set[tuple[Path, ...]] = set()
    distinct: list[SetSource] = []
    for source in project.all_set_sources():
        files = tuple(source.path_of(n).resolve() for n in TEMPLATE_NAMES)
        if files not in seen:
            seen.add(files)
            distinct.append(source)
    return distinct


def _prefix_side(report: PrefixReport, first: Rendered, hide: str, shown: str) -> PrefixSide:
    ends = report.ends_at.describe(display_path) if report.ends_at else None
    if ends and hide:
        ends = ends.replace(hide, shown)
    return PrefixSide(
        report.requests, report.shared_tokens, ends, tuple(first.tokens[: report.shared_tokens])
    )


# --- git -----------------------------------------------------------------------------------------


def _git(cwd: Path, *args: str, binary: bool = False) -> Any:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
            text=not binary,
            # Paths are paths, never patterns (a folder may be named "[draft]").
            env={**os.environ, "GIT_LITERAL_PATHSPECS": "1"},
        )
    except FileNotFoundError:
        raise ProjectError("git is not installed (diff reads revisions with git)") from None
    except subprocess.TimeoutExpired:
        raise ProjectError(f"git {args[0]} took longer than {GIT_TIMEOUT_S:g}s") from None
    return done


def git_toplevel(start: Path) -> Path:
    """The top folder of the git work tree holding ``start``."""
    done = _git(start, "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise ProjectError(f"not in a git repository: {start} (diff compares git revisions)")
    return Path(done.stdout.strip()).resolve()


def resolve_revision(top: Path, revision: str) -> str:
    """The commit ``revision`` names; an unknown revision is a :class:`ProjectError`."""
    if revision.startswith("-"):
        raise ProjectError(f"not a revision: {revision!r}")
    done = _git(top, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if done.returncode != 0:
        raise ProjectError(f"unknown git revision {revision!r}")
    return str(done.stdout.strip())


def _exists_at(top: Path, commit: str, rel: str) -> bool:
    return bool(_git(top, "cat-file", "-e", f"{commit}:{rel}").returncode == 0)


def _extract(top: Path, commit: str, rels: Sequence[str], into: Path) -> None:
    present = [r for r in rels if r and _exists_at(top, commit, r)]
    if not present:
        return
    done = _git(top, "archive", "--format=tar", commit, "--", *present, binary=True)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ProjectError(f"git archive {commit[:12]} failed: {message[-1] if message else '?'}")
    if len(done.stdout) > MAX_ARCHIVE_BYTES:
        raise ProjectError(
            f"the project's files at {commit[:12]} exceed {MAX_ARCHIVE_BYTES // 2**20} MiB"
        )
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        # The "data" filter refuses links and paths leaving the folder.
        archive.extractall(into, filter="data")


def _relative(path: Path, top: Path, what: str) -> str:
    try:
        return path.resolve().relative_to(top).as_posix()
    except ValueError:
        raise ProjectError(f"the {what} {path} is outside the git repository {top}") from None


@contextmanager
def project_at_revision(project: Project, revision: str) -> Iterator[tuple[Project, str, str]]:
    """``project`` as it was at ``revision``, in a temporary folder removed afterwards.

    Yields the project, the temporary root (to hide in messages) and the label to show
    instead (``REV:``-style). Paths map by their place in the repository.
    """
    top = git_toplevel(project.root)
    commit = resolve_revision(top, revision)
    root_rel = _relative(project.root, top, "project root")
    fixtures_rel = _relative(project.fixtures_dir, top, "fixtures folder")
    config_rel = _relative(project.config_path, top, "config file") if project.config_path else None
    with tempfile.TemporaryDirectory(prefix="jaunt-diff-") as tmp:
        into = Path(tmp)
        sets_rel = _join(root_rel, SETS_DIR_NAME)
        _extract(top, commit, [r for r in (config_rel, sets_rel, fixtures_rel) if r], into)
        root = into / root_rel if root_rel else into
        config_path = into / config_rel if config_rel else None
        config = None
        if config_path is not None and config_path.is_file():
            try:
                config = load_config(config_path)
            except ConfigError as exc:
                # Name the file as git does (REV:path), not by its temporary copy.
                raise ConfigError(
                    exc.message,
                    path=f"{revision}:{config_rel}",
                    line=exc.line,
                    column=exc.column,
                    key=exc.key,
                ) from None
            # [prompts] may name files anywhere in the repository: read those too.
            named = [getattr(config.prompts, n) for n in TEMPLATE_NAMES]
            wanted = [_relative_in(Path(p), into) for p in named if p]
            _extract(top, commit, [w for w in wanted if w and not (into / w).exists()], into)
        else:
            config_path = None
        at_revision = Project(
            root=root,
            config_path=config_path,
            config=config,
            fixtures_dir=into / fixtures_rel if fixtures_rel else into,
            sets_dir=root / SETS_DIR_NAME,
            set_source=SetSource.packaged(),
        )
        yield at_revision, str(into) + os.sep, f"{revision}:"


def _join(a: str, b: str) -> str:
    return f"{a}/{b}" if a else b


def _relative_in(path: Path, into: Path) -> str | None:
    try:
        return path.relative_to(into).as_posix()
    except ValueError:
        return None


# --- comparing -----------------------------------------------------------------------------------


def compare_sides(
    before: Sequence[SideSet],
    after: Sequence[SideSet],
    tokenizer: Tokenizer,
    *,
    base: str,
    head: str,
    price: ModelPrice | None = None,
    builds: int = 100,
) -> PromptDiff:
    """The :class:`PromptDiff` of two rendered sides (sets matched by name)."""
    names = _ordered([s.name for s in before], [s.name for s in after])
    by_before = {s.name: s for s in before}
    by_after = {s.name: s for s in after}
    fixtures: list[FixtureDiff] = []
    prefixes: list[PrefixDiff] = []
    costs: list[CostEffect] = []
    for name in names:
        old, new = by_before.get(name), by_after.get(name)
        old_out = old.outcomes if old else {}
        new_out = new.outcomes if new else {}
        for fixture in _ordered(list(old_out), list(new_out)):
            fixtures.append(
                _compare_fixture(
                    name, fixture, old_out.get(fixture), new_out.get(fixture), tokenizer
                )
            )
        for kind in KINDS:
            p_old = old.prefixes.get(kind) if old else None
            p_new = new.prefixes.get(kind) if new else None
            if p_old or p_new:
                prefixes.append(PrefixDiff(name, kind, p_old, p_new))
        if price is not None:
            costs.append(
                CostEffect(
                    name,
                    price.model,
                    builds,
                    forecast(
                        old.loads if old else (), price, builds=builds, output_tokens_per_request=0
                    ),
                    forecast(
                        new.loads if new else (), price, builds=builds, output_tokens_per_request=0
                    ),
                )
            )
    return PromptDiff(base, head, tokenizer, tuple(fixtures), tuple(prefixes), tuple(costs))


def _ordered(first: Sequence[str], second: Sequence[str]) -> list[str]:
    seen = dict.fromkeys(first)
    seen.update(dict.fromkeys(second))
    return list(seen)


def _compare_fixture(
    set_name: str,
    fixture: str,
    old: Rendered | Failed | None,
    new: Rendered | Failed | None,
    tokenizer: Tokenizer,
) -> FixtureDiff:
    tokens_old = len(old.tokens) if isinstance(old, Rendered) else None
    tokens_new = len(new.tokens) if isinstance(new, Rendered) else None
    kind = _kind(new) or _kind(old)
    if isinstance(new, Failed) or (isinstance(old, Failed) and new is None):
        errors = tuple(new.errors if isinstance(new, Failed) else old.errors)  # type: ignore[union-attr]
        return FixtureDiff(set_name, fixture, kind, "failed", tokens_old, tokens_new, errors=errors)
    old_messages = old.messages if isinstance(old, Rendered) else []
    new_messages = new.messages if isinstance(new, Rendered) else []
    assert kind is not None
    changes: list[MessageChange] = []
    unchanged = 0
    for i in range(max(len(old_messages), len(new_messages))):
        a = old_messages[i] if i < len(old_messages) else None
        b = new_messages[i] if i < len(new_messages) else None
        if a is not None and b is not None and a == b:
            unchanged += 1
            continue
        role = (b or a or {"role": "?"})["role"]
        status: MessageStatus = "changed" if a and b else ("added" if b else "removed")
        text_a = a["content"] if a else ""
        text_b = b["content"] if b else ""
        label = f"{set_name}/{fixture} message {i + 1} ({role})"
        diff = "".join(
            difflib.unified_diff(_lines(text_a), _lines(text_b), f"a/{label}", f"b/{label}", n=2)
        )
        changes.append(
            MessageChange(
                set_name,
                fixture,
                kind,
                i + 1,
                role,
                status,
                tokenizer.count(text_a),
                tokenizer.count(text_b),
                diff,
            )
        )
    if old is None or isinstance(old, Failed):
        status_f: FixtureStatus = "added"
    elif new is None:
        status_f = "removed"
    else:
        status_f = "changed" if changes else "unchanged"
    return FixtureDiff(
        set_name, fixture, kind, status_f, tokens_old, tokens_new, tuple(changes), unchanged
    )


def _kind(outcome: Rendered | Failed | None) -> Kind | None:
    if isinstance(outcome, Rendered):
        return outcome.kind
    return outcome.kind if outcome is not None else None


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        # Messages carry no final newline; without one the last line would differ from
        # the same line followed by more text.
        lines[-1] += "\n"
    return lines


def diff_project(
    project: Project,
    tokenizer: Tokenizer,
    *,
    base: str = "HEAD",
    head: str | None = None,
    price: ModelPrice | None = None,
    builds: int = 100,
) -> PromptDiff:
    """Render ``project`` at ``base`` and at ``head`` (``None``: the working tree); compare."""
    with project_at_revision(project, base) as (old_project, old_tmp, old_label):
        before = render_side(old_project, tokenizer, hide=old_tmp, shown=old_label)
        if head is None:
            after = render_side(project, tokenizer)
            return compare_sides(
                before, after, tokenizer, base=base, head=WORKING_TREE, price=price, builds=builds
            )
        with project_at_revision(project, head) as (new_project, new_tmp, new_label):
            after = render_side(new_project, tokenizer, hide=new_tmp, shown=new_label)
    return compare_sides(before, after, tokenizer, base=base, head=head, price=price, builds=builds)


def kind_loads(project: Project, tokenizer: Tokenizer) -> tuple[list[KindLoad], list[Failed]]:
    """The chosen set's requests per kind (for ``cost``), and the fixtures that failed."""
    session = AuthoringSession(project.set_source, project.fixtures_dir, tokenizer)
    if not project.fixtures_dir.is_dir():
        raise ProjectError(f"fixture folder not found: {project.fixtures_dir}")
    outcomes = session.render_all()
    failed = [o for o in outcomes if isinstance(o, Failed)]
    return list(_loads_by_kind(session.prefix_reports(), outcomes)), failed
