"""The program that sets up verify's sandbox, then becomes the harness (os.execv).

sandbox.py passes this file's text to `python -I -S -c` of the target's Python (the
unprivileged user may not read lpack's folder), with a JSON plan and the harness's argv.
Inside the namespaces `unshare` made (PID 1 of a new PID namespace, a private mount
namespace, and a user namespace when lpack is not root) it makes every mount read-only,
covers $HOME, the project and lpack's cache with empty folders, gives a private writable
/tmp like Lambda's, then sets resource limits and drops privileges: to nobody when lpack is
root, else every capability. Without namespaces the plan has no mounts and only the limits
and the drop apply. It runs on every Python the runtimes use (3.9 and later), standard
library only, and reports a setup failure on stderr with exit status 121.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SETUP_FAILED = 121
MS_NOSUID, MS_NODEV, MS_BIND = 2, 4, 4096
MOUNT_ATTR_RDONLY, AT_RECURSIVE, AT_FDCWD = 1, 0x8000, -100
SYS_MOUNT_SETATTR = 442  # the same number on every architecture but alpha
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 24, 38, 47
libc = ctypes.CDLL(None, use_errno=True)


def fail(what: str, errno: int | None = None) -> None:
    cause = os.strerror(ctypes.get_errno() if errno is None else errno)
    os.write(2, f"lpack-sandbox: {what}: {cause}\n".encode())
    os._exit(SETUP_FAILED)


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    args = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    if libc.mount(args[0], args[1], args[2], ctypes.c_ulong(flags), args[3]) != 0:
        fail(f"cannot mount {fstype or source} on {target}")


class MountAttr(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("set", "clr", "propagation", "userns")]


def read_only(path: str, recursive: bool) -> None:
    """Read-only for this mount (and every mount under it): per mount, never the file system
    itself, so nothing changes outside the namespace."""
    attr = MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    flags = AT_RECURSIVE if recursive else 0
    done = libc.syscall(
        ctypes.c_long(SYS_MOUNT_SETATTR),
        ctypes.c_int(AT_FDCWD),
        path.encode(),
        ctypes.c_uint(flags),
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
    )
    if done != 0:
        fail(f"cannot make {path} read-only (mount_setattr needs Linux 5.12)")


def restore(kept: dict[str, int]) -> None:
    """Bind the kept folders (the extract, the interpreter) back where a cover hid them."""
    for path, fd in kept.items():
        try:
            now = os.stat(path)
            here = (now.st_dev, now.st_ino) == (os.fstat(fd).st_dev, os.fstat(fd).st_ino)
        except OSError:
            here = False
        if not here:
            os.makedirs(path, exist_ok=True)
            mount(f"/proc/self/fd/{fd}", path, None, MS_BIND, None)
            read_only(path, recursive=False)


def contain_files(plan: dict[str, Any]) -> None:
    kept = {path: os.open(path, os.O_PATH) for path in plan["keep"] if os.path.isdir(path)}
    for source, target in plan["binds"]:
        mount(source, target, None, MS_BIND, None)
    for path in plan["hide"]:
        if os.path.isdir(path):
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
    restore(kept)
    read_only("/", recursive=True)
    if plan["tmp"]:
        mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={plan['tmp']},mode=1777")
        restore(kept)
    os.chdir(plan["cwd"])


def limit(plan: dict[str, Any]) -> None:
    """Lower each limit (soft and hard) to the plan's, never raising one; CPU time gets a
    hard limit 5 s above the soft one, so SIGXCPU comes first."""
    for name, wanted in plan["limits"].items():
        which = getattr(resource, name)
        _, hard = resource.getrlimit(which)
        grace = 5 if name == "RLIMIT_CPU" else 0
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        ceiling = soft + grace if hard == resource.RLIM_INFINITY else min(soft + grace, hard)
        try:
            resource.setrlimit(which, (soft, ceiling))
        except (OSError, ValueError) as exc:
            fail(f"cannot set {name} to {soft}", getattr(exc, "errno", None) or 22)


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]


def drop_bounding_set() -> None:
    """No exec, of a set-user-ID program or as uid 0, can give a capability back."""
    cap = 0
    while libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) == 0:
        cap += 1
    libc.prctl(PR_CAP_AMBIENT, 4, 0, 0, 0)  # PR_CAP_AMBIENT_CLEAR_ALL


def drop_capabilities() -> None:
    """uid 0 of a user namespace with no capability left: it cannot mount, remount, or read
    what its mode does not allow."""
    header = CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (CapData * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        fail("cannot drop capabilities")


def drop(plan: dict[str, Any]) -> None:
    if plan["drop"]:
        drop_bounding_set()
    if plan["drop"] == "nobody":
        os.setgroups([])
        os.setresgid(plan["uid"], plan["uid"], plan["uid"])
        os.setresuid(plan["uid"], plan["uid"], plan["uid"])
    elif plan["drop"] == "capabilities":
        drop_capabilities()
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        fail("cannot set no_new_privs")
    # Changing user clears the parent-death signal: set it again, so the package dies with
    # whoever started it even if lpack is killed outright.
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if plan["parent"] and os.getppid() != plan["parent"]:
        os._exit(SETUP_FAILED)  # the parent is already gone


def main(argv: list[str]) -> None:
    plan = json.loads(argv[0])
    if plan["mounts"]:
        contain_files(plan)
    limit(plan)
    drop(plan)
    os.execv(argv[1], argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
