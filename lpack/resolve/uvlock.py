"""uv.lock: a universal lock, read for one target without resolving anything.

From the project's own package (source `editable` or `virtual` "."), follow the dependency
edges whose markers hold for the target, with the chosen extras and dependency groups; each
package records its wheels (url + hash), of which foreign.choose_file picks the target's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from lpack.errors import LockError
from lpack.resolve.foreign import (
    ForeignLock,
    LockedFile,
    LockedPackage,
    Selection,
    load_toml,
    project_table,
    sha256_of,
)
from lpack.resolve.pylock import check_requires_python
from lpack.settings import ArtifactSpec

_LOCAL = ("editable", "virtual", "directory", "path")


def _files(package: dict[str, Any], path: Path) -> tuple[LockedFile, ...]:
    found = []
    name = package["name"]
    for wheel in package.get("wheels", []):
        url = wheel.get("url") or ""
        where = url or wheel.get("path") or ""  # uv records a local index's files by path
        filename = wheel.get("filename") or where.rsplit("/", 1)[-1].split("#", 1)[0]
        found.append(
            LockedFile(
                filename, sha256_of(wheel.get("hash"), f"{name}'s {filename}", path), url or None
            )
        )
    sdist = package.get("sdist")
    if isinstance(sdist, dict) and sdist.get("url") and sdist.get("hash"):
        url = sdist["url"]
        found.append(
            LockedFile(
                url.rsplit("/", 1)[-1], sha256_of(sdist["hash"], f"{name}'s sdist", path), url
            )
        )
    return tuple(found)


class _Graph:
    """The lock's packages by name, and the walk from the project's edges."""

    def __init__(self, data: dict[str, Any], path: Path, selection: Selection) -> None:
        self.path, self.selection = path, selection
        # With [tool.uv] conflicts, uv writes the chosen extras and groups into markers as
        # `extra == 'extra-<len>-<project>-<name>'`; set by read() once the root is known.
        self.encoded: list[str] = []
        self.by_name: dict[str, list[dict[str, Any]]] = {}
        for package in data.get("package", []):
            if not isinstance(package, dict) or "name" not in package:
                raise LockError(f"{path}: a [[package]] entry has no name.")
            self.by_name.setdefault(canonicalize_name(package["name"]), []).append(package)

    def resolve(self, edge: dict[str, Any]) -> dict[str, Any]:
        """The package an edge names: by version when the lock forked, else by its
        resolution markers."""
        name = canonicalize_name(edge.get("name", ""))
        candidates = self.by_name.get(name, [])
        if "version" in edge:
            candidates = [
                p for p in candidates if p.get("version") == edge["version"]
            ] or candidates
        if len(candidates) > 1:
            fitting = [
                p
                for p in candidates
                if any(
                    self.selection.holds(m, f"{name} {p.get('version')}", self.path)
                    for m in p.get("resolution-markers", [""])
                )
            ]
            candidates = fitting or candidates
        if not candidates:
            raise LockError(
                f"{self.path} names {edge.get('name')!r} as a dependency but has no [[package]] "
                "for it.",
                hint="regenerate it with `uv lock`.",
            )
        return candidates[0]

    def walk(self, edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        extras_seen: set[tuple[tuple[str, str], str]] = set()
        queue = list(edges)
        while queue:
            edge = queue.pop()
            where = f"the dependency on {edge.get('name')}"
            marker = edge.get("marker")
            if not any(
                self.selection.holds(marker, where, self.path, e) for e in ["", *self.encoded]
            ):
                continue
            package = self.resolve(edge)
            key = (canonicalize_name(package["name"]), str(package.get("version")))
            if key not in seen:
                seen[key] = package
                queue += package.get("dependencies", [])
            optional = package.get("optional-dependencies", {})
            for extra in edge.get("extra", []):
                if (key, extra) not in extras_seen:
                    extras_seen.add((key, extra))
                    queue += optional.get(extra, [])
        return list(seen.values())


def _root(data: dict[str, Any], path: Path, spec: ArtifactSpec) -> dict[str, Any]:
    roots = [
        p
        for p in data.get("package", [])
        if isinstance(p.get("source"), dict)
        and any(p["source"].get(k) == "." for k in ("editable", "virtual"))
    ]
    if not roots:
        raise LockError(
            f'{path} has no package for the project itself (source editable or virtual "."), '
            "so lpack cannot tell what the project depends on.",
            hint="run `uv lock` in the project folder, or name a requirements file instead.",
        )
    root: dict[str, Any] = roots[0]
    return root


def _wanted(requirements: list[Any]) -> dict[str, set[str]]:
    """name -> its specifiers, from PEP 508 strings or uv's {name, specifier} tables."""
    found: dict[str, set[str]] = {}
    for item in requirements:
        if isinstance(item, dict):
            name, spec = str(item.get("name", "")), str(item.get("specifier", ""))
        else:
            try:
                req = Requirement(str(item))
            except InvalidRequirement:
                continue
            name, spec = req.name, str(req.specifier)
        try:
            spec = str(SpecifierSet(spec))
        except InvalidSpecifier:
            pass
        found.setdefault(canonicalize_name(name), set()).add(spec)
    return found


