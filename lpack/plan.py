"""Lays out the package as `pip install --target` would: one entry per file, from wheels and source."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import stat
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath

import pathspec
from packaging.utils import canonicalize_name

from lpack.errors import BuildError
from lpack.fetch import FetchedWheel

# Never part of a function: version control, virtualenvs, caches, editor junk.
ALWAYS_EXCLUDED_DIRS = {
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".idea",
    ".vscode",
    "node_modules",
    ".aws-sam",
    ".serverless",
    ".lpack",
    ".eggs",
}
ALWAYS_EXCLUDED_FILES = {".DS_Store", "Thumbs.db"}
ALWAYS_EXCLUDED_SUFFIXES = (".pyc", ".pyo")


@dataclass
class Entry:
    """One file of the package and where its bytes come from."""

    path: str
    mode: int  # 0o644 or 0o755: normalised, never the machine's
    size: int
    dist: str | None  # owning distribution; None for the function's own source
    source_file: Path | None = None
    wheel: Path | None = None
    member: zipfile.ZipInfo | None = None
    data: bytes | None = None
    record_hash: str | None = None  # "sha256=..." known without reading the bytes

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.source_file is not None:
            return self.source_file.read_bytes()
        assert self.wheel is not None and self.member is not None
        return _open_wheel(self.wheel).read(self.member)

    def replace_data(self, data: bytes) -> None:
        """New content (a stripped binary): no longer a raw copy from the wheel."""
        self.data, self.size = data, len(data)
        self.wheel = self.member = self.source_file = None
        self.record_hash = None


@lru_cache(maxsize=32)
def _open_wheel(path: Path) -> zipfile.ZipFile:
    # Reading thousands of members one ZipFile at a time would reparse the central
    # directory each time; ZipFile reads are safe to share between threads.
    return zipfile.ZipFile(path)


def close_wheels() -> None:
    _open_wheel.cache_clear()  # the ZipFiles close when collected


@dataclass
class Distribution:
    name: str
    version: str
    wheel: str
    dist_info: str
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

    def sorted_entries(self) -> list[Entry]:
        return [self.entries[k] for k in sorted(self.entries)]


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _safe_member_path(wheel: str, name: str) -> str:
    path = PurePosixPath(name)
    if (
        not path.parts
        or name.startswith("/")
        or "\\" in name
        or ".." in path.parts
        or ":" in path.parts[0]
        or str(path) == "."
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


def add_wheel(
    entries: dict[str, Entry], fetched: FetchedWheel, warnings: list[str]
) -> Distribution:
    try:
        zf = zipfile.ZipFile(fetched.path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BuildError(f"Wheel {fetched.path} cannot be read: {exc}.") from exc
    with zf:
        names = zf.namelist()
        dist_infos = {
            n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")
        }
        if len(dist_infos) != 1:
            raise BuildError(f"Wheel {fetched.filename} has {len(dist_infos)} .dist-info folders.")
        dist_info = dist_infos.pop()
        data_dir = dist_info[: -len(".dist-info")] + ".data"
        old_record: dict[str, str] = {}
        if f"{dist_info}/RECORD" in names:
            text = zf.read(f"{dist_info}/RECORD").decode("utf-8", "replace")
            for row in csv.reader(io.StringIO(text)):
                if len(row) >= 2 and row[1].startswith("sha256="):
                    old_record[row[0]] = row[1]
        dist_name = canonicalize_name(fetched.name)
        owned: list[Entry] = []
        top_level: set[str] = set()
        for member in zf.infolist():
            if member.is_dir():
                continue
            name = _safe_member_path(fetched.filename, member.filename)
            path = name
            mode = _mode_of(member)
            data = None
            if name.split("/", 1)[0] == data_dir:
                parts = name.split("/", 2)
                if len(parts) < 3:
                    continue
                scheme, rest = parts[1], parts[2]
                if scheme in ("purelib", "platlib", "data"):
                    path = rest
                elif scheme == "scripts":
                    path = f"bin/{rest}"
                    data = _rewrite_shebang(zf.read(member))
                    mode = 0o755
                else:  # headers: C headers are never loaded at run time
                    continue
            elif name in (
                f"{dist_info}/RECORD",
                f"{dist_info}/RECORD.jws",
                f"{dist_info}/RECORD.p7s",
            ):
                continue
            entry = Entry(
                path=path,
                mode=mode,
                size=len(data) if data is not None else member.file_size,
                dist=dist_name,
                wheel=fetched.path if data is None else None,
                member=member if data is None else None,
                data=data,
                record_hash=old_record.get(name) if data is None else record_hash(data),
            )
            owned.append(entry)
            if not path.startswith(("bin/", f"{dist_info}/")):
                top_level.add(path.split("/", 1)[0].removesuffix(".py"))
        owned.append(Entry(f"{dist_info}/INSTALLER", 0o644, 6, dist_name, data=b"lpack\n"))
        for entry in owned:
            _put(entries, entry, warnings)
        requires = []
        if f"{dist_info}/METADATA" in names:
            from email.parser import BytesHeaderParser

            metadata = BytesHeaderParser().parsebytes(zf.read(f"{dist_info}/METADATA"))
            requires = list(metadata.get_all("Requires-Dist") or [])
    return Distribution(
        name=fetched.name,
        version=fetched.version,
        wheel=fetched.filename,
        dist_info=dist_info,
        top_level=sorted(t for t in top_level if t),
        requires=requires,
    )


def write_records(plan: Plan) -> None:
    """Give each distribution a RECORD that lists exactly what ships, where it ships."""
    owned: dict[str, list[Entry]] = {}
    for entry in plan.entries.values():
        if entry.dist is not None:
            owned.setdefault(entry.dist, []).append(entry)
    for dist in plan.distributions:
        rows = []
        record_path = f"{dist.dist_info}/RECORD"
        for entry in owned.get(dist.key, []):
            if entry.path == record_path:
                continue
            if entry.record_hash is None:
                entry.record_hash = record_hash(entry.read())
            rows.append(f"{_csv_field(entry.path)},{entry.record_hash},{entry.size}")
        rows.append(f"{_csv_field(record_path)},,")
        record = ("\n".join(sorted(rows)) + "\n").encode()
        plan.entries[record_path] = Entry(record_path, 0o644, len(record), dist.key, data=record)


def _csv_field(value: str) -> str:
    if any(c in value for c in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _put(entries: dict[str, Entry], entry: Entry, warnings: list[str]) -> None:
    existing = entries.get(entry.path)
    if existing is not None and existing.dist != entry.dist:
        if existing.size != entry.size or existing.read() != entry.read():
            owner = existing.dist or "your source"
            warnings.append(
                f"{entry.path} is shipped by both {owner} and {entry.dist or 'your source'}; "
                f"the copy from {entry.dist or 'your source'} wins."
            )
    entries[entry.path] = entry


@lru_cache(maxsize=256)
def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def matches_any(path: str, patterns: list[str]) -> bool:
    """gitignore semantics (pathspec): "tests" or "*.md" match at any depth, "/lib" and
    "pkg/lib" only from the root, "**" spans folders, a folder pattern covers its files."""
    return bool(patterns) and _spec(tuple(patterns)).match_file(path)


def source_files(
    source_dir: Path,
    include: list[str],
    exclude: list[str],
    skip_paths: set[Path],
    warnings: list[str],
) -> list[tuple[str, Path]]:
    """The function's own files: relative posix path and absolute path, sorted."""
    found = []
    for root, dirs, files in os.walk(source_dir):
        root_path = Path(root)
        keep_dirs = []
        for d in sorted(dirs):
            full = root_path / d
            if d in ALWAYS_EXCLUDED_DIRS or d.endswith(".egg-info") or full in skip_paths:
                continue
            if (full / "pyvenv.cfg").exists():  # a virtualenv under any name
                continue
            if full.is_symlink():
                warnings.append(f"{full} is a symlink to a folder; lpack does not follow it.")
                continue
            keep_dirs.append(d)
        dirs[:] = keep_dirs
        for f in sorted(files):
            full = root_path / f
            if f in ALWAYS_EXCLUDED_FILES or f.endswith(ALWAYS_EXCLUDED_SUFFIXES):
                continue
            if full in skip_paths:
                continue
            rel = full.relative_to(source_dir).as_posix()
            if full.is_symlink():
                resolved = full.resolve()
                if not resolved.exists():
                    warnings.append(f"{rel} is a broken symlink; it is not shipped.")
                    continue
                if not resolved.is_relative_to(source_dir.resolve()):
                    warnings.append(
                        f"{rel} is a symlink to {resolved}, outside the source folder; "
                        "it is not shipped (copy the file in if the function needs it)."
                    )
                    continue
            if not full.is_file():
                continue
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                raise BuildError(
                    f"Source file {full!r} has a name that is not valid UTF-8; zip readers "
                    "would garble it.",
                    hint="rename it, or exclude it with `exclude`.",
                ) from None
            if include and not matches_any(rel, include):
                continue
            if exclude and matches_any(rel, exclude):
                continue
            found.append((rel, full))
    return found


