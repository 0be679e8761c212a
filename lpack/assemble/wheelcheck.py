"""Every wheel member's bytes, checked once: CRC verified, sha256 computed by lpack.

A wheel whose file hash matches the lock can still hold a damaged member (a raw copy would
ship it as is) or a RECORD that lies about its files (the shipped RECORD would repeat the
lie). Both are caught by reading each member once; what was computed is cached per wheel
so the cost is paid once, and a cached record is used only when it still describes the
wheel's central directory exactly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lpack.errors import BuildError
from lpack.files import default_cache_dir, write_atomic
from lpack.resolve.cache import sha256_file
from lpack.resolve.fetch import FetchedWheel

_CHUNK = 1 << 20
_FORMAT = 1


def _record_path(fetched: FetchedWheel) -> Path:
    # A wheel built from an sdist is named by the sdist's hash, and a rebuild may differ:
    # its own bytes key the record (it is small, and pure Python).
    wheel = sha256_file(fetched.path) if fetched.built_from_sdist else fetched.sha256
    key = hashlib.sha256(f"{wheel}|{fetched.filename}".encode()).hexdigest()
    return default_cache_dir() / "members" / key[:2] / f"{key}.json"


def _fingerprint(infos: list[zipfile.ZipInfo]) -> dict[str, list[int]]:
    return {i.filename: [i.file_size, i.CRC] for i in infos if not i.is_dir()}


def _cached(fetched: FetchedWheel, infos: list[zipfile.ZipInfo]) -> dict[str, str] | None:
    """The digests recorded for this exact central directory, or None (absent, malformed,
    or written for other bytes: a rebuilt sdist, a damaged or tampered record)."""
    try:
        record = json.loads(_record_path(fetched).read_text(encoding="utf-8"))
        digests = record["digests"]
        if (
            record.get("format") != _FORMAT
            or record.get("members") != _fingerprint(infos)
            or not isinstance(digests, dict)
            or set(digests) != set(record["members"])
            or not all(isinstance(v, str) and v.startswith("sha256=") for v in digests.values())
        ):
            return None
        return digests
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _digest(zf: zipfile.ZipFile, info: zipfile.ZipInfo, wheel: str) -> str:
    h = hashlib.sha256()
    try:
        with zf.open(info) as fh:  # zipfile checks the CRC when the member ends
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise BuildError(
            f"Wheel {wheel} is damaged: its member {info.filename!r} cannot be read back "
            f"intact ({exc}).",
            hint="delete the wheel from lpack's cache (LPACK_CACHE_DIR or the user cache "
            "folder) and build again; if the package index serves it damaged, pin another "
            "version.",
        ) from exc
    return "sha256=" + base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()


def member_digests(fetched: FetchedWheel) -> dict[str, str]:
    """RECORD-style sha256 of every file member, read and CRC-checked once per wheel."""
    try:
        with zipfile.ZipFile(fetched.path) as zf:
            infos = zf.infolist()
            if any(not i.filename for i in infos):
                raise BuildError(
                    f"Wheel {fetched.filename} holds an entry with an empty name: it is damaged.",
                    hint="delete it from lpack's cache and build again; if the package index "
                    "serves it so, pin another version.",
                )
            digests = _cached(fetched, infos)
            if digests is not None:
                return digests
            digests = {
                i.filename: _digest(zf, i, fetched.filename) for i in infos if not i.is_dir()
            }
    except (zipfile.BadZipFile, OSError) as exc:
        raise BuildError(f"Wheel {fetched.path} cannot be read: {exc}.") from exc
    record = {"format": _FORMAT, "members": _fingerprint(infos), "digests": digests}
    path = _record_path(fetched)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(record, sort_keys=True).encode())
    except OSError:
        pass  # a read-only cache only costs the next build this check again
    return digests


def all_member_digests(wheels: list[FetchedWheel]) -> dict[Path, dict[str, str]]:
    """member_digests of each wheel, wheels in parallel (zlib and hashlib release the GIL)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip([w.path for w in wheels], pool.map(member_digests, wheels), strict=True))


def lying_record(record_hashes: dict[str, str], digests: dict[str, str], wheel: str) -> str | None:
    """A warning when the wheel's RECORD gives hashes its files do not have."""
    wrong = sorted(n for n, claimed in record_hashes.items() if digests.get(n, claimed) != claimed)
    if not wrong:
        return None
    return (
        f"{wheel}'s RECORD gives wrong hashes for {len(wrong)} file(s) (first: {wrong[0]}); "
        "the shipped RECORD lists the hashes of the bytes lpack shipped."
    )
