"""Exception types shared by every part of jaunt's Layer 1.

Everything jaunt raises on purpose derives from :class:`JauntError`, so callers can
catch one type; the subclasses say which input was wrong and where.
"""

from __future__ import annotations

from dataclasses import dataclass


class JauntError(Exception):
    """Base class of every error jaunt raises on purpose."""


class JauntConfigError(JauntError):
    """Bad configuration: a missing API key variable, an invalid ``jaunt.toml`` value."""


@dataclass(frozen=True)
class SourceLocation:
    """A 1-based line and column in a named file (``path`` may be ``None`` for strings)."""

    path: str | None
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path or '<template>'}:{self.line}:{self.column}"


class TemplateError(JauntError):
    """A problem with a prompt template, located at ``path:line:column``."""

    def __init__(self, message: str, *, path: str | None, line: int = 1, column: int = 1) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        super().__init__(f"{self.location}: {message}")

    @property
    def location(self) -> SourceLocation:
        return SourceLocation(self.path, self.line, self.column)


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
            line=first.line,
            column=first.column,
        )


class TemplateFileError(TemplateError):
    """A template file could not be read: missing, unreadable, or not valid UTF-8."""


class FixtureError(JauntError):
    """A prompt fixture file is invalid; the message names the file and the key."""

    def __init__(
        self, message: str, *, path: str, key: str | None = None, line: int | None = None
    ) -> None:
        self.message = message
        self.path = path
        self.key = key
        self.line = line
        super().__init__(f"{self.location(path)}: {message}")

    def location(self, shown_path: str) -> str:
        """``path:line: key 'k'`` (the line where the file has one for the key)."""
        where = f"{shown_path}:{self.line}" if self.line else shown_path
        return f"{where}: key '{self.key}'" if self.key else where


class GenerationError(JauntError):
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
