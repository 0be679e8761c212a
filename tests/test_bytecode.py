"""`bytecode = true`: .pyc compiled by the target's Python, reproducible, and used by Python."""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import make_project, run_isolated, run_lpack
from test_json_output import schema_validator

from lpack import pythons
from lpack.assemble.pycompile import WORKER, Compiler, Source
from lpack.errors import BuildError, ConfigError
from lpack.settings import cli_spec, load_project
from lpack.target import runtimes

HOST = f"python3.{sys.version_info[1]}"
TAG = sys.implementation.cache_tag
HANDLER = (
    "import scipystyle, npstyle, meta_reader\nfrom lib.helpers import X\n\n"
    "def lambda_handler(event, context):\n"
    "    return ('app', X, npstyle.VALUE, meta_reader.__version__)\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(
        tmp_path / "fn",
        "npstyle\nscipystyle\nmeta-reader\n",
        files={
            "app.py": HANDLER,
            "lib/__init__.py": "",
            "lib/helpers.py": "X = 1\n",
            "legacy/py2.py": "print 'a Python 2 template'\n",
        },
        tool='handler = "app.lambda_handler"',
    )


def build(project: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    r = run_lpack(
        "build", str(project), "--runtime", HOST, "--format", "json", *args, env=env or {}
    )
    assert r.rc == 0, r.stderr
    return r.json


def pyc_of(py: str) -> str:
    folder, _, name = py.rpartition("/")
    return f"{folder + '/' if folder else ''}__pycache__/{name[:-3]}.{TAG}.pyc"


def test_every_shipped_source_gets_a_pyc_for_the_targets_python(
    project: Path, lpack_env: dict
) -> None:
    data = build(project, "--bytecode")
    done = data["bytecode"]
    assert done["enabled"] and done["cache_tag"] == TAG
    assert done["failed"] == [{"path": "legacy/py2.py", "reason": done["failed"][0]["reason"]}]
    assert "SyntaxError" in done["failed"][0]["reason"]
    with zipfile.ZipFile(data["output"]["path"]) as zf:
        names = set(zf.namelist())
        sources = {n for n in names if n.endswith(".py")}
        pycs = {n for n in names if "__pycache__/" in n and n.endswith(".pyc")}
        # Each shipped .py that compiles has its .pyc; nothing pruned or excluded has one.
        assert pycs == {pyc_of(py) for py in sources - {"legacy/py2.py"}}
        assert "npstyle/tests/test_big.py" not in names
        assert {"app.py", "npstyle/_core/tests/_natype.py", "lib/helpers.py"} <= sources
        for py in sources - {"legacy/py2.py"}:
            pyc, source = zf.read(pyc_of(py)), zf.read(py)
            assert pyc[:4] == importlib.util.MAGIC_NUMBER
            assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, never checked
            assert pyc[8:16] == importlib.util.source_hash(source)
        record = zf.read("npstyle-1.0.dist-info/RECORD").decode()
        pyc_bytes = {p: zf.read(p) for p in pycs}
    rows = {row[0]: row for row in csv.reader(io.StringIO(record))}
    ours = pyc_of("npstyle/_core/__init__.py")
    digest = base64.urlsafe_b64encode(hashlib.sha256(pyc_bytes[ours]).digest()).rstrip(b"=")
    assert rows[ours][1:] == [f"sha256={digest.decode()}", str(len(pyc_bytes[ours]))]
    assert done["files"] == len(pycs)
    assert done["unzipped_size"] == sum(len(b) for b in pyc_bytes.values())
    assert done["compiled"] == len(pycs) and done["cached"] == 0
    # Bytecode was asked for: LP301 (bytecode shipped) is no finding of this build.
    assert not [f for f in data["lint"]["findings"] if f["code"] == "LP301"]
    schema_validator("lpack-output-v1.json").validate(data)


def test_the_cost_is_what_the_zip_grows_by_and_the_summary_shows_it(
    project: Path, lpack_env: dict
) -> None:
    without = build(project)
    assert without["bytecode"] == {"enabled": False}
    r = run_lpack("build", str(project), "--runtime", HOST, "--bytecode")
    assert r.rc == 0, r.stderr
    text = " ".join(r.stdout.split())  # as one line, however the terminal wrapped it
    data = build(project, "--bytecode", "--rebuild")
    done, out, before = data["bytecode"], data["output"], without["output"]
    assert f"bytecode {done['files']} files ({TAG}, CPython {done['python']}): +" in text
    assert "unzipped / +" in text and "no .pyc for what does not compile: legacy/py2.py" in text
    # The zip also grows by one RECORD line per .pyc of a distribution: a few dozen bytes.
    grown_unzipped = out["unzipped_size"] - before["unzipped_size"]
    grown_zipped = out["zipped_size"] - before["zipped_size"]
    assert done["unzipped_size"] <= grown_unzipped <= done["unzipped_size"] + 150 * done["files"]
    assert done["zipped_size"] <= grown_zipped <= done["zipped_size"] + 100 * done["files"]
    assert done["compiled"] == 0 and done["cached"] == done["files"]  # the cache served all


def test_two_builds_give_one_sha256_with_cold_and_warm_caches(
    project: Path, lpack_env: dict, tmp_path: Path
) -> None:
    first = build(project, "--bytecode")
    other = tmp_path / "elsewhere" / "deeper" / "fn"
    shutil.copytree(project, other, ignore=shutil.ignore_patterns("dist", "lpack.lock"))
    for path in other.rglob("*"):
        if path.is_file():
            os.utime(path, (1_700_000_000, 1_700_000_000))
    second = build(other, "--bytecode", env={"LPACK_CACHE_DIR": str(tmp_path / "cache2")})
    assert second["bytecode"]["compiled"] == first["bytecode"]["compiled"] > 0
    warm = build(project, "--bytecode", "--rebuild")
    assert warm["bytecode"]["compiled"] == 0
    assert first["output"]["sha256"] == second["output"]["sha256"] == warm["output"]["sha256"]


def test_a_damaged_cache_entry_is_compiled_again(project: Path, lpack_env: dict) -> None:
    first = build(project, "--bytecode")
    cached = sorted((Path(lpack_env["LPACK_CACHE_DIR"]) / "bytecode").rglob("*"))
    damaged = [p for p in cached if p.is_file()][:3]
    for path in damaged:
        data = bytearray(path.read_bytes())
        data[20] ^= 0xFF  # inside the marshalled code: only the trailing sha256 notices
        path.write_bytes(bytes(data))
    again = build(project, "--bytecode", "--rebuild")
    assert again["bytecode"]["compiled"] == len(damaged)
    assert again["output"]["sha256"] == first["output"]["sha256"]


def _extract_and_edit(zip_path: Path, dest: Path) -> Path:
    """Extract, change two modules' source as a stale .pyc would not notice, then make
    everything read-only as Lambda's /var/task is."""
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
    (dest / "app.py").write_text(
        "def lambda_handler(event, context):\n    return 'source was read'\n"
    )
    (dest / "npstyle" / "_core" / "__init__.py").write_text("VALUE = -1\n")
    for root, dirs, files in os.walk(dest):
        for name in files:
            os.chmod(os.path.join(root, name), 0o444)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o555)
    os.chmod(dest, 0o555)
    return dest


