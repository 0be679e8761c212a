"""Writes a byte-for-byte reproducible zip: sorted entries, fixed times and modes, no extras.

Two steps: a `Packer` turns each entry into exactly the bytes the archive will hold (see
compress.py for what each `compression` setting does: copy a wheel member still compressed,
or deflate it again with a stronger encoder, cached by content), on a thread pool a window
ahead of the writer; `write_archive` lays them out with their headers into a temp file that
is renamed into place.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import time
import zipfile
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from lpack.assemble.entries import Entry
from lpack.assemble.packer import Packer, PreparedEntry
from lpack.errors import BuildError
from lpack.files import file_mode, remove_stale_temps, temp_beside

_AHEAD_BYTES = 64 << 20  # uncompressed bytes prepared ahead of the writer
_BIG_ENTRY = 1 << 20  # started first: see _Window
_ZIP64_LIMIT = 0xFFFFFFFF
_UTF8_FLAG = 0x800
_MADE_BY_UNIX = (3 << 8) | 20


@dataclass(frozen=True)
class WrittenEntry:
    path: str
    size: int
    compressed_size: int
    dist: str | None


@dataclass(frozen=True)
class Archive:
    path: Path
    sha256: str
    zipped_size: int
    unzipped_size: int
    entries: list[WrittenEntry]

    @property
    def sha256_base64(self) -> str:
        """What Terraform's source_code_hash and Lambda's CodeSha256 hold."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()

    @property
    def file_count(self) -> int:
        return sum(1 for e in self.entries if not e.path.endswith("/"))


def dos_timestamp() -> tuple[int, int]:
    """(time, date) in DOS format from SOURCE_DATE_EPOCH, else 1980-01-01 00:00."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    year, month, day, hour, minute, second = 1980, 1, 1, 0, 0, 0
    if epoch:
        try:
            t = time.gmtime(max(int(epoch), 315532800))
        except (ValueError, OverflowError) as exc:
            raise BuildError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix timestamp.",
                hint="set it to whole seconds since 1970 (e.g. `git log -1 --format=%ct`).",
            ) from exc
        year, month, day, hour, minute, second = t[:6]
        year = min(year, 2107)
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def _folder(path: str) -> PreparedEntry:
    return PreparedEntry(path, 0o755, True, zipfile.ZIP_STORED, 0, 0, 0, None, b"")


def _directories(paths: list[str]) -> list[str]:
    dirs: set[str] = set()
    for path in paths:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]) + "/")
    return sorted(dirs)


def prepared_entries(
    entries: list[Entry], packer: Packer | None = None, workers: int | None = None
) -> Generator[PreparedEntry, None, None]:
    """Every file and the folders above them, in path order, prepared on a thread pool."""
    packer = packer or Packer()
    by_path = {e.path: e for e in entries}
    all_paths = sorted(set(by_path) | set(_directories(list(by_path))))
    files = [by_path[p] for p in all_paths if p in by_path]
    workers = workers or min(8, os.cpu_count() or 2)
    started: dict[int, Future[PreparedEntry]] = {}
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        window = _Window(pool, packer, files, 4 * workers, started)
        for path in all_paths:
            yield window.next() if path in by_path else _folder(path)
    finally:  # done, or the writer failed or stopped: what was prepared ahead is dropped
        pool.shutdown(wait=True, cancel_futures=True)
        for spooled in list(packer.spooled_files):  # the writer removed those it copied
            spooled.unlink(missing_ok=True)


class _Window:
    """Entries prepared ahead of the writer, in its order, within a count and a byte budget:
    memory holds a few compressed entries, never the whole package. The largest entries
    start first, so one big library compressing alone does not end the build on one core."""

    def __init__(
        self,
        pool: ThreadPoolExecutor,
        packer: Packer,
        files: list[Entry],
        count: int,
        started: dict[int, Future[PreparedEntry]],
    ) -> None:
        self.pool, self.packer, self.files, self.count = pool, packer, files, count
        self.started = started  # index -> its preparation, until the writer takes it
        self.in_flight = 0
        self.written = 0  # files handed to the writer
        self.queued = 0  # files (in order) considered for starting
        big = sorted(
            (i for i, e in enumerate(files) if e.size >= _BIG_ENTRY), key=lambda i: -files[i].size
        )
        for i in big:
            if self.in_flight + files[i].size > _AHEAD_BYTES:
                break
            self._start(i)

    def _start(self, index: int) -> None:
        entry = self.files[index]
        self.started[index] = self.pool.submit(self.packer.prepare, entry)
        self.in_flight += entry.size

    def next(self) -> PreparedEntry:
        limit = min(len(self.files), self.written + self.count)
        while self.queued < limit and (
            self.queued == self.written or self.in_flight < _AHEAD_BYTES
        ):
            if self.queued not in self.started:
                self._start(self.queued)
            self.queued += 1
        if self.written not in self.started:
            self._start(self.written)
        # Taken from `started` only once its result is in hand: an interrupt while waiting
        # leaves it there, for prepared_entries to remove the temp file it may spool.
        prepared = self.started[self.written].result()
        del self.started[self.written]
        self.in_flight -= self.files[self.written].size
        self.written += 1
        return prepared


class _ZipStream:
    """Appends zip records to a file, hashing and counting every byte written."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.offset = 0
        self.central: list[bytes] = []
        self.written: list[WrittenEntry] = []

    def emit(self, chunk: bytes) -> None:
        self.out.write(chunk)
        self.sha.update(chunk)
        self.offset += len(chunk)

    def add(self, item: PreparedEntry, tm: int, dt: int) -> None:
        if self.offset > _ZIP64_LIMIT or item.size > _ZIP64_LIMIT:
            raise BuildError(
                f"The package passes 4 GiB at {item.path}; lpack does not write zip64 "
                "members (Lambda's limit is 250 MiB unzipped).",
                hint="remove large files or dependencies.",
            )
        name = item.path.encode("utf-8")
        flags = _UTF8_FLAG if not item.path.isascii() else 0
        header_offset = self.offset
        self.emit(
            struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                20,
                flags,
                item.method,
                tm,
                dt,
                item.crc,
                item.compressed_size,
                item.size,
                len(name),
                0,
            )
            + name
        )
        if item.payload is not None:
            self.emit(item.payload)
        elif item.raw_source is not None:
            try:
                self._copy(item.path, *item.raw_source)
            finally:
                if item.spooled:
                    item.raw_source[0].unlink(missing_ok=True)
        self.central.append(
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                _MADE_BY_UNIX,
                20,
                flags,
                item.method,
                tm,
                dt,
                item.crc,
                item.compressed_size,
                item.size,
                len(name),
                0,
                0,
                0,
                0,
                item.external_attr,
                header_offset,
            )
            + name
        )
        self.written.append(WrittenEntry(item.path, item.size, item.compressed_size, item.dist))

    def _copy(self, path: str, wheel: Path, start: int, length: int) -> None:
        with open(wheel, "rb") as src:
            src.seek(start)
            remaining = length
            while remaining:
                chunk = src.read(min(remaining, 1 << 20))
                if not chunk:
                    raise BuildError(f"{wheel} is truncated at {path}.")
                self.emit(chunk)
                remaining -= len(chunk)

    def finish(self) -> None:
        """The central directory and its end records (zip64 ones past 65,535 entries)."""
        cd_offset = self.offset
        for record in self.central:
            self.emit(record)
        cd_size = self.offset - cd_offset
        count = len(self.central)
        if count > 0xFFFF or cd_offset > _ZIP64_LIMIT:
            zip64_offset = self.offset
            self.emit(
                struct.pack(
                    "<4sQHHIIQQQQ",
                    b"PK\x06\x06",
                    44,
                    _MADE_BY_UNIX,
                    45,
                    0,
                    0,
                    count,
                    count,
                    cd_size,
                    cd_offset,
                )
            )
            self.emit(struct.pack("<4sIQI", b"PK\x06\x07", 0, zip64_offset, 1))
            self.emit(
                struct.pack(
                    "<4sHHHHIIH",
                    b"PK\x05\x06",
                    0,
                    0,
                    0xFFFF,
                    0xFFFF,
                    min(cd_size, _ZIP64_LIMIT),
                    min(cd_offset, _ZIP64_LIMIT),
                    0,
                )
            )
        else:
            self.emit(
                struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, 0)
            )


