"""Real packages that build clean and then fail on Lambda unless lpack catches them: a stub
read at import time (lazy_loader.attach_stub) and a library nobody ships (pyodbc's unixODBC).

Marked `network`; .ci/run runs them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import extract_readonly, make_project, run_isolated, run_lpack

pytestmark = pytest.mark.network


@pytest.fixture
def net_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LPACK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_COLOR", "1")


def _build(project: Path) -> tuple[int, dict]:
    r = run_lpack(
        "build", str(project), "--runtime", "python3.11", "--arch", "x86_64", "--format", "json"
    )
    assert r.rc in (0, 1), r.stderr
    return r.rc, r.json


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="imports need a 3.11 host")
def test_scikit_image_keeps_the_stubs_attach_stub_reads(
    tmp_path: Path, net_env: None, world_tmp: Path
) -> None:
    # About 65 MB zipped: over the direct-upload limit, so it goes through S3.
    project = make_project(tmp_path / "skimage", "scikit-image\n", tool='upload = "s3"')
    rc, data = _build(project)
    assert rc == 0, data["lint"]["findings"]
    kept = {k["path"]: k["why"] for k in data["slim"]["kept_read"]}
    assert "skimage/__init__.pyi" in kept and "skimage/filters/__init__.pyi" in kept
    assert all("attach_stub" in kept[p] for p in kept if p.endswith("__init__.pyi"))
    # Stubs nothing reads still go.
    assert data["slim"]["by_category"] and any(
        c["code"] == "LP803" for c in data["slim"]["by_category"]
    )
    task = extract_readonly(Path(data["output"]["path"]), world_tmp / "task")
    proc = run_isolated(
        task,
        "import numpy, skimage\n"
        "assert skimage.__file__.startswith(sys.path[0])\n"
        "image = numpy.zeros((8, 8)); image[4, 4] = 1.0\n"
        "smooth = skimage.filters.gaussian(image, sigma=1)\n"
        "assert 0 < smooth[4, 4] < 1\n"
        "print(skimage.__version__, len(dir(skimage.measure)))\n",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(
        f"\nscikit-image: {len(kept)} files kept as read at run time, zipped "
        f"{data['output']['zipped_size']:,} B, unzipped {data['output']['unzipped_size']:,} B"
    )


def test_pyodbc_needs_unixodbc_which_nobody_ships(tmp_path: Path, net_env: None) -> None:
    project = make_project(tmp_path / "odbc", "pyodbc\n")
    rc, data = _build(project)
    found = [f for f in data["lint"]["findings"] if f["code"] == "LP209"]
    assert rc == 1 and found, data["lint"]["findings"]
    (finding,) = found
    assert finding["path"].startswith("pyodbc.cpython-311") and finding["severity"] == "error"
    assert "needs libodbc.so.2" in finding["message"] and "unixODBC" in finding["message"]
    # What it needs besides is all on Amazon Linux 2: one finding, not six.
    assert "libstdc++" not in finding["message"]
