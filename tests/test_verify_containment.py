"""lpack verify contains the package it runs: files, processes, time, memory, output, modes.

Every hostile package here aims only at folders made inside the test's own temporary folder
(a stand-in $HOME, project, cache, a world-writable folder like /var/tmp) and at processes
whose command line holds the test's own marker; never at real system paths.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import site
import struct
import subprocess
import sys
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, isolated_python

HOST = f"python3.{sys.version_info[1]}"
PYTHON = isolated_python(sys.version_info[:2])
pytestmark = [
    pytest.mark.skipif(PYTHON is None, reason="needs a Python nobody can run"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux containment"),
]
SITE = [p for p in site.getsitepackages() if Path(p).is_dir()]


def _nobody_can_run_lpack() -> bool:
    if os.geteuid() != 0 or shutil.which("setpriv") is None or PYTHON is None:
        return False
    probe = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            str(PYTHON),
            "-c",
            "import lpack.cli, click, rich",
        ],
        env={"PYTHONPATH": os.pathsep.join([str(ROOT), *SITE]), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        cwd="/",
    )
    return probe.returncode == 0


# Whoever runs the tests (as root, lpack runs the package as nobody), and, from root, lpack
# itself run by nobody: a normal user, who owns the extract and everything the package aims at.
USERS = [
    "current",
    pytest.param(
        "nobody",
        marks=pytest.mark.skipif(
            not _nobody_can_run_lpack(), reason="needs root to run lpack as the user nobody"
        ),
    ),
]


def make_zip(path: Path, files: dict[str, tuple[str, int | None]]) -> Path:
    """mode None: an entry made elsewhere than on Unix, recording no mode at all."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, (text, mode) in files.items():
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            if mode is None:
                info.create_system = 0
            else:
                info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, text)
    os.chmod(path, 0o644)
    return path


@dataclass
class Place:
    """Folders for one run, made inside the test's world-traversable temporary folder."""

    root: Path
    user: str  # "current" (whoever runs the tests) or "nobody"
    marker: str
    path: str | None = None  # PATH for lpack, when it must not find unshare

    def folder(self, name: str, mode: int = 0o755) -> Path:
        path = self.root / name
        path.mkdir(exist_ok=True)
        if self.user == "nobody":
            os.chown(path, 65534, 65534)
        os.chmod(path, mode)
        return path

    @property
    def tmp(self) -> Path:
        return self.folder("tmp")

    def env(self) -> dict[str, str]:
        env = {
            "PATH": self.path or os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.folder("home")),
            "LPACK_CACHE_DIR": str(self.folder("cache")),
            "TMPDIR": str(self.tmp),
            "NO_COLOR": "1",
            "PYENV_ROOT": str(self.root / "no-pyenv"),
            "PYTHONPATH": str(ROOT),  # this checkout's lpack, whatever is installed
        }
        if self.user == "nobody":
            env["PATH"] = self.path or "/usr/bin:/bin"
            env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *SITE])
        return env

    def command(self, *args: str) -> list[str]:
        if self.user == "nobody":
            drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            return [*drop, str(PYTHON), "-m", "lpack", *args]
        return [sys.executable, "-m", "lpack", *args]

    def verify(self, artifact: Path, *args: str, timeout: float = 60) -> tuple[int, dict, str]:
        proc = subprocess.run(
            self.command("verify", str(artifact), "--runtime", HOST, "--format", "json", *args),
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.folder("project"),
            timeout=timeout,
        )
        data = json.loads(proc.stdout) if proc.stdout.startswith("{") else {}
        return proc.returncode, data, proc.stderr

    def extracts_left(self) -> list[Path]:
        return sorted(self.tmp.glob("lpack-verify-*"))


@pytest.fixture
def place(world_tmp: Path, request: pytest.FixtureRequest) -> Place:
    user = getattr(request, "param", "current")
    return Place(world_tmp, user, uuid.uuid4().hex[:12])


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if marker.encode() in fh.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def none_left(marker: str, within: float = 3.0) -> bool:
    """No process with the marker, allowing the kernel a moment to finish killing them."""
    deadline = time.monotonic() + within
    while processes_with(marker):
        if time.monotonic() > deadline:
            for pid in processes_with(marker):  # leave nothing behind for the next test
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return False
        time.sleep(0.05)
    return True


