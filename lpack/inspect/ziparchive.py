"""Reading anybody's zip with bounded work: refuse bombs from their headers, name what zip
readers disagree on, and check every member's bytes against its CRC.

A hostile archive must cost lpack what its headers say, never what its data claims: the
end-of-central-directory record is read before Python's zipfile parses a single entry,
and the CRC pass streams members through a fixed-size buffer.
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path

from lpack.errors import ContentsError

# Refuse archives whose declared sizes could exhaust memory or disk if anything read them.
MAX_ENTRIES = 500_000
# 16x Lambda's own 250 MiB: anything larger is not a package lpack needs to look inside.
MAX_UNZIPPED = 4 * 1024**3
# Bytes of central directory: 500,000 entries with names of about 150 characters.
MAX_CENTRAL_DIRECTORY = 96 * 1024**2
# Deflate tops out near 1032x on runs of one byte; real package files above 10 MiB stay
# far below 200x (the most compressible seen in scipy, pandas and pyarrow wheels: 235x,
# on a 0.5 MiB test table).
MAX_RATIO = 200
RATIO_CHECKED_ABOVE = 10 * 1024**2
_CHUNK = 1 << 20
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"


def _end_record(fh: mmap.mmap | bytes) -> tuple[int, int, int] | None:
    """(entries, central directory size, where it starts) as zipfile will read them: the
    directory ends where the (zip64) end record begins, whatever offset it states. None
    when there is no end record (zipfile then reports the damage in its own words)."""
    tail_start = max(0, len(fh) - 65_557)
    at = fh.rfind(_EOCD, tail_start)
    if at < 0 or at + 22 > len(fh):
        return None
    entries, size = struct.unpack("<HI", fh[at + 10 : at + 16])
    end = at
    locator = at - 20
    record_at = locator - 56  # zipfile reads the zip64 record just before its locator
    if record_at >= 0 and fh[locator : locator + 4] == _ZIP64_LOCATOR:
        record = fh[record_at:locator]
        if record[:4] == _ZIP64_EOCD:
            entries, size = struct.unpack("<QQ", record[32:48])
            end = record_at
    return entries, size, end - size


def refuse_oversized_directory(path: Path) -> None:
    """Refuse, from the end records and a signature count alone, an archive that declares
    more entries than lpack reads: zipfile would build every entry first (2 M entries cost
    12 s and 1 GiB before any check could run). A FIFO or device is never opened here."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return  # zipfile's open reports it
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or os.fstat(fd).st_size == 0:
            return
        with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as view:
            end = _end_record(view)
            if end is None:
                return
            entries, size, start = end
            if size > MAX_CENTRAL_DIRECTORY or entries > MAX_ENTRIES:
                shown = f"{entries:,} entries" if entries > MAX_ENTRIES else f"{size:,} B"
                _refuse_directory(path, f"declares a central directory of {shown}")
            # Every entry begins with this signature, so the count bounds the entries even
            # when the end record understates them.
            found = view[max(start, 0) : max(start, 0) + size].count(_CENTRAL)
            if found > MAX_ENTRIES:
                _refuse_directory(path, f"holds {found:,} central directory entries")
    except (OSError, ValueError, struct.error):
        return  # unreadable: zipfile says why
    finally:
        os.close(fd)


def _refuse_directory(path: Path, what: str, early: bool = True) -> None:
    when = " and refused it before reading any" if early else ""
    raise ContentsError(
        f"{path} {what}; lpack reads at most {MAX_ENTRIES:,} entries "
        f"({MAX_CENTRAL_DIRECTORY // 1024**2} MiB of directory){when}.",
        hint="this is not a Lambda package (Lambda unzips at most 250 MiB) or it is a zip bomb.",
    )


def check_bomb(infos: list[zipfile.ZipInfo], source: Path) -> None:
    """Refuse what the central directory says would inflate past any real package, and
    entries with no name (zipfile's own methods fail on them)."""
    if len(infos) > MAX_ENTRIES:
        _refuse_directory(source, f"declares {len(infos):,} entries", early=False)
    if any(i.header_offset < 0 for i in infos):
        raise ContentsError(
            f"{source}: its end record places members before the start of the file: the "
            "central directory is damaged.",
            hint="rebuild the zip.",
        )
    if any(not i.filename for i in infos):
        raise ContentsError(
            f"{source} holds an entry with an empty name: its central directory is damaged.",
            hint="rebuild the zip.",
        )
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED:
        raise ContentsError(
            f"{source} declares {total:,} B unzipped; lpack refuses more than "
            f"{MAX_UNZIPPED:,} B without reading it (a zip bomb or not a Lambda package).",
            hint="Lambda's own limit is 262,144,000 B unzipped.",
        )
    for info in infos:
        if info.file_size > RATIO_CHECKED_ABOVE and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise ContentsError(
                f"{source}: {info.filename!r} inflates {info.compress_size:,} B to "
                f"{info.file_size:,} B (more than {MAX_RATIO}x): refused as a zip bomb.",
                hint=f"no real package file above {RATIO_CHECKED_ABOVE // 1024**2} MiB "
                f"compresses {MAX_RATIO}x; rebuild the zip from the files it should hold.",
            )
    spans = sorted((i.header_offset, i.header_offset + 30 + i.compress_size) for i in infos)
    for (start_a, end_a), (start_b, _) in zip(spans, spans[1:], strict=False):
        if start_b < end_a or start_b == start_a:
            raise ContentsError(
                f"{source} has overlapping members (a zip bomb technique); refused.",
            )


