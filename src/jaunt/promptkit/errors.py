"""The layer's errors: each carries its location the same way and prints as one line.

Every error the layer raises on purpose is a :class:`LayerError` and also one of jaunt's
own types (:mod:`jaunt.errors`), so jaunt's callers catch it as they always have. A
located error prints ``path:line:col: message`` (``path:line:`` or ``path:`` where less is
known; ``key 'k': `` before the message when a config or fixture key is at fault).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jaunt.errors import JauntConfigError, JauntError, JauntGenerationError


@dataclass(frozen=True)
class SourceLocation:
    """Where a problem is: a file (``None`` for an in-memory string), 1-based line and column."""

    path: str | None
    line: int | None = None
    column: int | None = None

    def shown(self, show_path: Callable[[str], str] | None = None) -> str:
        where = self.path or "<template>"
        if self.path and show_path is not None:
            where = show_path(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        return self.shown()


class LayerError(JauntError):
    """An error of this layer: ``message``, and where known ``path``/``line``/``column``/``key``."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.key = key
        super().__init__(self.one_line())

    @property
    def location(self) -> SourceLocation:
        return SourceLocation(self.path, self.line, self.column)

    def one_line(self, show_path: Callable[[str], str] | None = None) -> str:
        """The error as one line; ``show_path`` shortens the path (e.g. relative to the cwd)."""
        parts: list[str] = []
        if self.path is not None or self.line is not None:
            parts.append(self.location.shown(show_path))
        if self.key is not None:
            parts.append(f"key '{self.key}'")
        parts.append(self.message)
        return ": ".join(parts)


class ConfigError(LayerError, JauntConfigError):
    """Bad configuration: a ``jaunt.toml`` value, a missing API key variable."""


class ProjectError(LayerError):
    """The project does not hold what was asked for: an unknown set, fixture or folder."""


class TemplateError(LayerError, JauntConfigError):
    """A problem with a prompt template, located at ``path:line:column``.

    Also a ``JauntConfigError``: a broken template is a broken ``[prompts]`` setting, and
    jaunt's CLI prints that as one line (not a traceback).
    """

    def __init__(self, message: str, *, path: str | None, line: int = 1, column: int = 1) -> None:
        super().__init__(message, path=path, line=line, column=column)

    # Templates always know their line and column.
    line: int
    column: int


class TemplateSyntaxError(TemplateError):
    """The template text is malformed; ``errors`` holds every problem found, first one first."""

    def __init__(self, errors: list[TemplateError]) -> None:
        first = errors[0]
        self.errors = errors
        super().__init__(first.message, path=first.path, line=first.line, column=first.column)
        if len(errors) > 1:
            rest = "\n".join(str(e) for e in errors[1:])
            self.args = (f"{self.args[0]}\n{rest}",)


class MissingPlaceholderValuesError(TemplateError):
    """``render`` was given no value for one or more placeholders of the template."""

    def __init__(self, missing: list[tuple[str, SourceLocation]]) -> None:
        self.missing = missing
        names = sorted({name for name, _ in missing})
        where = "; ".join(f"{{{{{name}}}}} at {loc}" for name, loc in missing)
        first = missing[0][1]
        super().__init__(
            f"no value for placeholder(s) {', '.join(names)} ({where})",
            path=first.path,
            line=first.line or 1,
            column=first.column or 1,
        )


class TemplateFileError(TemplateError):
    """A template file could not be read: missing, unreadable, or not valid UTF-8."""


class FixtureError(LayerError):
    """A prompt fixture file is invalid; the message names the file and the key."""

    def __init__(
        self, message: str, *, path: str, key: str | None = None, line: int | None = None
    ) -> None:
        super().__init__(message, path=path, line=line, key=key)

    path: str


class GenerationError(LayerError, JauntGenerationError):
    """Base class of the errors raised while generating a module with a model."""


class GenerationBackendError(GenerationError):
    """The backend failed for a reason that is not the model's answer.

    Authentication, permission, an unknown model, a connection failure or a timeout that
    persisted through the SDK's own retries: trying again with error context cannot help,
    so :meth:`~jaunt.generate.base.GeneratorBackend.generate_with_retry` raises it instead
    of spending an attempt. The message never contains the API key.
    """


class ModelAnswerError(GenerationError):
    """The model answered, but the answer is unusable: truncated, empty or a refusal.

    Raised by a backend's ``generate_module``; ``generate_with_retry`` counts it as a
    failed attempt and feeds the message back to the model on the next one.
    """
