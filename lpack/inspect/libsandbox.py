"""Runs the verify harness where only the runtime's shared libraries are visible.

A developer machine has libraries Lambda lacks (libGL, unixODBC, GLib on Amazon Linux 2), so
an import that finds them here fails there. In a private mount namespace (`unshare`: as root,
or as any user where user namespaces are enabled) the host's library folders are covered by
one folder of copies: the libraries the runtime provides (rules/runtime-libs.toml) that this
machine has, plus what the verifying interpreter needs to start and load its standard library
(Lambda's Python brings its own equivalents in /var/lang/lib). Nothing outside the namespace
changes (sandbox.py makes it; this module says what to mount).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lpack import elf
from lpack.errors import ConfigError
from lpack.inspect.sandbox import namespace_unavailable
from lpack.runtime_libs import provided_libraries
from lpack.target import Target

# Where glibc's loader looks when nothing else says (plus what ld.so.cache lists).
_DEFAULT_FOLDERS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib")


@dataclass
class LibraryView:
    """The staged folder, the host folders it covers, and what it holds."""

    folder: Path
    covered: list[str]
    runtime: list[str] = field(default_factory=list)  # runtime libraries this host has
    interpreter: list[str] = field(default_factory=list)  # others the interpreter needs
    uncovered: list[str] = field(default_factory=list)  # library folders left visible

    def binds(self) -> list[list[str]]:
        """[source, target] bind mounts that show the view over the covered folders: the
        sandbox's prelude makes them with the verifying interpreter's own libc, while its
        libraries are loaded, so no binary has to start after the host's are covered."""
        binds = [[str(self.folder), folder] for folder in self.covered]
        if os.path.exists("/etc/ld.so.cache"):  # its paths would point into covered folders
            binds.append([str(self.folder / ".empty"), "/etc/ld.so.cache"])
        return binds


def unavailable_reason(python: str | None = None) -> str | None:
    """Why this machine cannot make verify's namespaces, or None when it can."""
    return namespace_unavailable(python or sys.executable)


def _host_folders() -> list[Path]:
    """Every folder the host's loader may take a library from, resolved, without repeats."""
    listed: list[str] = list(_DEFAULT_FOLDERS)
    try:
        cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=30)
        listed += [
            line.rsplit("=> ", 1)[1].rsplit("/", 1)[0]
            for line in cache.stdout.splitlines()
            if "=> /" in line
        ]
    except (OSError, subprocess.SubprocessError):
        pass
    seen: dict[Path, None] = {}
    for text in listed:
        path = Path(text)
        if path.is_dir():
            seen.setdefault(path.resolve())
    return list(seen)


def _needed(path: Path) -> list[str]:
    try:
        return list(elf.dynamic(elf.parse(path.read_bytes())).needed)
    except (OSError, elf.ElfError, ValueError):
        return []


def _interpreter_files(python: Path) -> list[Path]:
    """The interpreter, its libpython and its standard library's extension modules."""
    probe = subprocess.run(
        [
            str(python),
            "-I",
            "-S",
            "-c",
            "import sys, sysconfig; print(sys.executable); print(sysconfig.get_path('platstdlib'))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = probe.stdout.splitlines()
    found = [Path(lines[0]).resolve()] if lines else [python.resolve()]
    if len(lines) > 1:
        found += sorted(Path(lines[1], "lib-dynload").glob("*.so"))
    return found


def stage(target: Target, python: Path, work: Path) -> LibraryView:
    """Copies the visible libraries into work/libraries and says which folders it covers."""
    folders = _host_folders()
    by_name: dict[str, Path] = {}
    for folder in reversed(folders):  # the first folder wins, as in the loader's search
        for child in folder.iterdir():
            if ".so" in child.name and child.is_file():
                by_name[child.name] = child
    view = LibraryView(work / "libraries", [])
    view.folder.mkdir(mode=0o755)
    (view.folder / ".empty").write_bytes(b"")
    runtime = sorted(n for n in provided_libraries(target) if n in by_name)
    queue = [*runtime]
    for file in _interpreter_files(python):
        queue += _needed(file)
    staged: set[str] = set()
    while queue:
        name = queue.pop()
        if name in staged or name not in by_name:
            continue
        staged.add(name)
        shutil.copyfile(by_name[name], view.folder / name)
        os.chmod(view.folder / name, 0o755)
        queue += _needed(by_name[name])
    view.runtime = runtime
    view.interpreter = sorted(staged - set(runtime))
    stdlib = [f.parent for f in _interpreter_files(python)]
    for folder in sorted(folders):
        if any(Path(c) in folder.parents for c in view.covered):
            continue  # covered with the folder it sits in
        holds_interpreter = any(folder == s or folder in s.parents for s in stdlib)
        (view.uncovered if holds_interpreter else view.covered).append(str(folder))
    if not view.covered:
        raise ConfigError("No host library folder can be covered without hiding the interpreter.")
    return view
