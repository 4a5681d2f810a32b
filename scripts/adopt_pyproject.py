"""Edit a jaunt tree's pyproject.toml as adopting this Layer 1 would (packaging metadata only).

Usage: python scripts/adopt_pyproject.py JAUNT_TREE

* ``requires-python`` becomes ours (``>=3.11``): jaunt's code and suite run on 3.11;
* ``dependencies``: jaunt's, with any package we also depend on taking our range (so
  ``openai<2`` becomes ours), plus ours;
* ``[project.scripts]`` gains ``jaunt-prompts``; ``[project.entry-points.pytest11]`` gains
  our pytest plugin;
* the ``dev`` dependency group gains ours (syrupy, hypothesis, ...).

Prints the dev requirements, one per line, for the installer. jaunt's pyproject is edited
as text (the standard library reads TOML but cannot write it), so every edit checks that
the text it expects is there and fails with a one-line error otherwise. Exit 0 ok, 2 error.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _merge(theirs: list[str], ours: list[str]) -> list[str]:
    our_names = {_name(r) for r in ours}
    return [r for r in theirs if _name(r) not in our_names] + ours


def _toml_list(items: list[str]) -> str:
    return "[\n" + "".join(f'  "{item}",\n' for item in items) + "]"


def adopt(jaunt_tree: Path) -> list[str]:
    path = jaunt_tree / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    theirs = tomllib.loads(text)
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = ours["project"]

    def sub(pattern: str, replacement: str, what: str) -> None:
        nonlocal text
        text, count = re.subn(pattern, lambda _m: replacement, text, count=1, flags=re.M | re.S)
        if count != 1:
            raise ValueError(f"{path}: cannot find {what} to edit")

    sub(
        r'^requires-python\s*=\s*"[^"]*"',
        f'requires-python = "{project["requires-python"]}"',
        "requires-python",
    )
    dependencies = _merge(theirs["project"].get("dependencies", []), project["dependencies"])
    sub(
        r"^dependencies\s*=\s*\[.*?\]", f"dependencies = {_toml_list(dependencies)}", "dependencies"
    )
    scripts = "".join(f'{name} = "{target}"\n' for name, target in project["scripts"].items())
    sub(r"^\[project\.scripts\]\n", "[project.scripts]\n" + scripts, "[project.scripts]")
    plugins = "".join(
        f'{name} = "{target}"\n' for name, target in project["entry-points"]["pytest11"].items()
    )
    text = text.rstrip("\n") + "\n\n[project.entry-points.pytest11]\n" + plugins
    dev = _merge(
        theirs.get("dependency-groups", {}).get("dev", []), ours["dependency-groups"]["dev"]
    )
    sub(r"^dev\s*=\s*\[.*?\]", f"dev = {_toml_list(dev)}", "the dev dependency group")
    tomllib.loads(text)  # what we wrote must still be TOML
    path.write_text(text, encoding="utf-8")
    return dev


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: adopt_pyproject.py JAUNT_TREE", file=sys.stderr)
        return 2
    try:
        dev = adopt(Path(argv[0]))
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(dev))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
