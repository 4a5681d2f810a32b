"""Bounded work on hostile input: the scanner and fence extraction stay linear (fuzzed).

Timing bounds here are loose (a shared 2-core machine); the benchmark
``benchmarks/hostile_input.py`` has the real numbers. A quadratic scanner takes tens of
seconds on these inputs, so the bounds still catch it.
"""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from jaunt.generate.extract import extract_python_code
from jaunt.templates import MAX_SCAN_ERRORS, scan

_SCANNER_PIECES = st.sampled_from(
    ["{", "}", "{{", "}}", "\\", "\\\\", " ", "\t", "\n", "a", "name", "1", ".", "é", "²"]
)
_FENCE_PIECES = st.sampled_from(
    ["```", "````", "~~~", "```python", "```py\n", "\n", " ", "(", ")", "x = 1", "'''", "`", "a"]
)


def _reference_scan(text: str) -> tuple[list[str], list[tuple[str, int]]]:
    """The template grammar, character by character: literals and (name, offset) pairs."""
    literals: list[str] = []
    names: list[tuple[str, int]] = []
    lit: list[str] = []
    run = 0  # backslashes just before this position, since the last token
    i = 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair in ("{{", "}}"):
            del lit[len(lit) - run :]
            lit.append("\\" * (run // 2))
            escaped, run = run % 2 == 1, 0
            if escaped or pair == "}}":
                lit.append(pair)
                i += 2
                continue
            line_end = text.find("\n", i + 2)
            line_end = len(text) if line_end == -1 else line_end
            close = text.find("}}", i + 2, line_end)
            if close == -1:
                lit.append(pair)
                i += 2
                continue
            name = text[i + 2 : close].strip(" \t")
            if name.isidentifier():
                literals.append("".join(lit))
                lit = []
                names.append((name, i))
            else:
                lit.append(text[i : close + 2])
            i = close + 2
            continue
        lit.append(text[i])
        run = run + 1 if text[i] == "\\" else 0
        i += 1
    literals.append("".join(lit))
    return literals, names


@settings(max_examples=300)
@given(st.lists(_SCANNER_PIECES, max_size=60).map("".join))
def test_scanner_agrees_with_the_reference_grammar(text: str) -> None:
    found = scan(text)
    literals, names = _reference_scan(text)
    assert [(p.name, p.offset) for p in found.placeholders] == names
    assert list(found.literals) == literals
    assert len(found.errors) <= MAX_SCAN_ERRORS + 1


@settings(max_examples=25)
@given(st.lists(_SCANNER_PIECES, min_size=1, max_size=8).map("".join))
def test_scanner_is_linear_on_any_repeated_pattern(unit: str) -> None:
    text = unit * (200_000 // len(unit))
    started = time.perf_counter()
    scan(text)
    assert time.perf_counter() - started < 2.0  # quadratic would take minutes


@settings(max_examples=25)
@given(st.lists(_FENCE_PIECES, min_size=1, max_size=8).map("\n".join))
def test_extraction_is_linear_on_any_repeated_pattern(unit: str) -> None:
    text = (unit + "\n") * (300_000 // (len(unit) + 1))
    started = time.perf_counter()
    extract_python_code(text)
    assert time.perf_counter() - started < 2.0


@settings(max_examples=200)
@given(st.lists(_FENCE_PIECES, max_size=40).map("\n".join))
def test_extraction_never_raises_and_returns_text_from_the_answer(answer: str) -> None:
    code = extract_python_code(answer)
    assert code == code.strip()
    for line in code.splitlines():
        assert line.strip() in answer


def test_worst_known_inputs_of_a_megabyte() -> None:
    size = 1_000_000
    for text in (
        "\\" * size,
        "{" * size,
        "}" * size,
        "{{a" * (size // 3),
        "{{a}}\n" * (size // 6),
        ("\\" * 7 + "{{") * (size // 9),
    ):
        started = time.perf_counter()
        scan(text)
        assert time.perf_counter() - started < 3.0
    for answer in (
        "```\n" * (size // 4),
        "```python\n" + "(\n```\n" * (size // 6),
        "````\n" + "```\n" * (size // 4),
    ):
        started = time.perf_counter()
        extract_python_code(answer)
        assert time.perf_counter() - started < 3.0


def test_bulk_paths_agree_with_the_reference() -> None:
    for text in (
        "{" * 501,
        "{" * 500 + "a}}",
        "{{" * 300 + "\n{{a}}" + "}" * 7,
        "x{" * 150 + "{" * 301 + "\n" + "\\" * 3 + "}}}}}" + "{{b}}",
        "}}" * 200 + "{a}}" + "}}}",
    ):
        found = scan(text)
        literals, names = _reference_scan(text)
        assert list(found.literals) == literals
        assert [(p.name, p.offset) for p in found.placeholders] == names
