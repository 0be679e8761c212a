"""Real PyPI: the lock cases pip-compile gets wrong, and real builds that must import.

Marked `network`; .ci/run runs them. They use the machine's pip configuration
(mirrors, proxies) as a user's build would, but a private cache per test.
"""

from __future__ import annotations

import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import extract_readonly, make_project, run_isolated, run_lpack

from lpack.resolve.lockfile import read_lock

pytestmark = pytest.mark.network
HOST_IS_311 = sys.version_info[:2] == (3, 11)


@pytest.fixture
def net_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"LPACK_CACHE_DIR": str(tmp_path / "cache"), "NO_COLOR": "1", "TERM": "dumb"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return env


def test_pytest_for_python39_locks_its_backports(tmp_path: Path, net_env: dict) -> None:
    project = make_project(tmp_path / "fn", "pytest==8.3.3\n")
    r = run_lpack("lock", str(project), "--runtime", "python3.9")
    assert r.rc == 0, r.stderr
    names = {p.key for p in read_lock(project / "lpack.lock").pins}
    assert {"pytest", "exceptiongroup", "tomli", "iniconfig", "pluggy", "packaging"} <= names
    r = run_lpack("lock", str(project), "--runtime", "python3.12")
    assert r.rc == 0, r.stderr
    # Another target chosen on the command line keeps a lock of its own.
    names = {p.key for p in read_lock(project / "lpack.python3.12-x86_64.lock").pins}
    assert "exceptiongroup" not in names and "tomli" not in names


def test_numpy_2_3_for_python39_fails_naming_requires_python(tmp_path: Path, net_env: dict) -> None:
    project = make_project(tmp_path / "fn", "numpy==2.3.0\n")
    r = run_lpack("lock", str(project), "--runtime", "python3.9")
    assert r.rc == 2
    assert "Requires-Python" in r.stderr and "numpy 2.3.0 requires Python >=3.11" in r.stderr
    assert not (project / "lpack.lock").exists()


def test_no_wheel_for_al2_glibc_falls_back_to_a_release_with_one(
    tmp_path: Path, net_env: dict
) -> None:
    # cryptography 46 publishes manylinux_2_28 and manylinux_2_34 wheels but for x86_64
    # also manylinux2014; pick a package whose *newest* wheels need glibc 2.28 instead:
    # pip-compile on this host (glibc 2.36) would happily take them.
    project = make_project(tmp_path / "fn", "pyarrow\n")
    r = run_lpack("lock", str(project), "--runtime", "python3.11", "--format", "json")
    assert r.rc == 0, r.stderr
    al2 = {p["name"]: p["version"] for p in r.json["pins"]}
    r = run_lpack("lock", str(project), "--runtime", "python3.12", "--format", "json", "--upgrade")
    assert r.rc == 0, r.stderr
    al2023 = {p["name"]: p["version"] for p in r.json["pins"]}
    from packaging.version import Version

    # pyarrow moved to manylinux_2_28 wheels: AL2 (glibc 2.26) gets an older release.
    assert Version(al2["pyarrow"]) < Version(al2023["pyarrow"])


def _build_and_import(project: Path, world_tmp: Path, imports: str) -> dict:
    start = time.perf_counter()
    r = run_lpack(
        "build", str(project), "--runtime", "python3.11", "--arch", "x86_64", "--format", "json"
    )
    elapsed = time.perf_counter() - start
    assert r.rc == 0, r.stderr
    data = r.json
    assert data["lint"]["counts"]["error"] == 0, data["lint"]["findings"]  # no false positives
    task = extract_readonly(Path(data["output"]["path"]), world_tmp / "task")
    proc = run_isolated(task, imports)
    assert proc.returncode == 0, proc.stderr[-3000:]
    start = time.perf_counter()
    again = run_lpack(
        "build", str(project), "--runtime", "python3.11", "--format", "json", "--rebuild"
    )
    cached_elapsed = time.perf_counter() - start
    assert again.rc == 0 and again.json["output"]["sha256"] == data["output"]["sha256"]
    assert again.json["fetch"]["cached"] == again.json["fetch"]["wheels"]
    same = run_lpack("build", str(project), "--runtime", "python3.11", "--format", "json")
    assert same.rc == 0 and same.json["rebuilt"] is False
    assert same.json["output"]["sha256"] == data["output"]["sha256"]
    print(
        f"\n{project.name}: zipped {data['output']['zipped_size']:,} B, unzipped "
        f"{data['output']['unzipped_size']:,} B, {data['output']['files']:,} files, "
        f"cold build {elapsed:.1f} s, cached build {cached_elapsed:.1f} s"
    )
    return data


