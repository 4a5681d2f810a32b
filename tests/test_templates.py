"""The template core: parsing, locations, escapes, rendering, errors, and its properties."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaunt.promptkit.errors import (
    MissingPlaceholderValuesError,
    TemplateError,
    TemplateSyntaxError,
)
from jaunt.templates import Template, scan

# --- parsing ---------------------------------------------------------------------------------


def test_parse_splits_literals_and_placeholders_with_locations() -> None:
    t = Template("Hello {{name}},\n  see {{ other }}!\n", path="t.md")
    assert t.literals == ("Hello ", ",\n  see ", "!\n")
    assert [(p.name, p.line, p.column, p.raw) for p in t.occurrences] == [
        ("name", 1, 7, "{{name}}"),
        ("other", 2, 7, "{{ other }}"),
    ]
    assert t.placeholders == frozenset({"name", "other"})


def test_inner_spaces_and_tabs_are_accepted() -> None:
    assert Template("{{\tx  }}").render({"x": "v"}) == "v"


def test_repeated_placeholder_is_filled_everywhere() -> None:
    assert Template("{{a}}-{{a}}-{{b}}").render({"a": "1", "b": "2"}) == "1-1-2"


def test_template_without_placeholders_renders_its_text() -> None:
    assert Template("plain { text } }}").render({}) == "plain { text } }}"


def test_empty_template() -> None:
    assert Template("").render({"x": "y"}) == ""


def test_columns_count_characters_not_bytes() -> None:
    (p,) = Template("日本語 🎉 {{x}}").occurrences
    assert (p.line, p.column) == (1, 7)


def test_crlf_template_locations() -> None:
    t = Template("a\r\nb {{x}}\r\n")
    assert [(p.line, p.column) for p in t.occurrences] == [(2, 3)]
    assert t.render({"x": "X"}) == "a\r\nb X\r\n"


def test_keyword_names_are_identifiers_too() -> None:
    assert Template("{{class}}").render({"class": "c"}) == "c"


# --- escapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        (r"\{{x}}", "{{x}}"),
        (r"a \{{ b", "a {{ b"),
        (r"\}}", "}}"),
        (r"\\{{x}}", "\\X"),
        (r"\\\{{x}}", "\\{{x}}"),
        (r"path\to\{{x}}", "path\\to{{x}}"),
        ("a \\ b", "a \\ b"),
        ("}} alone", "}} alone"),
    ],
)
def test_escapes(text: str, rendered: str) -> None:
    assert Template(text).render({"x": "X"}) == rendered


def test_escaped_braces_are_not_placeholders() -> None:
    assert Template(r"\{{x}} {{y}}").placeholders == frozenset({"y"})


# --- syntax errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("ab {{name}", 1, 4, "missing a closing '}'"),
        ("x\n {name}}", 2, 2, "one brace short"),
        ("{{ }}", 1, 1, "empty placeholder"),
        ("{{}}", 1, 1, "empty placeholder"),
        ("  {{1x}}", 1, 3, "must be a Python identifier"),
        ("{{a.b}}", 1, 1, "must be a Python identifier"),
        ("{{ x | upper }}", 1, 1, "must be a Python identifier"),
        ("line\nend {{", 2, 5, "unclosed '{{'"),
        ("{{name\n}}", 1, 1, "unclosed '{{'"),
        ("{{{x}}}", 1, 1, "must be a Python identifier"),
    ],
)
def test_malformed_syntax_is_reported_with_location(
    text: str, line: int, column: int, fragment: str
) -> None:
    with pytest.raises(TemplateSyntaxError) as info:
        Template(text, path="p.md")
    err = info.value
    assert (err.path, err.line, err.column) == ("p.md", line, column)
    assert fragment in err.message
    assert str(err).startswith(f"p.md:{line}:{column}: ")


def test_every_syntax_error_is_collected_in_order() -> None:
    text = "{{ok}}\n{{1x}} and {{\n{b}}"
    found = scan(text, "s.md")
    assert [(e.line, e.column) for e in found.errors] == [(2, 1), (2, 12), (3, 1)]
    assert [p.name for p in found.placeholders] == ["ok"]
    with pytest.raises(TemplateSyntaxError) as info:
        Template(text, path="s.md")
    assert len(info.value.errors) == 3
    assert str(info.value).count("s.md:") == 3


def test_scan_keeps_malformed_text_as_literal() -> None:
    found = scan("a {{1x}} b {{y}}")
    assert found.literals == ("a {{1x}} b ", "")


def test_escaped_brace_then_name_is_not_one_brace_short() -> None:
    assert Template(r"\{{x}}").render({}) == "{{x}}"


# --- rendering -------------------------------------------------------------------------------


def test_values_are_never_rescanned() -> None:
    t = Template("{{specs_block}} / {{expected_names}}")
    out = t.render({"specs_block": "{{expected_names}} \\{{ {{", "expected_names": "E"})
    assert out == "{{expected_names}} \\{{ {{ / E"


def test_extra_keys_are_ignored() -> None:
    assert Template("{{a}}").render({"a": "1", "zzz": "2"}) == "1"


def test_missing_values_name_every_placeholder_and_location() -> None:
    t = Template("x {{a}}\n{{b}} {{a}} {{c}}", path="m.md")
    with pytest.raises(MissingPlaceholderValuesError) as info:
        t.render({"c": "ok"})
    err = info.value
    assert [(name, loc.line, loc.column) for name, loc in err.missing] == [
        ("a", 1, 3),
        ("b", 2, 1),
        ("a", 2, 7),
    ]
    assert "m.md:1:3" in str(err)
    assert "m.md:2:1" in str(err)
    assert "a, b" in str(err)


def test_single_placeholder_missing() -> None:
    with pytest.raises(MissingPlaceholderValuesError, match=r"\{\{only\}\}"):
        Template("{{only}}").render({})


def test_non_string_value_is_a_clear_template_error() -> None:
    with pytest.raises(TemplateError, match="'n' must be str, not int"):
        Template("{{n}} {{m}}").render({"n": 3, "m": "x"})  # type: ignore[dict-item]


def test_template_is_reusable() -> None:
    t = Template("<{{v}}>")
    assert [t.render({"v": str(i)}) for i in range(3)] == ["<0>", "<1>", "<2>"]


def test_repr_names_path_and_placeholders() -> None:
    assert repr(Template("{{b}}{{a}}", path="x.md")) == "Template(path='x.md', placeholders=[a, b])"


# --- properties ------------------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
# Literal text that cannot form braces or escapes: the renderer's output must be exact.
safe_literals = st.text(
    alphabet=st.characters(blacklist_characters="{}\\", blacklist_categories=("Cs",)), max_size=30
)


@settings(max_examples=300)
@given(st.lists(st.tuples(safe_literals, names), max_size=8), safe_literals, st.data())
def test_render_equals_literals_joined_with_values(
    pairs: list[tuple[str, str]], tail: str, data: st.DataObject
) -> None:
    text = "".join(lit + "{{" + name + "}}" for lit, name in pairs) + tail
    values = {name: data.draw(st.text(max_size=20), label=name) for _, name in pairs}
    template = Template(text)
    expected = "".join(lit + values[name] for lit, name in pairs) + tail
    assert template.render(values) == expected
    assert template.literals == (*(lit for lit, _ in pairs), tail)


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_scanner_never_raises_and_literal_count_matches(text: str) -> None:
    found = scan(text)
    assert len(found.literals) == len(found.placeholders) + 1
    for error in found.errors:
        assert error.line >= 1
        assert error.column >= 1


@settings(max_examples=300)
@given(st.text(alphabet="{}\\ab \n", max_size=60))
def test_brace_soup_parses_or_raises_syntax_error_only(text: str) -> None:
    try:
        template = Template(text)
    except TemplateSyntaxError:
        return
    values = dict.fromkeys(template.placeholders, "V")
    rendered = template.render(values)
    assert isinstance(rendered, str)


@settings(max_examples=200)
@given(st.text(max_size=300))
def test_rendering_never_raises_on_any_value_text(value: str) -> None:
    template = Template("a {{x}} b {{y}} c {{x}}")
    assert template.render({"x": value, "y": value}) == f"a {value} b {value} c {value}"


@settings(max_examples=200)
@given(st.text(alphabet=string.printable + "{}", max_size=100))
def test_values_are_never_rescanned_property(value: str) -> None:
    template = Template("[{{x}}]")
    assert template.render({"x": value, "y": "SHOULD NOT APPEAR"}) == f"[{value}]"


def test_template_with_very_many_placeholders_renders_the_same_way() -> None:
    text = "".join(f"<{{{{v{i % 700}}}}}>" for i in range(1500))
    values = {f"v{i}": str(i) for i in range(700)}
    template = Template(text, path="many.md")
    assert template.render(values) == "".join(f"<{i % 700}>" for i in range(1500))
    del values["v5"]
    with pytest.raises(MissingPlaceholderValuesError) as info:
        template.render(values)
    assert {name for name, _ in info.value.missing} == {"v5"}
    with pytest.raises(TemplateError, match="'v0' must be str"):
        template.render({**values, "v5": "x", "v0": None})  # type: ignore[dict-item]
