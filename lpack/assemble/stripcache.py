"""Stripped binaries, cached by the bytes they were made from: each is stripped once, ever.

A rebuild of pandas + pyarrow strips 67 shared objects (inflating ~100 MB first) though
none changed. Here the outcome of stripping a binary is recorded under the sha256 lpack
computed for its bytes (never a RECORD's claim) and the target's machine: either why it
was left alone, or the sections removed and the sha256 of the result, whose bytes are
kept at stripped/<sha256>. A later build reads the outcome only; the stripped bytes are
read when the zip needs them, checked against their sha256, and made again when damaged.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lpack.assemble.entries import EntrySource
from lpack.errors import BuildError
from lpack.files import remove_stale_temps, write_atomic

# Bump when elfstrip.py's output for the same input changes: old outcomes are then unused.
STRIP_FORMAT = 1
_SHA256 = re.compile("[0-9a-f]{64}")


@dataclass(frozen=True)
class StripOutcome:
    """What stripping one binary gave: `note` says why it was left alone, else `sha256`
    names the stripped bytes."""

    note: str | None = None
    removed_sections: tuple[str, ...] = ()
    size: int = 0  # of the stripped bytes
    sha256: str | None = None

    @property
    def stripped(self) -> bool:
        return self.sha256 is not None


def _well_formed(outcome: StripOutcome) -> bool:
    """A record as store() writes it; an edited one (a number for a digest) is a miss."""
    digest = outcome.sha256
    return (
        (outcome.note is None or isinstance(outcome.note, str))
        and all(isinstance(name, str) for name in outcome.removed_sections)
        and (digest is None or (isinstance(digest, str) and _SHA256.fullmatch(digest) is not None))
    )


class StripCache:
    def __init__(self, root: Path) -> None:
        self.root = root / "stripped"

    def _outcome_path(self, source_sha256: str, machine: str) -> Path:
        key = hashlib.sha256(f"{STRIP_FORMAT}|{machine}|{source_sha256}".encode()).hexdigest()
        return self.root / "outcomes" / key[:2] / f"{key}.json"

    def blob(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def lookup(self, source_sha256: str, machine: str) -> StripOutcome | None:
        try:
            data = json.loads(self._outcome_path(source_sha256, machine).read_text("utf-8"))
            outcome = StripOutcome(
                note=data["note"],
                removed_sections=tuple(data["removed_sections"]),
                size=int(data["size"]),
                sha256=data["sha256"],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not _well_formed(outcome):
            return None
        if outcome.stripped:
            assert outcome.sha256 is not None
            try:
                if self.blob(outcome.sha256).stat().st_size != outcome.size:
                    return None  # the bytes are gone or cut short: strip again
            except OSError:
                return None
        return outcome

    def store(self, source_sha256: str, machine: str, outcome: StripOutcome, data: bytes) -> None:
        """Record an outcome (and the stripped bytes); a cache that cannot be written only
        costs the next build this strip again."""
        record = {
            "note": outcome.note,
            "removed_sections": list(outcome.removed_sections),
            "size": outcome.size,
            "sha256": outcome.sha256,
        }
        try:
            if outcome.sha256 is not None:
                blob = self.blob(outcome.sha256)
                if not blob.is_file() or blob.stat().st_size != len(data):
                    blob.parent.mkdir(parents=True, exist_ok=True)
                    remove_stale_temps(blob.parent, min_age=600)
                    write_atomic(blob, data)
            path = self._outcome_path(source_sha256, machine)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(record).encode())
        except OSError:
            pass


def record_hash_of(sha256: str) -> str:
    """RECORD's form of a hex sha256."""
    return "sha256=" + base64.urlsafe_b64encode(bytes.fromhex(sha256)).rstrip(b"=").decode()


@dataclass(frozen=True)
class StrippedBlob:
    """A stripped binary kept in the cache: read (and checked) only when the zip needs its
    bytes; damaged bytes are made again from the original."""

    path: Path
    size: int
    sha256: str
    original: EntrySource  # what it was stripped from, to strip again if the cache lies

    @property
    def content_key(self) -> str:
        return f"sha256:{self.sha256}"

    def open(self) -> IO[bytes]:
        """The bytes as a stream, for members too large to hold: the file is hashed in
        chunks first (a second read comes from the page cache); if it is damaged, the
        binary is stripped again in memory."""
        digest = hashlib.sha256()
        try:
            with open(self.path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            if digest.hexdigest() == self.sha256:
                return open(self.path, "rb")
        except OSError:
            pass
        return io.BytesIO(self.read())

    def read(self) -> bytes:
        try:
            data = self.path.read_bytes()
        except OSError:
            data = b""
        if len(data) == self.size and hashlib.sha256(data).hexdigest() == self.sha256:
            return data
        from lpack.assemble.elfstrip import strip  # the cache was damaged since the lookup

        again = strip(self.original.read()).data
        if hashlib.sha256(again).hexdigest() != self.sha256:
            raise BuildError(
                f"lpack's cache of stripped binaries holds {self.path}, which stripping its "
                "original again does not reproduce.",
                hint="delete the `stripped` folder of lpack's cache (LPACK_CACHE_DIR or the "
                "user cache folder) and build again.",
            )
        return again
