"""LP209: every shared library a shipped ELF needs is shipped where the loader looks, or is
part of the runtime; and verify can import with only the runtime's libraries visible."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import Index, make_project, run_lpack
from lint_fixtures import dist_info, write_zip

from lpack.runtime_libs import library_remedy, provided_libraries
from lpack.target import Target

HOST = f"python3.{sys.version_info[1]}"
EXT = sysconfig.get_config_var("EXT_SUFFIX")
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="the ELF fixtures need gcc")


def build(project: Path) -> tuple[int, dict]:
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert r.rc in (0, 1), r.stderr
    return r.rc, r.json


def lp209(data: dict) -> list[dict]:
    return [f for f in data["lint"]["findings"] if f["code"] == "LP209"]


def lint(*paths: Path, runtime: str = HOST) -> tuple[int, list[dict]]:
    r = run_lpack("lint", *map(str, paths), "--runtime", runtime, "--format", "json")
    assert r.rc in (0, 1), r.stderr
    return r.rc, [f for f in json.loads(r.stdout)["findings"] if f["code"] == "LP209"]


@needs_gcc
def test_unbundled_library_is_an_error_naming_it(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "needslib\n")
    rc, data = build(project)
    (found,) = lp209(data)
    assert rc == 1 and found["severity"] == "error"
    assert found["path"] == f"needslib/_linked{EXT}"
    message = found["message"]
    assert "needslib's" in message and "needs libfixturedep.so.1" in message
    assert "cannot open shared object file" in message and "lib/" in message


@needs_gcc
def test_bundled_and_runtime_libraries_are_clean_and_load(
    tmp_path: Path, lpack_env: dict, world_tmp: Path
) -> None:
    project = make_project(
        tmp_path / "fn",
        "bundleslib\nnativepkg\n",
        files={
            "app.py": "import bundleslib, nativepkg\n"
            "def lambda_handler(event, context):\n"
            "    return bundleslib.value() + nativepkg.add(1, 2)\n"
        },
        tool='handler = "app.lambda_handler"',
    )
    rc, data = build(project)
    assert rc == 0 and lp209(data) == []
    zip_path = data["output"]["path"]
    with zipfile.ZipFile(zip_path) as zf:
        assert "bundleslib.libs/libfixturedep-1a2b3c4d.so.1" in zf.namelist()
    event = tmp_path / "event.json"
    event.write_text("{}")
    r = run_lpack(
        "verify",
        zip_path,
        "--runtime",
        HOST,
        "--handler",
        "app.lambda_handler",
        "--event",
        str(event),
        "--format",
        "json",
    )
    assert r.rc == 0, r.stdout + r.stderr
    assert r.json["invoke"]["result"] == 10


def _zip_with_elf(path: Path, members: dict[str, bytes]) -> Path:
    files = list(members)
    return write_zip(path, {**members, **dist_info("thing", "1.0", files)})


@needs_gcc
def test_where_the_loader_looks(tmp_path: Path, index: Index) -> None:
    """A need is met by the binary's RUNPATH, the task root or lib/, a layer's lib/ (/opt/lib),
    or an already-loaded soname; anywhere else it is not."""
    with zipfile.ZipFile(index.file("needslib-1.0")) as zf:
        ext = zf.read(f"needslib/_linked{EXT}")
    with tempfile.TemporaryDirectory() as tmp:
        from make_index import compile_linked

        library = compile_linked(Path(tmp), "libfixturedep.so.1")["library"]
    elf_member = {f"thing/_linked{EXT}": ext}
    placed = {
        "task root": ({"libfixturedep.so.1": library}, 0),
        "lib/": ({"lib/libfixturedep.so.1": library}, 0),
        "a folder nobody searches": ({"vendor/libfixturedep.so.1": library}, 1),
        "nowhere": ({}, 1),
    }
    for where, (extra, want) in placed.items():
        name = where.replace(" ", "-").replace("/", "")
        package = _zip_with_elf(tmp_path / f"{name}.zip", {**elf_member, **extra})
        rc, found = lint(package)
        assert (rc, len(found)) == (want, want), where
    function = _zip_with_elf(tmp_path / "fn.zip", elf_member)
    layer = write_zip(tmp_path / "layer.zip", {"lib/libfixturedep.so.1": library})
    assert lint(function, layer) == (0, [])
    layer_elsewhere = write_zip(tmp_path / "l2.zip", {"python/libfixturedep.so.1": library})
    assert lint(function, layer_elsewhere)[0] == 1


def test_runtime_lists_follow_the_os_and_arch() -> None:
    al2 = provided_libraries(Target.from_names("python3.11", "x86_64"))
    al2_arm = provided_libraries(Target.from_names("python3.11", "arm64"))
    al2023 = provided_libraries(Target.from_names("python3.12", "x86_64"))
    assert {"libc.so.6", "libstdc++.so.6", "libpython3.11.so.1.0", "libssl.so.10"} <= al2
    assert "libglib-2.0.so.0" not in al2 and "libglib-2.0.so.0" in al2023
    assert "libssl.so.3" in al2023 and "libssl.so.10" not in al2023
    assert "ld-linux-aarch64.so.1" in al2_arm and "libmvec.so.1" not in al2_arm
    for absent in ("libGL.so.1", "libX11.so.6", "libodbc.so.2", "libgomp.so.1", "libexpat.so.1"):
        assert absent not in al2 | al2023
    assert "unixODBC" in library_remedy("libodbc.so.2")
    assert library_remedy("libgomp.so.1.0.0") == library_remedy("libgomp.so.1")
    assert "layer's lib/" in library_remedy("libunknown.so.9")


def _host_library(name: str) -> Path | None:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith(name + " ") and "x86-64" in line:
            return Path(line.rsplit("=> ", 1)[1])
    return None


X11_EXTENSION = r"""
#include <Python.h>
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_x11", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__x11(void) { return PyModule_Create(&mod); }
"""


@needs_gcc
def test_verify_with_only_runtime_libraries_fails_where_lambda_would(
    tmp_path: Path, lpack_env: dict, world_tmp: Path
) -> None:
    """An extension needing libX11 imports on this machine (it has libX11) and fails when only
    the runtime's libraries are visible, as on Lambda; a bundled library still loads."""
    from lpack.inspect.libsandbox import unavailable_reason

    if (reason := unavailable_reason()) is not None:
        pytest.skip(reason)
    if _host_library("libX11.so.6") is None:
        pytest.skip("this machine has no libX11.so.6 to hide")
    (tmp_path / "x.c").write_text(X11_EXTENSION)
    ext = tmp_path / f"_x11{EXT}"
    include = sysconfig.get_paths()["include"]
    subprocess.run(
        ["gcc", "-shared", "-fPIC", f"-I{include}", str(tmp_path / "x.c"), "-o", str(ext)]
        + ["-Wl,--no-as-needed", "-l:libX11.so.6"],
        check=True,
    )
    package = _zip_with_elf(
        tmp_path / "x11.zip",
        {"thing/__init__.py": b"from thing import _x11\n", f"thing/_x11{EXT}": ext.read_bytes()},
    )
    assert lint(package)[1][0]["message"].count("libX11.so.6") >= 2

    def verify(*flags: str) -> dict:
        r = run_lpack("verify", str(package), "--runtime", HOST, "--format", "json", *flags)
        assert r.rc in (0, 1), r.stderr
        return r.json

    assert verify()["ok"] is True  # this machine has libX11: a plain verify cannot tell
    hidden = verify("--runtime-libraries-only")
    assert hidden["ok"] is False
    failed = {i["module"]: i["detail"] for i in hidden["imports"] if not i["ok"]}
    assert "libX11.so.6" in failed["thing"]
    libraries = hidden["libraries"]
    assert "libc.so.6" in libraries["runtime"] and "libX11.so.6" not in libraries["runtime"]
    assert "libX11.so.6" not in libraries["interpreter"]
    # A package needing only what it bundles and what the runtime has still loads.
    project = make_project(tmp_path / "fn", "bundleslib\nnativepkg\n")
    rc, data = build(project)
    assert rc == 0
    clean = run_lpack(
        "verify",
        data["output"]["path"],
        "--runtime",
        HOST,
        "--format",
        "json",
        "--runtime-libraries-only",
    )
    assert clean.rc == 0 and clean.json["ok"], clean.stdout


