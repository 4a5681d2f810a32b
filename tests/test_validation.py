"""validate_generated_source / compile_check: errors, the top-level name rules, never raising."""

from __future__ import annotations

import ast
import sys
import textwrap
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaunt.validation import (
    MAX_SOURCE_CHARS,
    compile_check,
    top_level_names,
    validate_generated_source,
)


def _v(source: str, names: list[str]) -> list[str]:
    return validate_generated_source(textwrap.dedent(source), names)


def test_valid_module_has_no_errors() -> None:
    source = """
        from decimal import Decimal

        def apply_discount(price: Decimal, percent: int) -> Decimal:
            return price

        async def fetch() -> None: ...

        class Cart:
            pass

        RATE = 3
        LIMIT: int = 5
    """
    assert _v(source, ["apply_discount", "fetch", "Cart", "RATE", "LIMIT", "Decimal"]) == []


def test_missing_names_listed_in_expected_order() -> None:
    assert _v("def a(): pass\n", ["b", "a", "c"]) == [
        "Missing top-level definition: b",
        "Missing top-level definition: c",
    ]


def test_syntax_error_carries_line_and_column() -> None:
    errors = _v("x = 1\ndef f(:\n    pass\n", ["f"])
    assert len(errors) == 1
    assert errors[0].startswith("line 2:7: SyntaxError: ")


def test_nested_definitions_do_not_count() -> None:
    source = """
        def outer():
            def inner(): pass
        class C:
            method = 1
    """
    assert _v(source, ["inner", "method"]) == [
        "Missing top-level definition: inner",
        "Missing top-level definition: method",
    ]


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("import os.path as name\n", "name"),
        ("import name.sub\n", "name"),
        ("from m import x as name\n", "name"),
        ("from m import name\n", "name"),
        ("A, (name, *rest) = 1, (2, 3)\n", "name"),
        ("[a, name] = 1, 2\n", "name"),
        ("x = name = 1\n", "name"),
        ("a, *name = [1, 2]\n", "name"),
        ("with open('f') as fh:\n    name = fh.read()\n", "name"),
    ],
)
def test_other_binding_forms_count(source: str, name: str) -> None:
    assert _v(source, [name]) == []


@pytest.mark.parametrize(
    "source",
    [
        "name: int\n",  # a bare annotation binds nothing
        "obj.name = 1\n",
        "d['name'] = 1\n",
        "from m import *\n",
        "for name in range(3):\n    pass\n",
        "for i in range(3):\n    name = i\n",
        "while False:\n    name = 1\n",
        "name = 1\ndel name\n",
        "def name(): pass\ndel name\n",
    ],
)
def test_non_bindings(source: str) -> None:
    assert _v(source, ["name"]) == ["Missing top-level definition: name"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="type statement needs Python 3.12")
def test_type_alias_counts() -> None:
    assert _v("type Name = int | str\n", ["Name"]) == []


def test_type_alias_node_counts_on_any_python(monkeypatch: pytest.MonkeyPatch) -> None:
    # The interpreter here may predate the ``type`` statement: check the TypeAlias rule on a
    # node built by hand (a stand-in class where ``ast.TypeAlias`` does not exist yet).
    if not hasattr(ast, "TypeAlias"):

        class TypeAlias(ast.stmt):
            _fields = ("name", "type_params", "value")

        monkeypatch.setattr(ast, "TypeAlias", TypeAlias, raising=False)
    node = ast.TypeAlias(  # type: ignore[attr-defined, unused-ignore]
        name=ast.Name("Name", ast.Store()), type_params=[], value=ast.Name("int", ast.Load())
    )
    assert top_level_names([node]) == {"Name"}


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="before 3.12 it is a syntax error")
def test_type_alias_is_a_syntax_error_before_312() -> None:
    errors = _v("type Name = int | str\n", ["Name"])
    assert len(errors) == 1
    assert errors[0].startswith("line 1:")


# --- the documented rules for top-level if / try ----------------------------------------------


def test_if_else_both_branches_count() -> None:
    source = """
        import sys
        if sys.version_info >= (3, 12):
            def f(): return 1
            g = 1
        elif sys.platform == "win32":
            def f(): return 2
            g = 2
        else:
            from backport import f
    """
    assert _v(source, ["f", "g"]) == ["Missing top-level definition: g"]


def test_if_without_else_does_not_count() -> None:
    source = """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from decimal import Decimal
    """
    assert _v(source, ["Decimal"]) == ["Missing top-level definition: Decimal"]


def test_long_elif_chain_is_walked_without_recursion() -> None:
    # Hundreds of elifs parse and compile; the name rules must not hit the recursion limit.
    branches = "".join(f"elif x == {i}:\n    a = {i}\n" for i in range(800))
    source = f"x = 0\nif x < 0:\n    a = -1\n{branches}else:\n    a = 0\n"
    compile(source, "<elif>", "exec")
    assert validate_generated_source(source, ["a", "b"]) == ["Missing top-level definition: b"]
    unguarded = source.replace("else:\n    a = 0\n", "")
    assert validate_generated_source(unguarded, ["a"]) == ["Missing top-level definition: a"]


def test_try_with_fallback_import_counts() -> None:
    source = """
        try:
            import tomllib
        except ImportError:
            import tomli as tomllib
    """
    assert _v(source, ["tomllib"]) == []


def test_try_with_swallowing_handler_does_not_count() -> None:
    source = """
        try:
            from fast import speedup
        except ImportError:
            pass
    """
    assert _v(source, ["speedup"]) == ["Missing top-level definition: speedup"]


def test_try_handler_that_raises_and_else_and_finally_count() -> None:
    source = """
        try:
            from fast import speedup
        except ImportError as exc:
            raise RuntimeError("need fast") from exc
        else:
            helper = speedup
        finally:
            done = True
    """
    assert _v(source, ["speedup", "helper", "done"]) == []


def test_try_star_counts_like_try() -> None:
    source = """
        try:
            value = 1
        except* ValueError:
            value = 2
    """
    assert _v(source, ["value"]) == []


# --- never raises -----------------------------------------------------------------------------


def test_nul_byte_is_located() -> None:
    assert _v("x = 1\ny = 'a\x00'\n", []) == ["line 2:7: SyntaxError: invalid character (NUL byte)"]


def test_lone_surrogate_is_located() -> None:
    assert _v("x = '\ud800'\n", ["x"]) == [
        "line 1:6: SyntaxError: invalid character (lone surrogate U+D800)"
    ]


def test_leading_bom_is_accepted() -> None:
    assert _v("\ufeffx = 1\n", ["x"]) == []


def test_bom_elsewhere_is_an_error() -> None:
    errors = _v("x = 1\n\ufeffy = 2\n", ["x"])
    assert len(errors) == 1
    assert errors[0].startswith("line 2:")


@pytest.mark.parametrize(
    "source",
    [
        "(" * 5000,
        "[" * 300 + "]" * 300,
        "-" * 200_000 + "1",  # MemoryError inside the parser
        "1+" * 200_000 + "1",  # RecursionError during AST construction
        "x = " + "(" * 250 + "1" + ")" * 250 + "\n",
    ],
)
def test_absurd_nesting_comes_back_as_an_error(source: str) -> None:
    errors = validate_generated_source(source, ["x"])
    assert errors
    assert errors[0].startswith("line ")


def test_deep_but_legal_nesting_is_fine() -> None:
    assert validate_generated_source("x = " + "(" * 150 + "1" + ")" * 150 + "\n", ["x"]) == []


def test_parser_memory_and_recursion_errors_are_named() -> None:
    for source in ("-" * 200_000 + "1", "1+" * 200_000 + "1"):
        assert validate_generated_source(source, []) == [
            "line 1:1: SyntaxError: too deeply nested for the Python parser"
        ]


def test_five_megabytes_is_refused_without_parsing() -> None:
    source = "x = 1\n" * (5_000_000 // 6)
    assert len(source) > MAX_SOURCE_CHARS
    errors = validate_generated_source(source, ["x"])
    assert errors == [
        f"line 1:1: generated source too large ({len(source)} characters, limit {MAX_SOURCE_CHARS})"
    ]


def test_large_module_under_the_limit_is_checked() -> None:
    source = "".join(f"def f{i}(): return {i}\n" for i in range(20_000))
    assert validate_generated_source(source, ["f0", "f19999", "f20000"]) == [
        "Missing top-level definition: f20000"
    ]


def test_empty_source() -> None:
    assert validate_generated_source("", ["f"]) == ["Missing top-level definition: f"]
    assert validate_generated_source("", []) == []


# --- compile_check --------------------------------------------------------------------------


def test_compile_check_catches_what_parsing_accepts() -> None:
    assert compile_check("return 1\n", "pkg/mod.py") == [
        "pkg/mod.py:1:1: SyntaxError: 'return' outside function"
    ]
    assert compile_check("x = 1\nbreak\n", "m.py")[0].startswith("m.py:2:1: SyntaxError: ")
    assert compile_check("def f():\n    return 1\n", "m.py") == []


def test_validate_also_catches_compile_only_errors() -> None:
    assert _v("def f(): pass\nreturn 1\n", ["f"]) == [
        "line 2:1: SyntaxError: 'return' outside function"
    ]


def test_compile_check_never_raises() -> None:
    assert compile_check("a\x00", "m.py") == ["m.py:1:2: SyntaxError: invalid character (NUL byte)"]
    assert compile_check("(" * 5000, "m.py")[0].startswith("m.py:1:")


@settings(max_examples=300, deadline=None)
@given(st.text(), st.lists(st.text(min_size=1, max_size=5), max_size=3))
def test_fuzz_never_raises_on_any_text(source: str, names: list[str]) -> None:
    errors = validate_generated_source(source, names)
    assert all(isinstance(e, str) and e for e in errors)
    assert all(isinstance(e, str) for e in compile_check(source, "f.py"))


_PY_CHARS = st.sampled_from([*"()[]{}:=+-*/ \n\tabcxyz019'\"#\\,.@", "def ", "class "])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PY_CHARS, max_size=80).map("".join))
def test_fuzz_python_like_text(source: str) -> None:
    errors = validate_generated_source(source, ["a"])
    syntax = [e for e in errors if not e.startswith("Missing top-level definition: ")]
    # A syntax error comes alone, located; otherwise the text really compiles.
    if syntax:
        assert len(errors) == 1
        assert errors[0].startswith("line ")
    else:
        compile(source, "<fuzz>", "exec", dont_inherit=True)


# --- imports are not definitions (jaunt's guarantee) -----------------------------------------

SPEC = "pkg.specs"
GENERATED = "pkg.__generated__.specs"


def _vs(source: str, names: list[str]) -> list[str]:
    return validate_generated_source(
        textwrap.dedent(source), names, spec_module=SPEC, generated_module=GENERATED
    )


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("from pkg.specs import slugify\n", "the spec module pkg.specs"),
        ("from pkg.specs import slugify as slugify\n", "the spec module pkg.specs"),
        ("from pkg.specs import other as slugify\n", "the spec module pkg.specs"),
        ("from ..specs import slugify\n", "the spec module pkg.specs"),
        ("import pkg.specs as slugify\n", "the spec module pkg.specs"),
        ("from pkg import slugify\n", "pkg, the spec module's package"),
        ("from .. import slugify\n", "pkg, the spec module's package"),
        ("from pkg.__generated__.specs import slugify\n", "the generated module"),
        ("from . import specs as slugify\n", ""),  # pkg.__generated__: not a spec source
        (
            "try:\n    from pkg.specs import slugify\nexcept ImportError:\n"
            "    from ..specs import slugify\n",
            "the spec module pkg.specs",
        ),
        (
            "import sys\nif sys.version_info >= (3, 12):\n    from pkg.specs import slugify\n"
            "else:\n    from pkg.specs import slugify\n",
            "the spec module pkg.specs",
        ),
    ],
)
def test_import_from_the_spec_module_is_not_a_definition(source: str, where: str) -> None:
    errors = _vs(source, ["slugify"])
    if not where:
        assert errors == []
        return
    assert len(errors) == 1
    assert errors[0].startswith("Missing top-level definition: slugify (")
    assert f"`slugify` is imported from {where}" in errors[0]
    assert errors[0].endswith("not defined)")


