"""Opt-in capture of real generation contexts as prompt fixtures.

Set ``JAUNT_CAPTURE_FIXTURES=DIR`` (or ``capture_fixtures_dir`` in ``[llm]``; the
environment variable wins) and the OpenAI backend writes every context it generates from
to ``DIR/<generated_module>.toml``; a retry attempt ``n`` (n >= 2) is written to
``DIR/<generated_module>-attempt<n>.toml`` with its ``error_context``. The files are
ordinary fixtures: ``jaunt-prompts render`` and the snapshot tests load them as they are.

Capture never breaks generation: a failure to write is logged and generation goes on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from jaunt.promptkit.context import AttemptRecord, ModuleSpecContext
from jaunt.promptkit.files import atomic_write
from jaunt.promptkit.fixtures import FIXTURE_SUFFIX, dump_fixture
from jaunt.promptkit.scrub import scrub, scrubbed_logger

CAPTURE_ENV = "JAUNT_CAPTURE_FIXTURES"

logger = scrubbed_logger("jaunt.promptkit.capture")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def capture_directory(configured: str = "") -> Path | None:
    """Where to capture: ``$JAUNT_CAPTURE_FIXTURES``, else ``configured``, else nowhere."""
    chosen = os.environ.get(CAPTURE_ENV, "").strip() or configured
    return Path(chosen) if chosen else None


def fixture_file_name(generated_module: str, attempt: int = 1) -> str:
    """``<generated_module>.toml``, or ``<generated_module>-attempt<n>.toml`` for a retry."""
    stem = _UNSAFE.sub("_", generated_module) or "module"
    suffix = f"-attempt{attempt}" if attempt > 1 else ""
    return f"{stem}{suffix}{FIXTURE_SUFFIX}"


def capture_context(
    directory: Path,
    ctx: ModuleSpecContext,
    error_context: Sequence[str] = (),
    *,
    attempt: int = 1,
) -> Path | None:
    """Write ``ctx`` as a fixture; returns its path, or ``None`` when writing failed."""
    path = directory / fixture_file_name(ctx.generated_module, attempt)
    description = f"Captured from a real run of {ctx.generated_module}" + (
        f", attempt {attempt}" if attempt > 1 else ""
    )
    try:
        # Encoding first: text TOML cannot hold (a lone surrogate) fails before any file exists.
        # Scrubbed: an error context may quote an answer that echoed the key back.
        text = scrub(dump_fixture(ctx, list(error_context), description=description))
        data = text.encode("utf-8")
        directory.mkdir(parents=True, exist_ok=True)
        # Write then rename: concurrent generations never leave a half-written fixture, and
        # a symlink never leads the write out of the capture folder.
        atomic_write(path, data, within=directory)
    except (OSError, ValueError) as exc:
        logger.warning("could not capture fixture %s: %s", path, exc)
        return None
    logger.info("captured fixture %s", path)
    return path


def capture_attempt(directory: Path, ctx: ModuleSpecContext, record: AttemptRecord) -> Path | None:
    """Capture the context of the attempt ``record`` describes (number and error context)."""
    return capture_context(directory, ctx, record.error_context, attempt=record.number)
