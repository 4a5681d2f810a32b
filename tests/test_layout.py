"""The layout shows the data path: no import cycles, nothing below the CLI imports it.

Every ``import`` of a ``jaunt`` module counts, lazy ones inside functions included (a lazy
import only hides a cycle), except imports under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    known = set(files)
    graph = {name: _imports(path, known) - {name} for name, path in files.items()}
    # A package's __init__ is imported with each of its modules; that is not a dependency.
    return {m: {d for d in deps if not m.startswith(f"{d}.")} for m, deps in graph.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph.get(node, ())):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_cli_imports_the_cli() -> None:
    cli = "jaunt.promptkit.cli"
    offenders = {
        module: sorted(d for d in deps if d == cli or d.startswith(f"{cli}."))
        for module, deps in _graph().items()
        if not (module == cli or module.startswith(f"{cli}."))
    }
    assert {m: d for m, d in offenders.items() if d} == {}


def test_layer1_modules_do_not_import_the_toolkit_above_them() -> None:
    # jaunt imports these at run time: they may use the context, templates and messages
    # below them, never the authoring toolkit (sessions, watch, snapshots, CLI).
    above = ("session", "watch", "snapshots", "cli", "report", "capture", "project")
    graph = _graph()
    for module in ("jaunt.generate.base", "jaunt.validation", "jaunt.templates"):
        bad = [d for d in graph[module] if d.split(".")[2:3] and d.split(".")[2] in above]
        assert bad == [], module


def test_the_wheel_holds_src_jaunt_and_no_test_helper() -> None:
    import tomllib

    root = SRC.parent
    build = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert build["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/jaunt"]
    shipped = {p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")}
    assert not [p for p in shipped if "testing" in p or "helpers" in p or "fake" in p]
    assert (root / "tests" / "helpers" / "fake_openai.py").is_file()


def test_colour_codes_live_only_in_the_cli() -> None:
    cli = SRC / "jaunt" / "promptkit" / "cli"
    offenders = [
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if cli not in p.parents and ("\\x1b" in p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_library_never_prints() -> None:
    cli = SRC / "jaunt" / "promptkit" / "cli"
    offenders = []
    for path in SRC.rglob("*.py"):
        if cli in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            called = isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            if called and node.func.id == "print":  # type: ignore[attr-defined]
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []
