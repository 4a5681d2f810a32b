"""Prompt fixtures: the committed fixtures, the loader's errors, and the dump/parse round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaunt.generate.base import ERROR_LINE_PREFIX, ModuleSpecContext
from jaunt.promptkit.errors import FixtureError
from jaunt.promptkit.fixtures import (
    dump_fixture,
    fixture_paths,
    key_line,
    load_fixture,
    load_fixture_dir,
    parse_fixture,
)
from jaunt.spec_ref import SpecRef

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = {f.name: f for f in load_fixture_dir(ROOT / "prompt_fixtures")}

VALID = """\
kind = "build"
spec_module = "shop.pricing"
generated_module = "shop.__generated__.pricing"
expected_names = ["apply_discount"]

[[specs]]
ref = "shop.pricing:apply_discount"
source = "def apply_discount(price, percent): ..."
"""


# --- the committed fixtures ----------------------------------------------------------------


def test_at_least_eight_fixtures_all_load() -> None:
    assert len(FIXTURES) >= 8
    for fixture in FIXTURES.values():
        assert fixture.description, f"{fixture.path}: describe what the fixture covers"
        assert fixture.context.spec_sources, fixture.path


def test_fixtures_cover_the_required_situations() -> None:
    by_kind = {f.context.kind for f in FIXTURES.values()}
    assert by_kind == {"build", "test"}
    assert any(f.context.decorator_prompts for f in FIXTURES.values())
    assert any(
        f.context.dependency_apis and f.context.dependency_generated_modules
        for f in FIXTURES.values()
        if f.context.kind == "build"
    )
    assert any(f.context.skills_block for f in FIXTURES.values())
    assert max(len(f.context.spec_sources) for f in FIXTURES.values()) >= 50


def test_test_kind_fixture_imports_code_under_test_from_dependency_apis() -> None:
    ctx = FIXTURES["test_module"].context
    assert ctx.kind == "test"
    assert ctx.dependency_apis
    assert all(name.startswith("test_") for name in ctx.expected_names)


def test_retry_fixture_carries_error_lines_and_previous_output() -> None:
    errors = FIXTURES["retry_validation_errors"].error_context
    assert errors[0].startswith(ERROR_LINE_PREFIX)
    assert "Your previous output" in errors[-1]
    assert "```" in errors[-1]


def test_adversarial_fixture_keeps_crlf_and_tricky_text() -> None:
    ctx = FIXTURES["unicode_adversarial"].context
    sources = "".join(ctx.spec_sources.values())
    for needle in (
        "\r\n",
        "   \r\n",
        "```",
        "{{expected_names}}",
        "\\{{",
        "こんにちは",
        "🦊",
        "שלום",
    ):
        assert needle in sources, needle
    # CRLF must survive the file itself, so the fixture spells it with escapes.
    raw = (ROOT / "prompt_fixtures" / "unicode_adversarial.toml").read_bytes()
    assert b"\r" not in raw
    assert b"\\r\\n" in raw


def test_large_fixture_matches_its_generator() -> None:
    ctx = FIXTURES["large_module"].context
    assert ctx.expected_names == [ref.partition(":")[2] for ref in ctx.spec_sources]
    assert len(ctx.spec_sources) >= 50


def test_expected_names_have_a_spec_each() -> None:
    for fixture in FIXTURES.values():
        qualnames = {ref.partition(":")[2] for ref in fixture.context.spec_sources}
        assert set(fixture.context.expected_names) <= qualnames, fixture.path


# --- loader errors name the file and the key ------------------------------------------------


def _error(text: str) -> FixtureError:
    with pytest.raises(FixtureError) as info:
        parse_fixture(text, path="prompt_fixtures/bad.toml")
    assert str(info.value).startswith("prompt_fixtures/bad.toml")
    return info.value


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ('colour = "red"\n' + VALID, None, "unknown key"),
        (VALID.replace('kind = "build"', 'kind = "bulid"'), "kind", 'must be "build" or "test"'),
        (VALID.replace('kind = "build"', "kind = 1"), "kind", "must be a string, not integer"),
        (VALID.replace('expected_names = ["apply_discount"]', ""), "expected_names", "missing"),
        (VALID.replace('["apply_discount"]', '"apply_discount"'), "expected_names", "array"),
        (VALID.replace('["apply_discount"]', "[1]"), "expected_names[0]", "not integer"),
        (
            VALID.replace('ref = "shop.pricing:apply_discount"', 'ref = "apply_discount"'),
            "specs[0].ref",
            "pkg.mod:Qualname",
        ),
        (VALID.replace('source = "def', 'sauce = "def'), "specs[0].sauce", "unknown key"),
        (
            VALID.replace('source = "def apply_discount(price, percent): ..."', ""),
            "specs[0].source",
            "missing",
        ),
        (
            VALID + '\n[[specs]]\nref = "shop.pricing:apply_discount"\nsource = "x"\n',
            "specs[1].ref",
            "duplicate ref 'shop.pricing:apply_discount'",
        ),
        (
            VALID + '\n[dependency_generated_modules]\n"a.b" = 3\n',
            "dependency_generated_modules.a.b",
            "must be a string",
        ),
        (VALID + '\n[[dependency_apis]]\nref = "m:f"\n', "dependency_apis[0].api", "missing"),
        (VALID.split("[[specs]]")[0] + "specs = 3\n", "specs", "array of tables"),
        ("error_context = ['ok', 2]\n" + VALID, "error_context[1]", "must be a string"),
    ],
)
def test_errors_name_the_key(text: str, key: str | None, fragment: str) -> None:
    error = _error(text)
    if key is None:
        assert error.key == "colour"
    else:
        assert error.key == key
        assert f"key '{key}'" in str(error)
    assert fragment in str(error)


def test_errors_name_the_line_of_the_key() -> None:
    # Text that looks like a key inside a multi-line string is not the key.
    decoy = "\nkind = 'decoy'\n[[specs]]\nsauce = 1\n"
    text = (
        f'description = """{decoy}"""\n'  # lines 1-5
        f"skills_block = '''{decoy}'''\n"  # lines 6-10
        'kind = "bulid"\n'  # line 11
        + VALID.split("\n", 1)[1]  # spec_module on line 12, [[specs]] on 16
        + '\n[[specs]]\nref = "shop.pricing:x"\nsauce = "y"\n'  # [[specs]] on 20
    )
    assert str(_error(text)).startswith("prompt_fixtures/bad.toml:11: key 'kind': ")
    fixed = text.replace('"bulid"', '"build"')
    assert _error(fixed).line == 22  # specs[1].sauce
    missing_source = fixed.removesuffix('sauce = "y"\n')
    assert _error(missing_source).line == 20  # specs[1].source is missing: its header
    assert _error(fixed.replace("expected_names", "#")).line is None  # missing: no line


def test_invalid_toml_reports_its_line() -> None:
    error = _error('kind = "build"\n\nbroken = [1, \n')
    assert "invalid TOML" in str(error)
    assert "line 3" in str(error)
    error = _error('kind = "build"\nspec_module = \n')
    assert "(at line 2" in str(error)


def test_load_fixture_names_missing_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="not found"):
        load_fixture(tmp_path / "nope.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(VALID.encode() + b'description = "caf\xe9"\n')
    with pytest.raises(FixtureError, match=r"latin1\.toml:9: not valid UTF-8"):
        load_fixture(bad)


def test_fixture_dir_lists_only_toml_files(tmp_path: Path) -> None:
    (tmp_path / "b.toml").write_text(VALID, encoding="utf-8")
    (tmp_path / "a.toml").write_text(VALID, encoding="utf-8")
    (tmp_path / "notes.md").write_text("x", encoding="utf-8")
    assert [p.name for p in fixture_paths(tmp_path)] == ["a.toml", "b.toml"]
    assert [f.name for f in load_fixture_dir(tmp_path)] == ["a", "b"]
    with pytest.raises(FixtureError, match="directory not found"):
        fixture_paths(tmp_path / "missing")


def test_decorator_prompt_is_optional_and_kept() -> None:
    text = VALID + 'prompt = "Round half-even."\n'
    fixture = parse_fixture(text, path="p.toml")
    assert fixture.context.decorator_prompts == {"shop.pricing:apply_discount": "Round half-even."}
    assert parse_fixture(VALID, path="p.toml").context.decorator_prompts == {}


# --- dump / parse round trip ----------------------------------------------------------------

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_ident = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
_ref = st.builds(lambda m, q: SpecRef(f"pkg.{m}:{q}"), _ident, _ident)


@st.composite
def contexts(draw: st.DrawFn) -> tuple[ModuleSpecContext, list[str]]:
    specs = draw(st.dictionaries(_ref, _text, max_size=4))
    prompts = {ref: draw(_text) for ref in specs if draw(st.booleans())}
    ctx = ModuleSpecContext(
        kind=draw(st.sampled_from(["build", "test"])),
        spec_module=draw(_text),
        generated_module=draw(_text),
        expected_names=draw(st.lists(_text, max_size=4)),
        spec_sources=specs,
        # An empty prompt is "no prompt": the loader drops it, so the dumper never writes one.
        decorator_prompts={ref: p for ref, p in prompts.items() if p},
        dependency_apis=draw(st.dictionaries(_ref, _text, max_size=3)),
        dependency_generated_modules=draw(st.dictionaries(_text, _text, max_size=3)),
        skills_block=draw(_text),
    )
    return ctx, draw(st.lists(_text, max_size=3))


@settings(max_examples=150, deadline=None)
@given(contexts())
def test_dump_parse_round_trip(case: tuple[ModuleSpecContext, list[str]]) -> None:
    ctx, error_context = case
    fixture = parse_fixture(dump_fixture(ctx, error_context, description="d"), path="x.toml")
    assert fixture.context == ctx
    assert fixture.error_context == error_context


def test_committed_fixtures_round_trip() -> None:
    for fixture in FIXTURES.values():
        text = dump_fixture(fixture.context, fixture.error_context)
        again = parse_fixture(text, path=fixture.path)
        assert again.context == fixture.context, fixture.path
        assert again.error_context == fixture.error_context


_TOML_ALPHABET = st.sampled_from([*"ab_[].=\"'#\\\n \t0", "'''", '"""', "specs", "kind"])


@settings(max_examples=300)
@given(
    st.lists(_TOML_ALPHABET, max_size=60).map("".join),
    st.sampled_from(["kind", "specs[1].source", "expected_names[0]", "x.y.z", "[", ""]),
)
def test_key_line_never_raises_and_stays_in_the_text(text: str, key: str) -> None:
    # It runs on error paths over files that may be anything; it must never be the crash.
    line = key_line(text, key)
    assert line is None or 1 <= line <= text.count("\n") + 1
