"""Property tests: the linter never raises, locates findings inside the text, and agrees with
the template parser about syntax errors."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from jaunt.promptkit.errors import TemplateSyntaxError
from jaunt.promptkit.lint import lint_text
from jaunt.promptkit.template_set import TEMPLATE_NAMES, TemplateName
from jaunt.templates import Template

# Template-ish text: mostly the characters that matter to the scanner and the phrase rules.
_PIECES = st.sampled_from(
    [
        "{",
        "}",
        "{{",
        "}}",
        "\\",
        "$",
        " ",
        "\t",
        "\n",
        ".",
        ",",
        ":",
        "spec_module",
        "specs_block",
        "error_context_block",
        "x1",
        "1x",
        "write tests",
        "do not",
        "implement the functions",
        "code only",
        "é",
    ]
)
TEXTS = st.one_of(st.text(max_size=200), st.lists(_PIECES, max_size=60).map("".join))
ROLES = st.sampled_from([None, *TEMPLATE_NAMES])


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, role=ROLES)
def test_lint_never_raises_and_locates_inside_the_text(
    text: str, role: TemplateName | None
) -> None:
    findings = lint_text(text, path="t.md", template_name=role)
    assert findings == sorted(findings)
    lines = text.split("\n")
    for f in findings:
        assert 1 <= f.line <= len(lines)
        assert 1 <= f.column <= len(lines[f.line - 1]) + 1
        assert f.severity in {"error", "warning"}


@settings(max_examples=300, deadline=None)
@given(text=TEXTS)
def test_jp001_exactly_when_the_parser_refuses(text: str) -> None:
    flagged = any(f.code == "JP001" for f in lint_text(text, path="t.md", template_name=None))
    try:
        Template(text)
    except TemplateSyntaxError:
        refused = True
    else:
        refused = False
    assert flagged == refused
