"""Reads ELF files and strips what the loader never maps, leaving every segment byte-identical.

binutils `strip` rewrites a file's layout; on libraries that auditwheel/patchelf already
rewrote (numpy's bundled OpenBLAS) that breaks loading ("ELF load command address/offset not
page-aligned"). Here nothing inside any segment moves: the bytes from the start of the file
to the end of the last segment are kept as they are, only non-allocated sections past that
point (debug info, the static symbol table) are dropped, and the section header table is
rewritten after what remains. Works without binutils (a macOS user building for Lambda).
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


def parse(data: bytes) -> ElfFile:
    if len(data) < 52 or not is_elf(data):
        raise ElfError("not an ELF file")
    ei_class, ei_data = data[4], data[5]
    if ei_class not in (1, 2) or ei_data not in (1, 2):
        raise ElfError("unknown ELF class or byte order")
    is64, little = ei_class == 2, ei_data == 1
    e = "<" if little else ">"
    try:
        if is64:
            (
                e_type,
                e_machine,
                _,
                _,
                e_phoff,
                e_shoff,
                _,
                _,
                e_phentsize,
                e_phnum,
                e_shentsize,
                e_shnum,
                e_shstrndx,
            ) = struct.unpack_from(e + "HHIQQQIHHHHHH", data, 16)
        else:
            (
                e_type,
                e_machine,
                _,
                _,
                e_phoff,
                e_shoff,
                _,
                _,
                e_phentsize,
                e_phnum,
                e_shentsize,
                e_shnum,
                e_shstrndx,
            ) = struct.unpack_from(e + "HHIIIIIHHHHHH", data, 16)
        segments = []
        for i in range(e_phnum):
            off = e_phoff + i * e_phentsize
            if is64:
                p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(e + "IIQQQQ", data, off)
            else:
                p_type, p_offset, _, _, p_filesz = struct.unpack_from(e + "IIIII", data, off)
            if p_offset + p_filesz > len(data):
                raise ElfError("a segment runs past the end of the file")
            segments.append(Segment(p_type, p_offset, p_filesz))
        headers = []
        if e_shoff:
            if e_shnum == 0 or e_shnum >= SHN_LORESERVE or e_shstrndx >= SHN_LORESERVE:
                raise ElfError("extended section numbering is not supported")
            if e_shstrndx >= e_shnum:
                raise ElfError("the section-name table index is out of range")
            if e_shentsize < (64 if is64 else 40):
                raise ElfError("section header entries are too small")
            if e_shoff + e_shnum * e_shentsize > len(data):
                raise ElfError("the section header table runs past the end of the file")
            for i in range(e_shnum):
                off = e_shoff + i * e_shentsize
                raw = data[off : off + e_shentsize]
                if is64:
                    name, typ, flags, _, offset, size, link, info, align, _ = struct.unpack_from(
                        e + "IIQQQQIIQQ", data, off
                    )
                else:
                    name, typ, flags, _, offset, size, link, info, align, _ = struct.unpack_from(
                        e + "IIIIIIIIII", data, off
                    )
                if typ != SHT_NOBITS and offset + size > len(data):
                    raise ElfError("a section runs past the end of the file")
                headers.append((name, typ, flags, offset, size, link, info, align, raw))
    except struct.error as exc:
        raise ElfError(f"truncated ELF headers ({exc})") from exc
    names = b""
    if headers and e_shstrndx < len(headers):
        _, _, _, off, size, *_ = headers[e_shstrndx]
        names = data[off : off + size]
    sections = []
    for index, (name, typ, flags, offset, size, link, info, align, raw) in enumerate(headers):
        end = names.find(b"\0", name)
        label = names[name:end].decode("ascii", "replace") if end >= 0 else ""
        sections.append(Section(index, label, typ, flags, offset, size, link, info, align, raw))
    header_end = max(64 if is64 else 52, e_phoff + e_phnum * e_phentsize if e_phnum else 0)
    return ElfFile(
        data, is64, little, e_machine, e_type, segments, sections, e_shstrndx, header_end
    )


def _strippable(section: Section) -> bool:
    if section.allocated or section.index == 0:
        return False
    return section.name.startswith((".debug", ".zdebug")) or section.type == SHT_SYMTAB


@dataclass(frozen=True)
class StripResult:
    data: bytes
    removed_sections: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.removed_sections)


def strip(data: bytes) -> StripResult:
    """Drop debug sections and the static symbol table; raise ElfError when unsafe."""
    try:
        return _strip(data)
    except ElfError:
        raise
    except (struct.error, KeyError, IndexError, ValueError, OverflowError, MemoryError) as exc:
        raise ElfError(f"malformed ELF ({type(exc).__name__}: {exc})") from exc


def _strip(data: bytes) -> StripResult:
    elf = parse(data)
    if elf.elf_type not in (2, 3):  # ET_EXEC, ET_DYN: what a loader maps
        raise ElfError("not a shared object or executable (relocatable objects are left alone)")
    if not elf.sections:
        return StripResult(data, ())
    drop = {s.index for s in elf.sections if _strippable(s)}
    # The symbol table's string table goes with it, unless something else needs it.
    for s in elf.sections:
        if s.index in drop and s.type == SHT_SYMTAB and s.link < len(elf.sections):
            strtab = elf.sections[s.link]
            users = [o for o in elf.sections if o.link == strtab.index and o.index not in drop]
            if not strtab.allocated and not users and strtab.index != elf.shstrndx:
                drop.add(strtab.index)
    # Keep anything a kept section points at (relocations against the symtab, its string
    # table, ...), until nothing changes: rescuing one section can make its links needed.
    changed = True
    while changed:
        changed = False
        for s in elf.sections:
            if s.index in drop:
                continue
            needed = {s.link} | ({s.info} if s.type in (4, 9) else set())
            rescued = needed & drop
            if rescued:
                drop -= rescued
                changed = True
    if not drop:
        return StripResult(data, ())
    keep_end = elf.segments_end
    e = elf.endian
    out = bytearray(data[:keep_end])
    new_offsets: dict[int, int] = {}
    kept = [s for s in elf.sections if s.index not in drop]
    for s in kept:
        if s.index == 0 or s.file_size == 0 or s.offset + s.file_size <= keep_end:
            new_offsets[s.index] = s.offset  # inside the kept prefix: untouched
            continue
        if s.offset < keep_end:
            raise ElfError(f"section {s.name} straddles the end of the last segment")
        align = max(s.align, 1)
        if align & (align - 1) or align > 1 << 16:
            raise ElfError(f"section {s.name} has an implausible alignment {s.align}")
        out += b"\0" * (-len(out) % align)
        new_offsets[s.index] = len(out)
        out += data[s.offset : s.offset + s.file_size]
    index_map = {old.index: new for new, old in enumerate(kept)}
    out += b"\0" * (-len(out) % (8 if elf.is64 else 4))
    shoff = len(out)
    for s in kept:
        raw = bytearray(s.raw)
        link = index_map.get(s.link, 0) if s.link else 0
        info = s.info
        if s.type in (4, 9) and s.info:  # SHT_RELA / SHT_REL: sh_info is a section index
            info = index_map.get(s.info, 0)
        if elf.is64:
            struct.pack_into(e + "Q", raw, 24, new_offsets.get(s.index, s.offset))
            struct.pack_into(e + "II", raw, 40, link, info)
        else:
            struct.pack_into(e + "I", raw, 16, new_offsets.get(s.index, s.offset))
            struct.pack_into(e + "II", raw, 24, link, info)
        out += raw
    if elf.is64:
        struct.pack_into(e + "Q", out, 40, shoff)
        struct.pack_into(e + "HH", out, 60, len(kept), index_map[elf.shstrndx])
    else:
        struct.pack_into(e + "I", out, 32, shoff)
        struct.pack_into(e + "HH", out, 48, len(kept), index_map[elf.shstrndx])
    result = bytes(out)
    verify_segments_unchanged(data, result)
    removed = tuple(sorted(elf.sections[i].name for i in drop))
    return StripResult(result, removed)


def _section_table_fields(is64: bool) -> list[tuple[int, int]]:
    """(offset, length) of e_shoff, e_shnum and e_shstrndx: the loader never reads them."""
    return [(40, 8), (60, 2), (62, 2)] if is64 else [(32, 4), (48, 2), (50, 2)]


def verify_segments_unchanged(before: bytes, after: bytes) -> None:
    """Parse the result back: same ELF identity and segments, the same bytes in each segment
    (the ELF header's three section-table fields aside, which sit in the first segment)."""
    old, new = parse(before), parse(after)
    masked = bytearray(after[: len(before)])
    for offset, length in _section_table_fields(old.is64):
        masked[offset : offset + length] = before[offset : offset + length]
    after = bytes(masked)
    if (old.is64, old.little, old.machine, old.elf_type) != (
        new.is64,
        new.little,
        new.machine,
        new.elf_type,
    ):
        raise ElfError("ELF identity changed")
    if old.segments != new.segments:
        raise ElfError("program headers changed")
    for seg in old.segments:
        if (
            before[seg.offset : seg.offset + seg.filesz]
            != after[seg.offset : seg.offset + seg.filesz]
        ):
            raise ElfError("a loaded segment changed")
    alloc_old = [(s.name, s.offset, s.size) for s in old.sections if s.allocated]
    alloc_new = [(s.name, s.offset, s.size) for s in new.sections if s.allocated]
    if alloc_old != alloc_new:
        raise ElfError("an allocated section moved")


SHT_DYNAMIC = 6
SHT_GNU_VERNEED = 0x6FFFFFFE
DT_NEEDED = 1


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


def needed_libraries(elf: ElfFile) -> list[str]:
    """DT_NEEDED entries of the dynamic section."""
    e = elf.endian
    result = []
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
            if tag == DT_NEEDED:
                result.append(_cstring(strings, value))
    return result


def version_tuple(symbol_version: str) -> tuple[int, ...] | None:
    """GLIBC_2.28 -> (2, 28); GLIBCXX_3.4.29 -> (3, 4, 29); None if not numeric."""
    _, _, number = symbol_version.partition("_")
    try:
        return tuple(int(p) for p in number.split("."))
    except ValueError:
        return None
