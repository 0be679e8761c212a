"""File-system helpers every layer shares: atomic writes, gitignore-style globs, and the words
for what the file system refused (a full disk, a permission, a symlink loop, a device)."""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from lpack.errors import FileSystemError

if TYPE_CHECKING:
    import pathspec

# .NAME.lpack-PID.RANDOM.tmp: a file lpack is writing. The PID tells a live writer from one
# that was killed (SIGKILL leaves no chance to clean up); source scans never ship one.
_TEMP = re.compile(r"^\..+\.lpack-(\d+)\.[^.]+\.tmp$")


def _read_umask() -> int:
    """The process's umask, read without changing it where Linux says it (/proc), else by
    setting and restoring it once, at import, before any thread could create a file."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for text in fh:
                if text.startswith("Umask:"):
                    return int(text.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _read_umask()


def file_mode(executable: bool = False) -> int:
    """The mode a new file gets from open() under the user's umask (0644 under 022): a
    temp file is created 0600, and a lock, baseline or report renamed from it must not keep
    that (CI under another uid, a web server)."""
    return (0o777 if executable else 0o666) & ~UMASK


def default_cache_dir() -> Path:
    """lpack's cache: LPACK_CACHE_DIR, else the user cache folder (every layer keeps its own
    content-addressed part of it)."""
    override = os.environ.get("LPACK_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs  # only when no folder is given

    return Path(platformdirs.user_cache_dir("lpack"))


def temp_beside(path: Path) -> tuple[int, str]:
    """A new temp file in path's folder, named so lpack can tell it is its own."""
    return tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.lpack-{os.getpid()}.", suffix=".tmp"
    )


def is_lpack_temp(name: str) -> bool:
    return _TEMP.match(name) is not None


def remove_stale_temps(folder: Path, min_age: float = 0) -> list[Path]:
    """Temp files a killed lpack left in folder (their writer is gone); the removed ones.

    min_age: seconds since the last write, for folders shared with processes this one
    cannot see (a cache volume mounted into several containers: another PID namespace's
    live writer looks dead here, but its file keeps changing)."""
    removed = []
    try:
        names = [p for p in folder.iterdir() if _TEMP.match(p.name)]
    except OSError:
        return []
    now = time.time()
    for path in names:
        pid = int(_TEMP.match(path.name).group(1))  # type: ignore[union-attr]
        if pid == os.getpid() or _alive(pid):
            continue
        try:
            if min_age and now - path.stat().st_mtime < min_age:
                continue
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


def refuse_to_replace(path: Path) -> None:
    """A rename replaces whatever has the name: never a device or a pipe (as root, writing
    "to" /dev/null would replace the system's /dev/null with a file)."""
    modes = []
    for look in (os.lstat, os.stat):  # the name itself, and what a link leads to (/dev/stdout)
        try:
            modes.append(stat.S_IFMT(look(path).st_mode))
        except OSError:
            pass  # nothing there (or the write itself will say why)
    if any(m not in (stat.S_IFREG, stat.S_IFLNK, stat.S_IFDIR) for m in modes):
        raise FileSystemError(
            f"{path} {why_unusable(path)}: lpack writes only regular files and will not "
            "replace it.",
            hint="give a file path (-o/--output, --lock, --baseline), e.g. dist/function.zip.",
        )


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write to a temp file beside `path`, then rename: readers never see half a file. The
    file gets `mode`, else what the user's umask gives a new file."""
    write_atomic_parts(path, [data], mode)


def write_atomic_parts(path: Path, parts: Iterable[bytes], mode: int | None = None) -> None:
    """write_atomic of the parts, one after the other (never joined in memory)."""
    refuse_to_replace(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            for part in parts:
                fh.write(part)
        os.chmod(name, file_mode() if mode is None else mode)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


@lru_cache(maxsize=256)
def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    import pathspec  # on first use: a rebuild that changes nothing never matches a glob

    return pathspec.GitIgnoreSpec.from_lines(patterns)


def matches_any(path: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """gitignore semantics (pathspec): "tests" or "*.md" match at any depth, "/lib" and
    "pkg/lib" only from the root, "**" spans folders, a folder pattern covers its files."""
    return bool(patterns) and _spec(tuple(patterns)).match_file(path)


_KINDS = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFSOCK: "a socket",
}


def why_unusable(path: Path) -> str:
    """Why path is neither a regular file nor a folder, as the end of "PATH ...": inputs are
    never read from a device or a pipe (/dev/zero would be read forever)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "is a broken symlink" if path.is_symlink() else "does not exist"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symlink loop"
        return f"cannot be read ({exc.strerror})"
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFDIR:
        return "is a folder, where a file was expected"
    if kind == stat.S_IFREG:
        return "is a file, where a folder was expected"
    return f"is {_KINDS.get(kind, 'not a regular file')}, not a file or a folder"


def file_system_error(exc: OSError) -> FileSystemError:
    """An OSError from reading or writing a local file, worded as what to do about it."""
    code = exc.errno or 0
    cause = exc.strerror or os.strerror(code)
    what = str(exc.filename) if exc.filename else "a file lpack was writing"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return FileSystemError(
            f"No space left on the device holding {what} ({cause}).",
            hint="free space there, or write elsewhere (-o/--output, `lock`, LPACK_CACHE_DIR "
            "for the cache); lpack swaps a file in only once it is complete, so the previous "
            "zip, lock and cache entries are intact.",
        )
    if code in (errno.EACCES, errno.EPERM):
        return FileSystemError(
            f"Permission denied: lpack cannot read or write {what}.",
            hint="fix its permissions or owner; a source file that must not ship can be left "
            "out with `exclude` in [tool.lpack].",
        )
    if code == errno.ELOOP:
        return FileSystemError(
            f"{what} is a symlink loop (a link that leads back to itself).",
            hint="fix or remove the link.",
        )
    if code == errno.EROFS:
        return FileSystemError(
            f"{what} is on a read-only file system.",
            hint="write somewhere writable: -o/--output, `lock`, LPACK_CACHE_DIR for the cache.",
        )
    if code in (errno.EMFILE, errno.ENFILE):
        return FileSystemError(
            f"Too many open files ({cause}) while lpack worked on {what}.",
            hint="raise the limit (`ulimit -n 4096`) and run again.",
        )
    return FileSystemError(
        f"Cannot use {what}: {cause}.",
        hint="check the path, the disk, and the permissions, then run again.",
    )
