"""The Contents model and ELF reading, in process: any zip or folder, read without extracting."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest
from lint_fixtures import compile_so, dist_info, write_zip

from lpack import elf
from lpack.errors import ContentsError
from lpack.inspect.contents import read_contents
from lpack.inspect.ziparchive import MAX_UNZIPPED


def _package() -> dict[str, bytes]:
    return {
        "app.py": b"def handler(event, context):\n    return 1\n",
        "lib/__init__.py": b"",
        "lib/core.py": b"X = 1\n",
        "untracked/__init__.py": b"",  # owned through top_level.txt only
        **dist_info("lib", "1.0", ["lib/__init__.py", "lib/core.py"]),
        "other-2.0.dist-info/METADATA": b"Name: other\nVersion: 2.0\n",
        "other-2.0.dist-info/top_level.txt": b"untracked\n",
    }


def test_zip_and_folder_give_the_same_model(tmp_path: Path) -> None:
    members = _package()
    zipped = read_contents(write_zip(tmp_path / "fn.zip", members))
    folder = tmp_path / "fn"
    for name, data in members.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    unzipped = read_contents(folder)
    try:
        for contents in (zipped, unzipped):
            owners = {i.path: i.dist for i in contents.files}
            assert owners["lib/core.py"] == "lib" and owners["app.py"] is None
            assert owners["untracked/__init__.py"] == "other"
            assert {d.name: d.version for d in contents.distributions} == {
                "lib": "1.0",
                "other": "2.0",
            }
            assert contents.unzipped_size == sum(len(d) for d in members.values())
            assert not contents.is_layer and contents.roots == [""]
        assert zipped.zipped_size == (tmp_path / "fn.zip").stat().st_size
        assert unzipped.zipped_size is None
        item = next(i for i in zipped.files if i.path == "lib/core.py")
        assert zipped.read(item) == b"X = 1\n"
    finally:
        zipped.close()


def test_layer_roots_and_python_version(tmp_path: Path) -> None:
    site = "python/lib/python3.12/site-packages/"
    contents = read_contents(
        write_zip(tmp_path / "layer.zip", {site + "mod.py": b"", "python/plain.py": b""})
    )
    try:
        assert contents.is_layer and contents.layer_python == "3.12"
        assert contents.roots == ["python/", site]
        rels = {i.path: i.rel for i in contents.files}
        assert rels[site + "mod.py"] == "mod.py" and rels["python/plain.py"] == "plain.py"
    finally:
        contents.close()


def test_declared_bomb_is_refused_before_reading(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "bomb.zip", {"a.bin": b"\0" * 1024}, stored=True)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.infolist()[0]
    # Declare more than MAX_UNZIPPED in the central directory (uncompressed-size field).
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (0xFFFFFFF0).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert MAX_UNZIPPED < 0xFFFFFFF0 * 2 and info.file_size == 1024
    with pytest.raises(ContentsError, match="zip bomb"):
        read_contents(path)


def test_missing_path_and_garbage_are_contents_errors(tmp_path: Path) -> None:
    with pytest.raises(ContentsError, match="does not exist"):
        read_contents(tmp_path / "nope.zip")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(os.urandom(200))
    with pytest.raises(ContentsError, match="not a readable zip"):
        read_contents(junk)


def test_folder_links_are_recorded_not_followed(tmp_path: Path) -> None:
    folder = tmp_path / "fn"
    folder.mkdir()
    (folder / "ok.py").write_text("")
    (folder / "away").symlink_to("/etc/passwd")
    contents = read_contents(folder)
    link = next(i for i in contents.items if i.path == "away")
    assert link.symlink_target == "/etc/passwd" and contents.read(link) == b""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_elf_facts_of_a_real_shared_object(tmp_path: Path) -> None:
    code = "#include <stdlib.h>\nvoid *f(void) { return malloc(8); }\n"
    data = compile_so(tmp_path, code, "plain", debug=True)
    assert data is not None
    parsed = elf.parse(data)
    assert parsed.machine_name == os.uname().machine.replace("arm64", "aarch64")
    assert parsed.is64 and parsed.has_debug_info and parsed.segments
    assert "libc.so.6" in elf.needed_libraries(parsed)
    versions = elf.needed_versions(parsed)
    assert versions["libc.so.6"] and all(v.startswith("GLIBC_") for v in versions["libc.so.6"])
    contents = read_contents(write_zip(tmp_path / "fn.zip", {"plain.so": data}))
    try:
        (item,) = contents.files
        assert item.binary is not None and item.binary.format == "elf"
        assert item.binary.has_debug_info and "libc.so.6" in item.binary.needed_libraries
    finally:
        contents.close()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"not elf at all" * 5, "not an ELF file"),
        (b"\x7fELF\x09\x01" + b"\0" * 60, "unknown ELF class"),
        (b"\x7fELF\x02\x01\x01" + b"\0" * 20, "shorter than an ELF header"),
    ],
)
def test_malformed_elf_is_an_elf_error(data: bytes, message: str) -> None:
    with pytest.raises(elf.ElfError, match=message):
        elf.parse(data)


def test_symbol_versions_compare_as_numbers() -> None:
    assert elf.version_tuple("GLIBC_2.28") == (2, 28)
    assert elf.version_tuple("GLIBCXX_3.4.29") == (3, 4, 29) > (3, 4, 9)
    assert elf.version_tuple("GLIBC_PRIVATE") is None
