"""Which interpreter verify runs a package with: this machine's CPython, or another CPU's
under qemu-user.

A package for this machine's CPU, or one with no shared objects at all, runs on a CPython of
the runtime's version found here (pythons.py). One with native code for another CPU (arm64 on
an x86_64 machine) runs with the CPython of a root file system of that CPU (the
`emulation-root` setting: Debian's arm64 python3.11 packages unpacked into a folder, as
.ci/arm64-python does) under qemu-user's static emulator: `qemu-aarch64-static -L ROOT
ROOT/usr/bin/python3.11`, where -L makes the emulated program's absolute paths (its loader,
its libc) resolve inside ROOT first. Whatever cannot run here is refused before the package
runs, with what to do: otherwise every native import would be reported as failing. Nothing of
the root runs outside verify's sandbox, not even to see that it starts: a project can name it.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import stat
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lpack.elf import MACHINES
from lpack.errors import ConfigError
from lpack.inspect.sandbox import Outcome, interpreter_folders
from lpack.pythons import PROBE, find_python, meaningful_line, world_reachable
from lpack.target import Target

ROOT_ENV = "LPACK_EMULATION_ROOT"
# Where the root is set: `lpack verify` has an option too, `lpack build --verify` has not.
SETTING = f"`emulation-root` in [tool.lpack] or ${ROOT_ENV}"
VERIFY_SETTING = f"`emulation-root` in [tool.lpack], ${ROOT_ENV} or --emulation-root"
SETUP = ".ci/arm64-python FOLDER"  # the repository's script: Debian 12's arm64 Python 3.11
_SHARED_OBJECT = re.compile(r"\.so(\.\d+)*$")
_PYTHON = re.compile(r"^python3\.\d+$")
_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}
_ARCHES = {"x86_64": "x86_64", "aarch64": "arm64"}  # ELF machine: lpack's --arch


@dataclass(frozen=True)
class Interpreter:
    """The CPython that runs the package, and the emulator it runs under ("" natively)."""

    python: Path
    emulator: str = ""
    root: Path | None = None

    @property
    def command(self) -> list[str]:
        if not self.emulator or self.root is None:
            return [str(self.python)]
        return [self.emulator, "-L", str(self.root), str(self.python)]

    @property
    def prelude(self) -> str:
        """The Python that sets the sandbox up, then starts the command: under emulation,
        lpack's own (3.10 or later; the prelude needs the standard library only)."""
        if not self.emulator:
            return str(self.python)
        return str(getattr(sys, "_base_executable", None) or sys.executable)

    def folders(self) -> list[str]:
        """What the sandbox must leave visible for it to start."""
        if self.root is None:
            return interpreter_folders(str(self.python))
        return [str(self.root), str(Path(self.emulator).parent)]


def host_machine() -> str:
    machine = platform.machine().lower()
    return _ALIASES.get(machine, machine)


def interpreter_for(
    target: Target,
    packages: Sequence[Path],
    drop: bool,
    root: Path | None,
    setting: str = SETTING,
) -> Interpreter:
    """The interpreter for the package (the function zip, then its layers) on this machine;
    ConfigError saying what to do when none can run it. drop: it runs as nobody; setting:
    how the user sets the root (the command's own words)."""
    system = platform.system()
    if system != "Linux":
        raise ConfigError(
            f"lpack verify runs a Lambda package's code, which needs Linux; this machine runs "
            f"{system or sys.platform}.",
            hint="run lpack verify in a Linux container or a Linux CI job; `lpack lint` checks "
            "the package here without running it.",
        )
    host = host_machine()
    found = native_code(packages)
    _check_target_matches(target, found)
    if target.machine == host or not found:
        return Interpreter(find_python(target, drop))
    if root is None:
        raise ConfigError(
            f"{found[target.machine]} is native code for {target.arch} ({target.machine}), "
            f"and this machine is {host}: verify cannot import it here without an emulator.",
            hint=f"run verify on an {target.arch} machine, or make {_a_root(target)} "
            f"(needs qemu-user-static) and point {setting} at it.",
        )
    return emulated(target, root, drop, setting)


def _a_root(target: Target) -> str:
    """How to get a root for the target: the repository's script makes only arm64 3.11."""
    if (target.arch, _version(target)) == ("arm64", "3.11"):
        return f"a root with an arm64 Python 3.11 ({SETUP})"
    return f"a root file system of an {target.arch} image with Python {_version(target)}"


def _named(target: Target) -> str:
    """arm64 (aarch64); x86_64 once."""
    return target.arch if target.arch == target.machine else f"{target.arch} ({target.machine})"


def _check_target_matches(target: Target, found: dict[str, str]) -> None:
    """Native code for another CPU than the target's (an arm64 zip verified as x86_64,
    the default) cannot import: refused, naming the zip and member, not reported as FAILs."""
    for machine, where in found.items():
        if machine == target.machine:
            continue
        arch = _ARCHES.get(machine)
        raise ConfigError(
            f"{where} is {machine} code and verify runs it as {_named(target)}.",
            hint=f"pass --arch {arch} (or set `arch` in [tool.lpack])"
            if arch
            else "Lambda runs x86_64 and arm64 code only: rebuild the package for one of them.",
        )