HOSTILE = """
import json, os, signal
TARGETS = json.loads({targets!r})

def attempt(action):
    try:
        action()
        return "ok"
    except Exception as exc:
        return type(exc).__name__

def write(path):
    with open(path, "w") as fh:
        fh.write("pwned")

def kill_lpack():
    # Only processes holding this test's marker: lpack's command line names the artifact.
    hits = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as fh:
                if TARGETS["marker"].encode() not in fh.read():
                    continue
        except OSError:
            continue
        os.kill(int(entry), signal.SIGKILL)
        hits += 1
    if not hits:
        raise LookupError("lpack is not visible")

def handler(event, context):
    task = os.environ["LAMBDA_TASK_ROOT"]
    found = {{
        "chmod extract": attempt(lambda: os.chmod(task, 0o777)),
        "write extract": attempt(lambda: write(os.path.join(task, "pwned"))),
        "read secret": attempt(lambda: open(TARGETS["secret"]).read()),
        "write /tmp": attempt(lambda: write(TARGETS["scratch"])),
    }}
    for name, folder in TARGETS["folders"].items():
        found["write " + name] = attempt(lambda: write(os.path.join(folder, "pwned")))
    found["kill lpack"] = attempt(kill_lpack)
    return found
"""


@pytest.mark.parametrize("place", USERS, indirect=True)
def test_the_package_writes_nothing_outside_its_tmp_and_cannot_kill_lpack(place: Place) -> None:
    """Run by a normal user the package owns the extract, $HOME, the project and the cache;
    run by root it is nobody, who may still write a world-writable folder such as /var/tmp."""
    home, project, cache = place.folder("home"), place.folder("project"), place.folder("cache")
    shared = place.folder("shared", 0o777)
    secret = home / "secret.txt"
    secret.write_text("key")
    if place.user == "nobody":
        os.chown(secret, 65534, 65534)
    os.chmod(secret, 0o600)
    artifacts = place.folder("dist")
    folders = {"home": home, "project": project, "cache": cache, "shared": shared}
    folders["dist"] = artifacts
    scratch = Path(f"/tmp/lpack-test-scratch-{place.marker}")  # in the package's own /tmp
    targets = {"marker": place.marker, "secret": str(secret), "scratch": str(scratch)}
    targets["folders"] = {name: str(path) for name, path in folders.items()}
    artifact = make_zip(
        artifacts / f"fn-{place.marker}.zip",
        {"app.py": (HOSTILE.format(targets=json.dumps(targets)), 0o644)},
    )
    event = place.folder("events") / "event.json"
    event.write_text("{}")
    os.chmod(event, 0o644)
    try:
        rc, data, stderr = place.verify(artifact, "--handler", "app.handler", "--event", str(event))
        assert not scratch.exists()  # its /tmp was its own, and is gone
    finally:
        scratch.unlink(missing_ok=True)
    assert rc == 0, (rc, data, stderr)  # lpack lived to report, and the handler returned
    found = data["invoke"]["result"]
    assert found.pop("write /tmp") == "ok"  # a writable /tmp, as Lambda gives
    assert {name: outcome for name, outcome in found.items() if outcome == "ok"} == {}
    assert sorted(p.name for p in place.root.rglob("pwned")) == []
    assert secret.read_text() == "key"
    assert place.extracts_left() == []
    assert none_left(place.marker)


DETACHING = """
import os, sys, time
if os.fork() == 0:
    os.setsid()  # its own session: killing verify's process group does not reach it
    if os.fork() == 0:
        time.sleep(30)  # keeps the harness's stdout and stderr open
    os._exit(0)
os.wait()
"""