def _temp_beside(output: Path) -> tuple[int, str]:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(output.parent)  # what a killed build left behind
        return temp_beside(output)
    except OSError as exc:
        raise BuildError(
            f"Cannot write {output}: {exc.strerror or exc}.",
            hint="choose an output path in a writable folder (-o/--output or `output` in "
            "[tool.lpack]).",
        ) from exc


def _publish(tmp_name: str, output: Path) -> None:
    # The zip's own mode is the user's umask's, as any file they create (its bytes are not).
    os.chmod(tmp_name, file_mode())
    try:
        os.replace(tmp_name, output)
    except OSError as exc:
        raise BuildError(
            f"Cannot write {output}: {exc.strerror or exc}"
            + (" (it is a folder)." if output.is_dir() else "."),
            hint="give -o/--output (or `output`) a file name such as dist/function.zip.",
        ) from exc


def write_archive(
    entries: list[Entry],
    output: Path,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    packer: Packer | None = None,
) -> Archive:
    """Write entries (any order) to output atomically; return what was written."""
    tm, dt = dos_timestamp()
    fd, tmp_name = _temp_beside(output)
    try:
        spooling = replace(packer or Packer(), spool=output, spooled_files=set())
        # closing(): on an error or a signal the preparations are stopped and their temp
        # files removed now, not whenever the traceback that holds the generator is freed.
        with (
            os.fdopen(fd, "wb") as out,
            closing(prepared_entries(entries, spooling, workers)) as items,
        ):
            stream = _ZipStream(out)
            for item in items:
                stream.add(item, tm, dt)
                if progress:
                    progress(item.size)
            stream.finish()
        _publish(tmp_name, output)
    except BaseException as exc:
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno and exc.filename is None:
            exc.filename = str(output)  # a failed write (a full disk) names no file by itself
        raise
    return Archive(
        path=output,
        sha256=stream.sha.hexdigest(),
        zipped_size=stream.offset,
        unzipped_size=sum(e.size for e in stream.written),
        entries=stream.written,
    )
