"""Content-addressed wheel cache in the user cache dir, safe for concurrent builds."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from lpack.files import file_mode, remove_stale_temps, temp_beside, write_atomic

CHUNK = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def safe_cache_name(sha256: str, filename: str) -> bool:
    """Only a hex digest and a bare file name may become a path under the cache."""
    return (
        bool(_SHA256.match(sha256))
        and bool(filename)
        and filename not in (".", "..")
        and not any(c in filename for c in "/\\\0")
    )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class WheelCache:
    """Files live at wheels/<sha256>/<filename>: a name that can only hold those bytes.

    Every write goes to a temp file in the same file system, is verified, then renamed,
    so a reader never sees a partial file and two builds racing on one hash both win.
    """

    root: Path

    def _dir(self, sha256: str) -> Path:
        return self.root / "wheels" / sha256[:2] / sha256

    def lookup(self, sha256: str, filename: str) -> Path | None:
        if not safe_cache_name(sha256, filename):
            return None  # a tampered selection record never names a path outside the cache
        path = self._dir(sha256) / filename
        return path if path.is_file() and not path.is_symlink() else None

    def open_temp(self) -> tuple[BinaryIO, Path]:
        """A file to download into, named with this process's PID: what a killed lpack
        left is removed by a later one once untouched for 10 minutes, a live one's never."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(tmp_dir, min_age=600)  # another container may share the cache
        fd, name = temp_beside(tmp_dir / "download")
        return os.fdopen(fd, "wb"), Path(name)

    def store(self, temp_path: Path, sha256: str, filename: str) -> Path:
        if not safe_cache_name(sha256, filename):
            raise ValueError(f"unsafe cache name {sha256!r}/{filename!r}")
        final_dir = self._dir(sha256)
        final_dir.mkdir(parents=True, exist_ok=True)
        final = final_dir / filename
        os.chmod(temp_path, file_mode())  # a cache shared by CI jobs under other uids
        os.replace(temp_path, final)
        return final

    def verified(self, sha256: str, filename: str) -> Path | None:
        """The cached file if its bytes still hash to its name; a damaged one is removed."""
        path = self.lookup(sha256, filename)
        if path is None:
            return None
        if sha256_file(path) != sha256:
            path.unlink(missing_ok=True)
            return None
        return path

    # Which of a pin's allowed files was chosen for a target: lets a cached build pick
    # exactly what a networked build would, without asking the index.
    def _selection_path(self, key: str) -> Path:
        return self.root / "selections" / f"{key}.json"

    def get_selection(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._selection_path(key).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def put_selection(self, key: str, value: dict[str, Any]) -> None:
        path = self._selection_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(value, sort_keys=True).encode())
