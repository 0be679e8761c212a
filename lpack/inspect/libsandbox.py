"""Runs the verify harness where only the runtime's shared libraries are visible.

A developer machine has libraries Lambda lacks (libGL, unixODBC, GLib on Amazon Linux 2), so
an import that finds them here fails there. In a private mount namespace (`unshare`: as root,
or as any user where user namespaces are enabled) the host's library folders are covered by
one folder of copies: the libraries the runtime provides (rules/runtime-libs.toml) that this
machine has, plus what the verifying interpreter needs to start and load its standard library
(Lambda's Python brings its own equivalents in /var/lang/lib). Nothing outside the namespace
changes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from lpack import elf
from lpack.errors import ConfigError
from lpack.runtime_libs import provided_libraries
from lpack.target import Target

# Where glibc's loader looks when nothing else says (plus what ld.so.cache lists).
_DEFAULT_FOLDERS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib")
NOBODY = 65534


@dataclass
class LibraryView:
    """The staged folder, the host folders it covers, and what it holds."""

    folder: Path
    covered: list[str]
    runtime: list[str] = field(default_factory=list)  # runtime libraries this host has
    interpreter: list[str] = field(default_factory=list)  # others the interpreter needs
    uncovered: list[str] = field(default_factory=list)  # library folders left visible

    def command(self, argv: list[str], drop_to_nobody: bool) -> list[str]:
        """argv, run inside a mount namespace where the covered folders show the view.

        The verifying interpreter mounts (through libc, while its own libraries are loaded),
        drops to nobody when asked, then replaces itself with argv: no mount or setpriv
        binary has to start after the host's libraries are covered."""
        binds = [[str(self.folder), folder] for folder in self.covered]
        if os.path.exists("/etc/ld.so.cache"):  # its paths would point into covered folders
            binds.append([str(self.folder / ".empty"), "/etc/ld.so.cache"])
        plan = json.dumps({"binds": binds, "drop": drop_to_nobody})
        unshare = shutil.which("unshare") or "unshare"
        return [unshare, *_namespace_flags(), argv[0], "-I", "-S", "-c", _PRELUDE, plan, *argv]


# Runs in the namespace: bind-mount the view, drop privileges, exec the harness.
_PRELUDE = f"""
import ctypes, json, os, sys
plan = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
for source, target in plan["binds"]:
    if libc.mount(source.encode(), target.encode(), None, 4096, None) != 0:  # MS_BIND
        error = os.strerror(ctypes.get_errno())
        sys.exit(f"lpack: cannot mount {{source}} over {{target}}: {{error}}")
if plan["drop"]:
    os.setgroups([])
    os.setresgid({NOBODY}, {NOBODY}, {NOBODY})
    os.setresuid({NOBODY}, {NOBODY}, {NOBODY})
os.execv(sys.argv[2], sys.argv[2:])
"""


def _namespace_flags() -> list[str]:
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    return ["-m", "--propagation", "private"] if root else ["-U", "-r", "-m"]


def unavailable_reason() -> str | None:
    """Why this machine cannot make a private mount namespace, or None when it can."""
    if not hasattr(os, "geteuid") or not os.path.exists("/proc/self/ns/mnt"):
        return "it needs Linux mount namespaces"
    if shutil.which("unshare") is None:
        return "the `unshare` command (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", *_namespace_flags(), "true"], capture_output=True, text=True, timeout=30
    )
    if probe.returncode != 0:
        return f"`unshare {' '.join(_namespace_flags())}` failed: {probe.stderr.strip()[:200]}"
    return None


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
