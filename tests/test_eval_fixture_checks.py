"""Every eval fixture's checks can pass and can fail.

A check that no correct module passes would report "0 passed" for every prompt set and
prove nothing; one that an empty module passes would report success for nonsense. So each
fixture of ``eval_fixtures/`` has a reference answer here (written by hand from its spec)
that must validate and pass its checks, and a do-nothing answer that must fail them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jaunt.promptkit.eval.checks import run_checks
from jaunt.promptkit.fixtures import Fixture, load_fixture
from jaunt.validation import validate_generated_source

EVAL_FIXTURES = Path(__file__).resolve().parent.parent / "eval_fixtures"

REFERENCES = {
    "b01_slugify": """
def slugify(title: str) -> str:
    return "-".join(title.lower().split())
""",
    "b02_clamp": """
def clamp(value: float, low: float, high: float) -> float:
    if low > high:
        raise ValueError("low > high")
    return max(low, min(value, high))
""",
    "b03_word_count": """
def word_count(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 0) + 1
    return counts
""",
    "b04_fizzbuzz": """
def fizzbuzz(n: int) -> list[str]:
    out = []
    for i in range(1, n + 1):
        word = ("Fizz" if i % 3 == 0 else "") + ("Buzz" if i % 5 == 0 else "")
        out.append(word or str(i))
    return out
""",
    "b05_palindrome": """
def is_palindrome(text: str) -> bool:
    t = text.replace(" ", "").lower()
    return t == t[::-1]
""",
    "b06_stack": """
class Stack:
    def __init__(self) -> None:
        self._items: list[object] = []

    def push(self, item: object) -> None:
        self._items.append(item)

    def pop(self) -> object:
        if not self._items:
            raise IndexError("pop from an empty stack")
        return self._items.pop()

    def __len__(self) -> int:
        return len(self._items)
""",
    "b07_account": """
class Account:
    def __init__(self) -> None:
        self.balance = 0

    def deposit(self, amount: int) -> None:
        if amount <= 0:
            raise ValueError("amount must be positive")
        self.balance += amount

    def withdraw(self, amount: int) -> None:
        if amount > self.balance:
            raise ValueError("balance too small")
        self.balance -= amount
""",
    "b08_mean_median": """
def mean(values: list[float]) -> float:
    if not values:
        raise ValueError("empty")
    return sum(values) / len(values)


def median(values: list[float]) -> float:
    if not values:
        raise ValueError("empty")
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
""",
    "b09_dependency_total": """
from shop.tax import add_tax


def cart_total(prices: list[int], tax_rate: float) -> int:
    return add_tax(sum(prices), tax_rate)
""",
    "b10_dependency_greeting": """
from accounts.users import get_name


def greeting(user_id: int) -> str:
    name = get_name(user_id)
    return f"Hello, {name if name is not None else 'guest'}!"
""",
    "b11_retry_missing_name": """
def to_celsius(f: float) -> float:
    return (f - 32) * 5 / 9


def to_fahrenheit(c: float) -> float:
    return c * 9 / 5 + 32
""",
    "b12_retry_syntax_error": """
def initials(name: str) -> str:
    return "".join(w[0].upper() for w in name.split())
""",
    "t01_test_slugify": """
from text.slug import slugify


def test_slugify_joins_words() -> None:
    assert slugify("Hello World") == "hello-world"
""",
    "t02_test_clamp": """
import pytest

from mathx.bounds import clamp


def test_clamp_limits() -> None:
    assert clamp(-1, 0, 10) == 0
    assert clamp(11, 0, 10) == 10
    assert clamp(5, 0, 10) == 5


def test_clamp_rejects_bad_range() -> None:
    with pytest.raises(ValueError):
        clamp(1, 5, 0)
""",
    "t03_test_stack": """
from structs.stack import Stack


def test_push_then_pop() -> None:
    s = Stack()
    s.push(1)
    s.push(2)
    assert s.pop() == 2
    assert s.pop() == 1
""",
    "t04_test_palindrome": """
from text.checks import is_palindrome


def test_palindrome_true() -> None:
    assert is_palindrome("Anna")


def test_palindrome_false() -> None:
    assert not is_palindrome("abc")
""",
}


def _fixtures() -> list[Fixture]:
    return [load_fixture(path) for path in sorted(EVAL_FIXTURES.glob("*.toml"))]


def _do_nothing(fixture: Fixture) -> str:
    """Every required name defined, doing nothing useful."""
    lines = []
    for name in fixture.context.expected_names:
        if name[:1].isupper():
            lines.append(f"class {name}:\n    pass\n")
        else:
            lines.append(f"def {name}(*args, **kwargs):\n    return None\n")
    return "\n\n".join(lines)


def test_every_eval_fixture_has_a_reference() -> None:
    assert sorted(f.name for f in _fixtures()) == sorted(REFERENCES)


@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda f: f.name)
def test_the_reference_passes_and_a_do_nothing_module_fails(fixture: Fixture) -> None:
    reference = REFERENCES[fixture.name].lstrip("\n")
    ctx = fixture.context
    assert validate_generated_source(reference, ctx.expected_names) == []
    assert fixture.checks is not None
    passed = run_checks(fixture, reference)
    assert passed.passed, passed.detail
    empty = _do_nothing(fixture)
    assert validate_generated_source(empty, ctx.expected_names) == []
    assert not run_checks(fixture, empty).passed
