"""Checks on a generated module before jaunt writes it: does it parse, and define what it must?

Both functions return a list of error strings (empty = ok) and never raise on bad input:
NUL bytes, lone surrogates, absurd nesting (the parser's ``MemoryError``/``RecursionError``)
and oversized sources all come back as errors.

Error formats::

    line 3:5: SyntaxError: expected ':'          (validate_generated_source)
    pkg/mod.py:3:5: SyntaxError: expected ':'    (compile_check)
    Missing top-level definition: NAME

What counts as a top-level definition of ``NAME`` (statements directly in the module,
taken in order, so a later ``del NAME`` undoes an earlier binding):

* ``def NAME``, ``async def NAME``, ``class NAME``;
* ``NAME = ...``, ``NAME: T = ...`` (a bare annotation ``NAME: T`` binds nothing), names
  inside tuple/list targets (``A, (B, *C) = ...``), every target of ``A = B = ...``;
* ``import NAME``, ``import NAME.sub`` (binds ``NAME``), ``import m as NAME``,
  ``from m import NAME``, ``from m import x as NAME``: a re-export from *another* module
  counts (a thin wrapper over a library is a legitimate implementation), but an import
  from the spec module, from a package containing it (which usually re-exports its
  stubs, as ``examples/01_slugify`` does) or from the generated module itself does not:
  that would make the generated module hand back the user's own stub, a silently broken
  build. Relative imports are resolved against ``generated_module`` to tell. These
  checks need ``spec_module`` / ``generated_module``; without them imports count;
* ``from m import *`` binds nothing we can see, and the error for a name it might
  have brought says so;
* ``type NAME = ...`` (Python 3.12+);
* ``if``/``elif``/``else``: names bound in *every* branch; an ``if`` without ``else`` has
  an empty branch, so ``if TYPE_CHECKING:`` imports do not count;
* ``try``: names bound on the success path (``try`` body, then ``else``) that every
  ``except`` handler also binds or ends by raising, plus names bound in ``finally``
  (``try: import tomllib`` / ``except ImportError: import tomli as tomllib`` counts;
  ``except ImportError: pass`` does not);
* ``with``: names bound in its body;
* not ``for``/``while`` bodies (they may run zero times) nor ``match`` cases.

Syntax errors stop the check: a module that does not parse has no names to look at.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterable, Sequence

# A generated module past this size is a runaway answer, and parsing millions of tiny
# statements takes gigabytes of memory on a shared machine: refuse it before parsing.
MAX_SOURCE_CHARS = 1_000_000

_NESTING_MESSAGE = "too deeply nested for the Python parser"
_INVALID_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def validate_generated_source(
    source: str,
    expected_names: Sequence[str],
    *,
    max_chars: int = MAX_SOURCE_CHARS,
    spec_module: str | None = None,
    generated_module: str | None = None,
) -> list[str]:
    """Syntax errors (``line L:C: ...``), then ``Missing top-level definition: NAME``s.

    A missing name that the module only imports from the spec module (or its package, or
    the generated module itself) or might get from a star import gets the reason added:
    ``Missing top-level definition: slugify (`slugify` is imported from the spec module
    pkg.specs, not defined)``.
    """
    tree, errors = _parse_and_compile(source, "<generated>", "line ", max_chars)
    if tree is None:
        return errors
    hidden = _HideSelfImports(spec_module, generated_module)
    try:
        defined = top_level_names(hidden.visit_body(tree.body))
    except RecursionError:  # only when called with the stack already nearly exhausted
        return [f"line 1:1: SyntaxError: {_NESTING_MESSAGE}"]
    return [
        f"Missing top-level definition: {name}{hidden.reason(name)}"
        for name in expected_names
        if name not in defined
    ]


class _HideSelfImports:
    """Drops the import bindings that must not count as definitions, remembering why.

    Only the statements :func:`top_level_names` looks into are walked (module level and
    the bodies of ``if``/``try``/``with``); the tree is not modified, copies are.
    """

    def __init__(self, spec_module: str | None, generated_module: str | None) -> None:
        self.spec_module = spec_module
        self.generated_module = generated_module
        self.why: dict[str, str] = {}
        self.star_modules: list[str] = []

    def reason(self, name: str) -> str:
        if name in self.why:
            return f" (`{name}` is imported from {self.why[name]}, not defined)"
        if self.star_modules:
            star = ", ".join(f"`from {module} import *`" for module in self.star_modules)
            return f" ({star} does not define `{name}`: define it in this module)"
        return ""

    def source_kind(self, module: str) -> str:
        """Why an import from ``module`` is no definition ("" when it is fine)."""
        if module and module == self.spec_module:
            return f"the spec module {module}"
        if module and module == self.generated_module:
            return f"the generated module {module} itself"
        if self.spec_module and self.spec_module.startswith(module + "."):
            return f"{module}, the spec module's package (it re-exports the spec stubs)"
        return ""

    def absolute(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        if not self.generated_module:
            return ""
        parts = self.generated_module.split(".")
        if node.level >= len(parts):
            return ""  # beyond the top-level package: not one of ours
        base = parts[: len(parts) - node.level]
        return ".".join([*base, node.module] if node.module else base)

    def visit_body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        if self.spec_module is None and self.generated_module is None:
            return body  # nothing to tell apart: every import counts, as it always did
        return [stmt for stmt in map(self.visit, body) if stmt is not None]

    def visit(self, stmt: ast.stmt) -> ast.stmt | None:
        if isinstance(stmt, ast.ImportFrom):
            module = self.absolute(stmt)
            if any(alias.name == "*" for alias in stmt.names):
                self.star_modules.append("." * stmt.level + (stmt.module or ""))
            kind = self.source_kind(module)
            if not kind:
                return stmt
            for alias in stmt.names:
                self.why.setdefault(alias.asname or alias.name, kind)
            return None
        if isinstance(stmt, ast.Import):
            kept = []
            for alias in stmt.names:
                kind = self.source_kind(alias.name) if alias.asname else ""
                if kind:
                    self.why.setdefault(alias.asname or alias.name, kind)
                else:
                    kept.append(alias)
            return ast.Import(names=kept) if kept else None
        if isinstance(stmt, ast.If):
            # An elif chain is rebuilt bottom-up in a loop (hundreds of elifs must not
            # exhaust the recursion limit, see _bound_by_if).
            chain = [stmt]
            while len(chain[-1].orelse) == 1 and isinstance(chain[-1].orelse[0], ast.If):
                chain.append(chain[-1].orelse[0])
            tail = self.visit_body(chain[-1].orelse)
            for node in reversed(chain):
                tail = [ast.If(test=node.test, body=self.visit_body(node.body), orelse=tail)]
            return tail[0]
        if isinstance(stmt, ast.Try | ast.TryStar):
            handlers = [
                ast.ExceptHandler(type=h.type, name=h.name, body=self.visit_body(h.body))
                for h in stmt.handlers
            ]
            return type(stmt)(
                body=self.visit_body(stmt.body),
                handlers=handlers,
                orelse=self.visit_body(stmt.orelse),
                finalbody=self.visit_body(stmt.finalbody),
            )
        if isinstance(stmt, ast.With | ast.AsyncWith):
            return type(stmt)(items=stmt.items, body=self.visit_body(stmt.body))
        return stmt


def compile_check(source: str, filename: str, *, max_chars: int = MAX_SOURCE_CHARS) -> list[str]:
    """Errors from compiling ``source`` as ``filename`` (``filename:L:C: ...``); empty = ok.

    Compiling catches what parsing alone accepts, e.g. ``return`` outside a function.
    """
    return _parse_and_compile(source, filename, f"{filename}:", max_chars)[1]


def _parse_and_compile(
    source: str, filename: str, prefix: str, max_chars: int
) -> tuple[ast.Module | None, list[str]]:
    if len(source) > max_chars:
        return None, [
            f"{prefix}1:1: generated source too large ({len(source)} characters, limit {max_chars})"
        ]
    # A file starting with a UTF-8 BOM is valid Python; only the str form trips the parser.
    text = source.removeprefix("\ufeff")
    invalid = _invalid_character(text, prefix)
    if invalid:
        return None, [invalid]
    try:
        # The compiler's warnings about the model's code ("'dict' object is not callable")
        # are not the user's to read on stderr; errors are what validation reports.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename=filename)
            compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = exc.lineno or 1
        column = exc.offset or 1
        return None, [f"{prefix}{line}:{column}: {type(exc).__name__}: {exc.msg}"]
    except (MemoryError, RecursionError):
        return None, [f"{prefix}1:1: SyntaxError: {_NESTING_MESSAGE}"]
    except Exception as exc:  # "never raises" is the contract, whatever the parser does
        return None, [f"{prefix}1:1: {type(exc).__name__}: {exc}"]
    return tree, []


def _invalid_character(text: str, prefix: str) -> str:
    """An error for the first NUL or lone surrogate (the parser rejects both without a place)."""
    match = _INVALID_CHARACTER.search(text)
    if match is None:
        return ""
    index = match.start()
    char = match.group(0)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    what = "NUL byte" if char == "\x00" else f"lone surrogate U+{ord(char):04X}"
    return f"{prefix}{line}:{column}: SyntaxError: invalid character ({what})"


def top_level_names(body: Iterable[ast.stmt]) -> set[str]:
    """The names a sequence of module-level statements surely binds (rules in the module doc)."""
    names: set[str] = set()
    for stmt in body:
        if isinstance(stmt, ast.Delete):
            names -= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        else:
            names |= _bound_by(stmt)
    return names


def _bound_by(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {stmt.name}
    if isinstance(stmt, ast.Assign):
        return {name for target in stmt.targets for name in _target_names(target)}
    if isinstance(stmt, ast.AnnAssign):
        return _target_names(stmt.target) if stmt.value is not None else set()
    if isinstance(stmt, ast.Import):
        return {alias.asname or alias.name.partition(".")[0] for alias in stmt.names}
    if isinstance(stmt, ast.ImportFrom):
        return {alias.asname or alias.name for alias in stmt.names if alias.name != "*"}
    if isinstance(stmt, ast.If):
        return _bound_by_if(stmt)
    if isinstance(stmt, ast.Try | ast.TryStar):
        return _bound_by_try(stmt)
    if isinstance(stmt, ast.With | ast.AsyncWith):
        return top_level_names(stmt.body)
    type_alias = getattr(ast, "TypeAlias", None)  # Python 3.12+
    if type_alias is not None and isinstance(stmt, type_alias):
        name = getattr(stmt, "name", None)
        return {name.id} if isinstance(name, ast.Name) else set()
    return set()


def _bound_by_if(stmt: ast.If) -> set[str]:
    # An ``elif`` is an ``If`` nested in ``orelse``: walk the chain in a loop, because a
    # chain of a few hundred ``elif``s parses fine but would exhaust Python's recursion.
    names = top_level_names(stmt.body)
    orelse = stmt.orelse
    while len(orelse) == 1 and isinstance(orelse[0], ast.If):
        names &= top_level_names(orelse[0].body)
        orelse = orelse[0].orelse
    return names & top_level_names(orelse)


def _bound_by_try(stmt: ast.Try | ast.TryStar) -> set[str]:
    success = top_level_names([*stmt.body, *stmt.orelse])
    for handler in stmt.handlers:
        if handler.body and isinstance(handler.body[-1], ast.Raise):
            continue
        success &= top_level_names(handler.body)
    return success | top_level_names(stmt.finalbody)


def _target_names(target: ast.expr) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Tuple | ast.List):
        return {name for element in target.elts for name in _target_names(element)}
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return set()  # attributes and subscripts bind no module name
