"""Reads ELF files: headers, segments, sections, needed libraries and symbol versions.

Shared by slimming (assemble/elfstrip.py rewrites files) and lint (inspect/ reads them);
it never writes anything.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

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
    data: bytes
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


def is_elf(data: bytes) -> bool:
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


def _header(data: bytes) -> _Header:
    if len(data) < 52 or not is_elf(data):
        raise ElfError("not an ELF file")
    ei_class, ei_data = data[4], data[5]
    if ei_class not in (1, 2) or ei_data not in (1, 2):
        raise ElfError("unknown ELF class or byte order")
    is64, e = ei_class == 2, "<" if ei_data == 1 else ">"
    layout = "HHIQQQIHHHHHH" if is64 else "HHIIIIIHHHHHH"
    typ, machine, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum, shstrndx = (
        struct.unpack_from(e + layout, data, 16)
    )
    return _Header(
        is64, e, typ, machine, phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx
    )


def _segments(data: bytes, h: _Header) -> list[Segment]:
    segments = []
    for i in range(h.phnum):
        off = h.phoff + i * h.phentsize
        if h.is64:
            p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(h.endian + "IIQQQQ", data, off)
        else:
            p_type, p_offset, _, _, p_filesz = struct.unpack_from(h.endian + "IIIII", data, off)
        if p_offset + p_filesz > len(data):
            raise ElfError("a segment runs past the end of the file")
        segments.append(Segment(p_type, p_offset, p_filesz))
    return segments


def _section_headers(data: bytes, h: _Header) -> list[tuple[int, ...]]:
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
    headers: list[tuple[int, ...]] = []
    for i in range(h.shnum):
        name, typ, flags, _, offset, size, link, info, align, _ = struct.unpack_from(
            layout, data, h.shoff + i * h.shentsize
        )
        if typ != SHT_NOBITS and offset + size > len(data):
            raise ElfError("a section runs past the end of the file")
        headers.append((name, typ, flags, offset, size, link, info, align))
    return headers


def parse(data: bytes) -> ElfFile:
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
    sections = []
    for index, (name, typ, flags, offset, size, link, info, align) in enumerate(headers):
        end = names.find(b"\0", name)
        label = names[name:end].decode("ascii", "replace") if end >= 0 else ""
        raw_at = h.shoff + index * h.shentsize
        raw = data[raw_at : raw_at + h.shentsize]
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


def _cstring(table: bytes, offset: int) -> str:
    end = table.find(b"\0", offset)
    return table[offset : end if end >= 0 else len(table)].decode("ascii", "replace")


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
        strings = _section_bytes(elf, elf.sections[section.link])
        offset, guard = 0, 0
        while offset + 16 <= len(data) and guard < 4096:
            guard += 1
            _, count, file_off, aux, nxt = struct.unpack_from(e + "HHIII", data, offset)
            library = _cstring(strings, file_off)
            versions = result.setdefault(library, set())
            aux_off = offset + aux
            for _ in range(min(count, 4096)):
                if aux_off + 16 > len(data):
                    break
                _, _, _, name_off, aux_next = struct.unpack_from(e + "IHHII", data, aux_off)
                versions.add(_cstring(strings, name_off))
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
        strings = _section_bytes(elf, elf.sections[section.link])
        size = 16 if elf.is64 else 8
        fmt = e + ("qQ" if elf.is64 else "iI")
        for offset in range(0, len(data) - size + 1, size):
            tag, value = struct.unpack_from(fmt, data, offset)
            if tag == 0:
                break
            if tag in found:
                found[tag].append(_cstring(strings, value))

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