@pytest.mark.skipif(not HOST_IS_311, reason="imports need a Python 3.11 host")
def test_requests_and_pydantic_build_imports(
    tmp_path: Path, net_env: dict, world_tmp: Path
) -> None:
    project = make_project(
        tmp_path / "requests-pydantic",
        "requests\npydantic>=2\n",
        files={
            "app.py": "import requests, pydantic\n"
            "def lambda_handler(event, context):\n    return requests.__version__\n"
        },
        tool='handler = "app.lambda_handler"',
    )
    data = _build_and_import(
        project,
        world_tmp,
        (
            "import app, requests, pydantic, pydantic_core._pydantic_core, charset_normalizer\n"
            "import importlib.metadata as m\n"
            "assert requests.__file__.startswith(sys.path[0]), requests.__file__\n"
            "class M(pydantic.BaseModel):\n    x: int\n"
            "assert M(x='3').x == 3\n"
            "print(m.version('pydantic'), app.lambda_handler({}, None))\n"
        ),
    )
    names = {d["name"] for d in data["distributions"]}
    assert {"requests", "pydantic", "pydantic-core", "urllib3", "idna", "certifi"} <= names


@pytest.mark.skipif(not HOST_IS_311, reason="imports need a Python 3.11 host")
def test_pandas_build_imports(tmp_path: Path, net_env: dict, world_tmp: Path) -> None:
    project = make_project(tmp_path / "pandas", "pandas\n")
    data = _build_and_import(
        project,
        world_tmp,
        (
            "import pandas, numpy\n"
            "assert pandas.__file__.startswith(sys.path[0]), pandas.__file__\n"
            "df = pandas.DataFrame({'a': [1, 2, 3]})\n"
            "assert int(df['a'].sum()) == 6\n"
            "print(pandas.__version__, numpy.__version__)\n"
        ),
    )
    assert data["output"]["unzipped_size"] > 50_000_000
    limits = {c["name"]: c for c in data["limits"] if c["source"] == "lambda"}
    assert not limits["unzipped"]["exceeded"]


@pytest.mark.skipif(not HOST_IS_311, reason="imports need a Python 3.11 host")
def test_bundled_example_builds_from_its_committed_lock(
    tmp_path: Path, net_env: dict, world_tmp: Path
) -> None:
    import shutil

    from conftest import ROOT

    project = tmp_path / "example"
    shutil.copytree(ROOT / "example", project, ignore=shutil.ignore_patterns("dist"))
    r = run_lpack("build", str(project), "--locked", "--format", "json")
    assert r.rc == 0, r.stderr
    assert r.json["lock"]["reused"] is True
    task = extract_readonly(Path(r.json["output"]["path"]), world_tmp / "task")
    proc = run_isolated(
        task, "import app\nprint(app.lambda_handler({'item': 'pen', 'quantity': 2}, None))"
    )
    assert proc.returncode == 0, proc.stderr
    assert "'quantity': 2" in proc.stdout


def _wheel_as_zip(tmp_path: Path, requirement: str, platform: str) -> Path:
    """A real wheel from the index, unpacked and re-zipped as a (wrongly made) function."""
    import subprocess
    import zipfile

    download = tmp_path / "dl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--platform",
            platform,
            "--python-version",
            "3.11",
            "--implementation",
            "cp",
            requirement,
            "-d",
            str(download),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = download.glob("*.whl")
    out = tmp_path / f"{wheel.stem}.zip"
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
    return out


