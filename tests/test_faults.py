"""Signals at each stage of a build: SIGTERM, SIGINT and SIGKILL while lpack locks (the
index hangs on a page), fetches (it hangs on one wheel) and writes the zip.

Whatever the signal and stage: the exit code says what happened (143, 130, or killed), the
previous lock and zip are untouched, no temp file stays, no lpack process (the pip worker
included) outlives it, the cache holds only whole verified files, and the next build
succeeds without downloading again what the interrupted one finished.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Index, make_project, run_lpack
from faulty_index import Fault, FaultyIndex, faulty_index

SIGNALS = {
    "SIGTERM": (signal.SIGTERM, 128 + signal.SIGTERM),
    "SIGINT": (signal.SIGINT, 130),
    "SIGKILL": (signal.SIGKILL, -signal.SIGKILL),
}
HOST = f"python3.{sys.version_info[1]}"


def _marked_processes(mark: str) -> list[int]:
    """PIDs whose environment carries the mark: lpack and everything it started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if mark.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _no_survivors(mark: str) -> None:
    deadline = time.monotonic() + 10  # the worker notices its parent is gone within 0.5 s
    while _marked_processes(mark):
        assert time.monotonic() < deadline, f"still running: {_marked_processes(mark)}"
        time.sleep(0.1)


def _start(project: Path, mark: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "lpack", "build", str(project), "--runtime", HOST],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **env, "LPACK_TEST_MARK": mark, "LPACK_NETWORK_TIMEOUT": "120"},
    )


def _wait_until(proc: subprocess.Popen[bytes], reached: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 120
    while not reached():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the stage was never reached"
        time.sleep(0.02)


def _snapshot(project: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(project)): p.read_bytes()
        for p in sorted(project.rglob("*"))
        if p.is_file()
    }


def _cache_is_whole(cache: Path) -> None:
    leftovers = [p for p in cache.rglob("*") if p.name.endswith((".tmp", ".part"))]
    assert leftovers == [] or all(".lpack-" in p.name for p in leftovers)
    for wheel in (cache / "wheels").rglob("*.whl"):
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == wheel.parent.name


def _signal_and_check(
    proc: subprocess.Popen[bytes], name: str, mark: str, project: Path, before: dict
) -> None:
    signum, expected = SIGNALS[name]
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == expected, stderr
    if signum != signal.SIGKILL:
        assert b"interrupted" in stderr and b"Traceback" not in stderr
    _no_survivors(mark)
    after = _snapshot(project)
    if signum == signal.SIGKILL:  # nothing can run: the next build removes its temp file
        after = {k: v for k, v in after.items() if ".lpack-" not in k}
    assert after == before  # lock, zip and sources exactly as they were


def _built_project(tmp_path: Path, requirements: str) -> Path:
    project = make_project(tmp_path / "fn", requirements, tool='output = "out/fn.zip"')
    assert run_lpack("build", str(project), "--runtime", HOST).rc == 0
    return project


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_a_signal_while_locking(tmp_path: Path, lpack_env: dict, index: Index, name: str) -> None:
    project = _built_project(tmp_path, "gamma\n")
    (project / "requirements.in").write_text("gamma\nalpha\n")  # the lock must change
    before = _snapshot(project)
    mark = uuid.uuid4().hex
    with faulty_index(index.root, Fault("hang", under="/simple/")) as bad:
        proc = _start(project, mark, {"PIP_INDEX_URL": bad.url})
        _wait_until(proc, lambda: any(r.startswith("/simple/") for r in bad.requests))
        _signal_and_check(proc, name, mark, project, before)
    _cache_is_whole(Path(lpack_env["LPACK_CACHE_DIR"]))
    assert run_lpack("build", str(project), "--runtime", HOST).rc == 0


def _wheel_requests(bad: FaultyIndex) -> list[str]:
    return [r for r in bad.requests if r.startswith("/files/")]


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_a_signal_while_fetching_keeps_the_finished_wheels(
    tmp_path: Path, lpack_env: dict, index: Index, name: str
) -> None:
    project = make_project(tmp_path / "fn", "alpha\ngamma\n", tool='output = "out/fn.zip"')
    assert run_lpack("lock", str(project), "--runtime", HOST).rc == 0
    before = _snapshot(project)
    mark = uuid.uuid4().hex
    gamma = index.file("gamma-").name
    with faulty_index(index.root, Fault("hang", under=f"/files/{gamma}")) as bad:
        proc = _start(project, mark, {"PIP_INDEX_URL": bad.url})
        cache = Path(lpack_env["LPACK_CACHE_DIR"])
        # alpha's wheel is stored while gamma's download hangs.
        _wait_until(proc, lambda: any((cache / "wheels").rglob("alpha-*.whl")))
        _wait_until(proc, lambda: any(gamma in r for r in _wheel_requests(bad)))
        time.sleep(0.3)  # alpha's selection record follows its wheel on the event stream
        _signal_and_check(proc, name, mark, project, before)
    _cache_is_whole(cache)
    with faulty_index(index.root, Fault("ok")) as good:
        r = run_lpack("build", str(project), "--runtime", HOST, env={"PIP_INDEX_URL": good.url})
        assert r.rc == 0, r.stderr
        fetched = [p.rsplit("/", 1)[-1] for p in _wheel_requests(good)]
    assert fetched == [gamma]  # alpha was finished: not downloaded again


def _big_project(tmp_path: Path) -> Path:
    project = make_project(tmp_path / "fn", "", tool='output = "out/fn.zip"\nupload = "s3"')
    (project / "data.bin").write_bytes(os.urandom(64 * 1024 * 1024))
    assert run_lpack("build", str(project), "--runtime", HOST).rc == 0
    (project / "data.bin").write_bytes(os.urandom(64 * 1024 * 1024))  # a change to write
    return project


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_a_signal_while_writing(tmp_path: Path, lpack_env: dict, name: str) -> None:
    project = _big_project(tmp_path)
    before = _snapshot(project)
    out = project / "out"
    mark = uuid.uuid4().hex
    proc = _start(project, mark, {})
    _wait_until(proc, lambda: any(out.glob(".fn.zip.lpack-*.tmp")))
    _signal_and_check(proc, name, mark, project, before)
    r = run_lpack("build", str(project), "--runtime", HOST)
    assert r.rc == 0 and list(out.glob("*.tmp")) == []  # a killed writer's temp is removed
