"""Prompt fixtures: realistic ``ModuleSpecContext`` values stored as TOML files.

One file ``prompt_fixtures/<name>.toml`` is one context (see the README, "Fixture format")::

    kind = "build"                       # or "test"
    spec_module = "shop.pricing"
    generated_module = "shop.__generated__.pricing"
    expected_names = ["apply_discount"]
    description = "..."                  # optional, for humans
    error_context = []                   # optional: renders a retry attempt
    skills_block = ""                    # optional

    [[specs]]                            # in module order
    ref = "shop.pricing:apply_discount"
    source = '''...'''
    prompt = "..."                       # optional decorator prompt

    [[dependency_apis]]
    ref = "shop.money:to_cents"
    api = '''...'''

    [dependency_generated_modules]
    "shop.__generated__.money" = '''...'''

    [checks]                             # optional: behavioural checks for ``eval --run-checks``
    asserts = ['''assert apply_discount(...) == ...''']   # build: snippets run with the
                                         # generated module's names in scope
    modules = { "shop.money" = '''...''' }  # modules on the path for every check
    good = { "shop.pricing" = '''...''' }   # test: the generated tests must pass on this
    bad = { "shop.pricing" = '''...''' }    # test: ... and fail on this

Every problem is reported as a :class:`~jaunt.errors.FixtureError` naming the file and key,
as ``path:line: key 'specs[2].source': message`` (no line for a missing top-level key;
invalid TOML gives tomllib's line and column in the message).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from jaunt.generate.base import ModuleSpecContext
from jaunt.promptkit.errors import FixtureError
from jaunt.promptkit.files import read_text, toml_type
from jaunt.spec_ref import SpecRef

FIXTURE_SUFFIX = ".toml"

_TOP_KEYS = {
    "kind",
    "spec_module",
    "generated_module",
    "expected_names",
    "description",
    "error_context",
    "skills_block",
    "specs",
    "dependency_apis",
    "dependency_generated_modules",
    "checks",
}
_CHECK_KEYS = {"asserts", "modules", "good", "bad"}
_REQUIRED_TOP = ("kind", "spec_module", "generated_module", "expected_names", "specs")


@dataclass(frozen=True)
class FixtureChecks:
    """Behavioural checks of a fixture (see :mod:`jaunt.promptkit.eval.checks`)."""

    asserts: list[str] = field(default_factory=list)
    modules: dict[str, str] = field(default_factory=dict)
    good: dict[str, str] = field(default_factory=dict)
    bad: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fixture:
    """A loaded fixture: the context, the retry's error context, and where it came from."""

    name: str
    path: str
    context: ModuleSpecContext
    error_context: list[str] = field(default_factory=list)
    description: str = ""
    checks: FixtureChecks | None = None


class _Reader:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text

    def fail(self, key: str | None, message: str) -> FixtureError:
        line = key_line(self.text, key) if key else None
        return FixtureError(message, path=self.path, key=key, line=line)

    def string(self, table: dict[str, Any], key: str, where: str, *, required: bool) -> str:
        if key not in table:
            if required:
                raise self.fail(where, "missing required key")
            return ""
        value = table[key]
        if not isinstance(value, str):
            raise self.fail(where, f"must be a string, not {toml_type(value)}")
        return value

    def string_list(
        self, table: dict[str, Any], key: str, *, required: bool, where: str | None = None
    ) -> list[str]:
        where = where or key
        if key not in table:
            if required:
                raise self.fail(where, "missing required key")
            return []
        value = table[key]
        if not isinstance(value, list):
            raise self.fail(where, f"must be an array of strings, not {toml_type(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(f"{where}[{i}]", f"must be a string, not {toml_type(item)}")
        return cast(list[str], value)

    def tables(self, table: dict[str, Any], key: str, allowed: set[str]) -> list[dict[str, Any]]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"must be an array of tables ([[{key}]]), not {toml_type(value)}")
        for i, item in enumerate(value):
            for unknown in sorted(set(item) - allowed):
                raise self.fail(
                    f"{key}[{i}].{unknown}",
                    f"unknown key (allowed: {', '.join(sorted(allowed))})",
                )
        return cast(list[dict[str, Any]], value)

    def ref(self, item: dict[str, Any], where: str, seen: set[str]) -> SpecRef:
        ref = self.string(item, "ref", f"{where}.ref", required=True)
        module, colon, qualname = ref.partition(":")
        if not colon or not module or not qualname:
            raise self.fail(f"{where}.ref", f"'{ref}' is not of the form 'pkg.mod:Qualname'")
        if ref in seen:
            raise self.fail(f"{where}.ref", f"duplicate ref '{ref}'")
        seen.add(ref)
        return SpecRef(ref)


