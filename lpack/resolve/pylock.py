"""pylock.toml (PEP 751): a flat list of packages, each with the marker that says when it
installs; `uv export --format pylock.toml` and `pip lock` write it.

A package ships when its marker holds for the target, with the chosen extras and dependency
groups (markers may test `'dev' in dependency_groups`); its file comes from `url` when the
lock records one, else from its `index`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from lpack.errors import LockError
from lpack.resolve.foreign import (
    ForeignLock,
    LockedFile,
    LockedPackage,
    Selection,
    load_toml,
    sha256_of,
)
from lpack.settings import ArtifactSpec


def check_requires_python(value: object, path: Path, selection: Selection) -> None:
    """A lock made for other Pythons says nothing about the runtime's: refuse it."""
    if not isinstance(value, str) or not value:
        return
    version = selection.target.python_full
    try:
        fits = SpecifierSet(value).contains(version, prereleases=True)
    except InvalidSpecifier:
        return
    if not fits:
        raise LockError(
            f"{path} was locked for Python {value}, and {selection.target.runtime} runs "
            f"{version}: none of its choices were made for this runtime.",
            hint="widen requires-python and lock again, or choose a runtime it covers.",
        )


def _holds(marker: str | None, selection: Selection, groups: frozenset[str], path: Path) -> bool:
    if not marker:
        return True
    environment: dict[str, Any] = {
        **selection.environment(),
        "extras": set(selection.extras),
        "dependency_groups": set(groups),
    }
    try:
        return Marker(marker).evaluate(environment, context="lock_file")
    except (InvalidMarker, KeyError, TypeError) as exc:
        raise LockError(f"{path}: the marker {marker!r} cannot be read: {exc}.") from exc


def _files(package: dict[str, Any], path: Path) -> tuple[LockedFile, ...]:
    found = []
    for wheel in package.get("wheels", []):
        url = wheel.get("url")
        filename = wheel.get("name") or (url or wheel.get("path", "")).rsplit("/", 1)[-1]
        sha = sha256_of(wheel.get("hashes"), f"{package['name']}'s {filename}", path)
        found.append(LockedFile(filename, sha, url))
    sdist = package.get("sdist")
    if isinstance(sdist, dict) and sdist.get("hashes"):
        url = sdist.get("url")
        filename = sdist.get("name") or (url or sdist.get("path", "")).rsplit("/", 1)[-1]
        found.append(LockedFile(filename, sha256_of(sdist["hashes"], filename, path), url))
    return tuple(found)


def read(path: Path, spec: ArtifactSpec, selection: Selection) -> ForeignLock:
    data = load_toml(path)
    if "lock-version" not in data or not isinstance(data.get("packages"), list):
        raise LockError(
            f"{path} is not a PEP 751 lock: it has no `lock-version` and [[packages]].",
            hint="write it with `uv export --format pylock.toml` or `pip lock`.",
        )
    check_requires_python(data.get("requires-python"), path, selection)
    environments = data.get("environments") or []
    if environments and not any(_holds(m, selection, frozenset(), path) for m in environments):
        raise LockError(
            f"{path} was locked for the environments {environments}, none of which is "
            f"{selection.target.runtime} {selection.target.arch} on Linux.",
            hint="lock again with the Lambda environment included.",
        )
    defaults = list(data.get("default-groups", []))
    # PEP 751's default groups are synthetic names, not listed in dependency-groups.
    declared = {canonicalize_name(g) for g in [*data.get("dependency-groups", []), *defaults]}
    groups = selection.chosen_groups(defaults)
    unknown = sorted(selection.requested_groups - declared)
    if unknown:
        raise LockError(
            f"Dependency group {unknown[0]!r} is not in {path} (it has: "
            f"{', '.join(sorted(declared))}).",
            hint="fix `groups` / --group, or export the lock with that group.",
        )
    packages, notes = [], []
    for package in data["packages"]:
        name = package.get("name")
        if not isinstance(name, str):
            raise LockError(f"{path}: a [[packages]] entry has no name.")
        if not _holds(package.get("marker"), selection, groups, path):
            continue
        directory = package.get("directory")
        if isinstance(directory, dict) and directory.get("path") in (".", "./"):
            notes.append(f"{name} (the project itself)")
            continue
        for local in ("vcs", "directory", "archive"):
            if local in package:
                raise LockError(
                    f"{path}: {name} comes from {local} {package[local]!r}, not from an "
                    "index; lpack installs locked wheels only.",
                    hint="publish it to an index and lock it by version.",
                )
        packages.append(
            LockedPackage(
                name, str(package.get("version", "")), _files(package, path), package.get("index")
            )
        )
    indexes = sorted({p.index for p in packages if p.index and not all(f.url for f in p.files)})
    names = tuple(p.name for p in packages)
    return ForeignLock(
        path.name,
        "the tool that wrote it",
        path,
        names,
        tuple(packages),
        tuple(indexes),
        tuple(notes),
    )
