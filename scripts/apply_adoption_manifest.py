"""Copy this Layer 1 into a jaunt source tree as adoption/manifest.txt says.

Usage: python scripts/apply_adoption_manifest.py JAUNT_TREE [--list]

Every matched file under our src/ is copied to the same path under JAUNT_TREE/src/. A file
from a `replace` line must already exist in jaunt (it is one of jaunt's Layer 1 files); a
file from an `add` line must not (the layer never shadows another jaunt module). Our
stand-ins (jaunt/__init__.py, config.py, errors.py, spec_ref.py) are never copied. Exit 0
on success, 1 when the manifest would replace a jaunt module it must not, 2 on usage or I/O
errors. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
MANIFEST = ROOT / "adoption" / "manifest.txt"
STAND_INS = frozenset(
    {"jaunt/__init__.py", "jaunt/config.py", "jaunt/errors.py", "jaunt/spec_ref.py"}
)
# jaunt's Layer 1 files (../shared/DESIGN.md): the only jaunt files a `replace` may name.
LAYER1 = re.compile(
    r"jaunt/(?:validation\.py|generate/(?:base|openai_backend)\.py|prompts/[^/]+\.md)"
)


class ManifestError(Exception):
    """A manifest line that cannot be applied (message is one line: path:line: reason)."""


def _is_layer_file(path: Path) -> bool:
    return path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"


def read_manifest(
    manifest: Path = MANIFEST, src: Path = SRC
) -> tuple[dict[str, str], dict[str, str]]:
    """``(replace, add)``: relative path -> the manifest line that listed it."""
    replace: dict[str, str] = {}
    add: dict[str, str] = {}
    for number, raw in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, pattern = line.partition(" ")
        where = f"{manifest}:{number}"
        if kind not in ("replace", "add") or not pattern.strip():
            raise ManifestError(f"{where}: expected `replace PATTERN` or `add PATTERN`")
        matches = sorted(
            p.relative_to(src).as_posix() for p in src.glob(pattern.strip()) if _is_layer_file(p)
        )
        if kind == "replace" and not matches:
            raise ManifestError(f"{where}: {pattern.strip()} matches no file of ours")
        for rel in matches:
            if rel in STAND_INS:
                raise ManifestError(f"{where}: {rel} is a stand-in for jaunt's own module")
            if kind == "replace" and not LAYER1.fullmatch(rel):
                raise ManifestError(f"{where}: {rel} is not one of jaunt's Layer 1 files")
            (replace if kind == "replace" else add).setdefault(rel, line)
    for rel in replace:
        add.pop(rel, None)
    return replace, add


def apply(jaunt_tree: Path, manifest: Path = MANIFEST, src: Path = SRC) -> list[str]:
    """Copy the layer into ``jaunt_tree``; returns the relative paths copied."""
    replace, add = read_manifest(manifest, src)
    target_src = jaunt_tree / "src"
    for rel, line in replace.items():
        if not (target_src / rel).is_file():
            raise ManifestError(f"{manifest}: `{line}`: jaunt has no {rel} to replace")
    for rel, line in add.items():
        if (target_src / rel).exists():
            raise ManifestError(
                f"{manifest}: `{line}`: would replace jaunt's own {rel} (not a Layer 1 file)"
            )
    copied = []
    for rel in sorted({*replace, *add}):
        destination = target_src / rel
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, destination)
        copied.append(rel)
    return copied


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: apply_adoption_manifest.py JAUNT_TREE", file=sys.stderr)
        return 2
    tree = Path(argv[0])
    if not (tree / "src" / "jaunt").is_dir():
        print(f"error: {tree}: not a jaunt source tree (no src/jaunt)", file=sys.stderr)
        return 2
    try:
        copied = apply(tree)
    except ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"applied {len(copied)} files from {MANIFEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