def test_spec_import_error_reads_as_the_issue_asks() -> None:
    assert _vs("from pkg.specs import slugify\n", ["slugify"]) == [
        "Missing top-level definition: slugify "
        "(`slugify` is imported from the spec module pkg.specs, not defined)"
    ]


def test_star_import_is_named_in_the_error() -> None:
    errors = _vs("from pkg.specs import *\n", ["slugify"])
    assert errors == [
        "Missing top-level definition: slugify "
        "(`from pkg.specs import *` does not define `slugify`: define it in this module)"
    ]
    # Without the module names the message stays jaunt's (callers that pass none).
    assert _v("from m import *\n", ["slugify"]) == ["Missing top-level definition: slugify"]


def test_definitions_next_to_spec_imports_count() -> None:
    source = """\
        from pkg.specs import slugify
        from pkg.specs import Helper


        def slugify(title: str) -> str:
            return title


        Helper = type("Helper", (), {})
        """
    assert _vs(source, ["slugify", "Helper"]) == []


def test_re_export_from_another_module_still_counts() -> None:
    # Deliberate: a thin wrapper over a library is an implementation (module doc).
    source = "from textwrap import dedent\nimport os.path as join_path\nfrom .helpers import x\n"
    assert _vs(source, ["dedent", "join_path", "x"]) == []


def test_relative_import_beyond_the_top_package_is_just_another_module() -> None:
    assert _vs("from .... import slugify\n", ["slugify"]) == []


def test_only_import_of_an_unrelated_name_is_unaffected() -> None:
    assert _vs("from pkg.specs import helper\n", ["slugify"]) == [
        "Missing top-level definition: slugify"
    ]


def test_long_elif_chain_of_spec_imports_is_walked_without_recursion() -> None:
    branches = "".join(f"elif x == {i}:\n    from pkg.specs import a\n" for i in range(800))
    source = f"x = 0\nif x < 0:\n    from pkg.specs import a\n{branches}else:\n    a = 0\n"
    errors = _vs(source, ["a"])
    assert errors == [
        "Missing top-level definition: a (`a` is imported from the spec module pkg.specs, "
        "not defined)"
    ]


_IMPORT_LINES = st.sampled_from(
    [
        "from pkg.specs import a\n",
        "from ..specs import a as b\n",
        "from .... import a\n",
        "from pkg import *\n",
        "import pkg.specs as a\n",
        "a = 1\n",
        "def b(): pass\n",
        "if x:\n    from pkg import a\nelse:\n    a = 2\n",
        "try:\n    from pkg.specs import b\nexcept E:\n    raise\n",
        "del a\n",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_IMPORT_LINES, max_size=12).map("".join))
def test_fuzz_spec_imports_never_define_and_never_raise(source: str) -> None:
    errors = _vs(source, ["a", "b"])
    plain = validate_generated_source(source, ["a", "b"])
    # Knowing the modules can only add missing names, never remove one.
    assert {e.split(" (")[0] for e in plain} <= {e.split(" (")[0] for e in errors}


def test_compiler_warnings_about_generated_code_are_not_emitted(
    recwarn: pytest.WarningsRecorder,
) -> None:
    warnings.simplefilter("always")
    # Valid code the compiler warns about ('dict' object is not callable).
    assert validate_generated_source("def x():\n    return {}()\n", ["x"]) == []
    assert not [w for w in recwarn if issubclass(w.category, SyntaxWarning)]
