"""One in-memory model of any Lambda package, read from a zip or a folder without extracting.

Lint, limits and reports read only this model, so lpack's own builds and anybody's zip
(SAM, Serverless, a hand-made one, a layer) are checked the same way.
"""

from __future__ import annotations

import csv
import io
import os
import posixpath
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from lpack import elf
from lpack.errors import ContentsError
from lpack.files import why_unusable
from lpack.inspect.ziparchive import (
    archive_defects,
    check_bomb,
    damaged_members,
    refuse_oversized_directory,
)

BINARY_READ_LIMIT = 512 * 1024**2
# Binaries up to this size are read whole (fast); larger ones through elf.FileView, which
# reads only the headers and tables lint needs: a 1 GiB .so costs no more memory than this.
WHOLE_BINARY_READ = 32 * 1024**2
# Folders nested deeper than any package's (Python's own limit on imports is far lower).
MAX_DEPTH = 128
_LAYER_SITE = re.compile(r"^python/lib/python(\d+\.\d+)/site-packages/")
_SHARED_OBJECT = re.compile(r"\.so(?:\.\d+)*$")
_EXT_ABI = re.compile(r"\.cpython-(\d)(\d+)[a-z]*-[^/]*\.so$")
# What Python could load as a native module or library. Executables (setuptools' cli-*.exe
# launchers) are never loaded on Lambda, so they are no finding.
_BINARY_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
MACHO_MAGICS = {
    b"\xfe\xed\xfa\xce",
    b"\xce\xfa\xed\xfe",
    b"\xfe\xed\xfa\xcf",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"\xbe\xba\xfe\xca",
}


@dataclass
class BinaryFacts:
    format: str  # "elf" | "macho" | "pe"
    machine: str = ""
    elf_class: int = 0
    needed_versions: dict[str, set[str]] = field(default_factory=dict)
    needed_libraries: list[str] = field(default_factory=list)
    soname: str = ""
    search_paths: tuple[str, ...] = ()  # DT_RPATH and DT_RUNPATH folders, as written
    has_debug_info: bool = False
    has_symtab: bool = False
    error: str = ""  # set when the file claims a format but cannot be parsed
    capped: bool = False  # the error is lpack's read cap, not the file's fault


@dataclass(slots=True)  # a zip may hold 500,000 of these
class Item:
    path: str  # as stored, "/"-separated, no trailing slash
    size: int
    compressed_size: int
    is_dir: bool = False
    mode: int | None = None  # permission bits; None when the archive does not record them
    symlink_target: str | None = None
    dist: str | None = None  # owning distribution (canonical name)
    rel: str | None = None  # path below its import root ("" root, "python/", site-packages)
    binary: BinaryFacts | None = None
    special: bool = False  # a FIFO, socket or device in a folder: never read

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def cpython_abi(self) -> tuple[int, int] | None:
        match = _EXT_ABI.search(self.path)
        return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass
class DistInfo:
    name: str
    version: str
    path: str  # the .dist-info folder as stored
    root: str  # import root it sits in
    tags: list[str] = field(default_factory=list)  # from WHEEL
    files: list[str] = field(default_factory=list)  # RECORD paths, as stored
    requires: list[str] = field(default_factory=list)  # Requires-Dist lines of METADATA