def archive_defects(infos: list[zipfile.ZipInfo]) -> list[tuple[str, str]]:
    """Names that different zip readers resolve differently: the same name twice (which copy
    does Lambda's unzip keep?), a NUL in a name (cut short by some readers, not others), and
    a path that is a file here and a folder of other entries there."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    folders: set[str] = set()
    for info in infos:
        name = info.filename.rstrip("/")
        if "\x00" in info.orig_filename:
            shown = info.orig_filename.replace("\x00", "\\0")
            found.append(
                (name, f"its name holds a NUL byte ({shown!r}); readers cut it at different places")
            )
        elif name in seen:
            found.append(
                (name, "the archive holds this name twice; which copy an unzip keeps differs")
            )
        seen.add(name)
        # Parents of this name, longest first; stop at one already known (keeps it linear).
        parent = name.rpartition("/")[0]
        while parent and parent not in folders:
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    for info in infos:
        name = info.filename.rstrip("/")
        if not info.is_dir() and name in folders:
            found.append((name, "a file of that name is also a folder of other entries"))
    return found


def damaged_members(path: Path, infos: list[zipfile.ZipInfo]) -> list[tuple[str, str]]:
    """Members whose bytes are not what the central directory says: a CRC or size that does
    not match, data that does not inflate, a method Lambda cannot unzip, or a local header
    that names another file (the central directory and a streaming unzip then disagree).

    Reads the archive once, in offset order, through a fixed buffer."""
    found: list[tuple[str, str]] = []
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
            for info in sorted(infos, key=lambda i: i.header_offset):
                if info.is_dir() and not info.file_size:
                    continue
                problem = _member_problem(view, info)
                if problem:
                    found.append((info.filename, problem))
    except (OSError, ValueError) as exc:
        found.append(("", f"the archive could not be read again: {exc}"))
    return found


def _member_problem(view: mmap.mmap, info: zipfile.ZipInfo) -> str | None:
    header = view[info.header_offset : info.header_offset + 30]
    if len(header) < 30 or header[:4] != _LOCAL:
        return "no local header where the central directory points"
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    start = info.header_offset + 30
    local_name = view[start : start + name_len]
    if local_name != info.orig_filename.encode("utf-8") and local_name != _cp437(info):
        shown = local_name.decode("utf-8", "replace")
        return f"its local header names {shown!r}: a streaming unzip sees another file"
    data_at = start + name_len + extra_len
    if data_at + info.compress_size > len(view):
        return "its data runs past the end of the archive"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return f"compression method {info.compress_type}: Lambda unzips stored and deflate only"
    return _check_data(view, data_at, info)


def _cp437(info: zipfile.ZipInfo) -> bytes:
    try:
        return info.orig_filename.encode("cp437")
    except UnicodeEncodeError:
        return b""


def _check_data(view: mmap.mmap, data_at: int, info: zipfile.ZipInfo) -> str | None:
    crc, size = 0, 0
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    position, end = data_at, data_at + info.compress_size
    try:
        while position < end:
            chunk = view[position : min(end, position + _CHUNK)]
            position += len(chunk)
            if inflater is not None:
                # Bounded output per call: a member lying about its size cannot balloon.
                chunk = inflater.decompress(chunk, _CHUNK)
                while True:
                    crc, size = zlib.crc32(chunk, crc), size + len(chunk)
                    if size > info.file_size or not inflater.unconsumed_tail:
                        break
                    chunk = inflater.decompress(inflater.unconsumed_tail, _CHUNK)
            else:
                crc, size = zlib.crc32(chunk, crc), size + len(chunk)
            if size > info.file_size:
                return f"inflates past its declared {info.file_size:,} B"
        if inflater is not None:
            tail = inflater.flush()
            crc, size = zlib.crc32(tail, crc), size + len(tail)
    except zlib.error as exc:
        return f"its data does not inflate ({exc})"
    if size != info.file_size:
        return f"holds {size:,} B where the directory says {info.file_size:,} B"
    if crc != info.CRC:
        return f"bad CRC-32 (computed {crc:08x}, stored {info.CRC:08x}): the bytes are damaged"
    return None