@pytest.mark.parametrize("place", USERS, indirect=True)
def test_a_detached_child_neither_blocks_verify_nor_outlives_it(place: Place) -> None:
    module = f"detach_{place.marker}"  # the harness's command line names its modules
    artifact = make_zip(
        place.folder("dist") / "fn.zip", {f"{module}/__init__.py": (DETACHING, 0o644)}
    )
    started = time.monotonic()
    rc, data, stderr = place.verify(artifact, timeout=20)
    assert rc == 0, (rc, data, stderr)
    assert [i["module"] for i in data["imports"] if i["ok"]] == [module]
    assert time.monotonic() - started < 15
    assert none_left(place.marker)
    assert place.extracts_left() == []


HANGING = """
import os, time
if os.fork() == 0:
    time.sleep(1000)
time.sleep(1000)
"""


@pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "process-group"])
def test_an_import_that_hangs_stops_at_the_timeout_and_names_the_module(
    place: Place, namespaces: bool
) -> None:
    module = f"hang_{place.marker}"
    artifact = make_zip(
        place.folder("dist") / "fn.zip",
        {f"{module}/__init__.py": (HANGING, 0o644), "fine/__init__.py": ("", 0o644)},
    )
    if not namespaces:  # no unshare on PATH: the process-group fallback
        place.path = str(place.folder("no-unshare"))
    started = time.monotonic()
    rc, data, stderr = place.verify(artifact, "--timeout", "2")
    elapsed = time.monotonic() - started
    assert rc == 1, (rc, data, stderr)
    results = {i["module"]: i for i in data["imports"]}
    assert results["fine"]["ok"]
    detail = results[module]["detail"]
    assert not results[module]["ok"] and "still running after 2 s" in detail
    assert "--timeout" in detail
    assert elapsed < 10, elapsed
    assert none_left(place.marker)
    assert place.extracts_left() == []


def test_a_handler_that_hangs_fails_the_invoke_at_the_timeout(place: Place) -> None:
    artifact = make_zip(
        place.folder("dist") / "fn.zip",
        {"app.py": ("import time\ndef handler(e, c):\n    time.sleep(1000)\n", 0o644)},
    )
    event = place.folder("events") / "event.json"
    event.write_text("{}")
    rc, data, stderr = place.verify(
        artifact, "--handler", "app.handler", "--event", str(event), "--timeout", "1.5"
    )
    assert rc == 1, (rc, data, stderr)
    assert [i["module"] for i in data["imports"] if i["ok"]] == ["app"]
    invoke = data["invoke"]
    assert not invoke["ok"] and invoke["type"] == "Timeout"
    assert "still running after 1.5 s" in invoke["message"]


def test_sigterm_kills_the_whole_sandbox_and_removes_the_extract(place: Place) -> None:
    module = f"hang_{place.marker}"
    artifact = make_zip(
        place.folder("dist") / "fn.zip", {f"{module}/__init__.py": (HANGING, 0o644)}
    )
    proc = subprocess.Popen(
        place.command("verify", str(artifact), "--runtime", HOST),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=place.env(),
        cwd=place.folder("project"),
    )
    try:
        deadline = time.monotonic() + 20
        while len(processes_with(module)) < 2:  # the harness and the child it forked
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        assert place.extracts_left() != []
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert b"interrupted" in stderr
    assert none_left(place.marker)
    assert place.extracts_left() == []


PRINTING = """
import os
chunk = b"x" * (1 << 20)
for _ in range(400):
    os.write(1, chunk)
print("the end")
"""


def test_400_mb_of_output_costs_lpack_little_memory(place: Place) -> None:
    module = f"loud_{place.marker}"
    artifact = make_zip(
        place.folder("dist") / "fn.zip", {f"{module}/__init__.py": (PRINTING, 0o644)}
    )
    # A fresh parent: its children's peak is lpack's (and the harness's), nothing earlier.
    measure = (
        "import json, resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([p.returncode, peak, p.stdout]))\n"
    )
    command = place.command("verify", str(artifact), "--runtime", HOST, "--format", "json")
    done = subprocess.run(
        [sys.executable, "-c", measure, *command],
        capture_output=True,
        text=True,
        env=place.env(),
        cwd=place.folder("project"),
        timeout=120,
    )
    rc, peak_kib, stdout = json.loads(done.stdout)
    assert rc == 0, stdout
    assert [i["module"] for i in json.loads(stdout)["imports"] if i["ok"]] == [module]
    assert peak_kib < 200 * 1024, f"peak {peak_kib / 1024:.0f} MiB"
    assert place.extracts_left() == []


