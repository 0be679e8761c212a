"""poetry.lock: the packages Poetry locked, walked from pyproject.toml's dependencies.

The roots are [project] dependencies (Poetry 2) or [tool.poetry.dependencies], plus the
chosen extras and groups (the main group only by default). Edges carry Poetry constraints
and markers, evaluated for the target. Files are named with hashes but no URL: fetch looks
them up on the configured index, or the package's [package.source], or a
[[tool.poetry.source]], and checks the hash.
"""

from __future__ import annotations

import re
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
from lpack.settings import ArtifactSpec

_ATOM = re.compile(r"^(\^|~=|~|==|!=|>=|<=|>|<|=)?\s*([0-9][0-9a-zA-Z.*+-]*)$")


def _bump(version: str, caret: bool) -> str:
    parts = [int(p) for p in re.findall(r"\d+", version)[:3]]
    if caret:  # ^1.2.3 < 2.0.0, ^0.2.3 < 0.3.0, ^0.0.3 < 0.0.4
        index = next((i for i, p in enumerate(parts) if p), len(parts) - 1)
    else:  # ~1.2.3 < 1.3.0, ~1 < 2
        index = max(0, len(parts) - 2) if len(parts) > 1 else 0
    bumped = parts[: index + 1]
    bumped[-1] += 1
    return ".".join(map(str, bumped))


def poetry_specifier(constraint: str) -> list[SpecifierSet]:
    """A Poetry constraint ("^3.8", "~1.2", ">=3.8,<4.0", "3.9.*", "*", "a || b") as the
    PEP 440 specifier sets any of which allows a version."""
    alternatives = []
    for part in constraint.split("||"):
        clauses = []
        for atom in re.split(r"\s*,\s*|\s+(?=[<>=!^~])", part.strip()):
            if atom in ("", "*"):
                continue
            match = _ATOM.match(atom)
            if not match:
                raise InvalidSpecifier(atom)
            op, version = match.group(1) or "", match.group(2)
            if op in ("^", "~"):
                clauses += [f">={version}", f"<{_bump(version, op == '^')}"]
            elif op in ("", "="):
                clauses.append(f"=={version}")
            else:
                clauses.append(f"{op}{version}")
        alternatives.append(SpecifierSet(",".join(clauses)))
    return alternatives


def _allows(constraint: object, version: str) -> bool:
    if not isinstance(constraint, str):
        return True
    try:
        return any(s.contains(version, prereleases=True) for s in poetry_specifier(constraint))
    except InvalidSpecifier:
        return True  # a constraint we cannot read does not narrow the lock's choice


class _Walk:
    def __init__(self, data: dict[str, Any], path: Path, selection: Selection) -> None:
        self.path, self.selection = path, selection
        self.by_name: dict[str, list[dict[str, Any]]] = {}
        for package in data.get("package", []):
            self.by_name.setdefault(canonicalize_name(package.get("name", "")), []).append(package)
        self.chosen: dict[str, dict[str, Any]] = {}
        self.python = selection.target.python_full

    def edge_holds(self, spec: dict[str, Any], name: str, extra: str = "") -> bool:
        where = f"the dependency on {name}"
        return self.selection.holds(spec.get("markers"), where, self.path, extra) and _allows(
            spec.get("python"), self.python
        )

    def package_holds(self, package: dict[str, Any]) -> bool:
        """Lock 2.1 says which of several locked versions is for which environment."""
        markers = package.get("markers")
        if isinstance(markers, dict):  # per group: any group's marker will do
            return any(
                self.selection.holds(m, package["name"], self.path) for m in markers.values()
            )
        return self.selection.holds(
            markers if isinstance(markers, str) else None, package["name"], self.path
        )

    def add(self, name: str, spec: object, with_optional: bool = False, extra: str = "") -> None:
        """Follow one dependency declaration (a constraint, a table or a list of tables);
        extra: the extra of the parent it is followed for (its markers test `extra`)."""
        tables: list[dict[str, Any]] = (
            spec
            if isinstance(spec, list)
            else [spec if isinstance(spec, dict) else {"version": spec}]
        )
        for table in tables:
            if table.get("optional") and not with_optional:
                continue
            if self.edge_holds(table, name, extra):
                self.visit(name, table.get("version"), list(table.get("extras", [])))

    def visit(self, name: str, constraint: object, extras: list[str]) -> None:
        key = canonicalize_name(name)
        candidates = self.by_name.get(key, [])
        fitting = [p for p in candidates if _allows(constraint, str(p.get("version")))]
        fitting = [
            p for p in fitting or candidates if _allows(p.get("python-versions"), self.python)
        ]
        fitting = [p for p in fitting if self.package_holds(p)] or fitting
        if not fitting:
            raise LockError(
                f"{self.path} has no locked version of {name} for {self.selection.target.runtime}"
                f"{f' matching {constraint}' if isinstance(constraint, str) else ''}.",
                hint="run `poetry lock` after changing pyproject.toml.",
            )
        package = fitting[0]
        first = key not in self.chosen
        self.chosen[key] = package
        if first:
            for dep, dep_spec in package.get("dependencies", {}).items():
                self.add(dep, dep_spec)
        for extra in extras:
            for requirement in package.get("extras", {}).get(extra, []):
                dep = re.split(r"[\s(\[;<>=!~]", requirement.strip(), maxsplit=1)[0]
                spec = package.get("dependencies", {}).get(dep, "*")
                self.add(dep, spec, with_optional=True, extra=extra)


