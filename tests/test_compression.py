"""The `compression` setting: smaller than the wheels' own deflate, every byte intact,
compressed once per file and cached by content, the same zip whatever the cache holds."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys
import threading
import zipfile
import zlib
from pathlib import Path

import make_index
import pytest
from conftest import make_project, run_lpack

from lpack.assemble.archive import prepared_entries, write_archive
from lpack.assemble.compress import COMPRESSIONS, Encoder, pack
from lpack.assemble.entries import Entry, Generated, SourceFile, WheelMember
from lpack.assemble.entrycache import EntryCache
from lpack.assemble.packer import Packer, PreparedEntry
from lpack.errors import ConfigError
from lpack.settings import cli_spec, load_project

HOST = f"python3.{sys.version_info[1]}"


def _python_like(seed: int, size: int) -> bytes:
    """Text with the repetition of real source: deflate encoders differ on it."""
    rng = random.Random(seed)
    words = [f"name_{i}" for i in range(400)] + ["def", "return", "self", "import", "(", ")"]
    out = []
    while sum(map(len, out)) < size:
        out.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) + "\n")
    return "".join(out).encode()[:size]


def _wheel_entries(tmp_path: Path) -> list[Entry]:
    files = {f"big/mod{i}.py": _python_like(i, 60_000) for i in range(6)}
    wheel = make_index.make_wheel(tmp_path / "wheels", "big", "1.0", files=files)
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    with zipfile.ZipFile(wheel) as zf:
        infos = [i for i in zf.infolist() if i.filename in files]
    return [
        Entry(
            i.filename,
            0o644,
            "big",
            WheelMember(wheel, sha, i),
            "sha256="
            + base64.urlsafe_b64encode(hashlib.sha256(files[i.filename]).digest())
            .rstrip(b"=")
            .decode(),
        )
        for i in infos
    ]


def _contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_default_is_smaller_than_the_wheels_deflate_and_holds_the_same_bytes(
    tmp_path: Path,
) -> None:
    entries = _wheel_entries(tmp_path)
    fast = write_archive(entries, tmp_path / "fast.zip", packer=Packer(COMPRESSIONS["fast"]))
    cache = EntryCache(tmp_path / "cache")
    default = write_archive(
        entries, tmp_path / "default.zip", packer=Packer(COMPRESSIONS["default"], cache)
    )
    assert default.zipped_size < fast.zipped_size * 0.99
    assert _contents(tmp_path / "default.zip") == _contents(tmp_path / "fast.zip")
    if shutil.which("unzip"):
        tested = subprocess.run(["unzip", "-t", str(tmp_path / "default.zip")], capture_output=True)
        assert tested.returncode == 0


def test_the_cache_is_used_and_the_zip_does_not_depend_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = _wheel_entries(tmp_path)
    cache = EntryCache(tmp_path / "cache")
    packer = Packer(COMPRESSIONS["default"], cache)
    cold = write_archive(entries, tmp_path / "cold.zip", packer=packer)
    stored = sorted((tmp_path / "cache" / "deflated").rglob("*"))
    assert len([p for p in stored if p.is_file()]) == len(entries)

    def no_compressing(data: bytes, encoder: Encoder) -> None:
        raise AssertionError("a cached entry was compressed again")

    monkeypatch.setattr("lpack.assemble.packer.pack", no_compressing)
    warm = write_archive(entries, tmp_path / "warm.zip", packer=packer)
    assert warm.sha256 == cold.sha256


@pytest.mark.parametrize(
    "damage", ["flip a payload byte", "truncate", "empty", "other size", "forged"]
)
def test_a_damaged_cache_entry_is_compressed_again(tmp_path: Path, damage: str) -> None:
    entries = _wheel_entries(tmp_path)
    packer = Packer(COMPRESSIONS["default"], EntryCache(tmp_path / "cache"))
    first = write_archive(entries, tmp_path / "a.zip", packer=packer)
    files = sorted(p for p in (tmp_path / "cache" / "deflated").rglob("*") if p.is_file())
    for path in files:
        blob = bytearray(path.read_bytes())
        if damage == "flip a payload byte":
            blob[40] ^= 0x01
        elif damage == "truncate":
            blob = blob[: len(blob) // 2]
        elif damage == "empty":
            blob = bytearray()
        elif damage == "other size":
            blob[14] ^= 0x01  # the header's size field
        else:  # whole and self-consistent, but other bytes than its name says
            other = _python_like(99, len(entries[0].read()))
            packed = pack(other, COMPRESSIONS["default"].encoder)
            header = struct.pack(
                "<5sBIQQ", b"LPDF1", packed.method, packed.crc, packed.size, len(packed.payload)
            )
            body = header + packed.payload
            blob = bytearray(body + hashlib.sha256(body).digest())
        path.write_bytes(bytes(blob))
    again = write_archive(entries, tmp_path / "b.zip", packer=packer)
    assert again.sha256 == first.sha256
    assert _contents(tmp_path / "b.zip") == _contents(tmp_path / "a.zip")
    # and what the cache holds now is whole again
    cache = EntryCache(tmp_path / "cache")
    encoder = COMPRESSIONS["default"].encoder
    for entry in entries:
        sha = hashlib.sha256(entry.read()).hexdigest()
        assert cache.get(encoder, sha, entry.size) is not None


def test_the_wheels_bytes_are_kept_unless_recompressing_makes_them_smaller(
    tmp_path: Path,
) -> None:
    noise = os.urandom(5000)  # deflate cannot make it smaller
    text = _python_like(1, 50_000)
    wheel = tmp_path / "n-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("n/stored.bin", noise, compress_type=zipfile.ZIP_STORED)
        zf.writestr("n/deflated.bin", noise, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("n/text.py", text, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    with zipfile.ZipFile(wheel) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    packer = Packer(COMPRESSIONS["smallest"], EntryCache(tmp_path / "c"))

    def prepared(name: str) -> PreparedEntry:
        return packer.prepare(Entry(name, 0o644, "n", WheelMember(wheel, "0" * 64, infos[name])))

    stored = prepared("n/stored.bin")  # a tie: the wheel's bytes, as they are
    assert stored.raw_source is not None and stored.payload is None
    deflated = prepared("n/deflated.bin")  # deflate made it bigger: stored is smaller
    assert deflated.method == zipfile.ZIP_STORED and deflated.compressed_size == 5000
    recompressed = prepared("n/text.py")
    assert recompressed.payload is not None
    assert recompressed.compressed_size < infos["n/text.py"].compress_size


def test_encoders_make_valid_deflate_and_store_what_does_not_shrink() -> None:
    text = _python_like(7, 200_000)
    for name, compression in COMPRESSIONS.items():
        packed = pack(text, compression.encoder)
        assert packed.method == zipfile.ZIP_DEFLATED, name
        assert zlib.decompress(packed.payload, -15) == text
        assert packed.crc == zlib.crc32(text)
    noise = os.urandom(3000)
    assert pack(noise, COMPRESSIONS["default"].encoder).payload == noise
    # Members past the one-shot limit are deflated in chunks, still one valid stream.
    large = _python_like(3, 3 << 20)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("lpack.assemble.compress.STREAM_ABOVE", 1 << 20)
        assert zlib.decompress(Encoder("libdeflate", 10).deflate(large), -15) == large


def test_only_a_window_is_prepared_ahead_of_the_writer(tmp_path: Path) -> None:
    """Memory holds a few compressed entries, never the whole package."""
    entries = [Entry(f"f{i:04}.bin", 0o644, None, Generated(b"x" * (2 << 20))) for i in range(80)]
    started: list[str] = []
    lock = threading.Lock()

    class Counting(Packer):
        def prepare(self, entry: Entry) -> PreparedEntry:
            with lock:
                started.append(entry.path)
            return super().prepare(entry)

    most_ahead = 0
    for consumed, item in enumerate(prepared_entries(entries, Counting(), workers=2), 1):
        if not item.is_dir:
            with lock:
                most_ahead = max(most_ahead, len(started) - consumed)
    assert len(started) == 80
    assert most_ahead <= 64 // 2  # 64 MiB of 2 MiB entries at most


def test_build_default_compression_is_smaller_and_imports(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "alpha\nmeta-reader\n")
    out = {}
    for compression in ("fast", "default"):
        r = run_lpack(
            "build", str(project), "--runtime", HOST, "--format", "json",
            "--compression", compression, "-o", str(tmp_path / f"{compression}.zip"),
        )  # fmt: skip
        assert r.rc == 0, r.stderr
        out[compression] = r.json["output"]
    assert out["default"]["zipped_size"] <= out["fast"]["zipped_size"]
    assert out["default"]["unzipped_size"] == out["fast"]["unzipped_size"]
    assert _contents(tmp_path / "default.zip") == _contents(tmp_path / "fast.zip")


def test_large_members_are_deflated_as_streams_and_leave_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lpack.assemble.packer.STREAM_ABOVE", 100_000)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "spool"))
    (tmp_path / "spool").mkdir()
    source = tmp_path / "model.txt"
    source.write_bytes(_python_like(11, 300_000))
    entries = [
        *_wheel_entries(tmp_path),  # 60 kB members: one-shot
        Entry("model.txt", 0o644, None, SourceFile(source, source.stat().st_size)),
        Entry("big/blob.bin", 0o644, "big", Generated(_python_like(12, 250_000))),
    ]
    for compression in ("fast", "default"):
        out = tmp_path / f"{compression}.zip"
        write_archive(entries, out, packer=Packer(COMPRESSIONS[compression]))
        contents = _contents(out)
        assert contents["model.txt"] == source.read_bytes()
        assert contents["big/blob.bin"] == entries[-1].read()
    assert list((tmp_path / "spool").iterdir()) == []
    assert sorted(p.name for p in tmp_path.glob("*.zip")) == ["default.zip", "fast.zip"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_failed_write_leaves_no_spooled_member_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lpack.assemble.packer.STREAM_ABOVE", 100_000)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "spool"))
    (tmp_path / "spool").mkdir()
    out = tmp_path / "out" / "fn.zip"
    missing = tmp_path / "gone.py"
    entries = [
        Entry("a.py", 0o644, None, SourceFile(missing, 10)),  # fails when the writer gets it
        Entry("z/model.bin", 0o644, "z", Generated(_python_like(5, 400_000))),  # spooled first
    ]
    with pytest.raises(OSError):
        write_archive(entries, out, packer=Packer(COMPRESSIONS["default"]))
    assert list(out.parent.iterdir()) == [] and list((tmp_path / "spool").iterdir()) == []


def test_the_setting_is_read_from_pyproject_and_the_command_line(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", None, files={"app.py": ""})
    (project / "pyproject.toml").write_text('[tool.lpack]\ncompression = "smallest"\n')
    assert load_project(project).function.compression == "smallest"
    forced = load_project(project, cli_spec({"compression": "fast"})).function
    assert forced.compression == "fast" and forced.to_data()["compression"] == "fast"
    assert load_project(make_project(tmp_path / "q", None)).function.compression == "default"
    (project / "pyproject.toml").write_text('[tool.lpack]\ncompression = "zopfli"\n')
    with pytest.raises(ConfigError, match="`compression` = 'zopfli' .* fast, default, smallest"):
        load_project(project)


def test_large_members_are_cached_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lpack.assemble.packer.STREAM_ABOVE", 100_000)
    entries = [Entry("big/blob.bin", 0o644, "big", Generated(_python_like(13, 250_000)))]
    packer = Packer(COMPRESSIONS["default"], EntryCache(tmp_path / "cache"))
    first = write_archive(entries, tmp_path / "a.zip", packer=packer)

    def no_streaming(*args: object) -> None:
        raise AssertionError("a cached large member was compressed again")

    monkeypatch.setattr("lpack.assemble.packer.deflate_stream", no_streaming)
    assert write_archive(entries, tmp_path / "b.zip", packer=packer).sha256 == first.sha256
    assert _contents(tmp_path / "b.zip")["big/blob.bin"] == entries[0].read()
