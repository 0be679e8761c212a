"""Lays out the package as `pip install --target` would: one entry per file, from wheels and source.

A function's files sit at the zip's root; a layer's under python/ (Lambda adds /opt/python
to sys.path). The layout is the only place that knows the difference.
"""

from __future__ import annotations

import csv
import io
import stat
import zipfile
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name

from lpack.assemble.entries import Entry, Generated, SourceFile, WheelMember
from lpack.assemble.wheelcheck import all_member_digests, lying_record, member_digests
from lpack.errors import BuildError
from lpack.facts import SOURCE_NAME
from lpack.resolve.fetch import FetchedWheel
from lpack.settings import KINDS


@dataclass(frozen=True)
class InstallLayout:
    """Where installed files go inside the zip: the root for a function, python/ for a layer."""

    prefix: str = ""

    @classmethod
    def for_kind(cls, kind: str) -> InstallLayout:
        assert kind in KINDS
        return cls("python/" if kind == "layer" else "")

    def place(self, path: str) -> str:
        return self.prefix + path

    def relative(self, path: str) -> str:
        """A stored path as RECORD names it: relative to the install folder."""
        return path[len(self.prefix) :] if path.startswith(self.prefix) else path


FUNCTION_LAYOUT = InstallLayout()


@dataclass
class Distribution:
    name: str
    version: str
    wheel: str
    dist_info: str  # the .dist-info folder as stored in the zip
    top_level: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)  # Requires-Dist lines of METADATA

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)


@dataclass
class Plan:
    entries: dict[str, Entry]
    distributions: list[Distribution]
    source_files: int
    warnings: list[str]
    layout: InstallLayout = FUNCTION_LAYOUT

    def sorted_entries(self) -> list[Entry]:
        return [self.entries[k] for k in sorted(self.entries)]


def owner_name(dist: str | None) -> str:
    return dist or SOURCE_NAME


