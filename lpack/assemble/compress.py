"""How entries are deflated: the `compression` setting's encoders.

Lambda reads any valid deflate stream, and encoders differ in how small they make it.
Measured here on the 247 members of requests + pydantic (9.6 MB): zlib -9 gives 3.38 MB at
14 MB/s a thread; libdeflate -10 gives 3.26 MB (3.6 % smaller) at 15 MB/s, and -12 only
0.1 % more at half that speed. libdeflate comes from the `deflate` package, which bundles
one libdeflate build, so the same lpack install makes the same bytes on every machine; it
releases the GIL, so entries compress in parallel.

- fast: members that come unchanged from a wheel are copied as the wheel compressed them;
  everything else is deflated at libdeflate -6 (faster than zlib -6, and smaller).
- default: every file is deflated at libdeflate -10; a wheel member keeps its wheel's
  compressed bytes when those are smaller. The result is cached by content (entrycache.py),
  so each file is compressed once, ever.
- smallest: as default at libdeflate -12.
"""

from __future__ import annotations

import threading
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

import deflate

# One-shot encoders hold a member and its output in memory: past this size a member is
# deflated by zlib in chunks, into a temp file, so memory stays bounded (no Python package
# of a Lambda zip comes near it, but a model file or a bundled library can).
STREAM_ABOVE = 32 << 20
# A one-shot encoder holds its input, an output buffer as large, and the result: members
# past this size are compressed one at a time, whatever the thread pool's width.
ONE_AT_A_TIME_ABOVE = 16 << 20
_ONE_BIG = threading.Lock()
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Encoder:
    """A deflate encoder at one level; `name` identifies its output in caches."""

    library: str  # libdeflate | zlib
    level: int

    @property
    def name(self) -> str:
        version = deflate.__version__ if self.library == "libdeflate" else zlib.ZLIB_VERSION
        return f"{self.library}-{version}-{self.level}"

    def deflate(self, data: bytes) -> bytes:
        if self.library == "libdeflate" and len(data) <= STREAM_ABOVE:
            if len(data) <= ONE_AT_A_TIME_ABOVE:
                return bytes(deflate.deflate_compress(data, self.level))
            with _ONE_BIG:
                return bytes(deflate.deflate_compress(data, self.level))
        compressor = zlib.compressobj(min(self.level, 9), zlib.DEFLATED, -15)
        view = memoryview(data)
        parts = [compressor.compress(view[i : i + _CHUNK]) for i in range(0, len(data), _CHUNK)]
        return b"".join([*parts, compressor.flush()])


@dataclass(frozen=True)
class Compression:
    """What a `compression` setting means for the writer."""

    name: str
    encoder: Encoder
    recompress_wheel_members: bool


COMPRESSIONS = {
    "fast": Compression("fast", Encoder("libdeflate", 6), recompress_wheel_members=False),
    "default": Compression("default", Encoder("libdeflate", 10), recompress_wheel_members=True),
    "smallest": Compression("smallest", Encoder("libdeflate", 12), recompress_wheel_members=True),
}
DEFAULT_COMPRESSION = "default"
# What deflate_stream makes of members past STREAM_ABOVE, whatever the setting.
STREAM_ENCODER = Encoder("zlib", 9)


def deflate_stream(chunks: Iterable[bytes], out: BinaryIO, level: int) -> tuple[int, int, int]:
    """Deflate chunks into out as one raw stream: (crc, size, compressed size). For members
    past STREAM_ABOVE: memory holds a chunk, never the member."""
    compressor = zlib.compressobj(min(level, 9), zlib.DEFLATED, -15)
    crc = size = written = 0
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
        packed = compressor.compress(chunk)
        out.write(packed)
        written += len(packed)
    tail = compressor.flush()
    out.write(tail)
    return crc, size, written + len(tail)


@dataclass(frozen=True)
class Packed:
    """An entry's bytes as the zip stores them."""

    method: int
    crc: int
    size: int
    payload: bytes


def pack(data: bytes, encoder: Encoder) -> Packed:
    """Deflated, or stored when deflating would not make it smaller."""
    crc = zlib.crc32(data)
    if not data:
        return Packed(zipfile.ZIP_STORED, crc, 0, b"")
    packed = encoder.deflate(data)
    if len(packed) >= len(data):
        return Packed(zipfile.ZIP_STORED, crc, len(data), data)
    return Packed(zipfile.ZIP_DEFLATED, crc, len(data), packed)