def _files(
    package: dict[str, Any], metadata_files: dict[str, Any], path: Path
) -> tuple[LockedFile, ...]:
    entries = package.get("files") or metadata_files.get(package.get("name", ""), [])
    return tuple(
        LockedFile(e["file"], sha256_of(e.get("hash"), f"{package['name']}'s {e['file']}", path))
        for e in entries
        if isinstance(e, dict) and "file" in e
    )


def _roots(pyproject: dict[str, Any], path: Path, selection: Selection, walk: _Walk) -> list[str]:
    poetry = pyproject.get("tool", {}).get("poetry", {})
    project = pyproject.get("project", {})
    names: list[str] = []
    extras = set(selection.extras)
    optional: dict[str, Any] = {
        str(canonicalize_name(k)): v for k, v in project.get("optional-dependencies", {}).items()
    }
    for text in project.get("dependencies", []) + [
        d for e in sorted(extras) for d in optional.get(e, [])
    ]:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise LockError(
                f"{path.parent / 'pyproject.toml'}: {text!r} is not a requirement."
            ) from exc
        if req.marker is None or req.marker.evaluate(selection.environment()):
            names.append(req.name)
            walk.visit(req.name, str(req.specifier) or None, sorted(req.extras))
    poetry_extras = {str(canonicalize_name(k)): v for k, v in poetry.get("extras", {}).items()}
    wanted_optional = {n for e in extras for n in poetry_extras.get(e, [])}
    for name, spec in poetry.get("dependencies", {}).items():
        if name.lower() != "python":
            names.append(name)
            walk.add(name, spec, with_optional=name in wanted_optional)
    groups = {str(canonicalize_name(k)): v for k, v in poetry.get("group", {}).items()}
    if "dev-dependencies" in poetry:
        groups.setdefault("dev", {"dependencies": poetry["dev-dependencies"]})
    for group in sorted(selection.chosen_groups([])):
        if group not in groups:
            raise LockError(
                f"Dependency group {group!r} is not in {path.parent / 'pyproject.toml'} "
                f"(it has: {', '.join(groups) or 'none'}).",
                hint="fix `groups` / --group.",
            )
        for name, spec in groups[group].get("dependencies", {}).items():
            walk.add(name, spec)
    return names


def read(path: Path, spec: ArtifactSpec, selection: Selection) -> ForeignLock:
    data = load_toml(path)
    if "package" not in data and "metadata" not in data:
        raise LockError(
            f"{path} is not a Poetry lock: it has no [[package]] or [metadata]"
            f"{' (the file is empty)' if not data else ''}.",
            hint="run `poetry lock` to write it, or remove it.",
        )
    pyproject = project_table(spec, path)
    if not pyproject:
        raise LockError(
            f"{path} has no pyproject.toml beside it, which says what the project depends on.",
            hint="keep poetry.lock next to its pyproject.toml.",
        )
    walk = _Walk(data, path, selection)
    roots = _roots(pyproject, path, selection, walk)
    metadata_files = data.get("metadata", {}).get("files", {})
    packages = []
    for package in walk.chosen.values():
        source = package.get("source", {})
        if source.get("type") in ("git", "directory", "file", "url"):
            raise LockError(
                f"{path}: {package['name']} comes from {source['type']} {source.get('url')!r}, "
                "not from an index; lpack installs locked wheels only.",
                hint="publish it to an index and lock it by version.",
            )
        index = source.get("url") if source.get("type") == "legacy" else None
        packages.append(
            LockedPackage(
                package["name"],
                str(package["version"]),
                _files(package, metadata_files, path),
                index,
            )
        )
    sources = pyproject.get("tool", {}).get("poetry", {}).get("source", [])
    indexes = {p.index for p in packages if p.index} | {
        s["url"] for s in sources if isinstance(s, dict) and s.get("url")
    }
    return ForeignLock(
        "poetry.lock", "poetry lock", path, tuple(roots), tuple(packages), tuple(sorted(indexes))
    )