def test_python_loads_the_shipped_pyc_from_a_read_only_folder(
    project: Path, lpack_env: dict, world_tmp: Path
) -> None:
    code = "import app; print(app.lambda_handler(None, None))"
    # Without bytecode, the edited source is what runs (so the check below can fail).
    plain = _extract_and_edit(Path(build(project)["output"]["path"]), world_tmp / "plain")
    proc = run_isolated(plain, code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "source was read"
    assert not list(plain.rglob("__pycache__"))  # read-only: Python could cache nothing
    # With it, the unchecked-hash .pyc is used as shipped: the source is never even read.
    data = build(project, "--bytecode", "--rebuild")
    task = _extract_and_edit(Path(data["output"]["path"]), world_tmp / "task")
    proc = run_isolated(task, code + "; import npstyle._core as c; print(c.__cached__)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "('app', 1, 42, '1.0')",
        str(task / "npstyle" / "_core" / "__pycache__" / f"__init__.{TAG}.pyc"),
    ]


def test_a_missing_interpreter_is_an_error_naming_the_runtime_and_the_fix(
    tmp_path: Path, lpack_env: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lpack.build import build as run_build

    other = next(r for r in runtimes() if r != HOST)
    empty = tmp_path / "nothing"
    empty.mkdir()
    for variable in ("PYENV_ROOT", "UV_PYTHON_INSTALL_DIR"):
        monkeypatch.setenv(variable, str(empty))
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(pythons, "SYSTEM_FOLDERS", ())
    project = make_project(tmp_path / "fn", "")
    spec = load_project(project, cli_spec({"runtime": other, "bytecode": True})).function
    with pytest.raises(BuildError) as caught:
        run_build(spec)
    version = other.removeprefix("python")
    assert f"no CPython {version} for {other} was found" in caught.value.message
    assert caught.value.hint and f"install {other}" in caught.value.hint
    assert "drop --bytecode" in caught.value.hint and caught.value.exit_code == 2
    assert not spec.output_path.exists()


def test_the_setting_flows_from_pyproject_tables_and_the_command_line(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        None,
        files={"a/app.py": "", "b/app.py": ""},
    )
    (project / "pyproject.toml").write_text(
        "[tool.lpack]\nbytecode = true\n"
        '[tool.lpack.functions.a]\nsource = "a"\n'
        '[tool.lpack.functions.b]\nsource = "b"\nbytecode = false\n'
    )
    specs = {s.name: s for s in load_project(project).artifacts}
    assert specs["a"].bytecode and not specs["b"].bytecode
    assert specs["a"].to_data()["bytecode"] is True  # part of the inputs' digest
    forced = {s.name: s for s in load_project(project, cli_spec({"bytecode": False})).artifacts}
    assert not forced["a"].bytecode and not forced["b"].bytecode
    (project / "pyproject.toml").write_text('[tool.lpack]\nbytecode = "yes"\n')
    with pytest.raises(ConfigError, match="`bytecode` in .* must be true or false"):
        load_project(project)


def _crashing_python(tmp_path: Path, fatal: str) -> Path:
    """An 'interpreter' running lpack's worker, which dies on the file named `fatal`."""
    wrapper = tmp_path / "crashy.py"
    wrapper.write_text(
        f"import os, sys\nsys.path.insert(0, {str(WORKER.parent)!r})\nimport _pycworker\n"
        "real = _pycworker.pyc_bytes\n"
        "def pyc_bytes(source, name):\n"
        f"    if name == {fatal!r}:\n        os.abort()\n"
        "    return real(source, name)\n"
        "_pycworker.pyc_bytes = pyc_bytes\n_pycworker.main()\n"
    )
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\nexec {sys.executable} -I -S {wrapper}\n")
    python.chmod(0o755)
    return python


def _source(name: str, text: bytes = b"X = 1\n") -> Source:
    return Source(name, lambda: text)


def test_a_compiler_crash_costs_only_that_file_its_pyc(tmp_path: Path) -> None:
    python = _crashing_python(tmp_path, "boom.py")
    batch = [_source("a.py"), _source("boom.py"), _source("c.py"), _source("d.py", b"x = (")]
    with Compiler(python) as compiler:
        results = list(compiler.compile(batch))
    assert [r.source.name for r in results] == ["a.py", "boom.py", "c.py", "d.py"]
    assert [r.pyc is not None for r in results] == [True, False, True, False]
    assert results[1].error and "crashed" in results[1].error
    assert results[3].error and "SyntaxError" in results[3].error
    with Compiler(python) as compiler, pytest.raises(BuildError, match="crashed 4 times"):
        list(compiler.compile([_source("boom.py")] * 5))


def test_a_source_that_cannot_be_read_fails_the_build_without_hanging(tmp_path: Path) -> None:
    def unreadable() -> bytes:
        raise BuildError("wheel.whl is truncated at pkg/mod.py.")

    batch = [_source("a.py"), Source("pkg/mod.py", unreadable), _source("c.py")]
    with (
        Compiler(Path(sys.executable)) as compiler,
        pytest.raises(BuildError, match="truncated"),
    ):
        list(compiler.compile(batch))


def test_an_interpreter_of_another_version_or_that_fails_to_start_is_refused(
    tmp_path: Path, lpack_env: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lpack.assemble import bytecode
    from lpack.build import build as run_build

    other = next(r for r in runtimes() if r != HOST)
    project = make_project(tmp_path / "fn", "")
    spec = load_project(project, cli_spec({"runtime": other, "bytecode": True})).function
    monkeypatch.setattr(bytecode, "cpython", lambda version: Path(sys.executable))
    with pytest.raises(BuildError, match=f"not the CPython .* of {other}"):
        run_build(spec)
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'cannot run here' >&2\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(BuildError, match="exit status 3; it said: cannot run here"):
        Compiler(broken)


@pytest.mark.parametrize("minor", [9, 10])
def test_set_constants_compile_to_the_same_bytes_in_every_run(minor: int) -> None:
    """marshal writes a frozenset in hash order, and str hashes are randomised per process:
    3.9 and 3.10 gave one source several .pyc until the compiler ran with a fixed seed."""
    from lpack.assemble.pycompile import Compiler, Source
    from lpack.pythons import cpython

    python = cpython((3, minor))
    if python is None:
        pytest.skip(f"no CPython 3.{minor} on this machine")
    words = ", ".join(repr(f"word{i}") for i in range(40))
    source = f"def f(x):\n    return x in {{{words}}}\n".encode()
    outputs = set()
    for _ in range(4):
        with Compiler(python) as compiler:
            (done,) = compiler.compile([Source("m.py", lambda: source)])
            outputs.add(done.pyc)
    assert len(outputs) == 1
