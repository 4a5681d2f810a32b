"""Reading and writing the files the layer touches, in one place.

``read_text`` is the one way a template, fixture or config file is read: UTF-8, a leading
BOM dropped, and every failure a located error of the caller's type (the file, and for a
bad byte its line and column). ``display_path`` shows a path relative to the working
folder where it lies under it. ``toml_type`` names a TOML value's type in errors.
"""

from __future__ import annotations

import os
from pathlib import Path

from jaunt.promptkit.errors import LayerError


def decode_text(data: bytes, path: str, error: type[LayerError], what: str) -> str:
    """Decode UTF-8 (a leading BOM dropped); a bad byte raises ``error`` at its line:column."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise _located(
            error,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            path,
            line,
            column,
        ) from None
    return text.removeprefix("\ufeff")


def read_text(path: str | os.PathLike[str], error: type[LayerError], what: str) -> str:
    """The text of the file at ``path``; ``what`` ("template file") names it in errors."""
    shown = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise _located(error, f"{what} not found", shown) from None
    except IsADirectoryError:
        raise _located(error, f"is a directory, not a {what}", shown) from None
    except OSError as exc:
        raise _located(error, f"cannot read {what}: {exc.strerror}", shown) from None
    return decode_text(data, shown, error, what)


def _located(
    error: type[LayerError],
    message: str,
    path: str,
    line: int | None = None,
    col: int | None = None,
) -> LayerError:
    # TemplateError and FixtureError narrow the constructor; all take these keywords.
    kwargs: dict[str, object] = {"path": path}
    if line is not None:
        kwargs["line"] = line
    if col is not None and "column" in error.__init__.__code__.co_varnames:
        kwargs["column"] = col
    return error(message, **kwargs)  # type: ignore[arg-type]


def display_path(path: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None) -> str:
    """``path`` relative to ``cwd`` (default: the current folder) when it lies under it."""
    try:
        return Path(path).resolve().relative_to(Path(cwd or Path.cwd()).resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def toml_type(value: object) -> str:
    """The TOML name of a parsed value's type, for "must be a string, not integer" errors."""
    names = {str: "string", bool: "boolean", int: "integer", float: "float", list: "array"}
    return "table" if isinstance(value, dict) else names.get(type(value), type(value).__name__)
