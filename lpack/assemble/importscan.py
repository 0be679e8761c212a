"""Which modules inside test and docs folders shipped code imports: those must stay.

Import statements are found textually: far faster than parsing every file, and where it errs
(an "import" inside a string) it only keeps more, never less.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from lpack.assemble.entries import Entry
from lpack.assemble.layout import InstallLayout
from lpack.assemble.scancache import ScanCache

_FROM_IMPORT = re.compile(
    rb"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]*(\([^)]*\)|[^\n#;]*(?:\\\n[^\n#;]*)*)", re.M
)
_PLAIN_IMPORT = re.compile(rb"^[ \t]*import[ \t]+([^\n#;]*(?:\\\n[^\n#;]*)*)", re.M)
_NAME = re.compile(rb"[A-Za-z_][\w.]*")


def module_name(path: str) -> str | None:
    """ "pkg.mod" for pkg/mod.py and "pkg" for pkg/__init__.py; None if not importable."""
    if not path.endswith(".py"):
        return None
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def module_stem(path: str) -> str | None:
    """ "pkg/mod" for pkg/mod.py, pkg/mod.cpython-311-x86_64-linux-gnu.so, pkg/mod.pyd."""
    if path.endswith(".py"):
        return path[:-3]
    folder, _, name = path.rpartition("/")
    if name.endswith((".so", ".pyd")) and "." in name:
        stem = name.split(".", 1)[0]
        return f"{folder}/{stem}" if folder else stem
    return None


def in_folder_named(path: str, dirs: tuple[str, ...]) -> bool:
    return any(part in dirs for part in path.split("/")[:-1])


def _resolve_relative(spec: str, package: str) -> str:
    level = len(spec) - len(spec.lstrip("."))
    relative = spec[level:]
    if not level:
        return relative
    base_parts = package.split(".") if package else []
    if level > 1:
        base_parts = base_parts[: len(base_parts) - (level - 1)]
    return ".".join(base_parts + ([relative] if relative else []))


def imported_modules(source: bytes, module: str, is_package: bool) -> set[str]:
    """Every module name an import statement anywhere in the file may load."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()

    def add(name: str) -> None:
        parts = name.split(".")
        found.update(".".join(parts[: i + 1]) for i in range(len(parts)) if parts[i])

    for match in _PLAIN_IMPORT.finditer(source):
        for clause in match.group(1).replace(b"\\\n", b" ").split(b","):
            name = _NAME.match(clause.strip())
            if name:
                add(name.group(0).decode("ascii", "replace"))
    for match in _FROM_IMPORT.finditer(source):
        base = _resolve_relative(match.group(1).decode("ascii", "replace"), package)
        if not base:
            continue
        add(base)
        names = match.group(2).strip(b"()").replace(b"\\\n", b" ")
        for clause in names.split(b","):
            name = _NAME.match(clause.strip())
            if name and b"." not in name.group(0):
                found.add(f"{base}.{name.group(0).decode('ascii', 'replace')}")
    return found


@dataclass(frozen=True)
class Protected:
    """Files inside prunable folders that must ship, and the modules that made them."""

    paths: frozenset[str]
    modules: tuple[str, ...]


def protected_paths(
    entries: Mapping[str, Entry],
    prunable_dirs: tuple[str, ...],
    layout: InstallLayout,
    scans: ScanCache | None = None,
) -> Protected:
    """Files inside test/docs folders that shipped code imports, and their packages."""
    modules = _module_index(entries, layout)
    prunable = {name for name, path in modules.items() if in_folder_named(path, prunable_dirs)}
    if not prunable:
        return Protected(frozenset(), ())
    protected = _imported(entries, modules, prunable, prunable_dirs, layout, scans)
    paths = {modules[m] for m in protected}
    # Data files and extension modules that sit directly in a kept package folder are
    # what its modules load (importlib.resources, __file__-relative paths).
    folders = {p.rsplit("/", 1)[0] for p in paths if "/" in p}
    for path in entries:
        folder, _, name = path.rpartition("/")
        if folder in folders and not (name.endswith(".py") and name.startswith("test")):
            if not name.endswith(".py") or module_name(layout.relative(path)) in protected:
                paths.add(path)
    return Protected(frozenset(paths), tuple(sorted(protected)))


def _module_index(entries: Mapping[str, Entry], layout: InstallLayout) -> dict[str, str]:
    """Importable module name -> stored path, for Python files and extension modules."""
    modules: dict[str, str] = {}
    for path in entries:
        rel = layout.relative(path)
        name = module_name(rel)
        if name:
            modules[name] = path
        elif rel.endswith((".so", ".pyd")):  # extension modules are imported too
            stem = module_stem(rel)
            if stem and all(p.isidentifier() for p in stem.split("/")):
                modules.setdefault(stem.replace("/", "."), path)
    return modules


def _imported(
    entries: Mapping[str, Entry],
    modules: dict[str, str],
    prunable: set[str],
    prunable_dirs: tuple[str, ...],
    layout: InstallLayout,
    scans: ScanCache | None = None,
) -> set[str]:
    """The prunable modules reachable by imports from the modules that always ship."""
    words = tuple(d.encode() for d in prunable_dirs)
    protected: set[str] = set()
    outside = [path for name, path in modules.items() if name not in prunable]
    queue = list(outside)
    filtered = set(outside)  # kept modules inside test folders import relatively: parse all
    seen: set[str] = set()
    while queue:
        path = queue.pop()
        if path in seen or not path.endswith(".py"):
            continue  # an extension module's imports cannot be read statically
        seen.add(path)
        name = module_name(layout.relative(path)) or ""
        found = _imports_of(entries[path], name, words if path in filtered else (), scans)
        for imported in found:
            if imported in prunable and imported not in protected:
                protected.add(imported)
                # The module, the packages above it (so the import resolves), and whatever
                # it imports in turn.
                parts = imported.split(".")
                for i in range(1, len(parts) + 1):
                    ancestor = ".".join(parts[:i])
                    if ancestor in prunable:
                        protected.add(ancestor)
                        queue.append(modules[ancestor])
    return protected


def _imports_of(
    entry: Entry, name: str, words: tuple[bytes, ...], scans: ScanCache | None
) -> list[str]:
    """What the module imports; nothing when `words` are given and its bytes hold none of
    them (a cheap pre-filter: an import of a test module names its folder)."""
    is_package = entry.path.endswith("__init__.py")

    def compute() -> list[str]:
        source = entry.read()
        if words and not any(w in source for w in words):
            return []
        return sorted(imported_modules(source, name, is_package))

    if scans is None:
        return compute()
    key = f"{name}|{is_package}|{b','.join(words).decode()}"
    return scans.facts("imports", entry, key, compute, _names)


def _names(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(n, str) for n in value)
