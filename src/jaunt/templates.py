"""The template core: parse ``{{name}}`` templates once, render them many times in one pass.

Syntax (the whole language):

* ``{{name}}`` is a placeholder; ``name`` is a Python identifier. Spaces or tabs inside the
  braces are allowed (``{{ name }}`` is the same placeholder). A placeholder stays on one line.
* ``\\{{`` is a literal ``{{`` and ``\\}}`` a literal ``}}``. Before ``{{``/``}}`` a pair of
  backslashes is one literal backslash, so ``\\\\{{name}}`` is a backslash followed by the
  placeholder. Backslashes anywhere else are ordinary text.
* Anything else that looks like a broken placeholder is a syntax error with its location:
  ``{{name}`` or ``{{name`` (unclosed), ``{name}}`` (one brace short), ``{{ }}`` (empty),
  ``{{1x}}`` / ``{{a.b}}`` / ``{{ x | f }}`` (not an identifier).

Values are inserted verbatim: the text of a value is never scanned for placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

from jaunt.promptkit.errors import (
    MissingPlaceholderValuesError,
    SourceLocation,
    TemplateError,
    TemplateSyntaxError,
)

__all__ = ["Placeholder", "Scan", "Template", "scan"]

# A double brace, open or close. The backslashes before it are counted backwards from the
# brace (never past the previous token), so every character is looked at a bounded number
# of times: a leading `\\*` in the pattern would rescan a long run of backslashes from each
# of its positions (quadratic).
# A well-formed ASCII placeholder is tried first: it is the common case, recognised
# whole in C (names outside ASCII take the general path, which checks isidentifier()).
_BRACES = re.compile(r"\{\{[ \t]*(?a:([A-Za-z_]\w*))[ \t]*\}\}|\{\{|\}\}")
# More syntax errors than this are counted, not kept: a megabyte of `{` would otherwise
# build half a million error objects.
MAX_SCAN_ERRORS = 100
# Just before a stray `}}`: `{name` means the author wrote `{name}}`, one brace short.
_ONE_BRACE_SHORT = re.compile(r"(?<![{\\])\{[ \t]*([A-Za-z_]\w*)[ \t]*\Z")
_OPEN_RUN = re.compile(r"\{+")
_CLOSE_PAIRS = re.compile(r"(?:\}\})+")
_NAME_THEN_ONE_BRACE = re.compile(r"[ \t]*([A-Za-z_]\w*)[ \t]*\}(?!\})")


class Placeholder(NamedTuple):
    """One ``{{name}}`` occurrence: its name, where it starts (1-based) and its raw text.

    A named tuple, not a dataclass: a template may hold hundreds of thousands of them, and
    building a tuple costs a fraction of a frozen dataclass's ``__init__``.
    """

    name: str
    line: int
    column: int
    offset: int
    raw: str

    def location(self, path: str | None) -> SourceLocation:
        return SourceLocation(path, self.line, self.column)


@dataclass(frozen=True, slots=True)
class Scan:
    """What the scanner found: literal text around each placeholder, and any syntax errors.

    ``literals`` always has exactly ``len(placeholders) + 1`` items (possibly empty strings),
    with escapes already resolved, so the rendered text is
    ``literals[0] + value0 + literals[1] + ... + literals[-1]``. Malformed placeholders are
    kept as literal text so that a tolerant caller (the linter) still sees every other problem.
    """

    literals: tuple[str, ...]
    placeholders: tuple[Placeholder, ...]
    errors: tuple[TemplateError, ...]


class _Lines:
    """Turns offsets into 1-based (line, column), advancing monotonically through the text."""

    __slots__ = ("_line", "_line_start", "_pos", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._line = 1
        self._line_start = 0

    def at(self, offset: int) -> tuple[int, int]:
        text = self._text
        if offset < self._pos:  # rare: errors found by a second pass go back
            self._pos, self._line, self._line_start = 0, 1, 0
        newlines = text.count("\n", self._pos, offset)
        if newlines:
            self._line += newlines
            self._line_start = text.rfind("\n", self._pos, offset) + 1
        self._pos = offset
        return self._line, offset - self._line_start + 1


def scan(text: str, path: str | None = None) -> Scan:
    """Split ``text`` into literals and placeholders, collecting every syntax error.

    Linear in ``len(text)`` whatever the input (fuzzed; see ``benchmarks/hostile_input.py``).
    At most :data:`MAX_SCAN_ERRORS` errors are kept; a last one says there are more.
    """
    literals: list[str] = []
    placeholders: list[Placeholder] = []
    errors: list[TemplateError] = []
    dropped = False
    lines = _Lines(text)
    current: list[str] = []  # pieces of the literal being built
    raw_start = 0  # start of raw text not yet copied into `current`
    # Caches that keep the forward searches linear: the end of the line being scanned and
    # the next `}}` at or after the last search start.
    line_end = -1
    next_close = -2
    size = len(text)
    line_no, line_start, line_pos = 1, 0, 0

    def error(offset: int, message: str) -> None:
        nonlocal dropped
        if len(errors) >= MAX_SCAN_ERRORS:
            dropped = True
            return
        line, column = lines.at(offset)
        errors.append(TemplateError(message, path=path, line=line, column=column))

    def flush_raw(end: int) -> None:
        if end > raw_start:
            current.append(text[raw_start:end])

    pos = 0
    search = _BRACES.search
    append = current.append
    while True:
        m = search(text, pos)
        if m is None:
            break
        brace_at = m.start()
        name = m.group(1)
        if name is not None and (brace_at == pos or text[brace_at - 1] != "\\"):
            # Fast path: `{{name}}` with no backslash before it.
            if brace_at > raw_start:
                append(text[raw_start:brace_at])
            newlines = text.count("\n", line_pos, brace_at)
            if newlines:
                line_no += newlines
                line_start = text.rfind("\n", line_pos, brace_at) + 1
            line_pos = brace_at
            pos = raw_start = m.end()
            placeholders.append(
                Placeholder(name, line_no, brace_at - line_start + 1, brace_at, text[brace_at:pos])
            )
            literals.append("".join(current))
            current.clear()
            continue
        braces = text[brace_at : brace_at + 2]
        start = brace_at
        while start > pos and text[start - 1] == "\\":
            start -= 1
        backslashes = brace_at - start
        chunk_start = raw_start
        if start > raw_start:
            append(text[raw_start:start])
        if backslashes > 1:
            append("\\" * (backslashes // 2))
        pos = raw_start = brace_at + 2
        if backslashes % 2:  # escaped: a literal pair of braces
            append(braces)
            continue
        if braces == "}}":  # a closing pair with no opening: plain text, unless `{name}}`
            short = (
                _ONE_BRACE_SHORT.search(text, chunk_start, brace_at)
                if not backslashes and len(errors) < MAX_SCAN_ERRORS
                else None
            )
            if short:
                error(
                    short.start(),
                    f"'{short.group(0)}}}}}' is one brace short: write "
                    f"'{{{{{short.group(1)}}}}}' for a placeholder",
                )
            current.append(braces)
            # The pairs right after it are plain text too (nothing stands between them).
            more = _CLOSE_PAIRS.match(text, pos)
            if more:
                append(more.group())
                pos = raw_start = more.end()
            continue
        if line_end < brace_at:
            line_end = text.find("\n", brace_at + 2)
            if line_end == -1:
                line_end = size
        if next_close != -1 and next_close < brace_at + 2:
            next_close = text.find("}}", brace_at + 2)
        close = next_close if 0 <= next_close < line_end else -1
        if close == -1:
            if len(errors) >= MAX_SCAN_ERRORS:  # past the cap: skip building the message
                dropped = True
                # Every further `{{` of a run of braces on this line is unclosed too: take
                # the whole run at once instead of one loop turn per pair.
                run = _OPEN_RUN.match(text, brace_at).end() - brace_at  # type: ignore[union-attr]
                pairs = run - run % 2
                append(text[brace_at : brace_at + pairs])
                pos = raw_start = brace_at + pairs
                continue
            near = _NAME_THEN_ONE_BRACE.match(text, brace_at + 2, line_end)
            if near:
                error(brace_at, f"placeholder '{{{{{near.group(1)}}}' is missing a closing '}}'")
            else:
                error(brace_at, r"unclosed '{{' (write '\{{' for a literal '{{')")
            current.append("{{")
            continue
        raw = text[brace_at : close + 2]
        name = text[brace_at + 2 : close].strip(" \t")
        pos = raw_start = close + 2
        if not name:
            error(brace_at, f"empty placeholder '{raw}'")
        elif not name.isidentifier():
            error(
                brace_at,
                f"invalid placeholder '{_excerpt(raw)}': a name must be a Python identifier"
                r" (write '\{{' for a literal '{{')",
            )
        else:
            # _Lines.at inlined: this is the hot path of a template full of placeholders.
            newlines = text.count("\n", line_pos, brace_at)
            if newlines:
                line_no += newlines
                line_start = text.rfind("\n", line_pos, brace_at) + 1
            line_pos = brace_at
            placeholders.append(
                Placeholder(name, line_no, brace_at - line_start + 1, brace_at, raw)
            )
            literals.append("".join(current))
            current.clear()
            continue
        current.append(raw)
    flush_raw(len(text))
    literals.append("".join(current))
    errors.sort(key=lambda e: (e.line, e.column))
    if dropped:
        last = errors[-1]
        errors.append(
            TemplateError(
                f"... and more syntax errors (only the first {MAX_SCAN_ERRORS} are reported)",
                path=path,
                line=last.line,
                column=last.column,
            )
        )
    return Scan(tuple(literals), tuple(placeholders), tuple(errors))


def _excerpt(raw: str, limit: int = 60) -> str:
    """A long bad placeholder shown by its start and end, not whole in the error line."""
    return raw if len(raw) <= limit else f"{raw[: limit // 2]}...{raw[-limit // 2 :]}"


# Templates with more placeholders than this render through a list skeleton instead of
# generated code, so compiling a pathological template stays cheap.
_MAX_GENERATED_SLOTS = 512


class Template:
    """A parsed template. Parse once, then call ``render(mapping)`` any number of times.

    ``render(mapping: Mapping[str, str]) -> str`` fills every placeholder from ``mapping``
    (extra keys are ignored); it raises :class:`~jaunt.errors.MissingPlaceholderValuesError`
    naming every placeholder without a value and its location, and
    :class:`~jaunt.errors.TemplateError` for a value that is not a ``str``.

    Raises :class:`~jaunt.errors.TemplateSyntaxError` (carrying every problem found) when the
    text is malformed.
    """

    __slots__ = ("_scan", "path", "render", "text")

    render: Callable[[Mapping[str, str]], str]

    def __init__(self, text: str, *, path: str | None = None) -> None:
        self.text = text
        self.path = path
        found = scan(text, path)
        if found.errors:
            raise TemplateSyntaxError(list(found.errors))
        self._scan = found
        self.render = _compile_renderer(found, path)

    @property
    def placeholders(self) -> frozenset[str]:
        """The names of the placeholders this template uses."""
        return frozenset(p.name for p in self._scan.placeholders)

    @property
    def occurrences(self) -> tuple[Placeholder, ...]:
        """Every placeholder occurrence in order, with its location."""
        return self._scan.placeholders

    @property
    def literals(self) -> tuple[str, ...]:
        """The literal text around the placeholders (escapes resolved), one more than them."""
        return self._scan.literals

    def __repr__(self) -> str:
        names = ", ".join(sorted(self.placeholders))
        return f"Template(path={self.path!r}, placeholders=[{names}])"


def _compile_renderer(found: Scan, path: str | None) -> Callable[[Mapping[str, str]], str]:
    """A function that renders ``found``: the fastest shape Python offers for it.

    For a usual template that is code written out for it, ``"".join([L[0], m["a"], L[1],
    ...])``, which is exactly what a hand-written renderer would do; the names are
    identifiers (checked by the scanner) and the literals are passed in, never pasted into
    the code.
    """
    literals = found.literals
    names = [p.name for p in found.placeholders]

    def fail(mapping: Mapping[str, Any]) -> TemplateError:
        return _render_error(found, path, mapping)

    if not names:
        only = literals[0]
        return lambda mapping: only
    if len(names) > _MAX_GENERATED_SLOTS:
        skeleton = [part for literal in literals for part in (literal, "")][:-1]
        getter = itemgetter(*names)

        def render_skeleton(mapping: Mapping[str, str]) -> str:
            out = skeleton[:]
            try:
                out[1::2] = getter(mapping)
                return "".join(out)
            except (KeyError, TypeError):
                raise fail(mapping) from None

        return render_skeleton
    items: list[str] = []
    for i, name in enumerate(names):
        items += [f"L[{i}]", f"m[{name!r}]"]
    items.append(f"L[{len(names)}]")
    source = (
        "def render(m):\n"
        "    try:\n"
        f"        return ''.join([{', '.join(items)}])\n"
        "    except (KeyError, TypeError):\n"
        "        raise fail(m) from None\n"
    )
    namespace: dict[str, Any] = {"L": literals, "fail": fail}
    exec(compile(source, f"<template {path or ''}>", "exec"), namespace)
    render: Callable[[Mapping[str, str]], str] = namespace["render"]
    return render


def _render_error(found: Scan, path: str | None, mapping: Mapping[str, Any]) -> TemplateError:
    missing = [(p.name, p.location(path)) for p in found.placeholders if p.name not in mapping]
    if missing:
        return MissingPlaceholderValuesError(missing)
    for p in found.placeholders:
        value = mapping[p.name]
        if not isinstance(value, str):
            return TemplateError(
                f"value for placeholder '{p.name}' must be str, not {type(value).__name__}",
                path=path,
                line=p.line,
                column=p.column,
            )
    return TemplateError("the mapping raised while rendering", path=path)  # pragma: no cover