def _check_current(root: dict[str, Any], pyproject: dict[str, Any], path: Path) -> None:
    """uv records what pyproject.toml asked for when it locked: a lock that no longer
    matches it would ship a stale set of packages, so it is refused, as `uv sync --locked`
    does."""
    project = pyproject.get("project")
    metadata = root.get("metadata")
    if not isinstance(project, dict) or not isinstance(metadata, dict):
        return
    declared = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        declared += extra
    checks = [("[project] dependencies", declared, metadata.get("requires-dist", []))]
    locked_dev = metadata.get("requires-dev", {})
    for group, items in pyproject.get("dependency-groups", {}).items():
        strings = [i for i in items if isinstance(i, str)]
        checks.append((f"dependency group {group}", strings, locked_dev.get(group, [])))
    for where, asked, locked in checks:
        want, have = _wanted(asked), _wanted(locked)
        if want != have:
            changed = sorted(set(want) ^ set(have)) or sorted(
                n for n in want if want[n] != have.get(n)
            )
            raise LockError(
                f"{path} is not current for pyproject.toml: {where} and the lock differ "
                f"({', '.join(changed)}), so the zip would ship what the lock had, not what "
                "the project asks for.",
                hint="run `uv lock` and commit the result.",
            )


def read(path: Path, spec: ArtifactSpec, selection: Selection) -> ForeignLock:
    data = load_toml(path)
    if not isinstance(data.get("version"), int) or not isinstance(data.get("package"), list):
        raise LockError(
            f"{path} is not a uv lock: it has no `version` and [[package]] entries"
            f"{' (the file is empty)' if not data else ''}.",
            hint="run `uv lock` to write it, or remove it (lpack then reads your requirements).",
        )
    check_requires_python(data.get("requires-python"), path, selection)
    root = _root(data, path, spec)
    _check_current(root, project_table(spec, path), path)
    graph = _Graph(data, path, selection)
    edges = list(root.get("dependencies", []))
    project = str(canonicalize_name(root.get("name", "")))
    optional = {
        str(canonicalize_name(k)): v for k, v in root.get("optional-dependencies", {}).items()
    }
    for extra in selection.extras:
        if extra not in optional:
            raise LockError(
                f"Extra {extra!r} is not in {path} (it has: {', '.join(optional) or 'none'}).",
                hint="fix `extras` / --extra, or run `uv lock` after adding it.",
            )
        edges += optional[extra]
    groups = {str(canonicalize_name(k)): v for k, v in root.get("dev-dependencies", {}).items()}
    uv_table = project_table(spec, path).get("tool", {}).get("uv", {})
    defaults = uv_table.get("default-groups", ["dev"])
    chosen = selection.chosen_groups(list(groups) if defaults == "all" else list(defaults))
    graph.encoded = [
        f"{kind}-{len(project)}-{project}-{name}"
        for kind, names in (("extra", selection.extras), ("group", chosen))
        for name in sorted(names)
    ]
    for group in sorted(chosen):
        if group not in groups and group not in selection.requested_groups:
            continue  # a default group the project declares but never filled
        if group not in groups:
            raise LockError(
                f"Dependency group {group!r} is not in {path} (it has: "
                f"{', '.join(groups) or 'none'}).",
                hint="fix `groups` / --group, or run `uv lock` after adding it.",
            )
        edges += groups[group]
    packages = []
    for package in graph.walk(edges):
        source = package.get("source", {})
        local = next((k for k in _LOCAL if k in source), None)
        if local or "git" in source:
            what = f"the local folder {source.get(local)}" if local else f"git ({source['git']})"
            raise LockError(
                f"{path}: {package['name']} comes from {what}, not from an index; lpack "
                "installs locked wheels only.",
                hint="publish it to an index (or a find-links folder) and lock it by version.",
            )
        packages.append(
            LockedPackage(package["name"], str(package.get("version")), _files(package, path))
        )
    names = [e.get("name", "") for e in root.get("dependencies", [])]
    return ForeignLock("uv.lock", "uv lock", path, tuple(names), tuple(packages))
