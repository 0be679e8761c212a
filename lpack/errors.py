"""The one error tree: every failure lpack reports carries its exit code and a hint.

Services raise these; only the CLI turns them into output and an exit code.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class LpackError(Exception):
    """A failure the user can act on: what, why, and how to fix it."""

    exit_code = EXIT_USAGE
    # The "type" machine output gives this error (None: the class name).
    public_name: str | None = None

    def __init__(self, message: str, hint: str | None = None, details: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Verbatim output of a tool we drove (pip-tools' conflict explanation, ...).
        self.details = details


class ConfigError(LpackError):
    """Bad configuration or usage: unknown key, bad value, missing input."""


class RulesError(LpackError):
    """lpack's own data under rules/ is malformed: a broken install, not the user's input."""


class LockError(LpackError):
    """Dependencies could not be resolved for the target."""


class StaleLockError(LockError):
    """The lock does not match the inputs or target, and updating it was forbidden."""

    public_name = "LockError"  # a distinction for lpack's own code, not for JSON readers


class FetchError(LpackError):
    """A wheel could not be downloaded, verified or built."""


class BuildError(LpackError):
    """The package could not be assembled or written."""


class ContentsError(LpackError):
    """A package (zip or folder) cannot be read safely."""


class NetworkError(LpackError):
    """The package index could not be reached, or failed: not the requirements' fault."""


class FileSystemError(LpackError):
    """A local file could not be read or written: a full disk, a permission, a symlink loop."""
