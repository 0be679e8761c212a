"""Interrupted builds leave nothing behind: SIGTERM unwinds (exit 143, temp file removed,
the previous zip untouched); after SIGKILL the next build neither ships nor keeps the temp
file the killed one left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from conftest import make_project, run_lpack


def _big_project(path: Path) -> Path:
    # Incompressible data: writing the zip takes long enough to interrupt it.
    project = make_project(path, "", tool='output = "out/fn.zip"\nupload = "s3"')
    (project / "data.bin").write_bytes(os.urandom(96 * 1024 * 1024))
    return project


def _temps(folder: Path) -> list[Path]:
    return sorted(folder.glob(".fn.zip.lpack-*.tmp")) if folder.is_dir() else []


def _start(project: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "lpack", "build", str(project), "--runtime", "python3.12"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_temp(proc: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 60
    while not _temps(folder):
        assert proc.poll() is None, "the build ended before it began writing"
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_sigterm_mid_write_removes_the_temp_file_and_keeps_the_old_zip(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = _big_project(tmp_path / "fn")
    out = project / "out"
    assert run_lpack("build", str(project), "--runtime", "python3.12").rc == 0
    before = (out / "fn.zip").read_bytes()
    (project / "data.bin").write_bytes(os.urandom(96 * 1024 * 1024))  # a change to write
    proc = _start(project)
    _wait_for_temp(proc, out)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert b"interrupted" in stderr
    assert _temps(out) == []
    assert (out / "fn.zip").read_bytes() == before


def test_after_sigkill_the_next_build_neither_ships_nor_keeps_the_temp_file(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = _big_project(tmp_path / "fn")
    out = project / "out"
    proc = _start(project)
    _wait_for_temp(proc, out)
    proc.kill()
    proc.communicate(timeout=30)
    left = _temps(out)  # the zip's temp, and a large member's spooled beside it
    assert left
    r = run_lpack("build", str(project), "--runtime", "python3.12", "--format", "json")
    assert r.rc == 0, r.stderr
    assert not any(t.exists() for t in left) and _temps(out) == []
    with zipfile.ZipFile(out / "fn.zip") as zf:
        assert not any(".tmp" in n or n.startswith("out/") for n in zf.namelist())
