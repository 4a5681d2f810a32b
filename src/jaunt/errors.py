"""jaunt's exception hierarchy (a stand-in: jaunt keeps its own ``jaunt/errors.py``).

These are jaunt's names, so the layer raises what jaunt's callers already catch. The
layer's own located errors live in :mod:`jaunt.promptkit.errors` and subclass these.
"""


class JauntError(Exception):
    """Base exception for all Jaunt errors."""


class JauntConfigError(JauntError):
    """Raised for invalid user configuration."""


class JauntDiscoveryError(JauntError):
    """Raised when module discovery/import fails."""


class JauntNotBuiltError(JauntError):
    """Raised when an operation requires a built artifact that does not exist."""


class JauntGenerationError(JauntError):
    """Raised when code generation fails."""


class JauntDependencyCycleError(JauntError):
    """Raised when a dependency graph contains a cycle."""
