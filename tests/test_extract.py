"""extract_python_code: fences, prose, several blocks, backticks inside code, fuzzing."""

from __future__ import annotations

import ast
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaunt.generate.extract import extract_python_code

CODE = 'def f(x: int) -> int:\n    """Double."""\n    return 2 * x'


def test_unfenced_code_is_returned_stripped() -> None:
    assert extract_python_code(f"\n\n  {CODE}\n\n") == CODE


@pytest.mark.parametrize("fence", ["```", "~~~", "````", "~~~~~"])
@pytest.mark.parametrize("tag", ["", "python", "py", "Python3", " python "])
def test_fenced_block_with_any_fence_and_tag(fence: str, tag: str) -> None:
    assert extract_python_code(f"{fence}{tag}\n{CODE}\n{fence}\n") == CODE


def test_prose_around_the_fence() -> None:
    answer = f"Sure! Here is the module:\n\n```python\n{CODE}\n```\n\nIt doubles `x`. Enjoy!"
    assert extract_python_code(answer) == CODE


def test_python_block_is_picked_among_several() -> None:
    answer = (
        "Install it:\n```bash\npip install thing\n```\n"
        f"Then the module:\n```python\n{CODE}\n```\n"
        'Config:\n```toml\n[x]\ny = "z"\n```\n'
    )
    assert extract_python_code(answer) == CODE


def test_longest_python_block_wins_over_a_usage_example() -> None:
    answer = f"```python\n{CODE}\n```\nUsage:\n```python\nprint(f(2))\n```\n"
    assert extract_python_code(answer) == CODE


def test_python_tag_beats_untagged_and_untagged_beats_other_tags() -> None:
    assert extract_python_code("```\nlong untagged text here\n```\n```py\nx = 1\n```") == "x = 1"
    assert extract_python_code("```text\nnot code at all\n```\n```\nx = 1\n```") == "x = 1"
    assert extract_python_code("```text\nx = 1\n```") == "x = 1"


def test_triple_backticks_inside_a_string_literal_are_kept() -> None:
    code = 'README = """\nExample:\n```\nrun()\n```\n"""\n\n\ndef run() -> None:\n    pass'
    answer = f"Here you go:\n```python\n{code}\n```\nDone."
    assert extract_python_code(answer) == code
    assert ast.parse(extract_python_code(answer))


def test_tildes_inside_backtick_block_do_not_close_it() -> None:
    code = 'x = """\n~~~\n"""'
    assert extract_python_code(f"```python\n{code}\n```") == code


def test_longer_fence_wraps_shorter_one() -> None:
    code = 'DOC = """\n```python\nx = 1\n```\n"""'
    assert extract_python_code(f"````python\n{code}\n````") == code


def test_unclosed_fence_runs_to_the_end() -> None:
    assert extract_python_code(f"Here:\n```python\n{CODE}\n") == CODE


def test_indented_fence_content_is_dedented() -> None:
    answer = "1. The module:\n\n   ```python\n   def f():\n       return 1\n   ```\n"
    assert extract_python_code(answer) == "def f():\n    return 1"


def test_windows_line_endings() -> None:
    assert extract_python_code(f"```python\r\n{CODE}\r\n```\r\n") == CODE


def test_think_block_is_dropped() -> None:
    answer = f"<think>\nMaybe use ```python blocks?\n</think>\n```python\n{CODE}\n```"
    assert extract_python_code(answer) == CODE


def test_inline_backticks_in_prose_are_not_fences() -> None:
    answer = "Use ```python``` blocks, they said.\n" + CODE
    assert extract_python_code(answer) == answer.strip()


def test_empty_answer() -> None:
    assert extract_python_code("") == ""
    assert extract_python_code("```python\n```") == ""


def test_thousands_of_small_blocks_stay_fast() -> None:
    # A model stuck in a loop can emit block after block; the closing-fence search must not
    # rescan the rest of the answer for every block (that took minutes at this size).
    answer = "```\nx = 1\n```\n" * 20_000
    start = time.monotonic()
    assert extract_python_code(answer) == "x = 1"
    assert time.monotonic() - start < 10


# --- fuzzing ------------------------------------------------------------------------------------

_IDENT = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
_PROSE = st.text(
    alphabet=st.characters(blacklist_characters="`~\r", blacklist_categories=("Cs",)), max_size=60
)


@st.composite
def _modules(draw: st.DrawFn) -> str:
    names = draw(st.lists(_IDENT, min_size=1, max_size=4, unique=True))
    lines: list[str] = []
    for name in names:
        if draw(st.booleans()):
            doc = draw(st.sampled_from(["```", "~~~", "```python", "x = 1", "", "  ```  "]))
            lines.append(f'{name}_doc = """\n{doc}\n"""')
        lines.append(f"def {name}() -> int:\n    return {len(name)}")
    return "\n\n".join(lines)


@settings(max_examples=200, deadline=None)
@given(
    _modules(),
    _PROSE,
    _PROSE,
    st.sampled_from(["```", "~~~", "````"]),
    st.sampled_from(["python", "py", ""]),
)
def test_fuzz_module_is_recovered_whole(
    code: str, before: str, after: str, fence: str, tag: str
) -> None:
    answer = f"{before}\n{fence}{tag}\n{code}\n{fence}\n{after}"
    assert extract_python_code(answer) == code.strip()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("`~ \nabpython:=()'\"")), max_size=120))
def test_fuzz_never_raises_and_returns_a_substring_by_lines(answer: str) -> None:
    code = extract_python_code(answer)
    assert isinstance(code, str)
    assert code == code.strip()
    # Every non-empty line of the result comes from the answer (modulo removed indentation).
    answer_lines = {line.strip() for line in answer.split("\n")}
    assert all(line.strip() in answer_lines or line.strip() in answer for line in code.split("\n"))


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_fuzz_any_text(answer: str) -> None:
    assert isinstance(extract_python_code(answer), str)