def test_lint_catches_real_foreign_wheels(tmp_path: Path, net_env: dict) -> None:
    import json

    mac = _wheel_as_zip(tmp_path / "mac", "pydantic-core==2.27.2", "macosx_11_0_arm64")
    r = run_lpack("lint", str(mac), "--runtime", "python3.11", "--format", "json")
    assert r.rc == 1
    found = {f["code"] for f in json.loads(r.stdout)["findings"]}
    assert "LP201" in found
    crypto = _wheel_as_zip(tmp_path / "crypto", "cryptography==44.0.0", "manylinux_2_28_x86_64")
    r = run_lpack("lint", str(crypto), "--runtime", "python3.11", "--format", "json")
    assert r.rc == 1
    glibc = [f for f in json.loads(r.stdout)["findings"] if f["code"] == "LP203"]
    assert glibc and "GLIBC_2.28" in glibc[0]["message"]
    r = run_lpack("lint", str(crypto), "--runtime", "python3.12", "--format", "json")
    assert not [f for f in json.loads(r.stdout)["findings"] if f["code"] == "LP203"]


@pytest.mark.skipif(not HOST_IS_311, reason="imports the python3.11 build with the host Python")
def test_pandas_in_a_layer_and_a_small_function_using_it(tmp_path: Path, net_env: dict) -> None:
    project = tmp_path / "split"
    files = {
        "pyproject.toml": (
            '[tool.lpack]\nruntime = "python3.11"\nupload = "s3"\n\n'
            '[tool.lpack.layers.pandas]\nrequirements = "layers/pandas/requirements.in"\n\n'
            '[tool.lpack.functions.report]\nsource = "functions/report"\nhandler = "app.handler"\n'
            'layers = ["pandas"]\n\n'
            '[tool.lpack.functions.ping]\nsource = "functions/ping"\nhandler = "app.handler"\n'
        ),
        "layers/pandas/requirements.in": "pandas\n",
        "functions/report/requirements.in": "pandas\ntabulate\n",
        "functions/report/app.py": (
            "import pandas, tabulate\n\ndef handler(event, context):\n"
            "    frame = pandas.DataFrame({'a': [1, 2]})\n"
            "    return {'sum': int(frame.a.sum()), 'table': tabulate.tabulate(frame.values)}\n"
        ),
        "functions/ping/app.py": "def handler(event, context):\n    return 'pong'\n",
    }
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    r = run_lpack("build", str(project), "--verify", "--format", "json")
    assert r.rc == 0, r.stdout[-3000:] + r.stderr
    artifacts = {a["name"]: a for a in r.json["artifacts"]}
    report = artifacts["report"]
    assert report["verify"]["ok"], report["verify"]
    assert {"pandas", "numpy"} <= {i["module"] for i in report["verify"]["imports"] if i["ok"]}
    assert {o["name"] for o in report["left_out"]} >= {"pandas", "numpy"}
    with zipfile.ZipFile(project / "dist" / "report.zip") as zf:
        assert not any(n.startswith(("pandas/", "numpy/")) for n in zf.namelist())
    with zipfile.ZipFile(project / "dist" / "pandas.zip") as zf:
        assert "python/pandas/__init__.py" in zf.namelist()
    layer, function = artifacts["pandas"]["manifest"], report["manifest"]
    assert function["unzipped_size"] < 1_000_000 < 50_000_000 < layer["unzipped_size"]
    # Only the function that changed is rebuilt.
    (project / "functions/ping/app.py").write_text("def handler(event, context):\n    return 1\n")
    start = time.perf_counter()
    r = run_lpack("build", str(project), "--format", "json")
    elapsed = time.perf_counter() - start
    assert r.rc == 0, r.stderr
    assert {a["name"]: a["rebuilt"] for a in r.json["artifacts"]} == {
        "pandas": False,
        "report": False,
        "ping": True,
    }
    print(
        f"layer {layer['zipped_size']:,} B zipped, function {function['zipped_size']:,} B; "
        f"rebuild after one change {elapsed:.2f} s"
    )
