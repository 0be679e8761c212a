"""Finds a CPython of a target's version on this machine (to verify a package, or to compile
its bytecode), looking where Python installers put it."""

from __future__ import annotations

import os
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


def _is_cpython(candidate: Path, wanted: str) -> bool:
    try:
        probe = subprocess.run(
            [
                str(candidate),
                "-I",
                "-S",
                "-c",
                "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0 and probe.stdout.split() == ["cpython", wanted]


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
        if drop_privileges and not world_reachable(candidate):
            unreachable.append(str(candidate))
            continue
        return candidate.resolve()
    if unreachable:
        raise ConfigError(
            f"Python {wanted} was found ({', '.join(unreachable)}) but the unprivileged user "
            "lpack verifies as cannot run it: a folder above it is not world-executable.",
            hint=f"install python{wanted} where every user can run it (e.g. the system "
            "package), or run lpack verify as a non-root user.",
        )
    raise ConfigError(
        f"No Python {wanted} found to verify a {target.runtime} package (looked {SEARCHED}).",
        hint=f"install Python {wanted} (`uv python install {wanted}`, `pyenv install "
        f"{wanted}`, or your OS package) and run again.",
    )
