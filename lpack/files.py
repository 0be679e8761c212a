"""File-system helpers every layer shares: atomic writes and gitignore-style globs."""

from __future__ import annotations

import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

import pathspec

# .NAME.lpack-PID.RANDOM.tmp: a file lpack is writing. The PID tells a live writer from one
# that was killed (SIGKILL leaves no chance to clean up); source scans never ship one.
_TEMP = re.compile(r"^\..+\.lpack-(\d+)\.[^.]+\.tmp$")


def temp_beside(path: Path) -> tuple[int, str]:
    """A new temp file in path's folder, named so lpack can tell it is its own."""
    return tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.lpack-{os.getpid()}.", suffix=".tmp"
    )


def is_lpack_temp(name: str) -> bool:
    return _TEMP.match(name) is not None


def remove_stale_temps(folder: Path) -> list[Path]:
    """Temp files a killed lpack left in folder (their writer is gone); the removed ones."""
    removed = []
    try:
        names = [p for p in folder.iterdir() if _TEMP.match(p.name)]
    except OSError:
        return []
    for path in names:
        pid = int(_TEMP.match(path.name).group(1))  # type: ignore[union-attr]
        if pid == os.getpid() or _alive(pid):
            continue
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, as another user's process
    return True


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write to a temp file beside `path`, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = temp_beside(path)
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