def add_source(
    entries: dict[str, Entry], files: list[tuple[str, Path]], warnings: list[str]
) -> None:
    for rel, full in files:
        st = full.stat()
        mode = 0o755 if st.st_mode & 0o111 and stat.S_ISREG(st.st_mode) else 0o644
        _put(entries, Entry(rel, mode, st.st_size, None, source_file=full), warnings)


def make_plan(
    wheels: list[FetchedWheel], files: list[tuple[str, Path]], warnings: list[str]
) -> Plan:
    entries: dict[str, Entry] = {}
    distributions = [add_wheel(entries, w, warnings) for w in sorted(wheels, key=lambda w: w.name)]
    add_source(entries, files, warnings)
    _check_file_folder_clashes(entries)
    return Plan(entries, distributions, len(files), warnings)


def _check_file_folder_clashes(entries: dict[str, Entry]) -> None:
    """A path cannot be a file and a folder at once: no extractor could unpack that zip."""
    for path in entries:
        parts = path.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder in entries:
                clash = entries[folder]
                owner = clash.dist or "your source"
                other = entries[path].dist or "your source"
                raise BuildError(
                    f"{folder!r} is a file (from {owner}) and also a folder holding {path!r} "
                    f"(from {other}); the zip could not be extracted.",
                    hint="rename or exclude the file in your source, or drop one of the "
                    "distributions.",
                )