def test_verify_says_when_it_cannot_hide_libraries(tmp_path: Path) -> None:
    package = write_zip(tmp_path / "fn.zip", {"app.py": b"X = 1\n"})
    r = run_lpack(
        "verify",
        str(package),
        "--runtime",
        HOST,
        "--runtime-libraries-only",
        env={"PATH": str(tmp_path)},  # no unshare on PATH
    )
    assert r.rc == 2 and "Cannot show the import only the runtime's shared libraries" in r.stderr
    assert "unshare" in r.stderr and "LP209" in r.stderr


def test_damaged_runtime_library_data_is_a_rules_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from lpack import runtime_libs
    from lpack.errors import RulesError

    good = runtime_libs.load_rules_toml("runtime-libs.toml")
    damaged = {**good, "os": {"al2": good["os"]["al2"]}}  # al2023 lost
    monkeypatch.setattr(runtime_libs, "load_rules_toml", lambda name: damaged)
    runtime_libs._table.cache_clear()
    runtime_libs.provided_libraries.cache_clear()
    try:
        with pytest.raises(RulesError, match=r"\[os.al2023\] needs `libraries`"):
            runtime_libs.provided_libraries(Target.from_names("python3.12", "x86_64"))
    finally:
        runtime_libs._table.cache_clear()
        runtime_libs.provided_libraries.cache_clear()


@needs_gcc
def test_an_extension_imported_only_in_a_try_is_a_warning(tmp_path: Path, index: Index) -> None:
    """numba's optional threading layers: `import numba` works without them, so the unmet
    need is a warning; imported unguarded anywhere, it is an error."""
    with zipfile.ZipFile(index.file("needslib-1.0")) as zf:
        ext = zf.read(f"needslib/_linked{EXT}")
    guarded = (
        b"def layer():\n    try:\n        from thing import _linked as lib\n"
        b"    except ImportError:\n        lib = None\n    return lib\n"
    )
    package = _zip_with_elf(
        tmp_path / "guarded.zip",
        {"thing/__init__.py": guarded, f"thing/_linked{EXT}": ext},
    )
    rc, (found,) = lint(package)
    assert rc == 0 and found["severity"] == "warning"
    assert "thing/__init__.py imports it only inside a try/except" in found["message"]
    unguarded = _zip_with_elf(
        tmp_path / "unguarded.zip",
        {
            "thing/__init__.py": guarded,
            "thing/fast.py": b"from thing._linked import value\n",
            f"thing/_linked{EXT}": ext,
        },
    )
    rc, (found,) = lint(unguarded)
    assert rc == 1 and found["severity"] == "error"
