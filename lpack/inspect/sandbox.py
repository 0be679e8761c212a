"""Runs verify's harness contained: its files, its processes, its time, memory and output.

With Linux namespaces (`unshare`: as root, or as any user where user namespaces are
enabled) the harness is PID 1 of its own PID namespace, so every process it starts, detached
or not, dies with it; it sees every mount read-only, a private writable /tmp, and empty
folders over $HOME, the project and lpack's cache (sandbox_prelude.py). Without namespaces
it runs in a session of its own whose process group is killed at the end; a process that
calls setsid() can escape that, and the files are only as protected as the user's rights.
In both, resource limits cap its memory, processes, files and CPU time; lpack stops it at a
deadline, and reads its output into bounded buffers, so neither a child holding the pipe nor
gigabytes of output can block or bloat lpack.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lpack.errors import LpackError

NOBODY = 65534
SETUP_FAILED = 121  # sandbox_prelude.py's exit status when it could not set up
DEFAULT_TIMEOUT = 30.0  # seconds; an import that takes longer is a finding
# Under qemu-user (emulation.py) imports run 4 to 8 times slower (measured here: numpy 0.3 s
# natively, 2.2 s emulated; pandas 1.4 s, 11 s), and the deadline is for the whole run.
EMULATED_TIMEOUT = 10 * DEFAULT_TIMEOUT
MEMORY_LIMIT = 4 * 1024**3  # RLIMIT_DATA: writable memory, not the address space numpy reserves
TMP_SIZE = 512 * 1024**2  # Lambda's default /tmp
LIMITS = {
    "RLIMIT_DATA": MEMORY_LIMIT,
    "RLIMIT_FSIZE": TMP_SIZE,  # no file bigger than Lambda's /tmp: the disk cannot fill
    "RLIMIT_NOFILE": 1024,  # Lambda's own limits on descriptors and processes
    "RLIMIT_NPROC": 1024,
    "RLIMIT_CORE": 0,
}
EVENTS_CAP = 16 * 1024**2  # the harness's event lines kept (the first ones)
STDERR_CAP = 64 * 1024  # what the package printed (the last of it)
_DRAIN_SECONDS = 1.0  # after the harness ended: what is still in the pipes


@dataclass(frozen=True)
class Isolation:
    """What the package was kept from; said in the result, never more than was done."""

    unshare: tuple[str, ...]  # the namespaces' command; empty when there are none
    user: str  # "nobody", or "current user"
    reason: str = ""  # why there are no namespaces

    @property
    def namespaces(self) -> bool:
        return bool(self.unshare)

    def describe(self, hidden: list[str]) -> str:
        if self.namespaces:
            return (
                "own PID and mount namespaces: every mount read-only but a private /tmp, "
                f"all its processes ended with it; hidden: {', '.join(hidden) or 'nothing'}"
            )
        return (
            f"process group only ({self.reason}): the package may read and write wherever "
            f"{self.user} may, and a process that leaves the group may outlive verify"
        )


@dataclass
class Plan:
    """What sandbox_prelude.py does before it becomes the harness."""

    isolation: Isolation
    cwd: Path
    keep: list[str] = field(default_factory=list)  # must stay visible (extract, interpreter)
    hide: list[str] = field(default_factory=list)  # covered with an empty folder
    binds: list[list[str]] = field(default_factory=list)  # [source, target] mounts
    timeout: float = DEFAULT_TIMEOUT

    @property
    def hidden(self) -> list[str]:
        return [h for h in self.hide if h not in self.keep]

    def describe(self) -> str:
        return self.isolation.describe(self.hidden)

    def command(self, python: str, argv: list[str]) -> list[str]:
        """argv (the harness), run by the prelude in python: the target's Python, or under
        emulation this machine's (qemu-user 7.2 answers mount_setattr, which makes the mounts
        read-only, with ENOSYS)."""
        namespaces = self.isolation.namespaces
        drop = "nobody" if self.isolation.user == "nobody" else None
        if namespaces and drop is None:
            drop = "capabilities"  # the user namespace gave it some: none may reach the package
        limits = {**LIMITS, "RLIMIT_CPU": int(self.timeout * 2) + 10}  # if lpack itself dies
        if not namespaces and drop is None:
            del limits["RLIMIT_NPROC"]  # it would count all of this user's processes
        plan = {
            "mounts": namespaces,
            "keep": self.keep,
            "hide": self.hidden,
            "binds": self.binds,
            "tmp": TMP_SIZE,
            "cwd": str(self.cwd),
            "limits": limits,
            "drop": drop,
            "uid": NOBODY,
            "parent": 0 if namespaces else os.getpid(),
        }
        prelude = [python, "-I", "-S", "-c", _prelude_source(), json.dumps(plan), *argv]
        if not namespaces:
            return prelude
        setpriv = shutil.which("setpriv")  # unshare dies with lpack, even killed outright
        first = [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []
        return [*first, *self.isolation.unshare, *prelude]


def _prelude_source() -> str:
    return Path(__file__).with_name("sandbox_prelude.py").read_text(encoding="utf-8")


def _unshare_commands() -> list[list[str]]:
    """unshare with a PID namespace whose PID 1 is the prelude, then the harness (when it
    ends, the kernel kills everything left in it). Not root: in a user namespace, mapping
    the user to itself where util-linux can (2.38), else to uid 0 there."""
    # -i: System V IPC of its own (shared memory and semaphores other programs use).
    flags = ["-m", "-i", "-p", "-f", "--kill-child", "--mount-proc", "--propagation", "private"]
    unshare = shutil.which("unshare") or "unshare"
    if os.geteuid() == 0:
        return [[unshare, *flags]]
    users = (["-U", "--map-current-user", "--keep-caps"], ["-U", "--map-root-user"])
    return [[unshare, *mapping, *flags] for mapping in users]


def interpreter_folders(python: str) -> list[str]:
    """The installations (bin/'s parent) of python and of what its symlink points at: they
    stay visible whatever is covered (a venv or an interpreter under /tmp, for one)."""
    folders: dict[str, None] = {}
    for path in (Path(python), Path(python).resolve()):
        folders.setdefault(str(path.parent.parent if path.parent.name == "bin" else path.parent))
    return list(folders)


@cache
def isolation_for(python: str) -> Isolation:
    """The strongest isolation this machine gives: each way tried for real, with the prelude
    making every kind of mount it makes for verify and dropping capabilities."""
    user = "nobody" if os.geteuid() == 0 else "current user"
    if not os.path.exists("/proc/self/ns/pid"):
        return Isolation((), user, "it needs Linux namespaces")
    if shutil.which("unshare") is None:
        return Isolation((), user, "the `unshare` command (util-linux) is not installed")
    failures = []
    for unshare in _unshare_commands():
        isolation = Isolation(tuple(unshare), "current user")
        probe = Plan(isolation, Path("/"), interpreter_folders(python))
        argv = probe.command(python, [python, "-I", "-S", "-c", "pass"])
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            done = subprocess.CompletedProcess(argv, -1, "", str(exc))
        if done.returncode == 0:
            return Isolation(tuple(unshare), user)
        shown = " ".join(["unshare", *unshare[1:]])
        failures.append(f"`{shown}` failed: {done.stderr.strip()[-300:] or done.returncode}")
    return Isolation((), user, "; ".join(failures))


def namespace_unavailable(python: str) -> str | None:
    """Why the sandbox's namespaces cannot be made here, or None when they can."""
    isolation = isolation_for(python)
    return None if isolation.namespaces else isolation.reason


@dataclass
class Outcome:
    """How the harness ended and what it printed (bounded)."""

    returncode: int
    events: bytes  # its event lines, the first EVENTS_CAP bytes
    stderr: str  # what the package printed, the last STDERR_CAP bytes (or run's stderr_cap)
    timed_out: bool = False
    events_dropped: int = 0


class _Buffer:
    """Keeps the first (or last) cap bytes of a stream and counts what it dropped."""

    def __init__(self, cap: int, keep_last: bool) -> None:
        self.cap, self.keep_last = cap, keep_last
        self.data = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        extra = len(self.data) - self.cap
        if extra > 0:
            self.dropped += extra
            if self.keep_last:
                del self.data[:extra]
            else:
                del self.data[self.cap :]

    def text(self) -> str:
        text = self.data.decode("utf-8", "replace")
        if self.dropped and self.keep_last:
            return f"[... {self.dropped:,} B of output dropped ...]\n{text}"
        return text


def run(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float, stderr_cap: int = STDERR_CAP
) -> Outcome:
    """Run argv in a session of its own; whatever happens (the end, the deadline, Ctrl-C or
    SIGTERM to lpack), every process of that session is killed before this returns.
    stderr_cap: more for a run whose stderr is the report (-X importtime's lines)."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    events, stderr = _Buffer(EVENTS_CAP, keep_last=False), _Buffer(stderr_cap, keep_last=True)
    buffers = {proc.stdout.fileno(): events, proc.stderr.fileno(): stderr}
    try:
        with selectors.DefaultSelector() as selector:
            for fd in buffers:
                os.set_blocking(fd, False)
                selector.register(fd, selectors.EVENT_READ)
            deadline = time.monotonic() + timeout
            timed_out = not _read_until_exit(proc.pid, selector, buffers, deadline)
            _kill_session(proc)
            _read_until_exit(proc.pid, selector, buffers, time.monotonic() + _DRAIN_SECONDS)
    finally:
        _kill_session(proc)
        proc.stdout.close()
        proc.stderr.close()
    return Outcome(proc.returncode, bytes(events.data), stderr.text(), timed_out, events.dropped)


def _read_until_exit(
    pid: int, selector: selectors.BaseSelector, buffers: dict[int, _Buffer], deadline: float
) -> bool:
    """Read both pipes until the process has exited and what it wrote is read (True), or until
    the deadline (False). A child that keeps a pipe open does not hold this up past its parent,
    and one that closes its pipes but runs on does not end it early."""
    while True:
        exited = _has_exited(pid)  # first: then whatever it wrote before exiting is read below
        wait = 0.0 if exited else max(0.0, min(0.05, deadline - time.monotonic()))
        ready = selector.select(timeout=wait) if selector.get_map() else []
        if not selector.get_map():
            time.sleep(wait)
        for key, _ in ready:
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if chunk:
                buffers[key.fd].add(chunk)
            else:
                selector.unregister(key.fd)
        if exited and not ready:
            return True
        if time.monotonic() >= deadline:
            return exited


def _has_exited(pid: int) -> bool:
    """Without reaping it: the process group keeps its id until lpack has killed it."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _kill_session(proc: subprocess.Popen[bytes]) -> None:
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group's id is the leader's pid
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()


def check_setup(outcome: Outcome, artifact: Path) -> None:
    """The prelude could not set the sandbox up (its own exit status and message). Only
    before the harness said a word: after that, the package could mimic both."""
    if (
        outcome.returncode == SETUP_FAILED
        and "lpack-sandbox:" in outcome.stderr
        and not outcome.events.strip()
    ):
        message = outcome.stderr.strip().splitlines()[-1]
        raise LpackError(
            f"Could not set up the sandbox to verify {artifact}: {message}.",
            hint="a trial run in the same namespaces worked on this machine, so this is "
            "lpack's bug: report it with this message.",
        )
