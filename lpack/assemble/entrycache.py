"""Compressed entries, cached by what they hold: each file is compressed once, ever.

A file lives at deflated/<encoder>/<sha256[:2]>/<sha256>, named by the sha256 of its
uncompressed bytes as lpack computed it (never a wheel's RECORD claim) and by the encoder
and level that made it. The file holds a header (method, CRC, size) and the compressed
bytes, and ends with the sha256 of both. A hit is inflated and must give exactly the bytes
its name says: a damaged, truncated or forged file reads as a miss and is compressed
again. Writes go to a temp file that is renamed, so concurrent builds only
ever see whole files.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
import zipfile
import zlib
from pathlib import Path

from lpack.assemble.compress import Encoder, Packed
from lpack.files import remove_stale_temps, write_atomic_parts

_MAGIC = b"LPDF1"
_HEADER = struct.Struct("<5sBIQQ")  # magic, method, crc, size, compressed size
_DIGEST = 32
_CHUNK = 1 << 20


def _holds(packed: Packed, sha256: str) -> bool:
    """The payload inflates to the bytes its name says, with its CRC: whatever wrote the
    file, the zip holds exactly the entry's content. Inflating is ~20x faster than
    compressing at level 10, so this check costs little of what the cache saves; it runs
    a megabyte at a time, so memory holds the payload and one chunk."""
    digest, crc, size = hashlib.sha256(), 0, 0
    if packed.method == zipfile.ZIP_STORED:
        digest.update(packed.payload)
        crc, size = zlib.crc32(packed.payload), len(packed.payload)
    elif packed.method == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        pending = memoryview(packed.payload)
        try:
            while pending or inflater.unconsumed_tail:
                source = inflater.unconsumed_tail or pending[:_CHUNK]
                pending = pending[_CHUNK:] if not inflater.unconsumed_tail else pending
                chunk = inflater.decompress(source, _CHUNK)
                digest.update(chunk)
                crc, size = zlib.crc32(chunk, crc), size + len(chunk)
                if size > packed.size or inflater.eof:
                    break
            rest = inflater.flush()  # what the last call held back, if anything
            digest.update(rest)
            crc, size = zlib.crc32(rest, crc), size + len(rest)
        except zlib.error:
            return False
        if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data or pending:
            return False
    else:
        return False
    return size == packed.size and crc == packed.crc and digest.hexdigest() == sha256


class EntryCache:
    def __init__(self, root: Path) -> None:
        self.root = root / "deflated"
        self._cleaned: set[Path] = set()

    def _path(self, encoder: Encoder, sha256: str) -> Path:
        return self.root / encoder.name / sha256[:2] / sha256

    def get(self, encoder: Encoder, sha256: str, size: int) -> Packed | None:
        """The cached entry for these bytes, or None (absent, damaged, or for other bytes)."""
        try:
            blob = self._path(encoder, sha256).read_bytes()
        except OSError:
            return None
        if len(blob) < _HEADER.size + _DIGEST:
            return None
        body, digest = blob[:-_DIGEST], blob[-_DIGEST:]
        magic, method, crc, stored_size, compressed = _HEADER.unpack_from(body)
        if (
            magic != _MAGIC
            or stored_size != size
            or compressed != len(body) - _HEADER.size
            or hashlib.sha256(body).digest() != digest
        ):
            return None
        packed = Packed(method, crc, size, body[_HEADER.size :])
        return packed if _holds(packed, sha256) else None

    def put_file(
        self, encoder: Encoder, sha256: str, fields: tuple[int, int, int], payload: Path
    ) -> None:
        """put() of a payload held in a file (method, crc, size in fields), read in chunks."""
        method, crc, size = fields
        length = payload.stat().st_size
        header = _HEADER.pack(_MAGIC, method, crc, size, length)
        digest = hashlib.sha256(header)
        with open(payload, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        path = self._path(encoder, sha256)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(payload, "rb") as fh:
                chunks = iter(lambda: fh.read(_CHUNK), b"")
                write_atomic_parts(path, itertools.chain([header], chunks, [digest.digest()]))
        except OSError:
            pass

    def put(self, encoder: Encoder, sha256: str, packed: Packed) -> None:
        header = _HEADER.pack(_MAGIC, packed.method, packed.crc, packed.size, len(packed.payload))
        digest = hashlib.sha256(header)
        digest.update(packed.payload)
        path = self._path(encoder, sha256)
        try:
            if path.parent not in self._cleaned:
                path.parent.mkdir(parents=True, exist_ok=True)
                remove_stale_temps(path.parent, min_age=600)  # what a killed build left
                self._cleaned.add(path.parent)
            # Written in pieces, never joined: a 20 MB payload is not copied twice more.
            write_atomic_parts(path, [header, packed.payload, digest.digest()])
        except OSError:
            pass  # a full or read-only cache costs the next build this compression again
