"""Reads ELF files: headers, segments, sections, needed libraries and symbol versions.

Shared by slimming (assemble/elfstrip.py rewrites files) and lint (inspect/ reads them);
it never writes anything.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from dataclasses import dataclass
from typing import BinaryIO

ELF_MAGIC = b"\x7fELF"
SHF_ALLOC = 0x2
SHT_NOBITS = 8
SHT_SYMTAB = 2
SHN_LORESERVE = 0xFF00

MACHINES = {
    3: "x86",
    62: "x86_64",
    183: "aarch64",
    40: "arm",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390",
    243: "riscv",
}


class ElfError(ValueError):
    """The bytes are not an ELF file lpack can safely read."""


class ElfTooLarge(ElfError):
    """A table larger than lpack reads: the file may be fine, lint just did not look."""


# One table (section headers, .dynamic, .gnu.version_r) larger than this is not a real
# binary's: lint says it could not read it rather than allocate what a hostile file claims.
MAX_TABLE_READ = 16 * 1024**2
_BLOCK = 64 * 1024
_CACHED_BLOCKS = 128  # 8 MiB: the string lookups of one table stay in memory
_NAME_READ = 1024  # a library name, a symbol version or a search path
# Entries of one kind that lint reads: real binaries need tens of libraries and versions.
MAX_ENTRIES = 1024


class FileView:
    """An ELF file read on demand from a seekable stream (a zip member, an open file).

    Lint needs the headers and a few small tables, which a hostile or simply huge binary
    (a 1 GiB .so) would otherwise make it hold in memory. Blocks are cached so string
    lookups near each other do not seek again (a zip member seeks back by inflating anew).
    """

    def __init__(self, stream: BinaryIO, size: int, inflated: bool = False) -> None:
        self._stream = stream
        self._size = size
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        # A compressed stream seeks back by inflating again from byte 0: a hostile file
        # whose tables point back and forth could make every lookup cost the whole file.
        self._budget = 4 * size + MAX_TABLE_READ if inflated else None
        self._at = 0  # where the stream stands after the last read

    def __len__(self) -> int:
        return self._size

    def _block(self, index: int) -> bytes:
        block = self._blocks.get(index)
        if block is None:
            if self._budget is not None:
                start = index * _BLOCK
                self._budget -= start + _BLOCK - (self._at if start >= self._at else 0)
                if self._budget < 0:
                    raise ElfTooLarge(
                        "its tables point back and forth through a compressed member more "
                        "than lpack inflates (4x the file)"
                    )
                self._at = start + _BLOCK
            self._stream.seek(index * _BLOCK)
            block = self._stream.read(_BLOCK)
            self._blocks[index] = block
            if len(self._blocks) > _CACHED_BLOCKS:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(index)
        return block

    def __getitem__(self, key: slice) -> bytes:
        start, stop, _ = key.indices(self._size)
        if stop <= start:
            return b""
        if stop - start > MAX_TABLE_READ:
            raise ElfTooLarge(
                f"a table of {stop - start:,} B is more than the {MAX_TABLE_READ:,} B "
                "lpack reads from one binary"
            )
        parts = []
        for index in range(start // _BLOCK, (stop - 1) // _BLOCK + 1):
            block = self._block(index)
            base = index * _BLOCK
            parts.append(block[max(start - base, 0) : stop - base])
        return b"".join(parts)


ByteSource = bytes | FileView


def _unpack(fmt: str, data: ByteSource, offset: int) -> tuple[int, ...]:
    size = struct.calcsize(fmt)
    return struct.unpack(fmt, data[offset : offset + size])


@dataclass(frozen=True)
class Segment:
    type: int
    offset: int
    filesz: int


@dataclass(frozen=True)
class Section:
    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    align: int
    raw: bytes  # the header entry as stored

    @property
    def allocated(self) -> bool:
        return bool(self.flags & SHF_ALLOC)

    @property
    def file_size(self) -> int:
        return 0 if self.type == SHT_NOBITS else self.size


@dataclass(frozen=True)
class ElfFile:
    data: ByteSource
    is64: bool
    little: bool
    machine: int
    elf_type: int
    segments: list[Segment]
    sections: list[Section]
    shstrndx: int
    header_end: int = 0  # end of the ELF header and program header table

    @property
    def endian(self) -> str:
        return "<" if self.little else ">"

    @property
    def machine_name(self) -> str:
        return MACHINES.get(self.machine, f"machine-{self.machine}")

    @property
    def segments_end(self) -> int:
        """Everything before this offset is kept byte for byte: headers and all segments."""
        return max([self.header_end] + [s.offset + s.filesz for s in self.segments])

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    @property
    def has_debug_info(self) -> bool:
        return any(s.name.startswith((".debug", ".zdebug")) for s in self.sections)

    @property
    def has_symtab(self) -> bool:
        return any(s.type == SHT_SYMTAB for s in self.sections)


def is_elf(data: ByteSource) -> bool:
    return data[:4] == ELF_MAGIC


@dataclass(frozen=True)
class _Header:
    """The ELF header fields parse() needs."""

    is64: bool
    endian: str
    elf_type: int
    machine: int
    phoff: int
    shoff: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int


def _header(data: ByteSource) -> _Header:
    if not is_elf(data):
        raise ElfError("not an ELF file")
    if len(data) < 52:
        raise ElfError(f"truncated: {len(data)} B, shorter than an ELF header")
    ei_class, ei_data = data[4:6]
    if ei_class not in (1, 2) or ei_data not in (1, 2):
        raise ElfError("unknown ELF class or byte order")
    is64, e = ei_class == 2, "<" if ei_data == 1 else ">"
    layout = "HHIQQQIHHHHHH" if is64 else "HHIIIIIHHHHHH"
    typ, machine, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum, shstrndx = _unpack(
        e + layout, data, 16
    )
    return _Header(
        is64, e, typ, machine, phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx
    )


def _segments(data: ByteSource, h: _Header) -> list[Segment]:
    segments = []
    table = data[h.phoff : h.phoff + h.phnum * h.phentsize]  # one read, then parsed in memory
    for i in range(h.phnum):
        off = i * h.phentsize
        if h.is64:
            p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
                h.endian + "IIQQQQ", table, off
            )
        else:
            p_type, p_offset, _, _, p_filesz = struct.unpack_from(h.endian + "IIIII", table, off)
        if p_offset + p_filesz > len(data):
            raise ElfError("a segment runs past the end of the file")
        segments.append(Segment(p_type, p_offset, p_filesz))
    return segments


def _section_headers(data: ByteSource, h: _Header) -> list[tuple[int, ...]]:
    """(name offset, type, flags, offset, size, link, info, align) of each section, checked to
    lie inside the file."""
    if not h.shoff:
        return []
    if h.shnum == 0 or h.shnum >= SHN_LORESERVE or h.shstrndx >= SHN_LORESERVE:
        raise ElfError("extended section numbering is not supported")
    if h.shstrndx >= h.shnum:
        raise ElfError("the section-name table index is out of range")
    if h.shentsize < (64 if h.is64 else 40):
        raise ElfError("section header entries are too small")
    if h.shoff + h.shnum * h.shentsize > len(data):
        raise ElfError("the section header table runs past the end of the file")
    layout = h.endian + ("IIQQQQIIQQ" if h.is64 else "IIIIIIIIII")
    table = data[h.shoff : h.shoff + h.shnum * h.shentsize]
    headers: list[tuple[int, ...]] = []
    for i in range(h.shnum):
        name, typ, flags, _, offset, size, link, info, align, _ = struct.unpack_from(
            layout, table, i * h.shentsize
        )
        if typ != SHT_NOBITS and offset + size > len(data):
            raise ElfError("a section runs past the end of the file")
        headers.append((name, typ, flags, offset, size, link, info, align))
    return headers


def parse(data: ByteSource) -> ElfFile:
    """Headers, segments and named sections; ElfError for anything malformed or truncated."""
    try:
        h = _header(data)
        segments = _segments(data, h)
        headers = _section_headers(data, h)
    except struct.error as exc:
        raise ElfError(f"truncated ELF headers ({exc})") from exc
    names = b""
    if headers and h.shstrndx < len(headers):
        _, _, _, off, size, *_ = headers[h.shstrndx]
        names = data[off : off + size]
    table = data[h.shoff : h.shoff + len(headers) * h.shentsize]
    sections = []
    for index, (name, typ, flags, offset, size, link, info, align) in enumerate(headers):
        end = names.find(b"\0", name)
        label = names[name:end].decode("ascii", "replace") if end >= 0 else ""
        raw = table[index * h.shentsize : (index + 1) * h.shentsize]
        sections.append(Section(index, label, typ, flags, offset, size, link, info, align, raw))
    header_end = max(64 if h.is64 else 52, h.phoff + h.phnum * h.phentsize if h.phnum else 0)
    return ElfFile(
        data,
        h.is64,
        h.endian == "<",
        h.machine,
        h.elf_type,
        segments,
        sections,
        h.shstrndx,
        header_end,
    )


SHT_DYNAMIC = 6
SHT_GNU_VERNEED = 0x6FFFFFFE
DT_NEEDED = 1
DT_SONAME = 14
DT_RPATH = 15
DT_RUNPATH = 29


class _Strings:
    """A string table read one name at a time: a huge .dynstr is never held whole."""

    def __init__(self, elf: ElfFile, section: Section) -> None:
        self._data, self._start, self._size = elf.data, section.offset, section.file_size
        self._read: dict[int, str] = {}
        self.lookups = 0

    def at(self, offset: int) -> str:
        # Counted, not only cached: entries may all share one chain (each a new offset).
        self.lookups += 1
        if self.lookups > 4 * MAX_ENTRIES:
            raise ElfTooLarge(f"it names more than {4 * MAX_ENTRIES:,} libraries and versions")
        if offset not in self._read:
            self._read[offset] = self._name_at(offset)
        return self._read[offset]

    def _name_at(self, offset: int) -> str:
        if offset >= self._size:
            return ""
        start = self._start + offset
        window = self._data[start : start + min(_NAME_READ, self._size - offset)]
        end = window.find(b"\0")
        return window[: end if end >= 0 else len(window)].decode("ascii", "replace")


def _section_bytes(elf: ElfFile, section: Section) -> bytes:
    return elf.data[section.offset : section.offset + section.file_size]


def needed_versions(elf: ElfFile) -> dict[str, set[str]]:
    """Symbol versions the file needs, by library: {"libc.so.6": {"GLIBC_2.17", ...}}.

    Read from .gnu.version_r, as auditwheel does to decide a manylinux tag.
    """
    result: dict[str, set[str]] = {}
    e = elf.endian
    for section in elf.sections:
        if section.type != SHT_GNU_VERNEED or section.link >= len(elf.sections):
            continue
        data = _section_bytes(elf, section)
        strings = _Strings(elf, elf.sections[section.link])
        offset, guard = 0, 0
        while offset + 16 <= len(data) and guard < 4096:
            guard += 1
            _, count, file_off, aux, nxt = struct.unpack_from(e + "HHIII", data, offset)
            library = strings.at(file_off)
            versions = result.setdefault(library, set())
            aux_off = offset + aux
            for _ in range(min(count, 4096)):
                if aux_off + 16 > len(data):
                    break
                _, _, _, name_off, aux_next = struct.unpack_from(e + "IHHII", data, aux_off)
                versions.add(strings.at(name_off))
                if not aux_next:
                    break
                aux_off += aux_next
            if not nxt:
                break
            offset += nxt
    return result


@dataclass(frozen=True)
class Dynamic:
    """What the dynamic section tells the loader: the libraries to find and where to look."""

    needed: tuple[str, ...] = ()
    soname: str = ""
    rpath: tuple[str, ...] = ()  # DT_RPATH, searched before LD_LIBRARY_PATH
    runpath: tuple[str, ...] = ()  # DT_RUNPATH, searched after it (and RPATH is then ignored)


def dynamic(elf: ElfFile) -> Dynamic:
    """The DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH entries of the dynamic section."""
    e = elf.endian
    found: dict[int, list[str]] = {DT_NEEDED: [], DT_SONAME: [], DT_RPATH: [], DT_RUNPATH: []}
    for section in elf.sections:
        if section.type != SHT_DYNAMIC or section.link >= len(elf.sections):
            continue
        data = _section_bytes(elf, section)
        strings = _Strings(elf, elf.sections[section.link])
        size = 16 if elf.is64 else 8
        fmt = e + ("qQ" if elf.is64 else "iI")
        for offset in range(0, len(data) - size + 1, size):
            tag, value = struct.unpack_from(fmt, data, offset)
            if tag == 0:
                break
            if tag in found:
                found[tag].append(strings.at(value))
                if len(found[tag]) > MAX_ENTRIES:
                    raise ElfTooLarge(f"its dynamic section has more than {MAX_ENTRIES:,} entries")

    def folders(tag: int) -> tuple[str, ...]:
        return tuple(p for text in found[tag] for p in text.split(":") if p)

    return Dynamic(
        needed=tuple(found[DT_NEEDED]),
        soname=next(iter(found[DT_SONAME]), ""),
        rpath=folders(DT_RPATH),
        runpath=folders(DT_RUNPATH),
    )


def needed_libraries(elf: ElfFile) -> list[str]:
    """DT_NEEDED entries of the dynamic section."""
    return list(dynamic(elf).needed)


def version_tuple(symbol_version: str) -> tuple[int, ...] | None:
    """GLIBC_2.28 -> (2, 28); GLIBCXX_3.4.29 -> (3, 4, 29); None if not numeric."""
    _, _, number = symbol_version.partition("_")
    try:
        return tuple(int(p) for p in number.split("."))
    except ValueError:
        return None