@pytest.mark.parametrize("place", USERS, indirect=True)
def test_modes_are_kept_so_an_unreadable_file_fails_as_on_lambda(place: Place) -> None:
    artifact = make_zip(
        place.folder("dist") / "fn.zip",
        {
            "zero/__init__.py": ("", 0o000),
            "owner_only/__init__.py": ("", 0o600),
            "group_only/__init__.py": ("", 0o640),
            "readable/__init__.py": ("", 0o644),
            "no_mode/__init__.py": ("", None),  # made on Windows: Lambda gives it 0644
        },
    )
    rc, data, stderr = place.verify(artifact)
    assert rc == 1, (rc, data, stderr)
    results = {i["module"]: i for i in data["imports"]}
    for module in ("zero", "owner_only", "group_only"):
        assert not results[module]["ok"] and "PermissionError" in results[module]["detail"]
    assert results["readable"]["ok"] and results["no_mode"]["ok"]
    lint = subprocess.run(
        [sys.executable, "-m", "lpack", "lint", str(artifact), "--format", "json"],
        capture_output=True,
        text=True,
    )
    flagged = {f["path"] for f in json.loads(lint.stdout)["findings"] if f["code"] == "LP401"}
    assert {"zero/__init__.py", "owner_only/__init__.py", "group_only/__init__.py"} <= flagged


def _set_declared_size(path: Path, name: str, size: int) -> None:
    """Rewrite the central directory's uncompressed size of one member."""
    data = bytearray(path.read_bytes())
    offset = data.find(b"PK\x01\x02")
    while offset != -1:
        name_length = struct.unpack_from("<H", data, offset + 28)[0]
        if data[offset + 46 : offset + 46 + name_length] == name.encode():
            struct.pack_into("<I", data, offset + 24, size)
        offset = data.find(b"PK\x01\x02", offset + 4)
    path.write_bytes(bytes(data))


def test_a_zip_that_declares_or_inflates_too_much_is_refused_before_it_fills_the_disk(
    place: Place,
) -> None:
    big = make_zip(place.folder("dist") / "big.zip", {"app.py": ("X = 1\n" * 100, 0o644)})
    _set_declared_size(big, "app.py", 2_000_000_000)
    rc, data, stderr = place.verify(big, "--handler", "app.handler")
    assert rc == 2 and "declares 2,000,000,000 B unzipped" in stderr, stderr
    assert "262,144,000" in stderr and "internal error" not in stderr
    lying = make_zip(place.folder("dist") / "lying.zip", {"app.py": ("X = 1\n" * 100, 0o644)})
    _set_declared_size(lying, "app.py", 10)
    rc, data, stderr = place.verify(lying, "--handler", "app.handler")
    assert rc == 2 and "'app.py'" in stderr and "internal error" not in stderr, stderr
    assert place.extracts_left() == []


