"""What lint learns from a zip's binaries, cached by their compressed bytes.

Reading a binary's ELF facts means inflating it: pandas + pyarrow's 67 shared objects cost
about a second on every lint and every build. The facts depend only on the member's bytes,
and its stored (compressed) bytes name them as well: hashing those is several times faster
than inflating them. So a zip member's facts are cached under the sha256 of its method,
CRC, size and compressed bytes; a damaged member's facts are never cached (it is read, and
fails, again). Folders are read as before: their files have no stored bytes to name them.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from dataclasses import asdict
from pathlib import Path

from lpack.files import default_cache_dir, write_atomic
from lpack.inspect.contents import BinaryFacts, Contents, Item

FACTS_FORMAT = 1  # bump when what _binary_facts reads changes
_CHUNK = 1 << 20


def _member_key(source: Path, info: zipfile.ZipInfo) -> str | None:
    """sha256 of the member as stored, or None when its local header is not where the
    central directory says (the member is then read, and judged, the usual way)."""
    h = hashlib.sha256(f"{FACTS_FORMAT}|{info.compress_type}|{info.CRC}|{info.file_size}|".encode())
    try:
        with open(source, "rb") as fh:
            fh.seek(info.header_offset)
            header = fh.read(30)
            if len(header) < 30 or header[:4] != b"PK\x03\x04":
                return None
            name_len, extra_len = struct.unpack("<HH", header[26:30])
            fh.seek(info.header_offset + 30 + name_len + extra_len)
            remaining = info.compress_size
            while remaining:
                chunk = fh.read(min(remaining, _CHUNK))
                if not chunk:
                    return None
                h.update(chunk)
                remaining -= len(chunk)
    except OSError:
        return None
    return h.hexdigest()


def _path(key: str) -> Path:
    return default_cache_dir() / "binary-facts" / key[:2] / f"{key}.json"


def _load(key: str) -> BinaryFacts | None:
    try:
        data = json.loads(_path(key).read_text(encoding="utf-8"))
        data["needed_versions"] = {k: set(v) for k, v in data["needed_versions"].items()}
        data["search_paths"] = tuple(data["search_paths"])
        return BinaryFacts(**data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _store(key: str, facts: BinaryFacts) -> None:
    data = asdict(facts)
    data["needed_versions"] = {k: sorted(v) for k, v in facts.needed_versions.items()}
    data["search_paths"] = list(facts.search_paths)
    try:
        path = _path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(data, sort_keys=True).encode())
    except OSError:
        pass  # a read-only cache only costs the next lint this read again


def binary_facts(contents: Contents, item: Item) -> BinaryFacts | None:
    """contents.binary_facts(item), from the cache when the same bytes were read before."""
    reader = contents.reader
    if not isinstance(reader, zipfile.ZipFile):
        return contents.binary_facts(item)
    try:
        info = reader.getinfo(item.path)
    except KeyError:
        return contents.binary_facts(item)
    key = _member_key(contents.source, info)
    if key is None:
        return contents.binary_facts(item)
    cached = _load(key)
    if cached is not None and cached.format == "elf":
        return cached
    facts = contents.binary_facts(item)
    # Only what the bytes alone decide: an error may be a damaged read, and a file that is
    # not ELF is judged by its name too (a .dll's bytes are "PE", a .so's "not ELF").
    if facts is not None and facts.format == "elf" and not facts.error:
        _store(key, facts)
    return facts