# --- where a key stands, for error messages ------------------------------------------------

_KEY_PATH = re.compile(r"(?P<top>[A-Za-z0-9_-]+)(?:\[(?P<index>\d+)\])?(?:\.(?P<sub>.+))?")
_HEADER = re.compile(r"\s*\[(?P<array>\[)?\s*(?P<name>[^\]]+?)\s*\]")
_ASSIGNMENT = re.compile(
    r"""\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[A-Za-z0-9_-]+))\s*[=.]"""
)
_ML_LITERAL = "'" * 3
_ML_BASIC = '"' * 3


def _scan_strings(line: str, open_delim: str | None) -> str | None:
    """The multi-line string delimiter still open at the end of ``line`` (valid TOML only)."""
    i, n = 0, len(line)
    while i < n:
        if open_delim is not None:
            while i < n and not line.startswith(open_delim, i):
                i += 2 if open_delim == _ML_BASIC and line[i] == "\\" else 1
            if i >= n:
                return open_delim
            quote = open_delim[0]
            open_delim = None
            while i < n and line[i] == quote:  # one or two quotes may end the content
                i += 1
            continue
        ch = line[i]
        if ch == "#":
            break
        if line.startswith(_ML_LITERAL, i) or line.startswith(_ML_BASIC, i):
            open_delim, i = line[i : i + 3], i + 3
        elif ch == '"':
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            i += 1
        elif ch == "'":
            end = line.find("'", i + 1)
            i = n if end < 0 else end + 1
        else:
            i += 1
    return open_delim


