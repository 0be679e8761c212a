"""What the import and read scans find in a wheel's modules, cached per wheel.

Slimming reads every module of a distribution that has test folders or stubs (pandas:
about 1,000 files, inflated from the wheel on every build) to learn what it imports and
which file names it mentions. Those facts depend only on the module's bytes and its place
in the package, and a wheel pinned by its sha256 never changes: so they are kept in one
record per wheel, written after the first build that scanned it. The function's own files
are scanned on every build (they change, and they are few).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from lpack.assemble.entries import Entry, WheelMember
from lpack.files import write_atomic

SCAN_FORMAT = 1  # bump when what importscan.py or readscan.py extract changes
T = TypeVar("T")


class ScanCache:
    def __init__(self, root: Path, salt: str = "") -> None:
        self.root = root / "scans"
        self.salt = f"{SCAN_FORMAT}|{salt}"
        self._records: dict[str, dict[str, Any]] = {}
        self._changed: set[str] = set()
        self._lock = threading.Lock()

    def _path(self, wheel_sha256: str) -> Path:
        key = hashlib.sha256(f"{self.salt}|{wheel_sha256}".encode()).hexdigest()
        return self.root / key[:2] / f"{key}.json"

    def _record(self, wheel_sha256: str) -> dict[str, Any]:
        record = self._records.get(wheel_sha256)
        if record is None:
            try:
                record = json.loads(self._path(wheel_sha256).read_text(encoding="utf-8"))
                if not isinstance(record, dict):
                    record = {}
            except (OSError, ValueError):
                record = {}
            self._records[wheel_sha256] = record
        return record

    def facts(
        self,
        kind: str,
        entry: Entry,
        key: str,
        compute: Callable[[], T],
        valid: Callable[[object], bool],
    ) -> T:
        """compute() for this entry, from the wheel's record when it holds it. kind names
        the scan; key what else the facts depend on (the module's name, the scan's words).
        `compute` must return JSON data (lists, not tuples or sets); a recorded value that
        `valid` rejects (a damaged or edited record) is computed again."""
        source = entry.source
        # The content hash lpack computed: a wheel built from an sdist is named by the
        # sdist's hash, and building it again may change its files.
        if not isinstance(source, WheelMember) or entry.record_hash is None:
            return compute()
        wheel = source.wheel_sha256
        name = f"{kind}|{source.member.filename}|{entry.record_hash}|{key}"
        with self._lock:
            found = self._record(wheel).get(name)
        if found is not None and valid(found):
            return found  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._record(wheel)[name] = value
            self._changed.add(wheel)
        return value

    def save(self) -> None:
        """Write the records that gained facts; a cache that cannot be written only costs
        the next build these scans again."""
        for wheel in sorted(self._changed):
            try:
                path = self._path(wheel)
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, json.dumps(self._records[wheel], sort_keys=True).encode())
            except OSError:
                pass
        self._changed.clear()
