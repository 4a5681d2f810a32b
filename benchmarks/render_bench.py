"""Render speed of the template core against the alternatives, all in one process.

Run:  uv run python benchmarks/render_bench.py            (Jinja2 is skipped)
      uv run --with jinja2 python benchmarks/render_bench.py

For each packaged module template and each value-set size it prints the best per-render time
(microseconds, min over repeats of the mean of a timing loop) of:

* ``floor``      a bare ``"".join`` of the template's pre-split literal parts and the values
                 (the list interleaving them is built at call time from the mapping by code
                 written out for this one template: what hand-written Python would do);
* ``jaunt``      ``jaunt.templates.Template.render`` on a template parsed once;
* ``replace``    a chain of ``str.replace`` calls, one per key (re-scans values: wrong, too);
* ``string.Template``  ``substitute`` with the placeholders rewritten as ``${name}``;
* ``jinja2``     ``jinja2.Template.render`` (only if Jinja2 is importable; never a dependency).

Ratios are against ``jaunt``; the target is ``jaunt / floor <= 1.3`` at every size.
"""

from __future__ import annotations

import re
import string
import sys
import timeit
from collections.abc import Callable, Mapping
from typing import Any

from jaunt.promptkit.messages import PLACEHOLDER_NAMES
from jaunt.promptkit.template_set import load_packaged_set
from jaunt.templates import Template

SIZES = {"1 KB": 1_000, "100 KB": 100_000, "2 MB": 2_000_000}
# How the value text is spread over the placeholders: the spec block carries the bulk.
SHARE = {
    "spec_module": 0.0,
    "generated_module": 0.0,
    "expected_names": 0.05,
    "specs_block": 0.55,
    "deps_api_block": 0.15,
    "deps_generated_block": 0.2,
    "error_context_block": 0.05,
}
LINE = 'def f(x: int) -> int:\n    """Return x doubled; {braces} and $dollars stay."""\n'


def make_values(total: int) -> dict[str, str]:
    values = {"spec_module": "shop.pricing", "generated_module": "shop.__generated__.pricing"}
    for name in PLACEHOLDER_NAMES:
        if name not in values:
            size = max(1, int(total * SHARE[name]))
            values[name] = (LINE * (size // len(LINE) + 1))[:size]
    return values


def floor_renderer(template: Template) -> Callable[[Mapping[str, str]], str]:
    """Code written out for this template: ``"".join([L0, m["a"], L1, ...])``."""
    env: dict[str, Any] = {"L": template.literals}
    items = []
    for i, p in enumerate(template.occurrences):
        items += [f"L[{i}]", f"m[{p.name!r}]"]
    items.append(f"L[{len(template.occurrences)}]")
    exec(f"def render(m):\n    return ''.join([{', '.join(items)}])\n", env)
    return env["render"]  # type: ignore[no-any-return]


def replace_chain(text: str) -> Callable[[Mapping[str, str]], str]:
    names = sorted({m.group(1) for m in re.finditer(r"\{\{\s*(\w+)\s*\}\}", text)})

    def render(values: Mapping[str, str]) -> str:
        out = text
        for name in names:
            out = out.replace("{{" + name + "}}", values[name])
        return out

    return render


def string_template(text: str) -> Callable[[Mapping[str, str]], str]:
    converted = re.sub(r"\{\{\s*(\w+)\s*\}\}", r"${\1}", text.replace("$", "$$"))
    return string.Template(converted).substitute


def jinja_template(text: str) -> Callable[[Mapping[str, str]], str] | None:
    try:
        import jinja2
    except ImportError:
        return None
    compiled = jinja2.Environment(autoescape=False, keep_trailing_newline=True).from_string(text)
    return lambda values: compiled.render(values)


def best_us(fn: Callable[[Mapping[str, str]], str], values: Mapping[str, str]) -> float:
    timer = timeit.Timer(lambda: fn(values))
    loops, _ = timer.autorange()
    loops = max(1, loops // 2)
    return min(timer.repeat(repeat=7, number=loops)) / loops * 1e6


def main() -> int:
    ts = load_packaged_set()
    print(f"Python {sys.version.split()[0]}; per-render microseconds (best of 7); x = / jaunt\n")
    header = f"{'template':<14}{'values':>8}{'floor':>10}{'jaunt':>10}{'jaunt/floor':>13}"
    header += f"{'replace':>17}{'string.Template':>19}{'jinja2':>15}"
    print(header)
    worst = 0.0
    for name in ("build_module", "test_module"):
        template = ts.templates[name]  # type: ignore[index]
        text = template.text
        contenders = {
            "floor": floor_renderer(template),
            "jaunt": template.render,
            "replace": replace_chain(text),
            "string.Template": string_template(text),
            "jinja2": jinja_template(text),
        }
        for label, size in SIZES.items():
            values = make_values(size)
            expected = template.render(values)
            times: dict[str, float] = {}
            for key, fn in contenders.items():
                if fn is None:
                    continue
                if key != "replace":  # the chain re-scans values, so its output differs
                    assert fn(values) == expected, key
                times[key] = best_us(fn, values)
            jaunt = times["jaunt"]
            ratio = jaunt / times["floor"]
            worst = max(worst, ratio)

            def rel(key: str, times: dict[str, float] = times, jaunt: float = jaunt) -> str:
                if key not in times:
                    return "n/a"
                return f"{times[key]:.1f} ({times[key] / jaunt:.1f}x)"

            print(
                f"{name:<14}{label:>8}{times['floor']:>10.2f}{jaunt:>10.2f}{ratio:>13.2f}"
                f"{rel('replace'):>17}{rel('string.Template'):>19}{rel('jinja2'):>15}"
            )
    print(f"\nworst jaunt/floor ratio: {worst:.2f} (target <= 1.3)")
    return 0 if worst <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
