"""The one error tree: every failure lpack reports carries its exit code and a hint."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class LpackError(Exception):
    """A failure the user can act on: what, why, and how to fix it."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None, details: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Verbatim output of a tool we drove (pip-tools' conflict explanation, ...).
        self.details = details

    def render(self) -> str:
        parts = [self.message.rstrip()]
        if self.details:
            parts.append(self.details.rstrip())
        if self.hint:
            parts.append(f"Fix: {self.hint}")
        return "\n".join(parts)


class ConfigError(LpackError):
    """Bad configuration or usage: unknown key, bad value, missing input."""


class LockError(LpackError):
    """Dependencies could not be resolved for the target."""


class FetchError(LpackError):
    """A wheel could not be downloaded, verified or built."""


class BuildError(LpackError):
    """The package could not be assembled or written."""
