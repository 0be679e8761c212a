"""What lpack writes for people and other tools gets the user's umask, as any file they
create would: temp files are created 0600, and the outputs renamed from them must not keep it
(a lock or baseline read by CI under another uid, a report served by a web server)."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_project, run_lpack


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_outputs_get_the_users_umask(tmp_path: Path, lpack_env: dict[str, str], umask: int) -> None:
    project = make_project(tmp_path / "fn", "alpha\n")
    built = run_lpack("build", str(project), cwd=tmp_path, umask=umask)
    assert built.rc == 0, built.stdout + built.stderr
    zip_path = project / "dist" / "fn.zip"
    report = tmp_path / "report.html"
    baseline = tmp_path / "baseline.json"
    for args in (
        ("report", str(zip_path), "--format", "html", "-o", str(report)),
        ("gate", str(zip_path), "--baseline", str(baseline), "--update-baseline"),
    ):
        run = run_lpack(*args, cwd=tmp_path, umask=umask)
        assert run.rc == 0, run.stdout + run.stderr
    expected = 0o666 & ~umask
    written = [project / "lpack.lock", zip_path, report, baseline]
    assert {p.name: _mode(p) for p in written} == {p.name: expected for p in written}
    # The wheel cache, which CI jobs under other uids may share, is readable as the umask says.
    cached = [p for p in Path(lpack_env["LPACK_CACHE_DIR"]).rglob("*.whl") if p.is_file()]
    assert cached and all(_mode(p) == expected for p in cached)


def test_the_umask_is_read_without_changing_it() -> None:
    code = "import os, lpack.files as f; print(oct(f.UMASK), oct(os.umask(0)))"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, umask=0o077, check=True
    )
    assert run.stdout.split() == ["0o77", "0o77"]
