"""File-system helpers every layer shares: atomic writes and gitignore-style globs."""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

import pathspec


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write to a temp file beside `path`, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(name, mode)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


@lru_cache(maxsize=256)
def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def matches_any(path: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """gitignore semantics (pathspec): "tests" or "*.md" match at any depth, "/lib" and
    "pkg/lib" only from the root, "**" spans folders, a folder pattern covers its files."""
    return bool(patterns) and _spec(tuple(patterns)).match_file(path)
