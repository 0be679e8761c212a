"""Real packages from PyPI, slimmed: smaller than unslimmed, and still working.

For each set: an unslimmed and a slimmed build for python3.11 x86_64, `lpack verify`
on the slimmed zip, a few real calls in an isolated interpreter, and a check that every
stripped shared object kept its loaded segments byte for byte. Prints the figures.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest
from conftest import extract_readonly, make_project, run_isolated, run_lpack

from lpack import elf
from lpack.assemble import elfstrip

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="imports need a 3.11 host"),
]

SETS = {
    "numpy-pandas": (
        "numpy\npandas\n",
        "import pandas, numpy.testing\nassert int(pandas.Series([1, 2]).sum()) == 3\n",
    ),
    "numpy-scipy": (
        "numpy\nscipy\n",
        "import numpy, scipy.linalg, scipy.special, scipy.sparse\n"
        "assert round(float(scipy.linalg.det(numpy.eye(3) * 2))) == 8\n",
    ),
    "pydantic": (
        "pydantic\n",
        "import pydantic\nclass M(pydantic.BaseModel):\n    x: int\nassert M(x='4').x == 4\n",
    ),
    "cryptography": (
        "cryptography\n",
        "from cryptography.fernet import Fernet\n"
        "f = Fernet(Fernet.generate_key())\nassert f.decrypt(f.encrypt(b'x')) == b'x'\n",
    ),
    "pyarrow": (
        "pyarrow\n",
        "import pyarrow, pyarrow.compute as pc\n"
        "assert pc.sum(pyarrow.array([1, 2, 3])).as_py() == 6\n",
    ),
}


def _segments_identical(before: bytes, after: bytes) -> None:
    old, new = elf.parse(before), elf.parse(after)
    assert old.segments == new.segments
    elfstrip.verify_segments_unchanged(before, after)


@pytest.mark.parametrize("name", list(SETS))
def test_slimmed_real_package_verifies(
    name: str, tmp_path: Path, world_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LPACK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    requirements, check = SETS[name]
    project = make_project(
        tmp_path / name,
        requirements,
        files={"app.py": "def lambda_handler(event, context):\n    return 'ok'\n"},
    )
    full = run_lpack(
        "build",
        str(project),
        "--runtime",
        "python3.11",
        "--no-slim",
        "-o",
        "dist/full.zip",
        "--format",
        "json",
    )
    assert full.rc in (0, 1), full.stderr  # unslimmed numpy+scipy is over 50 MiB zipped
    slim = run_lpack(
        "build", str(project), "--runtime", "python3.11", "--verify", "--format", "json"
    )
    assert slim.rc == 0, slim.stdout[-3000:] + slim.stderr
    f, s = full.json["output"], slim.json["output"]
    assert s["zipped_size"] < f["zipped_size"] and s["unzipped_size"] < f["unzipped_size"]
    assert slim.json["lint"]["counts"]["error"] == 0, slim.json["lint"]["findings"]
    verify = slim.json["verify"]
    assert verify["ok"] and all(m["ok"] for m in verify["metadata"])
    assert len(verify["metadata"]) == len(slim.json["distributions"]) - 1  # all but source
    task = extract_readonly(Path(s["path"]), world_tmp / "task")
    proc = run_isolated(task, check)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Every stripped shared object: same segments, same loaded bytes.
    with zipfile.ZipFile(f["path"]) as zf_full, zipfile.ZipFile(s["path"]) as zf_slim:
        slim_names = set(zf_slim.namelist())
        checked = 0
        for info in zf_full.infolist():
            if info.filename.endswith(".so") and info.filename in slim_names:
                before, after = zf_full.read(info), zf_slim.read(info.filename)
                if before != after:
                    _segments_identical(before, after)
                    checked += 1
    categories = ", ".join(f"{c['code']} {c['bytes']:,}" for c in slim.json["slim"]["by_category"])
    print(
        f"\n{name}: unslimmed {f['zipped_size']:,} B zipped / {f['unzipped_size']:,} B "
        f"unzipped; slimmed {s['zipped_size']:,} / {s['unzipped_size']:,} "
        f"({checked} binaries stripped, segments identical); saved: {categories}"
    )
