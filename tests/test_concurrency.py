"""Builds racing each other: on one project, and on several projects sharing one cache.

Each must succeed with the same bytes, the cache must hold only whole, verified files, and
no temp file may be left anywhere.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import make_project


def _start(project: Path, output: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "lpack", "build", str(project), "--runtime", "python3.12",
            "-o", str(output), "--format", "json", *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _finish(procs: list[subprocess.Popen[str]]) -> list[dict]:
    reports = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        reports.append(json.loads(stdout))
    return reports


def _leftovers(*folders: Path) -> list[Path]:
    return [
        p
        for folder in folders
        for p in folder.rglob("*")
        if p.name.endswith((".tmp", ".part")) or ".lpack-" in p.name
    ]


def _digest(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_builds_racing_on_one_output_both_succeed_with_the_same_bytes(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = make_project(tmp_path / "fn", "needs-six\ngamma\n")
    # The lock is written first, by one build, so the race is over fetch, cache and zip.
    assert subprocess.run(
        [sys.executable, "-m", "lpack", "lock", str(project), "--runtime", "python3.12"],
        capture_output=True,
    ).returncode == 0  # fmt: skip
    output = tmp_path / "out" / "fn.zip"
    # --rebuild: a racer that starts after another has finished would otherwise confirm that
    # build's zip from its record and skip the race.
    raced = _finish([_start(project, output, "--rebuild") for _ in range(3)])
    assert [r["rebuilt"] for r in raced] == [True, True, True]
    digest = _digest(output)
    (again,) = _finish([_start(project, tmp_path / "again.zip")])
    assert again["rebuilt"] is True  # another output: built, not confirmed from a record
    assert _digest(tmp_path / "again.zip") == digest
    assert _leftovers(tmp_path / "out", Path(lpack_env["LPACK_CACHE_DIR"]), project) == []


def test_projects_sharing_a_cold_cache_build_at_once(tmp_path: Path, lpack_env: dict) -> None:
    projects = [make_project(tmp_path / f"fn{i}", "needs-six\nalpha\n") for i in range(3)]
    outputs = [tmp_path / "out" / f"fn{i}.zip" for i in range(3)]
    _finish([_start(p, o) for p, o in zip(projects, outputs, strict=True)])
    digests = {_digest(o) for o in outputs}
    assert len(digests) == 1  # same requirements, same app.py: the same zip
    cache = Path(lpack_env["LPACK_CACHE_DIR"])
    assert _leftovers(cache, tmp_path / "out") == []
    wheels = list((cache / "wheels").rglob("*.whl"))
    assert wheels and all(
        p.parent.name == hashlib.sha256(p.read_bytes()).hexdigest() for p in wheels
    )


def test_a_download_temp_left_in_a_shared_cache_is_removed_only_once_untouched(
    tmp_path: Path,
) -> None:
    import os
    import time

    from lpack.resolve.cache import WheelCache

    cache = WheelCache(tmp_path / "cache")
    tmp = tmp_path / "cache" / "tmp"
    tmp.mkdir(parents=True)
    # PID 2**22 + 1 is above Linux's pid_max: no process here has it, as a writer in
    # another container's PID namespace would look.
    fresh = tmp / f".download.lpack-{2**22 + 1}.abc.tmp"
    old = tmp / f".download.lpack-{2**22 + 1}.def.tmp"
    fresh.write_bytes(b"being written elsewhere")
    old.write_bytes(b"left by a killed run")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    handle, mine = cache.open_temp()
    handle.close()
    assert fresh.exists() and not old.exists() and mine.exists()
