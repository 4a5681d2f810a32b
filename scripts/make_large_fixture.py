"""Write ``prompt_fixtures/large_module.toml``: a unit-conversion module with 50+ specs.

The fixture is committed; rerun this script only to change it::

    uv run python scripts/make_large_fixture.py
"""

from __future__ import annotations

from itertools import permutations
from pathlib import Path

from jaunt.generate.base import ModuleSpecContext
from jaunt.promptkit.fixtures import dump_fixture
from jaunt.spec_ref import SpecRef

SPEC_MODULE = "units.convert"
OUT = Path(__file__).resolve().parent.parent / "prompt_fixtures" / "large_module.toml"

# (abbreviation, singular, plural, size of one unit in the base unit)
Unit = tuple[str, str, str, str]
LENGTHS: list[Unit] = [
    ("m", "metre", "metres", "1"),
    ("km", "kilometre", "kilometres", "1000"),
    ("mi", "statute mile", "statute miles", "1609.344"),
    ("ft", "international foot", "international feet", "0.3048"),
    ("inch", "inch", "inches", "0.0254"),
    ("yd", "yard", "yards", "0.9144"),
    ("nmi", "nautical mile", "nautical miles", "1852"),
]
MASSES: list[Unit] = [
    ("kg", "kilogram", "kilograms", "1"),
    ("g", "gram", "grams", "0.001"),
    ("lb", "avoirdupois pound", "avoirdupois pounds", "0.45359237"),
    ("oz", "avoirdupois ounce", "avoirdupois ounces", "0.028349523125"),
]


def conversion_spec(src: Unit, dst: Unit, base: str) -> str:
    (a, a_one, a_many, a_size), (b, b_one, b_many, b_size) = src, dst
    return f'''def {a}_to_{b}(value: float) -> float:
    """Convert ``value`` {a_many} to {b_many}.

    One {a_one} is {a_size} {base}, one {b_one} is {b_size} {base}. Go through the
    private ``_to_base``/``_from_base`` helpers so every conversion shares one table.
    ``nan`` and infinities raise ``ValueError``; negative values are allowed.
    """
'''


def main() -> None:
    sources: dict[SpecRef, str] = {}
    sources[SpecRef(f"{SPEC_MODULE}:UnitError")] = '''\
class UnitError(ValueError):
    """An unknown unit name; ``str(err)`` lists the known units of that dimension."""
'''
    for group, base in ((LENGTHS, "metres"), (MASSES, "kilograms")):
        for src, dst in permutations(group, 2):
            name = f"{src[0]}_to_{dst[0]}"
            sources[SpecRef(f"{SPEC_MODULE}:{name}")] = conversion_spec(src, dst, base)
    sources[SpecRef(f"{SPEC_MODULE}:convert")] = '''\
def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert between any two units of the same dimension by name (``"km"``, ``"lb"``...).

    Units of different dimensions raise ``UnitError`` naming both; an unknown name raises
    ``UnitError`` listing the known units.
    """
'''
    ctx = ModuleSpecContext(
        kind="build",
        spec_module=SPEC_MODULE,
        generated_module="units.__generated__.convert",
        expected_names=[ref.partition(":")[2] for ref in sources],
        spec_sources=sources,
        decorator_prompts={},
        dependency_apis={},
        dependency_generated_modules={},
    )
    text = dump_fixture(
        ctx,
        description=f"A large module: {len(sources)} specs of unit conversions (made by "
        "scripts/make_large_fixture.py).",
    )
    OUT.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {OUT} ({len(sources)} specs, {len(text)} characters)")


if __name__ == "__main__":
    main()
