"""The zip writer, in process: reproducible bytes that every zip reader accepts."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import make_index
import pytest

from lpack.assemble.archive import write_archive
from lpack.assemble.entries import Entry, Generated, SourceFile, WheelMember
from lpack.assemble.packer import prepare_entry
from lpack.errors import BuildError


def _wheel_entries(tmp_path: Path) -> list[Entry]:
    wheel = make_index.make_wheel(
        tmp_path / "wheels", "alpha", "1.0", files={"alpha/__init__.py": b"X = 1\n" * 200}
    )
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    with zipfile.ZipFile(wheel) as zf:
        infos = [i for i in zf.infolist() if not i.filename.endswith("RECORD")]
    return [Entry(i.filename, 0o644, "alpha", WheelMember(wheel, sha, i)) for i in infos]


def _entries(tmp_path: Path) -> list[Entry]:
    source = tmp_path / "src" / "app.py"
    source.parent.mkdir()
    source.write_text("def handler(event, context):\n    return 1\n")
    return [
        *_wheel_entries(tmp_path),
        Entry("app.py", 0o644, None, SourceFile(source, source.stat().st_size)),
        Entry("bin/tool", 0o755, "alpha", Generated(b"#!/usr/bin/env python3\n")),
        Entry("data/random.bin", 0o644, None, Generated(os.urandom(4096))),
        Entry("empty.txt", 0o644, None, Generated(b"")),
        Entry("ünïcode/名前.py", 0o644, None, Generated(b"# utf-8 name\n")),
    ]


def test_archive_is_valid_sorted_and_described_exactly(tmp_path: Path) -> None:
    entries = _entries(tmp_path)
    out = tmp_path / "out" / "fn.zip"
    archive = write_archive(list(reversed(entries)), out)
    data = out.read_bytes()
    assert archive.sha256 == hashlib.sha256(data).hexdigest()
    assert archive.zipped_size == len(data)
    assert archive.unzipped_size == sum(e.size for e in entries)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        assert names == sorted(names)
        assert {"alpha/", "bin/", "data/", "ünïcode/"} <= set(names)  # folders are listed
        for entry in entries:
            info = zf.getinfo(entry.path)
            assert zf.read(info) == entry.read()
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert (info.external_attr >> 16) & 0o777 == entry.mode
            assert info.extra == b""
    assert archive.file_count == len(entries)
    if shutil.which("unzip"):
        tested = subprocess.run(["unzip", "-t", str(out)], capture_output=True, text=True)
        assert tested.returncode == 0, tested.stdout + tested.stderr


def test_same_entries_give_the_same_bytes(tmp_path: Path) -> None:
    entries = _entries(tmp_path)
    first = write_archive(entries, tmp_path / "a.zip", workers=1)
    second = write_archive(list(reversed(entries)), tmp_path / "b.zip", workers=4)
    assert first.sha256 == second.sha256


def test_wheel_members_are_copied_still_compressed(tmp_path: Path) -> None:
    member = next(e for e in _wheel_entries(tmp_path) if e.path == "alpha/__init__.py")
    prepared = prepare_entry(member)
    assert prepared.payload is None and prepared.raw_source is not None
    assert isinstance(member.source, WheelMember)
    assert prepared.compressed_size == member.source.member.compress_size
    wheel, start, length = prepared.raw_source
    raw = wheel.read_bytes()[start : start + length]
    import zlib

    assert zlib.decompress(raw, -15) == member.read()


def test_rewritten_entries_are_deflated_or_stored(tmp_path: Path) -> None:
    text = prepare_entry(Entry("a.txt", 0o644, None, Generated(b"a" * 1000)))
    noise = prepare_entry(Entry("b.bin", 0o644, None, Generated(os.urandom(1000))))
    assert text.method == zipfile.ZIP_DEFLATED and text.compressed_size < 100
    assert noise.method == zipfile.ZIP_STORED and noise.compressed_size == 1000


def test_source_date_epoch_sets_every_timestamp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "fn.zip"
    write_archive([Entry("a.py", 0o644, None, Generated(b"x"))], out)
    with zipfile.ZipFile(out) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(BuildError, match="SOURCE_DATE_EPOCH='yesterday' is not a Unix timestamp"):
        write_archive([Entry("a.py", 0o644, None, Generated(b"x"))], out)


class _Unreadable:
    size = 10
    content_key = "broken"

    def read(self) -> bytes:
        raise OSError("disk went away")


def test_a_failed_write_leaves_neither_output_nor_temp_file(tmp_path: Path) -> None:
    out = tmp_path / "out" / "fn.zip"
    out.parent.mkdir()
    out.write_bytes(b"the previous zip")
    entries = [Entry("a.py", 0o644, None, Generated(b"x")), Entry("b", 0o644, None, _Unreadable())]
    with pytest.raises(OSError, match="disk went away"):
        write_archive(entries, out)
    assert out.read_bytes() == b"the previous zip"  # untouched
    assert sorted(p.name for p in out.parent.iterdir()) == ["fn.zip"]


def test_output_that_is_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "fn.zip"
    folder.mkdir()
    with pytest.raises(BuildError, match=r"it is a folder"):
        write_archive([Entry("a.py", 0o644, None, Generated(b"x"))], folder)
    assert list(tmp_path.iterdir()) == [folder] and list(folder.iterdir()) == []
