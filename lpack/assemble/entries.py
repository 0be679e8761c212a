"""One file of the package and where its bytes come from: a wheel member, a source file or
bytes lpack generated. Each source opens itself and names its content with a stable key."""

from __future__ import annotations

import base64
import hashlib
import struct
import zipfile
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import IO, Protocol

from lpack.errors import BuildError


class EntrySource(Protocol):
    """Where an entry's bytes come from."""

    @property
    def size(self) -> int: ...

    @property
    def content_key(self) -> str:
        """Names exactly these bytes: equal keys mean equal content, on any machine."""
        ...

    def read(self) -> bytes: ...


@lru_cache(maxsize=32)
def _open_wheel(path: Path) -> zipfile.ZipFile:
    # Reading thousands of members one ZipFile at a time would reparse the central
    # directory each time; ZipFile reads are safe to share between threads.
    return zipfile.ZipFile(path)


def close_wheels() -> None:
    _open_wheel.cache_clear()  # the ZipFiles close when collected


@dataclass(frozen=True)
class WheelMember:
    """A member of a verified wheel, still compressed inside it."""

    wheel: Path
    wheel_sha256: str  # what the lock allowed: it pins every member's bytes
    member: zipfile.ZipInfo

    @property
    def size(self) -> int:
        return self.member.file_size

    @property
    def content_key(self) -> str:
        return f"wheel:{self.wheel_sha256}:{self.member.filename}"

    def read(self) -> bytes:
        return _open_wheel(self.wheel).read(self.member)

    def open(self) -> IO[bytes]:
        """The member's bytes as a stream (zipfile checks the CRC at its end)."""
        return _open_wheel(self.wheel).open(self.member)

    def raw_location(self) -> tuple[Path, int, int] | None:
        """(wheel, offset, length) of the compressed bytes when a zip can copy them as they
        are (stored or deflated); None for other methods."""
        if self.member.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
            return None
        with open(self.wheel, "rb") as fh:
            fh.seek(self.member.header_offset)
            header = fh.read(30)
        if header[:4] != b"PK\x03\x04":
            raise BuildError(f"{self.wheel}: bad local header for {self.member.filename}.")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        start = self.member.header_offset + 30 + name_len + extra_len
        return self.wheel, start, self.member.compress_size


@dataclass(frozen=True)
class SourceFile:
    """A file of the function's own source folder."""

    path: Path
    size: int

    @cached_property
    def content_key(self) -> str:
        return "sha256:" + hashlib.sha256(self.read()).hexdigest()

    def read(self) -> bytes:
        return self.path.read_bytes()

    def open(self) -> IO[bytes]:
        return open(self.path, "rb")


@dataclass(frozen=True)
class Generated:
    """Bytes lpack made: a RECORD, an INSTALLER, a stripped binary, a rewritten script."""

    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @cached_property
    def content_key(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def read(self) -> bytes:
        return self.data


def content_sha256(entry: Entry) -> str:
    """The hex sha256 of the entry's bytes, from what lpack computed when it has (wheel
    members are hashed once per wheel, see wheelcheck.py), else by reading them."""
    if entry.record_hash and entry.record_hash.startswith("sha256="):
        digest = entry.record_hash.removeprefix("sha256=")
        return base64.urlsafe_b64decode(digest + "=" * (-len(digest) % 4)).hex()
    key = entry.source.content_key
    if key.startswith("sha256:"):
        return key.removeprefix("sha256:")
    return hashlib.sha256(entry.read()).hexdigest()


@dataclass
class Entry:
    """One file of the package: where it goes, its mode, its owner and its bytes."""

    path: str
    mode: int  # 0o644 or 0o755: normalised, never the machine's
    dist: str | None  # owning distribution; None for the function's own source
    source: EntrySource
    record_hash: str | None = None  # "sha256=..." known without reading the bytes

    @property
    def size(self) -> int:
        return self.source.size

    def read(self) -> bytes:
        return self.source.read()

    def replace_source(self, source: EntrySource, record_hash: str | None) -> None:
        """New content lpack made (a stripped binary) whose hash it knows."""
        self.source = source
        self.record_hash = record_hash

    def replace_data(self, data: bytes) -> None:
        """New content (a stripped binary): no longer a raw copy from the wheel."""
        self.source = Generated(data)
        self.record_hash = None