def native_code(packages: Sequence[Path]) -> dict[str, str]:
    """The CPUs of the zips' ELF shared objects (each e_machine: the first "zip:member" of
    it); an unreadable zip has none (extracting it says why), nor has a non-ELF .so."""
    found: dict[str, str] = {}
    for package in packages:
        try:
            with zipfile.ZipFile(package) as zf:
                for info in zf.infolist():
                    if info.is_dir() or not _SHARED_OBJECT.search(info.filename.rsplit("/", 1)[-1]):
                        continue
                    with zf.open(info) as fh:
                        machine = _elf_machine(fh.read(20))
                    if machine:
                        found.setdefault(machine, f"{package}:{info.filename}")
        except (OSError, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError):
            continue
    return found


def _elf_machine(header: bytes) -> str | None:
    """The CPU an ELF header (its first 20 bytes) is for; None when it is not ELF."""
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    number = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    return MACHINES.get(number, f"machine-{number}")


def emulated(target: Target, root: Path, drop: bool, setting: str = SETTING) -> Interpreter:
    """ROOT's CPython of the target's version under qemu-user; ConfigError naming what is
    missing. Nothing of the root runs here: it may come from the project, so whether it
    starts is checked inside verify's sandbox (check_started)."""
    emulator = _emulator(target)
    root = root.absolute()
    if not root.is_dir():
        raise ConfigError(
            f"The emulation root {root} ({setting}) is not a folder.",
            hint=f"make {_a_root(target)}, or point the setting at an existing root.",
        )
    python = _python_in(root, target, setting)
    found = _machine_of(python)
    if found != target.machine:
        raise ConfigError(
            f"{python} is built for {found}, and the package is for {target.arch} "
            f"({target.machine}).",
            hint=f"point {setting} at a root of {target.machine} programs ({_a_root(target)}).",
        )
    if drop:
        _check_nobody_reads(root, python, emulator)
    return Interpreter(python, emulator, root)


def start_probe(interpreter: Interpreter) -> list[str]:
    """The command that shows the interpreter starts (run in verify's sandbox)."""
    return [*interpreter.command, "-I", "-S", "-c", PROBE]


def check_started(interpreter: Interpreter, target: Target, outcome: Outcome, user: str) -> None:
    """ConfigError when start_probe's run did not print the target's CPython version."""
    wanted = _version(target)
    said = outcome.events.decode("utf-8", "replace").split()
    if outcome.returncode == 0 and said == ["cpython", wanted]:
        return
    if outcome.returncode != 0:
        why = meaningful_line(outcome.stderr) or f"it exited with {outcome.returncode}"
    else:
        why = f"it is {' '.join(said)[:80] or 'silent'}, not cpython {wanted}"
    raise ConfigError(
        f"{interpreter.python} does not start under {Path(interpreter.emulator).name} as "
        f"{user}: {why}.",
        hint=f"the root needs the interpreter's libraries too (libc6, libpython{wanted}-"
        f"minimal, libpython{wanted}-stdlib, …): make {_a_root(target)} again.",
    )


def _version(target: Target) -> str:
    return "{}.{}".format(*target.python_version)


def _emulator(target: Target) -> str:
    names = [f"qemu-{target.machine}-static", f"qemu-{target.machine}"]
    for name in names:
        found = shutil.which(name)
        if found:
            return str(Path(found).absolute())
    raise ConfigError(
        f"Verifying a {target.arch} package on this {host_machine()} machine needs qemu-user, "
        f"and neither {' nor '.join(names)} is on PATH.",
        hint="install it (Debian and Ubuntu: apt-get install qemu-user-static) and run again.",
    )


def _python_in(root: Path, target: Target, setting: str) -> Path:
    """ROOT's python3.X; an absolute symlink is read inside ROOT, as the emulator would."""
    wanted = _version(target)
    folders = [root / "usr/bin", root / "usr/local/bin", root / "bin"]
    for folder in folders:
        path = folder / f"python{wanted}"
        if path.is_symlink() and os.readlink(path).startswith("/"):
            path = root / os.readlink(path).lstrip("/")
        if path.is_file():
            return path
    others = sorted({p.name for f in folders for p in f.glob("python3.*") if _PYTHON.match(p.name)})
    has = f" (it has {', '.join(others)})" if others else ""
    raise ConfigError(
        f"The emulation root {root} has no python{wanted} in usr/bin, usr/local/bin or bin{has}.",
        hint=f"point {setting} at {_a_root(target)}, or verify on a machine of the package's CPU.",
    )


def _machine_of(path: Path) -> str:
    """The CPU an ELF program is for (its header's e_machine), or what it is instead."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(20)
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    return _elf_machine(header) or "non-ELF"


def _check_nobody_reads(root: Path, python: Path, emulator: str) -> None:
    """As root, verify runs the package as nobody: the emulator, the root and the folders
    above it must be open to every user (qemu reads the program, it does not execute it)."""
    closed = [p for p in [root, *root.parents] if not p.stat().st_mode & stat.S_IXOTH]
    if not python.stat().st_mode & stat.S_IROTH:
        closed.insert(0, python)
    if closed or not world_reachable(Path(emulator)):
        what = closed[-1] if closed else Path(emulator)
        raise ConfigError(
            f"nobody, the user verify runs the package as when lpack runs as root, cannot "
            f"use {what}, so it cannot run {python} under {Path(emulator).name}.",
            hint=f"make it readable for every user (chmod -R o+rX {root}, and o+x on each "
            "folder above it), or keep the root in a folder every user can enter, such as /opt.",
        )
