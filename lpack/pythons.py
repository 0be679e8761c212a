"""Finds a CPython of a target's version on this machine (to verify a package, or to compile
its bytecode), looking where Python installers put it."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from lpack.errors import ConfigError
from lpack.target import Target

# Searched last, by exact name; a module constant so a test can point the search elsewhere.
SYSTEM_FOLDERS: tuple[Path, ...] = (Path("/usr/bin"), Path("/usr/local/bin"))
SEARCHED = "on PATH, in pyenv and uv installs, /usr/bin and /usr/local/bin"


def world_reachable(path: Path) -> bool:
    """Any user can run it: the file and every folder above it are world-executable."""
    path = path.resolve()
    try:
        if not path.stat().st_mode & stat.S_IXOTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)
    except OSError:
        return False


def candidates(version: tuple[int, int]) -> list[Path]:
    """Executables that may be that Python, most preferred first, each once."""
    name = f"python{version[0]}.{version[1]}"
    found: list[Path] = []
    if sys.version_info[:2] == version:
        found += [Path(getattr(sys, "_base_executable", sys.executable)), Path(sys.executable)]
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found += _glob(pyenv_root, f"versions/{version[0]}.{version[1]}.*/bin/{name}")
    uv_root = Path(os.environ.get("UV_PYTHON_INSTALL_DIR", Path.home() / ".local/share/uv/python"))
    found += _glob(uv_root, f"cpython-{version[0]}.{version[1]}.*/bin/{name}")
    found += [folder / name for folder in SYSTEM_FOLDERS]
    unique: list[Path] = []
    for path in found:
        if path.exists() and path.resolve() not in [u.resolve() for u in unique]:
            unique.append(path)
    return unique


def _glob(root: Path, pattern: str) -> list[Path]:
    """Newest first; nothing when the folder cannot be read (another user's pyenv)."""
    try:
        return sorted(root.glob(pattern), reverse=True)
    except OSError:
        return []


NOBODY = 65534  # the user verify runs a package as when lpack runs as root
PROBE = "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"
# What a failed start's stderr says around the cause: Python's fatal-error dump.
_NOISE = re.compile(r"^(Traceback |File |Current thread|Python runtime state|Extension modules)")
_EXCEPTION = re.compile(r"^(Fatal Python error|[A-Za-z_][\w.]*(Error|Exception|Exit)): \S")


def meaningful_line(stderr: str) -> str:
    """The line of a failed start's stderr that says why: the last exception line, else
    the last unindented line that is not part of a dump (sys.path's list, a frame); "" if
    it printed nothing."""
    lines = [text.rstrip() for text in stderr.splitlines() if text.strip()]
    exceptions = [text for text in lines if _EXCEPTION.match(text)]
    plain = [t for t in lines if not t[0].isspace() and not _NOISE.match(t) and t[0] not in "[]"]
    chosen = (exceptions or plain or lines or [""])[-1].strip()
    return chosen if len(chosen) <= 300 else chosen[:299] + "…"


def probe(command: list[str], wanted: str, as_nobody: bool = False) -> str | None:
    """Why command (an interpreter, maybe behind an emulator) is not a CPython of version
    wanted that starts with -I -S, as nobody when as_nobody; None when it is."""
    user = NOBODY if as_nobody else None
    try:
        done = subprocess.run(
            [*command, "-I", "-S", "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            cwd="/" if as_nobody else None,  # lpack's own may be closed to nobody
            user=user,
            group=user,
            extra_groups=[] if as_nobody else None,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if done.returncode != 0:
        return meaningful_line(done.stderr) or f"it exited with {done.returncode}"
    if done.stdout.split() != ["cpython", wanted]:
        return f"it is {done.stdout.strip() or 'silent'}, not cpython {wanted}"
    return None


def _is_cpython(candidate: Path, wanted: str) -> bool:
    return probe([str(candidate)], wanted) is None


def cpython(version: tuple[int, int]) -> Path | None:
    """The first CPython of that version this user can run, or None."""
    wanted = f"{version[0]}.{version[1]}"
    found = next((c for c in candidates(version) if _is_cpython(c, wanted)), None)
    return found.resolve() if found is not None else None


def find_python(target: Target, drop_privileges: bool = False) -> Path:
    """A CPython of the target's version this user (or, with drop_privileges, any user)
    can run; ConfigError naming where it looked when there is none."""
    version = target.python_version
    wanted = f"{version[0]}.{version[1]}"
    unreachable = []
    for candidate in candidates(version):
        if not _is_cpython(candidate, wanted):
            continue
        # Run as nobody for real: a folder or a library of its own nobody cannot read shows.
        if drop_privileges and not (
            world_reachable(candidate) and probe([str(candidate)], wanted, as_nobody=True) is None
        ):
            unreachable.append(str(candidate))
            continue
        return candidate.resolve()
    if unreachable:
        raise ConfigError(
            f"Python {wanted} was found ({', '.join(unreachable)}) but nobody, the user lpack "
            "verifies as when run as root, cannot run it: a folder above it is not "
            "world-executable, or its files are not world-readable.",
            hint=f"install python{wanted} where every user can run it (e.g. the system "
            "package, or `chmod -R o+rX` its installation and o+x the folders above), or run "
            "lpack verify as a non-root user.",
        )
    raise ConfigError(
        f"No Python {wanted} found to verify a {target.runtime} package (looked {SEARCHED}).",
        hint=f"install Python {wanted} (`uv python install {wanted}`, `pyenv install "
        f"{wanted}`, or your OS package) and run again.",
    )
