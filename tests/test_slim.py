"""Slimming: each category removes what it should, keeps what code imports, never breaks imports."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import Index, extract_readonly, make_project, run_isolated, run_lpack

from lpack import elf
from lpack.assemble import elfstrip
from lpack.assemble.importscan import imported_modules
from lpack.catalog import slim_categories as categories

HOST = f"python3.{sys.version_info[1]}"


def build(project: Path, *args: str) -> dict:
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json", *args)
    assert r.rc == 0, r.stderr
    return r.json


def names(data: dict) -> set[str]:
    with zipfile.ZipFile(data["output"]["path"]) as zf:
        return {n for n in zf.namelist() if not n.endswith("/")}


@pytest.fixture
def npproject(tmp_path: Path) -> Path:
    return make_project(
        tmp_path / "fn",
        "scipystyle\nnativepkg\nmeta-reader\n",
        files={
            "app.py": "import scipystyle, nativepkg, meta_reader\n"
            "def lambda_handler(event, context):\n"
            "    return [scipystyle.NA, nativepkg.add(1, 2), meta_reader.__version__]\n",
            "tests/test_app.py": "def test(): pass\n",
        },
        tool='handler = "app.lambda_handler"',
    )


def test_categories_remove_and_keep_the_right_files(npproject: Path, lpack_env: dict) -> None:
    full = names(build(npproject, "--no-slim"))
    data = build(npproject)
    slim = names(data)
    removed = full - slim
    assert {
        "npstyle/_core/tests/test_core.py",
        "npstyle/tests/test_big.py",
        "npstyle/tests/__init__.py",
        "npstyle/conftest.py",
        "npstyle/__init__.pyi",
        "npstyle/src/thing.c",
        "npstyle/include/thing.h",
        "npstyle/lib/libthing.a",
        "npstyle/docs/index.rst",
        "npstyle/examples/demo.py",
        "npstyle/__pycache__/__init__.cpython-311.pyc",
        "npstyle-1.0.dist-info/WHEEL",
        "npstyle-1.0.dist-info/INSTALLER",
    } <= removed
    # Kept: the public testing module, the test modules it imports (and their package),
    # the metadata importlib.metadata reads, licences, and the user's own tests folder.
    assert {
        "npstyle/testing/__init__.py",
        "npstyle/_core/tests/_natype.py",
        "npstyle/_core/tests/na.json",
        "npstyle/sourceless.pyc",
        "npstyle/_typeshed_like/typeshed/stdlib/builtins.pyi",
        "npstyle/_core/tests/_helper.py",
        "npstyle/_core/tests/__init__.py",
        "npstyle-1.0.dist-info/METADATA",
        "npstyle-1.0.dist-info/RECORD",
        "npstyle-1.0.dist-info/top_level.txt",
        "npstyle-1.0.dist-info/LICENSE",
        "tests/test_app.py",
    } <= slim
    assert data["slim"]["kept_imported"] == [
        "npstyle._core.tests",
        "npstyle._core.tests._helper",
        "npstyle._core.tests._natype",
    ]
    saved = {c["code"]: c for c in data["slim"]["by_category"]}
    assert {"LP801", "LP802", "LP803", "LP804", "LP805", "LP806"} <= set(saved)
    total = sum(c["bytes"] for c in data["slim"]["by_category"])
    assert total == data["slim"]["saved"] > 0
    # RECORD lists exactly what ships of that distribution.
    with zipfile.ZipFile(data["output"]["path"]) as zf:
        record = zf.read("npstyle-1.0.dist-info/RECORD").decode()
    listed = {line.split(",")[0] for line in record.splitlines()}
    assert listed == {n for n in slim if n.startswith("npstyle")}


@pytest.mark.skipif(shutil.which("gcc") is None, reason="the ELF fixture needs gcc")
def test_slimmed_package_still_imports_and_elf_segments_are_identical(
    npproject: Path, lpack_env: dict, world_tmp: Path, index: Index
) -> None:
    data = build(npproject)
    stripped = {c["code"]: c for c in data["slim"]["by_category"]}["LP807"]
    assert stripped["files"] == 1 and stripped["bytes"] > 0
    task = extract_readonly(Path(data["output"]["path"]), world_tmp / "task")
    proc = run_isolated(
        task,
        "import app; print(app.lambda_handler({}, None))\n"
        "import importlib.metadata as m\n"
        "print(sorted(d.metadata['Name'] for d in m.distributions()))",
    )
    assert proc.returncode == 0, proc.stderr
    assert "['NA', 3, '1.0']" in proc.stdout
    assert "'nativepkg', 'npstyle', 'scipystyle'" in proc.stdout
    (so,) = [p for p in task.rglob("_fast*.so")]
    with zipfile.ZipFile(index.file("nativepkg-1.0-cp311-cp311-manylinux")) as zf:
        original = zf.read(next(n for n in zf.namelist() if n.endswith(".so")))
    after = so.read_bytes()
    before_elf, after_elf = elf.parse(original), elf.parse(after)
    assert before_elf.has_debug_info and not after_elf.has_debug_info
    assert before_elf.segments == after_elf.segments
    for seg in before_elf.segments[1:]:
        assert (
            original[seg.offset : seg.offset + seg.filesz]
            == after[seg.offset : seg.offset + seg.filesz]
        )
    if shutil.which("readelf"):
        out = subprocess.run(["readelf", "-S", "-W", str(so)], capture_output=True, text=True)
        assert out.returncode == 0 and ".debug_info" not in out.stdout and ".text" in out.stdout


def test_keep_drop_and_disable(npproject: Path, lpack_env: dict) -> None:
    data = build(
        npproject,
        "--keep",
        "npstyle/tests/**",
        "--drop",
        "npstyle/_core/__init__.py",
        "--slim-disable",
        "LP803",
    )
    shipped = names(data)
    assert "npstyle/tests/test_big.py" in shipped and "npstyle/__init__.pyi" in shipped
    assert "npstyle/_core/__init__.py" not in shipped
    assert "drop" in {c["code"] for c in data["slim"]["by_category"]}
    (npproject / "pyproject.toml").write_text(
        '[tool.lpack]\nhandler = "app.lambda_handler"\n'
        "[tool.lpack.slim.per-distribution.npstyle]\n"
        'disable = ["LP804"]\nkeep = ["npstyle/docs/**"]\n'
    )
    shipped = names(build(npproject))
    assert "npstyle/src/thing.c" in shipped and "npstyle/docs/index.rst" in shipped
    assert "npstyle/tests/test_big.py" not in shipped


def test_globs_that_match_nothing_warn(npproject: Path, lpack_env: dict) -> None:
    data = build(npproject, "--keep", "nothing/here/**", "--drop", "*.nope")
    assert "slim keep glob 'nothing/here/**' matched no dependency file." in data["warnings"]
    assert "slim drop glob '*.nope' matched no dependency file." in data["warnings"]


def test_unknown_category_is_an_error(npproject: Path, lpack_env: dict) -> None:
    r = run_lpack("build", str(npproject), "--slim-disable", "LP899")
    assert r.rc == 2 and "Unknown slim category 'LP899'" in r.stderr and "LP802" in r.stderr
    (npproject / "pyproject.toml").write_text("[tool.lpack.slim]\nfrobnicate = true\n")
    r = run_lpack("build", str(npproject))
    assert r.rc == 2 and "Unknown key `frobnicate` in [tool.lpack.slim]" in r.stderr


def test_dry_run_lists_and_writes_nothing(npproject: Path, lpack_env: dict) -> None:
    r = run_lpack("build", str(npproject), "--runtime", HOST, "--dry-run")
    assert r.rc == 0, r.stderr
    assert "LP802 test-suites" in r.stdout and "npstyle/tests/test_big.py" in r.stdout
    assert "kept test/docs modules that shipped code imports" in r.stdout
    assert not (npproject / "dist").exists()


def test_runtime_provided_sdk_is_kept_unless_opted_in(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "boto3\nneeds-six\n")
    kept = names(build(project))
    assert "botocore/__init__.py" in kept
    data = build(project, "--slim-enable", "LP808")
    shipped = names(data)
    for gone in (
        "boto3/__init__.py",
        "botocore/__init__.py",
        "s3transfer/__init__.py",
        "jmespath/__init__.py",
        "dateutil/__init__.py",
    ):
        assert gone not in shipped
    assert "six.py" in shipped and "needs_six/__init__.py" in shipped  # still needed
    saved = {c["code"]: c["bytes"] for c in data["slim"]["by_category"]}
    assert saved["LP808"] > 5000
    assert not any(d["name"] == "botocore" for d in data["distributions"])


def test_malformed_and_foreign_binaries_are_left_untouched(tmp_path: Path) -> None:
    with pytest.raises(elf.ElfError):
        elfstrip.strip(b"\x7fELF\x02\x01\x01" + b"\0" * 20)
    with pytest.raises(elf.ElfError):
        elfstrip.strip(b"\xcf\xfa\xed\xfe" + b"\0" * 100)


def test_source_is_never_slimmed(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(
        tmp_path / "fn",
        "",
        files={
            "app.py": "def lambda_handler(e, c): pass\n",
            "types.pyi": "x: int\n",
            "docs/readme.rst": "doc\n",
            "native/thing.c": "int x;\n",
        },
    )
    shipped = names(build(project))
    assert {"types.pyi", "docs/readme.rst", "native/thing.c"} <= shipped


def test_imported_modules_resolves_relative_and_from_imports() -> None:
    src = b"from . import tests\nfrom .tests._x import y\nimport a.b.c\nfrom ..up import z\n"
    found = imported_modules(src, "pkg.sub.mod", is_package=False)
    assert {
        "pkg.sub.tests",
        "pkg.sub.tests._x",
        "pkg.sub.tests._x.y",
        "a",
        "a.b",
        "a.b.c",
        "pkg.up",
        "pkg.up.z",
    } <= found


def test_catalog_entries_are_complete() -> None:
    for code, cat in categories().items():
        assert code.startswith("LP8") and len(code) == 5
        assert cat.name and cat.summary and cat.why and cat.saves
    assert not categories()["LP808"].default


@pytest.mark.skipif(shutil.which("gcc") is None, reason="the ELF fixture needs gcc")
def test_malformed_and_foreign_elf_in_a_build_are_left_untouched_and_noted(
    tmp_path: Path, lpack_env: dict, index: Index
) -> None:
    project = make_project(tmp_path / "fn", "oddbins\n")
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert r.rc == 1, r.stderr  # written, but lint finds the foreign binaries
    data = r.json
    codes = {(f["code"], f["path"]) for f in data["lint"]["findings"]}
    assert ("LP201", "oddbins/_mac.so") in codes and ("LP202", "oddbins/_arm.so") in codes
    notes = "\n".join(data["slim"]["untouched_binaries"])
    assert "oddbins/_broken.so:" in notes
    assert "oddbins/_mac.so: not an ELF file" in notes
    assert "oddbins/_arm.so: ELF for aarch64, not x86_64" in notes
    with (
        zipfile.ZipFile(index.file("oddbins-1.0")) as wheel,
        zipfile.ZipFile(data["output"]["path"]) as built,
    ):
        for name in ("oddbins/_broken.so", "oddbins/_mac.so", "oddbins/_arm.so"):
            assert built.read(name) == wheel.read(name)


def test_runtime_provided_drop_verifies_against_a_stand_in_sdk(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = make_project(
        tmp_path / "fn",
        "boto3\nneeds-six\n",
        files={"app.py": "import boto3, botocore, six\ndef lambda_handler(e, c):\n    return 1\n"},
    )
    r = run_lpack(
        "build",
        str(project),
        "--runtime",
        HOST,
        "--slim-enable",
        "LP808",
        "--keep",
        "botocore/**",
        "--verify",
        "--format",
        "json",
    )
    assert r.rc == 0, r.stdout[-2000:] + r.stderr
    assert any("left to the runtime (LP808) as a whole" in w for w in r.json["warnings"])
    assert not any(p.startswith("botocore") for p in names(r.json))
    assert r.json["verify"]["ok"]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_strip_keeps_what_relocations_need(tmp_path: Path) -> None:
    src = tmp_path / "m.c"
    src.write_text("int f(int x) { return x + 1; }\nint g(void) { return f(2); }\n")
    obj = tmp_path / "m.so"
    # --emit-relocs keeps .rela.text sections that point at .symtab, which needs .strtab.
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-g", "-Wl,--emit-relocs", str(src), "-o", str(obj)], check=True
    )
    result = elfstrip.strip(obj.read_bytes())
    assert ".symtab" not in result.removed_sections and ".strtab" not in result.removed_sections
    assert any(name.startswith(".debug") for name in result.removed_sections)
    assert elfstrip.strip(result.data).data == result.data  # idempotent, deterministic
    if shutil.which("readelf"):
        out = tmp_path / "s.so"
        out.write_bytes(result.data)
        shown = subprocess.run(["readelf", "-sW", str(out)], capture_output=True, text=True)
        assert " f\n" in shown.stdout and "corrupt" not in shown.stdout + shown.stderr
        import ctypes

        assert ctypes.CDLL(str(out)).g() == 3  # still loads and runs


def test_malformed_section_table_is_an_elf_error(tmp_path: Path) -> None:
    import struct

    if shutil.which("gcc") is None:
        pytest.skip("needs gcc")
    src = tmp_path / "m.c"
    src.write_text("int f(void) { return 1; }\n")
    so = tmp_path / "m.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-g", str(src), "-o", str(so)], check=True)
    data = bytearray(so.read_bytes())
    struct.pack_into("<H", data, 62, 999)  # e_shstrndx past e_shnum
    with pytest.raises(elf.ElfError):
        elfstrip.strip(bytes(data))


def test_which_stubs_describe_a_shipped_module() -> None:
    from lpack.assemble.prune import _stub_has_module

    known = {
        "pkg/_ext.cpython-311-x86_64-linux-gnu.so",
        "pkg/mod.py",
        "pkg/__init__.py",
        "mypy/typeshed/stdlib/os/__init__.pyi",
    }
    stems = {"pkg/_ext", "pkg/mod", "pkg/__init__"}
    assert _stub_has_module("pkg/_ext/__init__.pyi", known, stems)  # stub package of an extension
    assert _stub_has_module("pkg/mod.pyi", known, stems)
    assert _stub_has_module("pkg/__init__.pyi", known, stems)
    assert not _stub_has_module("pkg/orphan.pyi", known, stems)  # data: read at run time
    assert not _stub_has_module("mypy/typeshed/stdlib/os/__init__.pyi", known, stems)


def test_files_shipped_code_reads_stay_and_still_load(
    tmp_path: Path, lpack_env: dict, world_tmp: Path
) -> None:
    project = make_project(
        tmp_path / "fn",
        "stubby\n",
        files={
            "app.py": "import stubby\nfrom stubby import reader\n"
            "def lambda_handler(event, context):\n"
            "    return [stubby.answer, reader.header(), reader.schema()]\n"
        },
        tool='handler = "app.lambda_handler"',
    )
    full = names(build(project, "--no-slim"))
    data = build(project)
    slim = names(data)
    assert full - slim >= {
        "stubby/_impl.pyi",
        "stubby/include/other.h",
        "stubby/docs/guide.rst",
    }
    kept = {k["path"]: k["why"] for k in data["slim"]["kept_read"]}
    assert set(kept) == {"stubby/__init__.pyi", "stubby/include/api.h", "stubby/docs/schema.json"}
    assert set(kept) <= slim
    assert "attach_stub in stubby/__init__.py" in kept["stubby/__init__.pyi"]
    assert "stubby/reader.py" in kept["stubby/include/api.h"]
    task = extract_readonly(Path(data["output"]["path"]), world_tmp / "task")
    proc = run_isolated(task, "import app; print(app.lambda_handler({}, None))")
    assert proc.returncode == 0, proc.stderr
    assert "[42, 'int api(void);\\n', b'{\"type\": \"object\"}']" in proc.stdout
    # Without the scan the lazy loader fails, as it would on Lambda: the test can fail.
    dropped = make_project(
        tmp_path / "dropped",
        "stubby\n",
        files={"app.py": "import stubby\nprint(stubby.answer)\ndef lambda_handler(e, c): pass\n"},
        tool='handler = "app.lambda_handler"\n[tool.lpack.slim]\ndrop = ["stubby/__init__.pyi"]',
    )
    broken = build(dropped)
    task = extract_readonly(Path(broken["output"]["path"]), world_tmp / "broken")
    proc = run_isolated(task, "import app")
    assert proc.returncode != 0 and "non-existent stub" in proc.stderr


def test_read_scan_names_suffixes_and_attach_stub() -> None:
    from lpack.assemble.entries import Entry, Generated
    from lpack.assemble.layout import FUNCTION_LAYOUT
    from lpack.assemble.readscan import read_at_runtime

    def entry(path: str, text: str) -> Entry:
        return Entry(path, 0o644, "pkg", Generated(text.encode()))

    sources = {
        "pkg/__init__.py": "from lazy_loader import attach_stub\nx = attach_stub(__name__, __file__)",
        "pkg/sub/loader.py": "import glob, os\nglob.glob(os.path.dirname(__file__) + '/*.pyi')",
        "pkg/other.py": "NAME = 'nothing/here.h'\nSUFFIX = '.h'  # read from nowhere: not a pattern",
        "pkg/__init__.pyi": "",
        "pkg/sub/a.pyi": "",
        "pkg/sub/deep/b.pyi": "",
        "pkg/c.pyi": "",
        "pkg/include/x.h": "",
        "pkg/nothing/here.h": "",
        # A reader of ".mat" files beside it does not read its tests' data, unless it names
        # the folder.
        "pkg/io/reader.py": "import os\nEXT = '.mat'\nHERE = os.path.dirname(__file__)\n"
        "SCHEMA = 'tests/data/schema.json'",
        "pkg/io/tests/data/sample.mat": "",
        "pkg/io/tests/data/schema.json": "",
        "pkg/io/formats/v7.mat": "",
        # A name made at run time: every file of that suffix beside the reader may be read.
        "pkg/lang/load.py": "import os\ndef load(lang):\n"
        "    return open(os.path.join(os.path.dirname(__file__), f'{lang}.h'))\n",
        "pkg/lang/en.h": "",
        "pkg/lang/de.h": "",
    }
    entries = {p: entry(p, t) for p, t in sources.items()}
    candidates = {p: "pkg" for p in sources if not p.endswith(".py")}
    kept = read_at_runtime(entries, candidates, FUNCTION_LAYOUT, ("tests", "docs"))
    assert set(kept) == {
        "pkg/__init__.pyi",
        "pkg/sub/a.pyi",
        "pkg/sub/deep/b.pyi",
        "pkg/nothing/here.h",
        "pkg/io/tests/data/schema.json",
        "pkg/io/formats/v7.mat",
        "pkg/lang/en.h",
        "pkg/lang/de.h",
    }
