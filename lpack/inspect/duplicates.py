"""Files a package ships more than once: the same bytes at several paths, and one path that
several distributions' RECORDs claim (the last one installed overwrote the others' file)."""

from __future__ import annotations

import zipfile
import zlib
from collections import defaultdict
from dataclasses import dataclass

from lpack.inspect.contents import Contents, Item

# Smaller copies are noise, not savings: empty __init__.py, py.typed, and tzdata's aliases
# (Europe/Belfast is Europe/London: 27 groups of 1-2 KiB in every pandas package).
MIN_DUPLICATE_SIZE = 4096
# A folder has no CRCs to compare: at most this many bytes are read to find equal files.
FOLDER_READ_BUDGET = 256 * 1024**2


@dataclass(frozen=True)
class Duplicate:
    """One group: "content" (the same bytes at each path) or "path" (one path, several owners)."""

    reason: str  # "content" | "path"
    size: int  # bytes of one copy
    paths: tuple[str, ...]  # as stored; for "path", the one path
    dists: tuple[str, ...]  # owners, as far as known

    @property
    def wasted(self) -> int:
        """Bytes that a single copy would save (a clobbered path wastes nothing: it is one file)."""
        return self.size * (len(self.paths) - 1) if self.reason == "content" else 0


def find_duplicates(contents: Contents, files: list[Item], source_label: str) -> list[Duplicate]:
    """Duplicate groups, the most wasteful first."""
    found = _same_content(contents, files, source_label) + _same_path(contents)
    return sorted(found, key=lambda d: (-d.wasted, -d.size, d.paths))


def _same_content(contents: Contents, files: list[Item], source_label: str) -> list[Duplicate]:
    by_size: dict[int, list[Item]] = defaultdict(list)
    for item in files:
        if item.size >= MIN_DUPLICATE_SIZE and not item.special:
            by_size[item.size].append(item)
    reader = contents.reader
    budget = FOLDER_READ_BUDGET
    groups: dict[tuple[int, int], list[Item]] = defaultdict(list)
    for size, same_size in sorted(by_size.items(), reverse=True):
        if len(same_size) < 2:
            continue
        for item in same_size:
            if isinstance(reader, zipfile.ZipFile):
                crc = reader.getinfo(item.path).CRC  # stored in the archive: nothing to inflate
            elif budget >= size:
                budget -= size
                data = contents.read_intact(item)
                if data is None:
                    continue
                crc = zlib.crc32(data)
            else:
                continue
            groups[(size, crc)].append(item)
    return [
        Duplicate(
            "content",
            size,
            tuple(sorted(i.path for i in items)),
            tuple(sorted({i.dist or source_label for i in items})),
        )
        for (size, _), items in groups.items()
        if len(items) > 1
    ]


def _same_path(contents: Contents) -> list[Duplicate]:
    claims: dict[str, set[str]] = defaultdict(set)
    for dist in contents.distributions:
        for path in dist.files:
            if ".dist-info/" not in path:
                claims[path].add(dist.name)
    sizes = {i.path: i.size for i in contents.files}
    return [
        Duplicate("path", sizes[path], (path,), tuple(sorted(owners)))
        for path, owners in claims.items()
        if len(owners) > 1 and path in sizes
    ]
