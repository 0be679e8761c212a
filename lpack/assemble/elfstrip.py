"""Strips what the loader never maps from ELF files, leaving every segment byte-identical.

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

from lpack.elf import SHT_SYMTAB, ElfError, ElfFile, Section, parse

_RELOCATIONS = (4, 9)  # SHT_RELA, SHT_REL: sh_info names the section they relocate
_HEADER_SPAN = 64  # the ELF header (52 bytes in 32-bit files): the only bytes rewritten


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
    drop = _sections_to_drop(elf)
    if not drop:
        return StripResult(data, ())
    result = _rewrite_without(elf, drop)
    verify_segments_unchanged(data, result)
    removed = tuple(sorted(elf.sections[i].name for i in drop))
    return StripResult(result, removed)


def _sections_to_drop(elf: ElfFile) -> set[int]:
    """Indexes of the debug and symbol-table sections nothing that stays depends on."""
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
            needed = {s.link} | ({s.info} if s.type in _RELOCATIONS else set())
            rescued = needed & drop
            if rescued:
                drop -= rescued
                changed = True
    return drop


def _rewrite_without(elf: ElfFile, drop: set[int]) -> bytes:
    """The file's bytes up to its last segment, then the kept sections past it, then a new
    section header table. Built as pieces (views of the original, where they are its bytes)
    joined once: memory holds the original and the result, no copy in between."""
    if not isinstance(elf.data, bytes):
        raise ElfError("only a binary read whole is stripped")
    data, keep_end = memoryview(elf.data), elf.segments_end
    if keep_end < _HEADER_SPAN:
        raise ElfError("the segments end inside the ELF header")
    pieces: list[bytes | memoryview] = [b"", data[_HEADER_SPAN:keep_end]]  # header: below
    size = keep_end
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
        pieces.append(b"\0" * (-size % align))
        size += -size % align
        new_offsets[s.index] = size
        pieces.append(data[s.offset : s.offset + s.file_size])
        size += s.file_size
    index_map = {old.index: new for new, old in enumerate(kept)}
    pieces.append(b"\0" * (-size % (8 if elf.is64 else 4)))
    shoff = size + (-size % (8 if elf.is64 else 4))
    for s in kept:
        pieces.append(_section_header(elf, s, new_offsets.get(s.index, s.offset), index_map))
    header = bytearray(data[:_HEADER_SPAN])
    e = elf.endian
    if elf.is64:
        struct.pack_into(e + "Q", header, 40, shoff)
        struct.pack_into(e + "HH", header, 60, len(kept), index_map[elf.shstrndx])
    else:
        struct.pack_into(e + "I", header, 32, shoff)
        struct.pack_into(e + "HH", header, 48, len(kept), index_map[elf.shstrndx])
    pieces[0] = bytes(header)
    return b"".join(pieces)


def _section_header(elf: ElfFile, s: Section, offset: int, index_map: dict[int, int]) -> bytes:
    """The section's header entry with its new offset and renumbered links."""
    raw = bytearray(s.raw)
    link = index_map.get(s.link, 0) if s.link else 0
    info = s.info
    if s.type in _RELOCATIONS and s.info:  # sh_info of a relocation section is an index
        info = index_map.get(s.info, 0)
    e = elf.endian
    if elf.is64:
        struct.pack_into(e + "Q", raw, 24, offset)
        struct.pack_into(e + "II", raw, 40, link, info)
    else:
        struct.pack_into(e + "I", raw, 16, offset)
        struct.pack_into(e + "II", raw, 24, link, info)
    return bytes(raw)


def _section_table_fields(is64: bool) -> list[tuple[int, int]]:
    """(offset, length) of e_shoff, e_shnum and e_shstrndx: the loader never reads them."""
    return [(40, 8), (60, 2), (62, 2)] if is64 else [(32, 4), (48, 2), (50, 2)]


def verify_segments_unchanged(before: bytes, after: bytes) -> None:
    """Parse the result back: same ELF identity and segments, the same bytes in each segment
    (the ELF header's three section-table fields aside, which sit in the first segment).
    Compared through views: a 100 MB library is never copied to be checked."""
    old, new = parse(before), parse(after)
    if (old.is64, old.little, old.machine, old.elf_type) != (
        new.is64,
        new.little,
        new.machine,
        new.elf_type,
    ):
        raise ElfError("ELF identity changed")
    if old.segments != new.segments:
        raise ElfError("program headers changed")
    was, now = memoryview(before), memoryview(after)
    fields = _section_table_fields(old.is64)
    for seg in old.segments:
        start, end = seg.offset, seg.offset + seg.filesz
        for offset, length in fields:  # compare around each field inside the segment
            if start <= offset < end:
                if was[start:offset] != now[start:offset]:
                    raise ElfError("a loaded segment changed")
                start = offset + length
        if was[start:end] != now[start:end]:
            raise ElfError("a loaded segment changed")
    alloc_old = [(s.name, s.offset, s.size) for s in old.sections if s.allocated]
    alloc_new = [(s.name, s.offset, s.size) for s in new.sections if s.allocated]
    if alloc_old != alloc_new:
        raise ElfError("an allocated section moved")
