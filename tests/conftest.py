"""Shared fixtures: a local package index of generated wheels, served over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))

import make_index  # noqa: E402

from lpack.pythons import world_reachable  # noqa: E402 - one definition of 'nobody can run it'


@dataclass
class FaultPlan:
    """Files to cut off mid-body: name -> how many more requests to break."""

    broken: dict[str, int] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


class IndexHandler(SimpleHTTPRequestHandler):
    faults: FaultPlan

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        name = self.path.rsplit("/", 1)[-1]
        self.faults.requests.append(name)
        remaining = self.faults.broken.get(name, 0)
        if remaining:
            self.faults.broken[name] = remaining - 1
            path = Path(self.translate_path(self.path))
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])  # then hang up: a dropped connection
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@dataclass
class Index:
    root: Path
    url: str
    faults: FaultPlan

    def file(self, prefix: str) -> Path:
        matches = sorted((self.root / "files").glob(prefix + "*"))
        assert matches, prefix
        return matches[0]


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test writes lpack's cache in the user's home (lint caches binary facts there):
    every run of lpack sees a cache of this session; lpack_env gives each test its own."""
    cache = tmp_path_factory.mktemp("lpack-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("LPACK_CACHE_DIR", str(cache))
    yield cache
    patch.undo()


@pytest.fixture(scope="session")
def index(tmp_path_factory: pytest.TempPathFactory):
    root = make_index.write_index(tmp_path_factory.mktemp("index"))
    faults = FaultPlan()
    handler = type("Handler", (IndexHandler,), {"faults": faults})
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Index(root, f"http://127.0.0.1:{server.server_address[1]}/simple", faults)
    server.shutdown()
    server.server_close()


@pytest.fixture
def lpack_env(index: Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for an lpack run that sees only the fixture index and a fresh cache."""
    for key in list(os.environ):
        if key.startswith("PIP_") or key == "SOURCE_DATE_EPOCH":
            monkeypatch.delenv(key)
    values = {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": index.url,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "LPACK_CACHE_DIR": str(tmp_path / "cache"),
        "NO_COLOR": "1",
        "TERM": "dumb",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    index.faults.broken.clear()
    index.faults.requests.clear()
    return values


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict:
        return json.loads(self.stdout)


def run_lpack(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, umask: int = -1
) -> Run:
    """lpack in a subprocess (umask: the child's, when not -1 as subprocess has it)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "lpack", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=600,
        umask=umask,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def make_project(
    path: Path,
    requirements: str | None = "",
    files: dict[str, str] | None = None,
    tool: str = "",
) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if requirements is not None:
        (path / "requirements.in").write_text(requirements)
    for name, text in (
        files or {"app.py": "def lambda_handler(event, context):\n    return 1\n"}
    ).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    if tool:
        (path / "pyproject.toml").write_text(f"[tool.lpack]\n{tool}\n")
    return path


def isolated_python(version: tuple[int, int]) -> Path | None:
    """A CPython of that version that nobody (uid 65534) can run, or None."""
    import shutil

    names = [
        getattr(sys, "_base_executable", sys.executable),
        sys.executable,
        shutil.which(f"python{version[0]}.{version[1]}") or "",
        f"/usr/bin/python{version[0]}.{version[1]}",
        f"/usr/local/bin/python{version[0]}.{version[1]}",
    ]
    for name in names:
        if not name or not Path(name).exists():
            continue
        candidate = Path(name).resolve()
        if os.geteuid() == 0 and not world_reachable(candidate):
            continue
        probe = subprocess.run(
            [str(candidate), "-I", "-S", "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.stdout.strip() == str(tuple(version)):
            return candidate
    return None


@pytest.fixture
def world_tmp():
    """A folder an unprivileged user can traverse (pytest's own tmp is 0700)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="lpack-test-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    for root, dirs, _ in os.walk(path):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
    os.chmod(path, 0o755)
    shutil.rmtree(path, ignore_errors=True)


def run_isolated(task: Path, code: str) -> subprocess.CompletedProcess:
    """`python -I -S` from a read-only task folder, as nobody when we are root.

    -I alone still puts the host's site-packages on sys.path; -S removes them, so a
    package missing from the zip cannot be found on the host instead.
    """
    python = isolated_python(sys.version_info[:2])
    if python is None:
        pytest.skip(
            f"no Python {sys.version_info[0]}.{sys.version_info[1]} an unprivileged user can run"
        )
    extra: dict = {}
    if os.geteuid() == 0:
        extra = {"user": 65534, "group": 65534, "extra_groups": []}
    return subprocess.run(
        [str(python), "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(task)!r})\n{code}"],
        capture_output=True,
        text=True,
        cwd="/",
        env={"PATH": "/usr/bin:/bin"},
        **extra,
    )


def extract_readonly(zip_path: Path, dest: Path) -> Path:
    """Extract with the zip's own modes, then take every write bit away."""
    import zipfile

    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
        infos = zf.infolist()
    for info in sorted(infos, key=lambda i: -len(i.filename)):
        mode = (info.external_attr >> 16) & 0o777
        os.chmod(dest / info.filename, mode & ~0o222)
    os.chmod(dest, 0o555)
    return dest