def _statement_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, text)`` of every line that does not start inside a multi-line string."""
    lines: list[tuple[int, str]] = []
    open_delim: str | None = None
    for number, line in enumerate(text.split("\n"), 1):
        if open_delim is None:
            lines.append((number, line))
        open_delim = _scan_strings(line, open_delim)
    return lines


def _assigned_key(line: str) -> str | None:
    match = _ASSIGNMENT.match(line)
    if match is None:
        return None
    return match.group("dq") or match.group("sq") or match.group("bare")


def key_line(text: str, key: str) -> int | None:
    """The line of ``text`` (parsed fixture TOML) where ``key`` stands; best effort.

    ``key`` is a loader key path: ``kind``, ``expected_names[1]``, ``specs[2].source``,
    ``dependency_generated_modules.pkg.mod``. A key missing from ``[[specs]]`` number n
    points at that table's header; a missing top-level key has no line (``None``).
    """
    match = _KEY_PATH.fullmatch(key)
    if match is None:
        return None
    top, sub = match.group("top"), match.group("sub")
    index = int(match.group("index") or 0)
    section: tuple[str, int] | None = None  # (table name, occurrence) under the last header
    seen: dict[str, int] = {}
    header_line: int | None = None
    for number, line in _statement_lines(text):
        assigned = _assigned_key(line)
        header = _HEADER.match(line) if assigned is None else None
        if header is not None:
            name = header.group("name").strip("\"'")
            section = (name, seen.get(name, 0))
            seen[name] = section[1] + 1
            if section == (top, index) and header_line is None:
                header_line = number
        elif assigned is not None:
            if section is None and assigned == top:
                return number  # a top-level value, inline arrays and tables included
            if sub is not None and section == (top, index) and assigned == sub:
                return number
    return header_line


def parse_fixture(text: str, *, path: str, name: str | None = None) -> Fixture:
    """Parse fixture TOML text; ``path`` is used in error messages."""
    reader = _Reader(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        if "(at end of document)" in message:
            # tomllib gives no line here; the end of the file is where it gave up.
            last_line = len(text.splitlines()) or 1
            message = message.replace("(at end of document)", f"(at end of file, line {last_line})")
        raise reader.fail(None, f"invalid TOML: {message}") from None
    except RecursionError:
        raise reader.fail(None, "invalid TOML: arrays or tables nested too deeply") from None
    for unknown in sorted(set(data) - _TOP_KEYS):
        raise reader.fail(unknown, f"unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})")
    for key in _REQUIRED_TOP:
        if key not in data:
            raise reader.fail(key, "missing required key")
    kind = reader.string(data, "kind", "kind", required=True)
    if kind not in ("build", "test"):
        raise reader.fail("kind", f'must be "build" or "test", not {kind!r}')
    spec_sources: dict[SpecRef, str] = {}
    decorator_prompts: dict[SpecRef, str] = {}
    seen: set[str] = set()
    for i, item in enumerate(reader.tables(data, "specs", {"ref", "source", "prompt"})):
        ref = reader.ref(item, f"specs[{i}]", seen)
        spec_sources[ref] = reader.string(item, "source", f"specs[{i}].source", required=True)
        prompt = reader.string(item, "prompt", f"specs[{i}].prompt", required=False)
        if prompt:
            decorator_prompts[ref] = prompt
    apis: dict[SpecRef, str] = {}
    seen = set()
    for i, item in enumerate(reader.tables(data, "dependency_apis", {"ref", "api"})):
        ref = reader.ref(item, f"dependency_apis[{i}]", seen)
        apis[ref] = reader.string(item, "api", f"dependency_apis[{i}].api", required=True)
    generated = data.get("dependency_generated_modules", {})
    if not isinstance(generated, dict):
        raise reader.fail(
            "dependency_generated_modules",
            f"must be a table of module name = source, not {toml_type(generated)}",
        )
    for module, source in generated.items():
        if not isinstance(source, str):
            raise reader.fail(
                f"dependency_generated_modules.{module}",
                f"must be a string, not {toml_type(source)}",
            )
    context = ModuleSpecContext(
        kind=kind,  # type: ignore[arg-type]  # checked above
        spec_module=reader.string(data, "spec_module", "spec_module", required=True),
        generated_module=reader.string(data, "generated_module", "generated_module", required=True),
        expected_names=reader.string_list(data, "expected_names", required=True),
        spec_sources=spec_sources,
        decorator_prompts=decorator_prompts,
        dependency_apis=apis,
        dependency_generated_modules=dict(generated),
        skills_block=reader.string(data, "skills_block", "skills_block", required=False),
    )
    return Fixture(
        name=name if name is not None else Path(path).stem,
        path=path,
        context=context,
        error_context=reader.string_list(data, "error_context", required=False),
        description=reader.string(data, "description", "description", required=False),
        checks=_parse_checks(reader, data, kind),
    )


def _parse_checks(reader: _Reader, data: dict[str, Any], kind: str) -> FixtureChecks | None:
    if "checks" not in data:
        return None
    table = data["checks"]
    if not isinstance(table, dict):
        raise reader.fail("checks", f"must be a table ([checks]), not {toml_type(table)}")
    for unknown in sorted(set(table) - _CHECK_KEYS):
        raise reader.fail(
            f"checks.{unknown}", f"unknown key (allowed: {', '.join(sorted(_CHECK_KEYS))})"
        )
    asserts = reader.string_list(table, "asserts", required=False, where="checks.asserts")
    modules: dict[str, dict[str, str]] = {}
    for key in ("modules", "good", "bad"):
        value = table.get(key, {})
        if not isinstance(value, dict):
            raise reader.fail(
                f"checks.{key}", f"must be a table of module name = source, not {toml_type(value)}"
            )
        for module, source in value.items():
            if not isinstance(source, str):
                raise reader.fail(
                    f"checks.{key}", f"{module!r} must be a string, not {toml_type(source)}"
                )
            if not all(part.isidentifier() for part in module.split(".")):
                raise reader.fail(f"checks.{key}", f"{module!r} is not a dotted module name")
        modules[key] = dict(value)
    if kind == "build":
        if not asserts:
            raise reader.fail("checks.asserts", "a build fixture's checks need asserts")
        if modules["good"] or modules["bad"]:
            raise reader.fail("checks", "good/bad implementations are for test fixtures")
    else:
        if not modules["good"] or not modules["bad"]:
            raise reader.fail("checks", "a test fixture's checks need both good and bad")
        if asserts:
            raise reader.fail("checks.asserts", "asserts are for build fixtures")
    return FixtureChecks(asserts, modules["modules"], modules["good"], modules["bad"])


def load_fixture(path: str | os.PathLike[str]) -> Fixture:
    """Read and parse one fixture file."""
    shown = str(path)
    text = read_text(path, FixtureError, "fixture file")
    return parse_fixture(text, path=shown)


def fixture_paths(directory: str | os.PathLike[str]) -> list[Path]:
    """The fixture files of a directory, sorted by name."""
    root = Path(directory)
    if not root.is_dir():
        raise FixtureError("fixture directory not found", path=str(root))
    # Anything named *.toml but a folder is kept: reading a dangling or looping symlink, a
    # FIFO or a device reports the problem (a finding) instead of the file silently
    # vanishing from the run.
    return sorted(p for p in root.iterdir() if p.suffix == FIXTURE_SUFFIX and not p.is_dir())


def load_fixture_dir(directory: str | os.PathLike[str]) -> list[Fixture]:
    """Every fixture of a directory, sorted by name; the first broken one raises."""
    return [load_fixture(p) for p in fixture_paths(directory)]


# --- writing ---------------------------------------------------------------------------------


def toml_string(value: str, *, multiline: bool = True) -> str:
    """A TOML string literal for ``value``; multi-line text stays readable where it can."""
    literal_ok = all(ch == "\t" or ch == "\n" or (ch >= " " and ch != "\x7f") for ch in value)
    if (
        multiline
        and "\n" in value
        and literal_ok
        and "'''" not in value
        and not value.endswith("'")
    ):
        return f"'''\n{value}'''"
    if literal_ok and "'" not in value and "\n" not in value:
        return f"'{value}'"
    encoded = json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise ValueError("text with lone surrogates cannot be written as TOML")
    return encoded


def toml_key(value: str) -> str:
    """A quoted TOML key for ``value``: keys cannot be multi-line strings."""
    return toml_string(value, multiline=False)


def dump_fixture(
    ctx: ModuleSpecContext,
    error_context: list[str] | None = None,
    *,
    description: str = "",
) -> str:
    """The fixture TOML for ``ctx``: :func:`parse_fixture` reads it back to an equal context."""
    lines: list[str] = []
    if description:
        lines.append(f"description = {toml_string(description)}")
    lines += [
        f"kind = {toml_string(ctx.kind)}",
        f"spec_module = {toml_string(ctx.spec_module)}",
        f"generated_module = {toml_string(ctx.generated_module)}",
        f"expected_names = [{', '.join(toml_string(n) for n in ctx.expected_names)}]",
    ]
    if error_context:
        lines.append("error_context = [")
        lines += [f"    {toml_string(e)}," for e in error_context]
        lines.append("]")
    if ctx.skills_block:
        lines.append(f"skills_block = {toml_string(ctx.skills_block)}")
    if not ctx.spec_sources:
        # ``specs`` is required when loading: an empty context still round-trips.
        lines.append("specs = []")
    for ref, source in ctx.spec_sources.items():
        lines += ["", "[[specs]]", f"ref = {toml_string(ref)}", f"source = {toml_string(source)}"]
        if ctx.decorator_prompts.get(ref):
            lines.append(f"prompt = {toml_string(ctx.decorator_prompts[ref])}")
    for ref, api in ctx.dependency_apis.items():
        lines += [
            "",
            "[[dependency_apis]]",
            f"ref = {toml_string(ref)}",
            f"api = {toml_string(api)}",
        ]
    if ctx.dependency_generated_modules:
        lines += ["", "[dependency_generated_modules]"]
        lines += [
            f"{toml_key(module)} = {toml_string(source)}"
            for module, source in ctx.dependency_generated_modules.items()
        ]
    return "\n".join(lines) + "\n"
