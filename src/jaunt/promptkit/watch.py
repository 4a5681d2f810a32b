"""The watch loop: re-render what a file change touches, report it on one line, keep going.

Directories are watched, never single files: an editor's atomic save (write a temporary
file, rename it over the original) replaces the inode, and a watch on the old file goes
silent. The rename arrives as an *added* file, which counts as a change like any other; a
change is handled by reading the file's current state, so delete-then-recreate, atomic saves
and plain writes are all the same thing here.

``watchfiles`` is imported only inside :meth:`Watcher.run`, so importing this module (or
``jaunt.promptkit.cli``) stays cheap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jaunt.promptkit.errors import ProjectError
from jaunt.promptkit.files import display_path, safe_resolve
from jaunt.promptkit.fixtures import FIXTURE_SUFFIX
from jaunt.promptkit.prefix import CACHE_MINIMUM_TOKENS, PrefixReport
from jaunt.promptkit.report import (
    diff_excerpt,
    diff_totals,
    failure_lines,
    finding_lines,
    prefix_lines,
    problem_lines,
    snapshot_path,
    summary_table,
    write_output,
)
from jaunt.promptkit.session import (
    AuthoringSession,
    Failed,
    Kind,
    Outcome,
    Rendered,
)
from jaunt.promptkit.styling import Styler, plain
from jaunt.promptkit.template_set import SetSource

# Measured with benchmarks/watch_latency.py: lower steps buy little and cost idle CPU.
DEFAULT_DEBOUNCE_MS = 50
DEFAULT_STEP_MS = 10
# How long the notify backend blocks before handing control back; its first return proves the
# watches are in place, which is when "watching" is printed (tests wait for that line).
_RUST_TIMEOUT_MS = 200
_MAX_DETAIL_LINES = 40


@dataclass
class WatchOptions:
    out_dir: Path | None = None
    snapshot_dir: Path | None = None
    debounce_ms: int = DEFAULT_DEBOUNCE_MS
    step_ms: int = DEFAULT_STEP_MS
    style: Styler = plain
    config_path: Path | None = None
    # Rebuilds the set source when ``config_path`` changes.
    source_factory: Callable[[], SetSource] | None = None


@dataclass
class _Batch:
    """Collects what one :meth:`Watcher.handle` call did, for its :class:`ChangeEvent`."""

    outcomes: list[Outcome] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChangeEvent:
    """What one batch of file changes did, for consumers other than the text report.

    ``watch`` prints lines; ``preview`` pushes a page update. Both are fed by the same
    :meth:`Watcher.handle`, so they see the same re-renders. The first event (from
    :meth:`Watcher.start`) has no paths and every outcome.
    """

    paths: tuple[Path, ...]
    outcomes: tuple[Outcome, ...]
    removed: tuple[str, ...]
    errors: tuple[str, ...]
    render_ms: float
    since_save_ms: float | None


@dataclass
class Watcher:
    """Holds the session and the last good text of each fixture; turns changes into reports.

    ``listeners`` are called (on the watching thread) with a :class:`ChangeEvent` after the
    first render and after each batch of changes, once its report lines are emitted.
    """

    session: AuthoringSession
    options: WatchOptions
    emit: Callable[[str], None]
    last_good: dict[str, str] = field(default_factory=dict)
    prefixes: dict[Kind, PrefixReport] = field(default_factory=dict)
    listeners: list[Callable[[ChangeEvent], None]] = field(default_factory=list)
    # Set once the watches are in place (when "watching ..." is emitted): a change saved
    # after that is seen. ``preview`` waits for it before it announces its address.
    watching: threading.Event = field(default_factory=threading.Event)
    _batch: _Batch | None = field(default=None, repr=False)

    # --- start ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Render everything once: the summary table, problems, prefixes; write the files."""
        started = time.perf_counter()
        outcomes = self.session.render_all()
        loaded = self.session.current_set()
        tokenizer = self.session.tokenizer
        for line in summary_table(outcomes, loaded, tokenizer, style=self.options.style):
            self.emit(line)
        for line in problem_lines(outcomes, loaded, style=self.options.style):
            self.emit(line)
        reports = self.session.prefix_reports()
        self.prefixes = {r.kind: r for r in reports if r.requests > 1}
        for line in prefix_lines(reports, tokenizer):
            self.emit(line)
        for o in outcomes:
            if isinstance(o, Rendered):
                self._accept(o)
        render_ms = (time.perf_counter() - started) * 1000
        self._notify(ChangeEvent((), tuple(outcomes), (), (), render_ms, None))

    def watch_dirs(self) -> list[Path]:
        dirs = set(self.session.source.watch_dirs())
        fixtures_dir = safe_resolve(self.session.fixtures_dir)
        dirs |= {fixtures_dir, fixtures_dir.parent}
        dirs |= {safe_resolve(p).parent for p in self.session.fixture_files}
        if self.options.config_path is not None:
            dirs.add(safe_resolve(self.options.config_path).parent)
        return sorted(d for d in dirs if d.is_dir())

    # --- changes -------------------------------------------------------------------------------

    def handle(self, paths: Iterable[str | Path]) -> None:
        """React to one batch of changed paths (any change type: the file's state is read)."""
        started = time.perf_counter()
        changed = sorted({Path(p).absolute() for p in paths})
        self._batch = _Batch()
        try:
            self._handle(changed, started)
        finally:
            batch, self._batch = self._batch, None
        self._notify(
            ChangeEvent(
                tuple(changed),
                tuple(batch.outcomes),
                tuple(batch.removed),
                tuple(batch.errors),
                (time.perf_counter() - started) * 1000,
                self._since_save(changed),
            )
        )

    def _notify(self, event: ChangeEvent) -> None:
        for listener in self.listeners:
            listener(event)

    def _handle(self, changed: list[Path], started: float) -> None:
        config = [p for p in changed if self._is_config(p)]
        templates = [p for p in changed if self.session.source.owns(p)]
        fixtures = [p for p in changed if self._is_fixture(p)]
        if config:
            self._config_changed(config, started)
            return
        if templates:
            self._report(templates, self.session.reload_templates(), started, templates=True)
        for path in fixtures:
            fixture_started = time.perf_counter()
            known = self.session.fixtures.get(safe_resolve(path))
            outcome = self.session.reload_fixture(path)
            if outcome is None:
                self.emit(f"{self._stamp()} {display_path(path)} removed")
                if known is not None and safe_resolve(path) not in self.session.fixtures:
                    self._forget(known.name)
                    if self._batch is not None:
                        self._batch.removed.append(known.name)
                continue
            self._report([path], [outcome], fixture_started, templates=False)

    def _is_config(self, path: Path) -> bool:
        config = self.options.config_path
        return config is not None and safe_resolve(path) == safe_resolve(config)

    def _is_fixture(self, path: Path) -> bool:
        if path.suffix != FIXTURE_SUFFIX:
            return False
        resolved = safe_resolve(path)
        if resolved in self.session.fixtures:
            return True
        return self.session.follows_dir and safe_resolve(path.parent) == (
            safe_resolve(self.session.fixtures_dir)
        )

    def _config_changed(self, paths: Sequence[Path], started: float) -> None:
        factory = self.options.source_factory
        if factory is None:
            return
        try:
            self.session.source = factory()
        except ProjectError as exc:
            self.emit(f"{self._stamp()} {self.options.style('error', 'error')} {exc}")
            if self._batch is not None:
                self._batch.errors.append(str(exc))
            self.emit("  keeping the previous template set")
            return
        self.session.loaded = None
        self._report(paths, self.session.reload_templates(), started, templates=True)

    # --- reporting -----------------------------------------------------------------------------

    def _report(
        self, paths: Sequence[Path], outcomes: Sequence[Outcome], started: float, *, templates: bool
    ) -> None:
        style = self.options.style
        names = ", ".join(display_path(p) for p in paths)
        if self._batch is not None:
            self._batch.outcomes += outcomes
        if not outcomes:
            self.emit(f"{self._stamp()} {names} changed: no fixture uses it")
            return
        rendered = [o for o in outcomes if isinstance(o, Rendered)]
        failed = [o for o in outcomes if isinstance(o, Failed)]
        changed: list[tuple[Rendered, str]] = []
        for r in rendered:
            before = self.last_good.get(r.name)
            if before != r.markdown:
                changed.append((r, before or ""))
            self._accept(r)
        added, removed = diff_totals((before, r.markdown) for r, before in changed)
        render_ms = (time.perf_counter() - started) * 1000
        parts = [f"{len(outcomes)} fixture{'s' if len(outcomes) != 1 else ''}"]
        timing = f"re-rendered in {render_ms:.0f} ms"
        since_save = self._since_save(paths)
        if since_save is not None:
            timing += f" ({since_save:.0f} ms after save)"
        parts[0] += f" {timing}"
        if failed:
            parts.append(style(f"{len(failed)} FAILED, last good output kept", "error"))
        if changed:
            parts.append(f"{len(changed)} changed +{added} -{removed}")
        elif rendered:
            parts.append("output unchanged")
        snapshot = self._snapshot_summary(rendered)
        if snapshot:
            parts.append(snapshot)
        kinds = {o.kind for o in outcomes if o.kind}
        parts += self._prefix_changes(kinds)
        self.emit(f"{self._stamp()} {names} changed: " + " · ".join(parts))
        details: list[str] = []
        if templates:
            loaded = self.session.current_set()
            findings = sorted({f for kind in kinds for f in loaded.kind_findings(kind)})
            details += finding_lines(findings, style=style)
        details += failure_lines(failed, style=style)
        # The changed lines of each fixture; fixtures that changed the same way (one
        # template edit seen by many fixtures) share one excerpt.
        excerpts: dict[tuple[str, ...], list[str]] = {}
        for r, before in changed:
            if before:
                excerpts.setdefault(tuple(diff_excerpt(before, r.markdown)), []).append(r.name)
        for excerpt, fixture_names in excerpts.items():
            details.append(f"{', '.join(fixture_names)}:")
            details += [f"  {changed_line}" for changed_line in excerpt]
        for line in details[:_MAX_DETAIL_LINES]:
            self.emit(f"  {line}")
        if len(details) > _MAX_DETAIL_LINES:
            self.emit(f"  … {len(details) - _MAX_DETAIL_LINES} more")

    def _accept(self, rendered: Rendered) -> None:
        self.last_good[rendered.name] = rendered.markdown
        if self.options.out_dir is not None:
            try:
                write_output(self.options.out_dir, rendered)
            except OSError as exc:
                self.emit(f"  cannot write {self.options.out_dir}/{rendered.name}.md: {exc}")

    def _forget(self, name: str) -> None:
        """A fixture file is gone: its output goes too, so ``--out`` mirrors the fixtures."""
        self.last_good.pop(name, None)
        if self.options.out_dir is None:
            return
        target = self.options.out_dir / f"{name}.md"
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            self.emit(f"  cannot remove {display_path(target)}: {exc}")

    def _snapshot_summary(self, rendered: Sequence[Rendered]) -> str:
        same = 0
        differing: list[tuple[str, str]] = []
        for r in rendered:
            path = snapshot_path(self.options.snapshot_dir, f"{r.set_name}-{r.name}")
            if path is None:
                continue
            try:
                stored = path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if stored == r.markdown:
                same += 1
            else:
                differing.append((stored, r.markdown))
        if differing:
            added, removed = diff_totals(differing)
            return f"vs snapshot: {len(differing)} differ +{added} -{removed}"
        return "matches snapshot" if same else ""

    def _prefix_changes(self, kinds: set[Kind]) -> list[str]:
        reports = {r.kind: r for r in self.session.prefix_reports()}
        fmt = self.session.tokenizer.format
        parts = []
        for kind in sorted(kinds):
            now, before = reports.get(kind), self.prefixes.get(kind)
            if now is None or now.requests < 2:
                continue
            cached = "cached" if now.reaches_minimum else f"< {CACHE_MINIMUM_TOKENS:,}, not cached"
            if before is not None and before.shared_tokens != now.shared_tokens:
                parts.append(
                    f"{kind} prefix {fmt(before.shared_tokens)} → {fmt(now.shared_tokens)} "
                    f"tokens ({cached})"
                )
            else:
                parts.append(f"{kind} prefix {fmt(now.shared_tokens)} tokens ({cached})")
            self.prefixes[kind] = now
        return parts

    @staticmethod
    def _since_save(paths: Sequence[Path]) -> float | None:
        """Milliseconds from the newest modification of ``paths`` to now (None if all gone)."""
        mtimes = []
        for p in paths:
            try:
                mtimes.append(p.stat().st_mtime)
            except OSError:
                continue
        if not mtimes:
            return None
        return max(0.0, (time.time() - max(mtimes)) * 1000)

    def _stamp(self) -> str:
        return self.options.style(time.strftime("%H:%M:%S"), "dim")

    # --- the loop ------------------------------------------------------------------------------

    def run(self, stop_event: threading.Event) -> None:
        """Watch until ``stop_event`` is set or Ctrl-C; each batch of changes goes to handle.

        Only the folders that hold the set's templates, the fixtures and the config are
        watched, each without its sub-folders (never a ``.venv`` or ``node_modules``). The
        fixtures folder's parent is watched too, so a fixtures folder deleted and made again
        is noticed: the watch then starts over on the folders as they are now.
        """
        import watchfiles

        announced = False
        catch_up = False
        while not stop_event.is_set():
            dirs = self.watch_dirs()
            restart = False
            for changes in watchfiles.watch(
                *dirs,
                debounce=self.options.debounce_ms,
                step=self.options.step_ms,
                stop_event=stop_event,
                rust_timeout=_RUST_TIMEOUT_MS,
                yield_on_timeout=True,
                raise_interrupt=False,
                recursive=False,
            ):
                if not announced:
                    announced = True
                    shown = ", ".join(f"{display_path(d)}/" for d in dirs)
                    self.emit(f"watching {shown} (Ctrl-C to stop)")
                    self.watching.set()
                if catch_up:
                    # The watch on the folders as they are now is in place (this is its
                    # first yield): read the fixtures folder once, so a file written while
                    # the watch restarted is not missed.
                    catch_up = False
                    self._catch_up()
                if changes:
                    self.handle(path for _, path in changes)
                # A watched folder deleted (and perhaps already made again, even under the
                # same inode number) or added: the old watch on it sees nothing more.
                touched = {Path(p) for kind, p in changes if kind != watchfiles.Change.modified}
                if touched.intersection(dirs) or self.watch_dirs() != dirs:
                    restart = True
                    break
            if not restart:
                return
            catch_up = True

    def _catch_up(self) -> None:
        """The fixtures folder came back (or went): read it as it is now."""
        fixtures_dir = self.session.fixtures_dir
        if fixtures_dir.is_dir() and self.session.follows_dir:
            self.handle(sorted(fixtures_dir.glob(f"*{FIXTURE_SUFFIX}")))