def _safe_member_path(wheel: str, name: str) -> str:
    path = PurePosixPath(name)
    if (
        not path.parts
        or name.startswith("/")
        or "\\" in name
        or ".." in path.parts
        or ":" in path.parts[0]
        or str(path) == "."
        # Control characters (a CR, a newline) make names unsafe to show and RECORD rows
        # differ between Python releases (csv quotes a CR since 3.11.9 and 3.12.3).
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        raise BuildError(
            f"Wheel {wheel} contains the unsafe path {name!r}; lpack will not install it.",
            hint="the wheel is malformed or hostile: pin another version or report it upstream.",
        )
    return str(path)


def _mode_of(member: zipfile.ZipInfo) -> int:
    unix = member.external_attr >> 16
    return 0o755 if unix & 0o111 else 0o644


def _rewrite_shebang(data: bytes) -> bytes:
    # Wheels mark scripts to be bound to the installing interpreter with "#!python".
    if data.startswith(b"#!python"):
        _, _, rest = data.partition(b"\n")
        return b"#!/usr/bin/env python3\n" + rest
    return data


@dataclass(frozen=True)
class _WheelInfo:
    """What a wheel says about itself: its dist-info folder, hashes and requirements."""

    dist_info: str
    record_hashes: dict[str, str]
    requires: list[str]

    @property
    def data_dir(self) -> str:
        return self.dist_info[: -len(".dist-info")] + ".data"

    @property
    def signatures(self) -> tuple[str, ...]:
        # RECORD is rewritten to match what ships, so its signatures could never verify.
        return tuple(f"{self.dist_info}/{name}" for name in ("RECORD", "RECORD.jws", "RECORD.p7s"))


def _wheel_info(zf: zipfile.ZipFile, filename: str) -> _WheelInfo:
    names = zf.namelist()
    tops = {n.split("/", 1)[0] for n in names}
    dist_infos = {t for t in tops if t.endswith(".dist-info")}
    if len(dist_infos) != 1:
        raise BuildError(f"Wheel {filename} has {len(dist_infos)} .dist-info folders.")
    dist_info = dist_infos.pop()
    hashes: dict[str, str] = {}
    if f"{dist_info}/RECORD" in names:
        text = zf.read(f"{dist_info}/RECORD").decode("utf-8", "replace")
        for row in csv.reader(io.StringIO(text)):
            if len(row) >= 2 and row[1].startswith("sha256="):
                hashes[row[0]] = row[1]
    requires: list[str] = []
    if f"{dist_info}/METADATA" in names:
        metadata = BytesHeaderParser().parsebytes(zf.read(f"{dist_info}/METADATA"))
        requires = list(metadata.get_all("Requires-Dist") or [])
    return _WheelInfo(dist_info, hashes, requires)


def _member_entry(
    zf: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    fetched: FetchedWheel,
    info: _WheelInfo,
    digests: dict[str, str],
) -> Entry | None:
    """The entry a wheel member installs as, or None for what an install leaves out."""
    name = _safe_member_path(fetched.filename, member.filename)
    dist = canonicalize_name(fetched.name)
    source = WheelMember(fetched.path, fetched.sha256, member)
    if name in info.signatures:
        return None
    if name.split("/", 1)[0] != info.data_dir:
        return Entry(name, _mode_of(member), dist, source, digests.get(member.filename))
    parts = name.split("/", 2)
    if len(parts) < 3:
        return None
    scheme, rest = parts[1], parts[2]
    if scheme in ("purelib", "platlib", "data"):
        return Entry(rest, _mode_of(member), dist, source, digests.get(member.filename))
    if scheme == "scripts":
        script = Generated(_rewrite_shebang(zf.read(member)))
        return Entry(f"bin/{rest}", 0o755, dist, script)
    return None  # headers: C headers are never loaded at run time


def add_wheel(
    entries: dict[str, Entry],
    fetched: FetchedWheel,
    warnings: list[str],
    layout: InstallLayout = FUNCTION_LAYOUT,
    digests: dict[str, str] | None = None,
) -> Distribution:
    """Install one wheel's members into entries, as pip would; return its distribution.

    digests: the members' sha256 as lpack computed them (wheelcheck); the wheel's own
    RECORD is only compared with them, never copied."""
    digests = member_digests(fetched) if digests is None else digests
    try:
        zf = zipfile.ZipFile(fetched.path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BuildError(f"Wheel {fetched.path} cannot be read: {exc}.") from exc
    with zf:
        info = _wheel_info(zf, fetched.filename)
        owned = [
            entry
            for m in zf.infolist()
            if not m.is_dir()
            if (entry := _member_entry(zf, m, fetched, info, digests)) is not None
        ]
    if lie := lying_record(info.record_hashes, digests, fetched.filename):
        warnings.append(lie)
    dist = canonicalize_name(fetched.name)
    owned.append(Entry(f"{info.dist_info}/INSTALLER", 0o644, dist, Generated(b"lpack\n")))
    top_level = {
        e.path.split("/", 1)[0].removesuffix(".py")
        for e in owned
        if not e.path.startswith(("bin/", f"{info.dist_info}/"))
    }
    for entry in owned:
        entry.path = layout.place(entry.path)
        _put(entries, entry, warnings)
    return Distribution(
        name=fetched.name,
        version=fetched.version,
        wheel=fetched.filename,
        dist_info=layout.place(info.dist_info),
        top_level=sorted(t for t in top_level if t),
        requires=info.requires,
    )


def _put(entries: dict[str, Entry], entry: Entry, warnings: list[str]) -> None:
    existing = entries.get(entry.path)
    if existing is not None and existing.dist != entry.dist:
        if existing.size != entry.size or existing.read() != entry.read():
            winner = owner_name(entry.dist)
            warnings.append(
                f"{entry.path} is shipped by both {owner_name(existing.dist)} and {winner}; "
                f"the copy from {winner} wins."
            )
    entries[entry.path] = entry


def add_source(
    entries: dict[str, Entry],
    files: list[tuple[str, Path]],
    warnings: list[str],
    layout: InstallLayout = FUNCTION_LAYOUT,
) -> None:
    for rel, full in files:
        st = full.stat()
        mode = 0o755 if st.st_mode & 0o111 and stat.S_ISREG(st.st_mode) else 0o644
        entry = Entry(layout.place(rel), mode, None, SourceFile(full, st.st_size))
        _put(entries, entry, warnings)


def make_plan(
    wheels: list[FetchedWheel],
    files: list[tuple[str, Path]],
    warnings: list[str],
    layout: InstallLayout = FUNCTION_LAYOUT,
) -> Plan:
    entries: dict[str, Entry] = {}
    digests = all_member_digests(wheels)
    distributions = [
        add_wheel(entries, w, warnings, layout, digests[w.path])
        for w in sorted(wheels, key=lambda w: w.name)
    ]
    add_source(entries, files, warnings, layout)
    _check_file_folder_clashes(entries)
    return Plan(entries, distributions, len(files), warnings, layout)


def _check_file_folder_clashes(entries: dict[str, Entry]) -> None:
    """A path cannot be a file and a folder at once: no extractor could unpack that zip."""
    for path in entries:
        parts = path.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder in entries:
                raise BuildError(
                    f"{folder!r} is a file (from {owner_name(entries[folder].dist)}) and also a "
                    f"folder holding {path!r} (from {owner_name(entries[path].dist)}); the zip "
                    "could not be extracted.",
                    hint="rename or exclude the file in your source, or drop one of the "
                    "distributions.",
                )
