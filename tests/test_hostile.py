"""Hostile and damaged packages cost lpack bounded time and memory, and each is named.

The corpus is generated (fixtures/hostile.py) at sizes that keep the suite fast; the
benchmark tests/bench/hostile.py runs it at the issue's full sizes. Every lpack run here is
a fresh process whose exit code, message, wall time and peak RSS are measured.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile
from pathlib import Path

import hostile
import pytest
from make_index import make_wheel

from lpack.assemble.entries import Entry
from lpack.assemble.layout import add_wheel
from lpack.assemble.record import record_hash
from lpack.assemble.wheelcheck import member_digests
from lpack.errors import BuildError
from lpack.inspect.ziparchive import MAX_ENTRIES
from lpack.resolve.cache import sha256_file
from lpack.resolve.fetch import FetchedWheel

MiB = 1024**2
# What lpack may cost on any input here: the caps the README states for hostile input.
PEAK_RSS_CAP_MIB = 150
SECONDS_CAP = 60


def measured(*args: str) -> hostile.Measured:
    return hostile.measured(*args, timeout=SECONDS_CAP * 2)


def within_caps(run: hostile.Measured) -> None:
    assert run.seconds < SECONDS_CAP, f"{run.seconds:.1f} s"
    assert run.peak_mib < PEAK_RSS_CAP_MIB, f"peak RSS {run.peak_mib:.0f} MiB"


REFUSED = {
    "zeros-bomb.zip": (lambda p: hostile.zeros_bomb(p, 64 * MiB), "refused as a zip bomb"),
    "many-entries.zip": (
        lambda p: hostile.many_entries(p, MAX_ENTRIES + 1000),
        "refused it before reading any",
    ),
    "deep-zip.zip": (hostile.deep_zip, "nested more than"),
    "deep-folder": (hostile.deep_folder, "nested more than"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
@pytest.mark.parametrize("command", ["lint", "report"])
def test_hostile_archives_are_refused_early_with_a_reason(
    tmp_path: Path, case: str, command: str
) -> None:
    make, reason = REFUSED[case]
    target = make(tmp_path / case)
    run = measured(command, str(target), "--runtime", "python3.12")
    assert run.rc == 2, run.stderr
    assert reason in run.stderr and str(target) in run.stderr
    assert "Traceback" not in run.stderr
    within_caps(run)


def test_refusals_are_json_documents_under_format_json(tmp_path: Path) -> None:
    target = hostile.zeros_bomb(tmp_path / "bomb.zip", 64 * MiB)
    run = measured("lint", str(target), "--runtime", "python3.12", "--format", "json")
    assert run.rc == 2
    document = json.loads(run.stdout)
    assert document["ok"] is False and "zip bomb" in document["error"]["message"]


def test_a_huge_binary_is_read_through_its_tables_not_held_in_memory(tmp_path: Path) -> None:
    # 384 MiB of library in a ~4 MB zip, under the bomb ratio: only streaming keeps it small.
    target = hostile.big_binary(tmp_path / "big.zip", 384 * MiB)
    assert target.stat().st_size < 8 * MiB
    run = measured("lint", str(target), "--runtime", "python3.12", "--format", "json")
    within_caps(run)
    findings = json.loads(run.stdout)["findings"]
    # The needs were read from .dynamic at the file's end: libfoo.so.1 ships nowhere.
    assert any(f["code"] == "LP209" and "libfoo.so.1" in f["message"] for f in findings), findings


@pytest.mark.parametrize("with_handler", [False, True])
def test_a_dense_handler_module_is_scanned_not_parsed(tmp_path: Path, with_handler: bool) -> None:
    target = hostile.huge_module(tmp_path / "app.zip", 9 * MiB, with_handler=with_handler)
    run = measured(
        "lint", str(target), "--runtime", "python3.12", "--handler", "app.handler",
        "--format", "json",
    )  # fmt: skip
    within_caps(run)
    codes = {f["code"] for f in json.loads(run.stdout)["findings"]}
    assert "LP501" not in codes
    # Without the function, lpack says it could not check rather than claim it is there.
    assert ("LP409" in codes) is not with_handler


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (hostile.bad_crc, "bad CRC-32"),
        (hostile.renamed_local_header, "its local header names 'bad.py'"),
    ],
)
def test_damaged_members_are_lint_findings(tmp_path: Path, make, said: str) -> None:
    target = make(tmp_path / "damaged.zip")
    run = measured(
        "lint", str(target), "--runtime", "python3.12", "--handler", "app.handler",
        "--format", "json",
    )  # fmt: skip
    assert run.rc == 1, run.stderr
    findings = json.loads(run.stdout)["findings"]
    assert [(f["code"], f["path"]) for f in findings] == [("LP408", "app.py")]
    assert said in findings[0]["message"]


def test_an_intact_zip_has_no_damaged_member(tmp_path: Path) -> None:
    target = tmp_path / "fine.zip"
    info = zipfile.ZipInfo("app.py", (1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100644 << 16
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(info, b"def handler(event, context):\n    return 1\n" * 50)
    run = measured("lint", str(target), "--runtime", "python3.12", "--format", "json")
    assert run.rc == 0 and json.loads(run.stdout)["findings"] == []


def test_a_200k_entry_zip_is_linted_within_the_caps(tmp_path: Path) -> None:
    target = hostile.many_entries(tmp_path / "many.zip", 200_000)
    run = measured("lint", str(target), "--runtime", "python3.12", "--format", "json")
    assert run.rc == 0, run.stderr
    assert run.seconds < SECONDS_CAP
    assert run.peak_mib < 400  # 200,000 entries: the model itself, not a hostile cost


# --- wheels a build copies from ---------------------------------------------------------


def _fetched(path: Path) -> FetchedWheel:
    return FetchedWheel("demo", "1.0", path, path.name, sha256_file(path), cached=True)


def _rewrite(wheel: Path, change) -> None:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(wheel) as zf:
        members = [(i, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            zf.writestr(info, change(info.filename, data))


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("LPACK_CACHE_DIR", str(root))
    return root


def test_a_lying_record_never_reaches_the_shipped_record(tmp_path: Path, cache: Path) -> None:
    code = b"def f():\n    return 1\n"
    wheel = make_wheel(tmp_path / "w", "demo", "1.0", files={"demo/__init__.py": code})
    _rewrite(
        wheel,
        lambda name, data: (
            data.replace(record_hash(code).encode(), record_hash(b"other").encode())
            if name.endswith("RECORD")
            else data
        ),
    )
    entries: dict[str, Entry] = {}
    warnings: list[str] = []
    add_wheel(entries, _fetched(wheel), warnings)
    assert entries["demo/__init__.py"].record_hash == record_hash(code)
    assert any("RECORD gives wrong hashes for 1 file(s)" in w for w in warnings), warnings


def test_a_damaged_wheel_member_stops_the_build(tmp_path: Path, cache: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    raw = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(wheel) as zf:
        info = zf.getinfo("demo/__init__.py")
    at = info.header_offset + 30 + len(info.filename) + 2
    raw[at] ^= 0xFF
    wheel.write_bytes(bytes(raw))
    with pytest.raises(BuildError, match=r"is damaged: its member 'demo/__init__.py'"):
        member_digests(_fetched(wheel))


def test_member_digests_are_cached_and_a_stale_record_is_recomputed(
    tmp_path: Path, cache: Path
) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    first = member_digests(_fetched(wheel))
    (record,) = (cache / "members").rglob("*.json")
    stored = json.loads(record.read_text())
    assert stored["digests"] == first
    stored["members"]["demo/__init__.py"][1] ^= 1  # a record for other bytes
    stored["digests"]["demo/__init__.py"] = "sha256=forged"
    record.write_text(json.dumps(stored))
    assert member_digests(_fetched(wheel)) == first
    record.write_text("{not json")
    assert member_digests(_fetched(wheel)) == first


# --- binaries the loader would refuse ----------------------------------------------------


def _zip_of(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            zf.writestr(info, data)
    return path


def test_a_library_that_is_not_elf_is_an_unloadable_binary(tmp_path: Path) -> None:
    real = hostile.elf_header(0, sections=0) + bytes(200)
    target = _zip_of(
        tmp_path / "fn.zip",
        {
            "pkg/_text.cpython-312-x86_64-linux-gnu.so": b"this is not a library\n",
            "pkg/_cut.cpython-312-x86_64-linux-gnu.so": real[:40],  # a truncated download
            "lib/libempty.so.1": b"",
            "pkg/notes.so.json": b"{}",  # not a name the loader opens
        },
    )
    run = measured("lint", str(target), "--runtime", "python3.12", "--format", "json")
    assert run.rc == 1
    found = {
        f["path"]: f["message"] for f in json.loads(run.stdout)["findings"] if f["code"] == "LP210"
    }
    assert set(found) == {
        "pkg/_text.cpython-312-x86_64-linux-gnu.so",
        "pkg/_cut.cpython-312-x86_64-linux-gnu.so",
        "lib/libempty.so.1",
    }
    assert (
        "not an ELF file (it begins b'this')" in found["pkg/_text.cpython-312-x86_64-linux-gnu.so"]
    )
    assert "it is empty" in found["lib/libempty.so.1"]


def test_a_binary_table_past_the_read_cap_is_not_inspected_not_unloadable(tmp_path: Path) -> None:
    # A .dynamic section claiming 17 MiB: within the file, but more than lpack reads.
    body_end, dynamic_size = 256, 17 * MiB
    shoff = body_end + dynamic_size
    strings = struct.pack("<IIQQQQIIQQ", 0, 3, 0, 0, 0, 0, 0, 0, 1, 0)
    dynamic = struct.pack("<IIQQQQIIQQ", 1, 6, 2, 0, body_end, dynamic_size, 2, 0, 8, 16)
    headers = bytes(64) + dynamic + strings + strings  # null, .dynamic, .dynstr, .shstrtab
    head = hostile.elf_header(shoff, sections=4)
    data = head + bytes(shoff - len(head)) + headers
    folder = tmp_path / "fn"
    (folder / "lib").mkdir(parents=True)
    (folder / "lib" / "libhuge.so").write_bytes(data + bytes(16 * MiB))  # over 32 MiB: streamed
    run = measured("lint", str(folder), "--runtime", "python3.12", "--format", "json")
    codes = {(f["code"], f["path"]) for f in json.loads(run.stdout)["findings"]}
    assert ("LP409", "lib/libhuge.so") in codes
    assert not any(code == "LP210" for code, _ in codes)


@pytest.mark.parametrize("trick", ["offset-zero", "fake-record"])
def test_the_entry_count_is_read_where_zipfile_reads_the_directory(
    tmp_path: Path, trick: str
) -> None:
    # zipfile finds the directory just before the end record, whatever the offsets say; a
    # count taken where they point could be fooled into passing 500,000+ entries.
    path = hostile.many_entries(tmp_path / "many.zip", MAX_ENTRIES + 1000)
    data = bytearray(path.read_bytes())
    record = data.rindex(b"PK\x06\x06")
    if trick == "offset-zero":  # the directory is said to start at byte 0 (local headers)
        data[record + 48 : record + 56] = bytes(8)
    else:  # a small zip64 record at byte 0, and the locator pointing there
        locator = data.rindex(b"PK\x06\x07")
        data[locator + 8 : locator + 16] = bytes(8)
        fake = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1, 60, 0)
        data = bytearray(fake) + data
    path.write_bytes(bytes(data))
    run = measured("lint", str(path), "--runtime", "python3.12")
    assert run.rc == 2 and "refused it before reading any" in run.stderr, run.stderr
    within_caps(run)


@pytest.mark.parametrize(
    "make", [hostile.many_needs, hostile.overlapping_versions], ids=["needs", "versions"]
)
def test_a_binary_naming_too_much_is_not_inspected_at_bounded_cost(tmp_path: Path, make) -> None:
    target = hostile._one_library(tmp_path / "odd.zip", make())
    run = measured("lint", str(target), "--runtime", "python3.12", "--format", "json")
    within_caps(run)
    assert run.seconds < 10
    findings = {(f["code"], f["path"]) for f in json.loads(run.stdout)["findings"]}
    assert ("LP409", "lib/libodd.so") in findings


def test_a_damaged_library_is_a_finding_not_an_abort(tmp_path: Path) -> None:
    library = hostile._library_with(6, struct.pack("<qQ", 0, 0), b"\0")
    target = tmp_path / "fn.zip"
    info = zipfile.ZipInfo("lib/libfoo.so", (1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100644 << 16
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(info, library)
    raw = bytearray(target.read_bytes())
    raw[30 + len("lib/libfoo.so") + 100] ^= 0xFF  # a byte of the body, after the header
    target.write_bytes(bytes(raw))
    run = measured("lint", str(target), "--runtime", "python3.12", "--format", "json")
    assert run.rc == 1, run.stderr
    codes = {(f["code"], f["path"]) for f in json.loads(run.stdout)["findings"]}
    assert ("LP408", "lib/libfoo.so") in codes


def test_reading_back_and_forth_through_a_compressed_member_has_a_budget(tmp_path: Path) -> None:
    from lpack import elf

    target = _zip_of(tmp_path / "lib.zip", {"lib/libx.so": os.urandom(2 * MiB)})
    with zipfile.ZipFile(target) as zf, zf.open("lib/libx.so") as fh:
        view = elf.FileView(fh, 2 * MiB, inflated=True)  # type: ignore[arg-type]
        with pytest.raises(elf.ElfTooLarge, match="back and forth"):
            for _ in range(100):  # each return to the start inflates the member again
                assert view[2 * MiB - 16 : 2 * MiB] and view[0:16]
                view._blocks.clear()  # as a hostile file's spread-out lookups would
