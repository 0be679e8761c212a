"""How each entry becomes the bytes the zip holds (see compress.py for the `compression`
settings): a wheel member's own compressed bytes, or the entry deflated again, from the
cache of compressed entries when it holds them; members past STREAM_ABOVE are deflated as
streams into temp files, so memory holds a chunk of them, never the member."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lpack.assemble.compress import (
    COMPRESSIONS,
    STREAM_ABOVE,
    STREAM_ENCODER,
    Compression,
    Packed,
    deflate_stream,
    pack,
)
from lpack.assemble.entries import Entry, SourceFile, WheelMember, content_sha256
from lpack.assemble.entrycache import EntryCache
from lpack.assemble.stripcache import StrippedBlob
from lpack.files import temp_beside

DIR_ATTR = ((0o040000 | 0o755) << 16) | 0x10  # a folder, drwxr-xr-x, and the MS-DOS flag


@dataclass(frozen=True)
class PreparedEntry:
    """An entry as the archive stores it: its header fields and where its bytes are."""

    path: str
    mode: int
    is_dir: bool
    method: int
    crc: int
    size: int
    compressed_size: int
    dist: str | None
    payload: bytes | None  # compressed bytes, or None for a raw copy from the wheel
    raw_source: tuple[Path, int, int] | None = None  # (wheel, data offset, length)
    spooled: bool = False  # raw_source is a temp file of ours, removed once copied

    @property
    def external_attr(self) -> int:
        return DIR_ATTR if self.is_dir else (0o100000 | self.mode) << 16


@dataclass(frozen=True)
class Packer:
    """How entries become the bytes the zip holds: a `compression` and, when compressing
    costs time worth saving, the cache of compressed entries."""

    compression: Compression = COMPRESSIONS["fast"]
    cache: EntryCache | None = None
    spool: Path | None = None  # large members are deflated to temp files beside this path
    # Every temp file spooled, registered before it is written: whatever interrupts the
    # write, archive.prepared_entries removes them all when it ends.
    spooled_files: set[Path] = field(default_factory=set)

    def prepare(self, entry: Entry) -> PreparedEntry:
        """The bytes the archive will hold for this entry: the wheel's compressed bytes
        when the setting keeps them or they are the smallest, else deflated (cached)."""
        source = entry.source
        raw = source.raw_location() if isinstance(source, WheelMember) else None
        if raw is not None and not self.compression.recompress_wheel_members:
            return _raw_copy(entry, raw)
        if entry.size > STREAM_ABOVE:
            return self._streamed(entry, raw)
        packed = self._packed(entry)
        if raw is not None and raw[2] <= len(packed.payload):
            return _raw_copy(entry, raw)  # the wheel's encoder did as well: keep its bytes
        return _packed_entry(entry, packed)

    def _packed(self, entry: Entry) -> Packed:
        encoder = self.compression.encoder
        # The function's own files are what users edit: caching each version would only
        # grow the cache, and they are compressed in parallel with everything else.
        cache = self.cache if entry.dist is not None else None
        if cache is None:
            return pack(entry.read(), encoder)
        sha256 = content_sha256(entry)
        found = cache.get(encoder, sha256, entry.size)
        if found is None:
            found = pack(entry.read(), encoder)
            cache.put(encoder, sha256, found)
        return found

    def _streamed(self, entry: Entry, raw: tuple[Path, int, int] | None) -> PreparedEntry:
        """A large member deflated chunk by chunk into a temp file the writer copies (and
        removes), kept in the cache like any entry; the wheel's bytes when no bigger."""
        cache = self.cache if entry.dist is not None else None
        sha256 = content_sha256(entry) if cache is not None else ""
        found = cache.get(STREAM_ENCODER, sha256, entry.size) if cache is not None else None
        if found is not None:
            if raw is not None and raw[2] <= len(found.payload):
                return _raw_copy(entry, raw)
            return _packed_entry(entry, found)
        # Beside the output, named as lpack's temps are: a killed build's are removed by the
        # next build (files.remove_stale_temps).
        fd, name = temp_beside(self.spool) if self.spool else tempfile.mkstemp(suffix=".tmp")
        self.spooled_files.add(Path(name))
        try:
            with os.fdopen(fd, "wb") as out:
                crc, size, length = deflate_stream(_chunks(entry), out, STREAM_ENCODER.level)
        except BaseException:
            os.unlink(name)
            raise
        if cache is not None:
            cache.put_file(STREAM_ENCODER, sha256, (zipfile.ZIP_DEFLATED, crc, size), Path(name))
        if raw is not None and raw[2] <= length:
            os.unlink(name)
            return _raw_copy(entry, raw)
        fields = (entry.path, entry.mode, False, zipfile.ZIP_DEFLATED, crc, size, length)
        return PreparedEntry(*fields, entry.dist, None, (Path(name), 0, length), spooled=True)


def _chunks(entry: Entry) -> Iterator[bytes]:
    source = entry.source
    if isinstance(source, WheelMember | SourceFile | StrippedBlob):
        opened = source.open()
        with opened:
            while chunk := opened.read(1 << 20):
                yield chunk
    else:
        yield entry.read()


def _packed_entry(entry: Entry, packed: Packed) -> PreparedEntry:
    fields = (entry.path, entry.mode, False, packed.method, packed.crc, packed.size)
    return PreparedEntry(*fields, len(packed.payload), entry.dist, packed.payload)


def _raw_copy(entry: Entry, raw: tuple[Path, int, int]) -> PreparedEntry:
    assert isinstance(entry.source, WheelMember)
    member = entry.source.member
    return PreparedEntry(
        entry.path,
        entry.mode,
        False,
        member.compress_type,
        member.CRC,
        member.file_size,
        member.compress_size,
        entry.dist,
        None,
        raw,
    )


def prepare_entry(entry: Entry, packer: Packer | None = None) -> PreparedEntry:
    return (packer or Packer()).prepare(entry)
