"""Lock files other tools wrote (uv.lock, poetry.lock, pylock.toml): read, never re-resolved.

Each reader (uvlock.py, poetrylock.py, pylock.py) turns its format into the packages that
ship for the target, with every file the lock records for them; this module picks the one
file that fits the target and hands fetch a Lockfile of pins with exactly that file's hash
(and its URL when the lock has one). The versions are the lock's: an older pin stays older.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from lpack.errors import LockError
from lpack.resolve.lockfile import Lockfile, Pin
from lpack.settings import ArtifactSpec, read_pyproject
from lpack.target import Target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

# Dependency groups that never ship unless asked for by name.
DEV_GROUPS = frozenset({"dev", "test", "tests", "lint", "docs", "typing"})


@dataclass(frozen=True)
class LockedFile:
    filename: str
    sha256: str
    url: str | None = None


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    files: tuple[LockedFile, ...]
    index: str | None = None  # where to look the file up when it has no URL


@dataclass(frozen=True)
class ForeignLock:
    """What a foreign lock ships for one target."""

    kind: str  # "uv.lock", "poetry.lock", "pylock.toml"
    refresh: str  # the command that updates it: "uv lock"
    path: Path
    roots: tuple[str, ...]  # what the project asks for directly
    packages: tuple[LockedPackage, ...]
    indexes: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())  # what was deliberately left out


@dataclass(frozen=True)
class Selection:
    """For whom a lock is read: the target's markers, the chosen extras and groups."""

    target: Target
    extras: frozenset[str]
    groups: frozenset[str] | None  # None: the lock's default groups, minus dev groups

    def environment(self, extra: str = "") -> dict[str, str]:
        return {**self.target.marker_environment(), "extra": extra}

    def holds(self, marker: str | None, where: str, path: Path, extra: str = "") -> bool:
        """Whether a marker from the lock holds for the target."""
        if not marker:
            return True
        try:
            return Marker(marker).evaluate(self.environment(extra))
        except (InvalidMarker, KeyError, TypeError) as exc:
            raise LockError(
                f"{path}: the marker of {where} ({marker!r}) cannot be read: {exc}.",
                hint="regenerate the lock with the tool that wrote it.",
            ) from exc

    def chosen_groups(self, defaults: list[str]) -> frozenset[str]:
        """The lock's default groups but dev ones, and those asked for (names normalized,
        as PEP 735 and uv compare them)."""
        kept = {canonicalize_name(g) for g in defaults} - DEV_GROUPS
        return frozenset(kept | {canonicalize_name(g) for g in self.groups or ()})

    @property
    def requested_groups(self) -> frozenset[str]:
        return frozenset(canonicalize_name(g) for g in self.groups or ())


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
    except OSError as exc:
        raise LockError(f"Cannot read {path}: {exc.strerror}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LockError(
            f"{path} is not valid TOML ({exc}), so it is not a lock lpack can read.",
            hint="regenerate it with the tool that wrote it.",
        ) from exc
    return data


def sha256_of(value: object, where: str, path: Path) -> str:
    """The sha256 hex digest from "sha256:<hex>" (or a {sha256 = ...} table)."""
    if isinstance(value, Mapping):
        value = f"sha256:{value.get('sha256', '')}" if value.get("sha256") else None
    if isinstance(value, str) and value.startswith("sha256:") and len(value) == 71:
        return value[7:].lower()
    raise LockError(
        f"{path}: {where} has no sha256 hash ({value!r}); lpack installs only files whose "
        "hash the lock records.",
        hint="regenerate the lock with hashes.",
    )


def project_table(spec: ArtifactSpec, lock_path: Path) -> dict[str, Any]:
    """The pyproject.toml beside the lock (empty when there is none)."""
    if (lock_path.parent / "pyproject.toml").is_file():
        return read_pyproject(lock_path.parent)
    return {}


def _tags_of(filename: str) -> str:
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except ValueError:
        return "sdist" if filename.endswith((".tar.gz", ".zip")) else filename
    return ".".join(sorted({f"{t.interpreter}-{t.abi}-{t.platform}" for t in tags}))


def choose_file(package: LockedPackage, spec: ArtifactSpec, kind: str, path: Path) -> LockedFile:
    """The file of a locked package that fits the target best: a wheel, or an sdist the
    user allowed to build."""
    target = spec.target
    wheels = [
        (rank, f.filename, f)
        for f in package.files
        if (rank := target.wheel_rank(f.filename)) is not None
    ]
    if wheels:
        return min(wheels, key=lambda item: (item[0], item[1]))[2]
    allowed = {canonicalize_name(n) for n in spec.allow_sdist}
    if canonicalize_name(package.name) in allowed or ":all:" in spec.allow_sdist:
        for f in package.files:
            try:
                parse_sdist_filename(f.filename)
            except ValueError:
                continue
            return f
    has = ", ".join(sorted({_tags_of(f.filename) for f in package.files})) or "no files"
    raise LockError(
        f"{kind} pins {package.name} {package.version}, and none of its files fits "
        f"{target.runtime} {target.arch} ({target.os_name}, glibc {target.glibc_text}, "
        f"{target.machine}): the lock has {has}.",
        hint=f"lock a version of {package.name} that has a manylinux wheel for the target "
        f"(for {target.machine}, glibc ≤ {target.glibc_text}), or choose another runtime "
        "(--runtime).",
    )


def as_lockfile(foreign: ForeignLock, spec: ArtifactSpec) -> Lockfile:
    """Pins of exactly one file each, in name order, as fetch takes them."""
    pins = []
    for package in sorted(foreign.packages, key=lambda p: canonicalize_name(p.name)):
        chosen = choose_file(package, spec, foreign.kind, foreign.path)
        pins.append(
            Pin(
                package.name,
                package.version,
                (chosen.sha256,),
                url=chosen.url,
                filename=chosen.filename,
            )
        )
    header = {"input": foreign.kind, "target-key": spec.target.key}
    return Lockfile(foreign.path, header, pins, indexes=list(foreign.indexes))


Reader = Callable[[Path, ArtifactSpec, Selection], ForeignLock]


def read_foreign(path: Path, spec: ArtifactSpec) -> ForeignLock:
    """Read a uv.lock, poetry.lock or pylock.toml for the spec's target, extras and groups."""
    from lpack.resolve import poetrylock, pylock, uvlock

    readers: dict[str, Reader] = {
        "uv.lock": uvlock.read,
        "poetry.lock": poetrylock.read,
    }
    reader = readers.get(path.name, pylock.read)
    selection = Selection(
        spec.target,
        frozenset(canonicalize_name(e) for e in spec.extras),
        None if spec.groups is None else frozenset(spec.groups),
    )
    return reader(path, spec, selection)
