"""lpack's own distribution: the rules/ data ships inside the wheel and is found there."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT


def test_wheel_carries_rules_data(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("lpack-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        shipped = zf.read("lpack/rules/runtimes.toml")
    expected = {
        f"lpack/rules/{p.relative_to(ROOT / 'rules').as_posix()}"
        for p in (ROOT / "rules").rglob("*")
        if p.is_file()
    }
    assert expected and expected <= names
    assert shipped == (ROOT / "rules" / "runtimes.toml").read_bytes()
    with zipfile.ZipFile(wheel) as zf:  # the HTML report's page assets too
        for name in ("treemap.js", "treemap.css"):
            asset = zf.read(f"lpack/render/assets/{name}")
            assert asset == (ROOT / "lpack" / "render" / "assets" / name).read_bytes()
    # Installed from the wheel (no checkout beside it), lpack finds its data.
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]);"
            "import lpack.resources as r, lpack.target as t;"
            "print(r.rules_dir()); print(t.Target.from_names('python3.13', 'arm64').glibc)",
            str(target),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == [str(target / "lpack" / "rules"), "(2, 34)"]


def test_python_dash_m_and_console_script() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lpack", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.startswith("lpack, version ")