@dataclass
class Contents:
    source: Path
    kind: str  # "zip" | "folder"
    items: list[Item]
    zipped_size: int | None
    distributions: list[DistInfo]
    roots: list[str]  # import roots present: "", "python/", "python/lib/python3.X/site-packages/"
    is_layer: bool
    layer_python: str | None = None
    # Archive-level defects readers disagree on: (entry, what is wrong); lint LP407.
    defects: list[tuple[str, str]] = field(default_factory=list)
    _reader: object = None
    _damaged: list[tuple[str, str]] | None = None

    @property
    def unzipped_size(self) -> int:
        return sum(i.size for i in self.items if not i.is_dir)

    @property
    def reader(self) -> object:
        """The open ZipFile of a zip; None for a folder."""
        return self._reader

    @property
    def files(self) -> list[Item]:
        return [i for i in self.items if not i.is_dir]

    def read(self, item: Item, limit: int = BINARY_READ_LIMIT) -> bytes:
        """The item's bytes (at most limit), read from the archive or folder; a member that
        cannot be read (damaged, encrypted, unsupported method) is a ContentsError."""
        if item.is_dir or item.symlink_target is not None or item.special:
            return b""  # never follow a link or open a FIFO: no content of its own
        try:
            if isinstance(self._reader, zipfile.ZipFile):
                with self._reader.open(item.path) as fh:
                    return fh.read(limit)
            fd = os.open(self.source / item.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as fh:
                return fh.read(limit)
        except (
            OSError,
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            RuntimeError,
            NotImplementedError,
            ValueError,
        ) as exc:
            raise ContentsError(
                f"{self.source}: cannot read {item.path!r} ({type(exc).__name__}: {exc}).",
                hint="the archive is damaged, encrypted or uses a compression method zip "
                "readers on Lambda do not support; rebuild it with plain deflate.",
            ) from exc

    def read_intact(self, item: Item, limit: int = BINARY_READ_LIMIT) -> bytes | None:
        """The item's bytes, or None when they cannot be read intact (lint's LP408 reports
        the damage; the check that wanted them skips the file)."""
        try:
            return self.read(item, limit)
        except ContentsError:
            return None

    def binary_facts(self, item: Item) -> BinaryFacts | None:
        """What the loader would see in a binary, reading a large one only where needed."""
        if item.size <= WHOLE_BINARY_READ:
            data = self.read_intact(item, WHOLE_BINARY_READ)
            # A damaged member is LP408's finding; lint goes on without its facts.
            return None if data is None else _binary_facts(data, item.name)
        try:
            if isinstance(self._reader, zipfile.ZipFile):
                with self._reader.open(item.path) as fh:
                    view = elf.FileView(fh, item.size, inflated=True)  # type: ignore[arg-type]
                    return _binary_facts(view, item.name)
            fd = os.open(self.source / item.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as fh:
                return _binary_facts(elf.FileView(fh, item.size), item.name)
        except (zipfile.BadZipFile, zlib.error, EOFError):
            return None  # damaged: LP408 reports it
        except (OSError, RuntimeError) as exc:
            return BinaryFacts("elf", error=f"unreadable: {exc}")

    def damaged(self) -> list[tuple[str, str]]:
        """Members whose bytes do not match their CRC or size (zips only; read on demand:
        it inflates every member once)."""
        if self._damaged is None:
            infos = self._reader.infolist() if isinstance(self._reader, zipfile.ZipFile) else []
            self._damaged = damaged_members(self.source, infos) if infos else []
        return self._damaged

    def close(self) -> None:
        if isinstance(self._reader, zipfile.ZipFile):
            self._reader.close()


def _import_root(path: str) -> tuple[str, str | None]:
    """(root, python version) for a stored path: layers keep code under python/..."""
    match = _LAYER_SITE.match(path)
    if match:
        return match.group(0), match.group(1)
    if path.startswith("python/"):
        return "python/", None
    return "", None


def _binary_facts(data: elf.ByteSource, name: str) -> BinaryFacts | None:
    head = data[:4]
    if elf.is_elf(data):
        try:
            parsed = elf.parse(data)
        except elf.ElfError as exc:
            return BinaryFacts("elf", error=str(exc), capped=isinstance(exc, elf.ElfTooLarge))
        try:
            versions = elf.needed_versions(parsed)
            dynamic = elf.dynamic(parsed)
        except Exception as exc:  # a hostile file must not stop the lint
            return BinaryFacts(
                "elf",
                machine=parsed.machine_name,
                error=f"unreadable: {exc}",
                capped=isinstance(exc, elf.ElfTooLarge),
            )
        return BinaryFacts(
            "elf",
            machine=parsed.machine_name,
            elf_class=64 if parsed.is64 else 32,
            needed_versions=versions,
            needed_libraries=list(dynamic.needed),
            soname=dynamic.soname,
            search_paths=dynamic.rpath + dynamic.runpath,
            has_debug_info=parsed.has_debug_info,
            has_symtab=parsed.has_symtab,
        )
    if head in MACHO_MAGICS:
        return BinaryFacts("macho")
    if head[:2] == b"MZ":
        return BinaryFacts("pe")
    if _SHARED_OBJECT.search(name):  # what the loader would open: "invalid ELF header"
        shown = "it is empty" if not head else f"it begins {bytes(head)!r}"
        return BinaryFacts("unknown", error=f"not an ELF file ({shown})")
    if name.endswith((".dylib", ".pyd", ".dll")):
        return BinaryFacts("macho" if name.endswith(".dylib") else "pe")
    return None


def _is_binary_candidate(item: Item) -> bool:
    name = item.name
    return name.endswith(_BINARY_SUFFIXES) or ".so." in name


def read_contents(path: Path) -> Contents:
    """Read a zip or a folder into the model; hostile input fails with a ContentsError."""
    if path.is_dir():
        contents = _read_folder(path)
    elif path.is_file():
        contents = _read_zip(path)
    else:
        raise ContentsError(f"{path} {why_unusable(path)}.", hint="pass a Lambda zip or a folder.")
    _assign_owners(contents)
    from lpack.inspect.factscache import binary_facts  # it builds on this module

    for item in contents.items:
        if not item.is_dir and item.symlink_target is None and _is_binary_candidate(item):
            item.binary = binary_facts(contents, item)
    return contents


def _read_zip(path: Path) -> Contents:
    refuse_oversized_directory(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, UnicodeDecodeError, ValueError, NotImplementedError) as exc:
        raise ContentsError(
            f"{path} is not a readable zip ({exc}); it may be truncated.",
            hint="rebuild it; check that the upload or download completed.",
        ) from exc
    except OSError as exc:
        raise ContentsError(f"Cannot read {path}: {exc}.") from exc
    try:
        infos = zf.infolist()
        check_bomb(infos, path)
        items = []
        for info in infos:
            unix = info.external_attr >> 16 if info.create_system == 3 else 0
            mode = stat.S_IMODE(unix) if unix else None
            name = info.filename.rstrip("/")
            if name.count("/") > MAX_DEPTH:
                _refuse_depth(path, name)
            is_dir = info.is_dir() or (unix and stat.S_ISDIR(unix))
            target = None
            if unix and stat.S_ISLNK(unix):
                with zf.open(info) as fh:
                    target = fh.read(4096).decode("utf-8", "replace")
            root, _ = _import_root(name)
            items.append(
                Item(
                    name,
                    info.file_size,
                    info.compress_size,
                    bool(is_dir),
                    mode,
                    target,
                    rel=name[len(root) :] if root else name,
                )
            )
    except ContentsError:
        zf.close()
        raise
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        ValueError,
        zlib.error,
        RuntimeError,
        NotImplementedError,
    ) as exc:
        zf.close()
        raise ContentsError(f"{path} is damaged: {exc}.", hint="rebuild the zip.") from exc
    contents = _finish(path, "zip", items, path.stat().st_size, zf)
    contents.defects = archive_defects(infos)
    return contents


def _refuse_depth(source: Path, path: str) -> None:
    raise ContentsError(
        f"{source}: {path[:120]!r}… is nested more than {MAX_DEPTH} folders deep; lpack "
        "refuses it rather than walk it.",
        hint="no Lambda package nests folders this deep: check that this is the folder you "
        "meant (a symlink loop copied as folders?).",
    )


def _read_folder(path: Path) -> Contents:
    """Every entry below path, depth first in sorted order; links are listed, never followed.
    A stack rather than recursion: a hostile tree is deeper than Python's recursion limit."""
    items = []
    pending = [""]
    while pending:
        folder = pending.pop()
        if folder.count("/") >= MAX_DEPTH:
            _refuse_depth(path, folder)
        with os.scandir(path / folder if folder else path) as listing:
            found = sorted(listing, key=lambda e: (not e.is_dir(follow_symlinks=False), e.name))
        subfolders = []
        for entry in found:
            rel = f"{folder}/{entry.name}" if folder else entry.name
            st = entry.stat(follow_symlinks=False)
            is_dir = stat.S_ISDIR(st.st_mode)
            target = os.readlink(entry.path) if stat.S_ISLNK(st.st_mode) else None
            special = not (is_dir or target is not None or stat.S_ISREG(st.st_mode))
            root, _ = _import_root(rel)
            size = 0 if is_dir or special else st.st_size
            items.append(
                Item(
                    rel,
                    size,
                    size,
                    is_dir,
                    stat.S_IMODE(st.st_mode),
                    target,
                    rel=rel[len(root) :] if root else rel,
                    special=special,
                )
            )
            if is_dir:
                subfolders.append(rel)
        pending.extend(reversed(subfolders))
    return _finish(path, "folder", items, None, None)


def _finish(
    source: Path, kind: str, items: list[Item], zipped: int | None, reader: object
) -> Contents:
    roots = sorted({_import_root(i.path)[0] for i in items if not i.is_dir})
    layer_python = next((_import_root(i.path)[1] for i in items if _import_root(i.path)[1]), None)
    is_layer = bool(items) and all(
        i.path == "python" or i.path.startswith("python/") for i in items
    )
    contents = Contents(source, kind, items, zipped, [], roots or [""], is_layer, layer_python)
    contents._reader = reader
    return contents


def _dist_info_folders(items: list[Item]) -> list[str]:
    """Installed *.dist-info folders (zips often have no folder entries: found from paths)."""
    folders = set()
    for item in items:
        parts = item.path.split("/")
        for i, part in enumerate(parts):
            if part.endswith(".dist-info") and (i < len(parts) - 1 or item.is_dir):
                folders.add("/".join(parts[: i + 1]))
                break
    installed = []
    for folder in sorted(folders):
        root, _ = _import_root(folder + "/")
        if folder == root + folder.rsplit("/", 1)[-1]:
            installed.append(folder)  # a dist-info nested inside a package is not installed
    return installed


def _read_dist_info(contents: Contents, by_path: dict[str, Item], folder: str) -> DistInfo:
    """Name, version, wheel tags and RECORD paths of one installed distribution."""
    root, _ = _import_root(folder + "/")
    stem = folder.rsplit("/", 1)[-1][: -len(".dist-info")]
    name, _, version = stem.rpartition("-")
    dist = DistInfo(canonicalize_name(name or stem), version, folder, root)
    wheel = by_path.get(folder + "/WHEEL")
    record = by_path.get(folder + "/RECORD")
    metadata = by_path.get(folder + "/METADATA")
    try:
        if metadata is not None:
            text = contents.read(metadata, 4 << 20).decode("utf-8", "replace")
            head = text.split("\n\n", 1)[0]  # the headers; the description follows
            dist.requires = [
                line.split(":", 1)[1].strip()
                for line in head.splitlines()
                if line.lower().startswith("requires-dist:")
            ]
        if wheel is not None:
            text = contents.read(wheel, 1 << 20).decode("utf-8", "replace")
            dist.tags = [
                line.split(":", 1)[1].strip()
                for line in text.splitlines()
                if line.lower().startswith("tag:")
            ]
        if record is not None:
            text = contents.read(record, 16 << 20).decode("utf-8", "replace")
            for row in csv.reader(io.StringIO(text)):
                if row and row[0]:
                    dist.files.append(posixpath.normpath(root + row[0]))
    except (ContentsError, csv.Error):
        pass  # an unreadable RECORD leaves ownership to top_level.txt
    return dist


def _top_level_names(contents: Contents, by_path: dict[str, Item], dist: DistInfo) -> list[str]:
    top = by_path.get(dist.path + "/top_level.txt")
    if top is None:
        return []
    try:
        return contents.read(top, 1 << 20).decode("utf-8", "replace").split()[:1000]
    except ContentsError:
        return []


def _assign_owners(contents: Contents) -> None:
    """Owner of each file: from each dist-info's RECORD, else its top_level.txt."""
    by_path = {i.path: i for i in contents.items}
    for folder in _dist_info_folders(contents.items):
        contents.distributions.append(_read_dist_info(contents, by_path, folder))
    by_top: dict[str, str] = {}  # "root + top-level name" -> distribution
    for dist in contents.distributions:
        for stored in dist.files:
            owned = by_path.get(stored)
            if owned is not None and owned.dist is None:
                owned.dist = dist.name
        for name in _top_level_names(contents, by_path, dist):
            by_top.setdefault(dist.root + name.split("/")[0], dist.name)
        by_top.setdefault(dist.path, dist.name)
    if not by_top:
        return
    for item in contents.items:
        if item.dist is not None:
            continue
        root, _ = _import_root(item.path)
        first = item.path[len(root) :].split("/", 1)[0]
        key = root + (first[:-3] if first.endswith(".py") else first)
        item.dist = by_top.get(key)