def test_the_result_says_what_was_isolated(
    world_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lpack.inspect import sandbox
    from lpack.inspect.verify import verify
    from lpack.target import Target

    target = Target.from_names(HOST, "x86_64" if os.uname().machine == "x86_64" else "arm64")
    artifact = make_zip(world_tmp / "fn.zip", {"app.py": ("def handler(e, c):\n    pass\n", 0o644)})
    monkeypatch.setenv("TMPDIR", str(world_tmp))
    sandbox.isolation_for.cache_clear()
    if sandbox.namespace_unavailable(str(PYTHON)) is None:
        contained = verify(artifact, target, handler="app.handler")
        assert contained.ok and "own PID and mount namespaces" in contained.isolation
    monkeypatch.setenv("PATH", str(world_tmp))  # no unshare: only the process group
    sandbox.isolation_for.cache_clear()
    try:
        grouped = verify(artifact, target, handler="app.handler")
    finally:
        sandbox.isolation_for.cache_clear()
    assert grouped.ok and grouped.isolation.startswith("process group only")
    assert "unshare" in grouped.isolation and "may outlive verify" in grouped.isolation


REACHING_A_SOCKET = """
import socket
def handler(event, context):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(SOCKET)
        return "connected"
    except OSError as exc:
        return type(exc).__name__
"""


def test_a_service_socket_under_var_tmp_is_out_of_reach(place: Place) -> None:
    import socket
    import tempfile

    from lpack.inspect.sandbox import namespace_unavailable

    if namespace_unavailable(str(PYTHON)) is not None:
        pytest.skip("needs namespaces")
    # Like a session bus or an agent: a socket everyone may connect to, outside the project.
    folder = Path(tempfile.mkdtemp(prefix="lpack-test-", dir="/var/tmp"))
    try:
        os.chmod(folder, 0o777)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(folder / "bus"))
        os.chmod(folder / "bus", 0o777)
        server.listen(1)
        code = f"SOCKET = {str(folder / 'bus')!r}\n" + REACHING_A_SOCKET
        artifact = make_zip(place.folder("dist") / "fn.zip", {"app.py": (code, 0o644)})
        args = ("--handler", "app.handler", "--event", _event(place))
        rc, data, stderr = place.verify(artifact, *args)
        assert rc == 0, (data, stderr)
        assert data["invoke"]["ok"] and data["invoke"]["result"] != "connected", data["invoke"]
        server.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _event(place: Place) -> str:
    event = place.folder("events") / "event.json"
    event.write_text("{}")
    os.chmod(event, 0o644)
    return str(event)


FORGING_EVENTS = """
import os, sys
# The harness's event channel is this process's: write malformed events into it.
for fd in range(3, 64):
    try:
        os.write(fd, b'{"kind": "metadata"}\\n{"kind": "import"}\\n' + b"[" * 100000 + b"\\n")
    except OSError:
        pass
"""


def test_a_package_writing_malformed_events_is_no_internal_error(place: Place) -> None:
    record = "x" * (200 * 1024) + ",,\n"  # one field past csv's limit
    artifact = make_zip(
        place.folder("dist") / "fn.zip",
        {
            "forger/__init__.py": (FORGING_EVENTS, 0o644),
            "forger-1.0.dist-info/RECORD": (record, 0o644),
            "forger-1.0.dist-info/METADATA": ("Name: forger\nVersion: 1.0\n", 0o644),
        },
    )
    rc, data, stderr = place.verify(artifact)
    assert rc in (0, 1), stderr
    assert "internal error" not in stderr and data["command"] == "verify"


def test_a_fifo_as_a_layer_is_refused_at_once(place: Place) -> None:
    artifact = make_zip(place.folder("dist") / "fn.zip", {"app.py": ("X = 1\n", 0o644)})
    fifo = place.folder("dist") / "layer.zip"
    os.mkfifo(fifo)
    rc, data, stderr = place.verify(artifact, "--layer", str(fifo), timeout=30)
    assert rc == 2 and ("FIFO" in stderr or "pipe" in stderr), stderr


MIMIC_SETUP_FAILURE = """
import os
os.write(2, b"lpack-sandbox: mount: Operation not permitted\\n")
os._exit(121)
"""


def test_a_package_mimicking_a_setup_failure_is_a_failed_import(place: Place) -> None:
    artifact = make_zip(
        place.folder("dist") / "fn.zip", {"mimic/__init__.py": (MIMIC_SETUP_FAILURE, 0o644)}
    )
    rc, data, stderr = place.verify(artifact)
    assert rc == 1, (data, stderr)
    assert "Could not set up the sandbox" not in stderr
    failed = [i for i in data["imports"] if not i["ok"]]
    assert failed and failed[0]["module"] == "mimic" and "121" in failed[0]["detail"]


def test_an_interpreter_under_a_covered_folder_stays_visible(tmp_path: Path) -> None:
    # A venv in /tmp (as CI clones have) links to the real interpreter elsewhere: the
    # sandbox's private /tmp must not hide either installation.
    from lpack.inspect.sandbox import interpreter_folders

    venv_python = tmp_path / "venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(sys.executable)
    real = Path(sys.executable).resolve()
    assert interpreter_folders(str(venv_python)) == [
        str(tmp_path / "venv"),
        str(real.parent.parent if real.parent.name == "bin" else real.parent),
    ]
