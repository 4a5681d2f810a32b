"""Reading and writing the files the layer touches, in one place.

``read_text`` is the one way a template, fixture or config file is read: UTF-8, a leading
BOM dropped, regular files only (never a device or FIFO), at most
:func:`max_input_bytes`, and every failure a located error of the caller's type (the file,
and for a bad byte its line and column). ``atomic_write`` is the one way a file is
written: a temporary file in the same folder, flushed, renamed into place, and never
through a symlink out of the folder it belongs in. ``display_path`` shows a path relative
to the working folder where it lies under it; ``safe_resolve`` resolves without raising on
a symlink loop. ``toml_type`` names a TOML value's type in errors.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
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


# Templates, fixtures and configs larger than this are refused (a mistake or an attack:
# the largest real fixture is tens of kilobytes). JAUNT_MAX_INPUT_BYTES raises it.
DEFAULT_MAX_INPUT_BYTES = 8_000_000
MAX_INPUT_ENV = "JAUNT_MAX_INPUT_BYTES"


def max_input_bytes() -> int:
    """The size limit for files read as text: ``$JAUNT_MAX_INPUT_BYTES`` or the default."""
    raw = os.environ.get(MAX_INPUT_ENV, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return DEFAULT_MAX_INPUT_BYTES


def read_text(path: str | os.PathLike[str], error: type[LayerError], what: str) -> str:
    """The text of the file at ``path``; ``what`` ("template file") names it in errors.

    Only regular files are read (a device such as ``/dev/zero``, a FIFO or a socket is
    refused before a byte is read, so nothing blocks or runs forever), and only up to
    :func:`max_input_bytes`.
    """
    shown = str(path)
    limit = max_input_bytes()
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise _located(error, f"{what} not found", shown) from None
    except IsADirectoryError:
        raise _located(error, f"is a directory, not a {what}", shown) from None
    except OSError as exc:
        raise _located(error, f"cannot read {what}: {exc.strerror or exc}", shown) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _located(error, f"is a directory, not a {what}", shown)
        if not stat.S_ISREG(info.st_mode):
            raise _located(
                error, f"is not a regular file (a device, FIFO or socket), not a {what}", shown
            )
        if info.st_size > limit:
            raise _located(error, _too_big(what, info.st_size, limit), shown)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise _located(error, f"cannot read {what}: {exc.strerror or exc}", shown) from None
    finally:
        os.close(fd)
    if len(data) > limit:  # grew while we read it
        raise _located(error, _too_big(what, len(data), limit), shown)
    return decode_text(data, shown, error, what)


def _too_big(what: str, size: int, limit: int) -> str:
    return (
        f"{what} is {size:,} bytes, over the limit of {limit:,} bytes "
        f"(set {MAX_INPUT_ENV} to allow more)"
    )


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


def safe_resolve(path: str | os.PathLike[str]) -> Path:
    """``Path(path).resolve()`` that never raises: a symlink loop resolves as far as it goes.

    (``Path.resolve`` raises ``RuntimeError`` on a loop before Python 3.13; an authoring
    command must report such a file as a finding, not crash on its name.)
    """
    return Path(os.path.realpath(path))


def display_path(path: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None) -> str:
    """``path`` relative to ``cwd`` (default: the current folder) when it lies under it."""
    try:
        return safe_resolve(path).relative_to(safe_resolve(cwd or Path.cwd())).as_posix()
    except (ValueError, OSError):
        return str(path)


def toml_type(value: object) -> str:
    """The TOML name of a parsed value's type, for "must be a string, not integer" errors."""
    names = {str: "string", bool: "boolean", int: "integer", float: "float", list: "array"}
    return "table" if isinstance(value, dict) else names.get(type(value), type(value).__name__)


class UnsafePathError(OSError):
    """A write would leave the folder it belongs in (through a symlink or ``..``)."""


def resolve_within(path: str | os.PathLike[str], within: str | os.PathLike[str]) -> Path:
    """``path`` with symlinks resolved; raises :class:`UnsafePathError` if it leaves ``within``.

    A symlink that stays inside ``within`` is fine (the resolved path is returned); one that
    leads out of it, a symlink loop, or a path that climbs out with ``..`` is refused.
    """
    root = Path(within).resolve()
    try:
        resolved = Path(path).resolve(strict=False)
    except (RuntimeError, OSError) as exc:  # a symlink loop
        raise UnsafePathError(f"cannot resolve {path}: {exc}") from None
    if resolved != root and root not in resolved.parents:
        raise UnsafePathError(
            f"refusing to write {path}: it resolves to {resolved}, outside {root} "
            "(a symlink or '..' leads out of the folder)"
        )
    return resolved


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    within: str | os.PathLike[str] | None = None,
) -> Path:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never half.

    The bytes go to a temporary file in the same folder, are flushed to disk, and the file
    is renamed over ``path``: a crash, a full disk or Ctrl-C leaves the previous file
    untouched. ``str`` data is written as UTF-8 without newline translation. With
    ``within``, a target that resolves outside that folder (a symlink pointing out of it)
    is refused with :class:`UnsafePathError` before anything is written. Returns the path
    written (symlinks inside ``within`` resolved).
    """
    target = Path(path)
    if within is not None:
        target = resolve_within(target, within)
    elif target.is_symlink():
        target = target.resolve()
    payload = data.encode("utf-8") if isinstance(data, str) else data
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
