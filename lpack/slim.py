"""Removes what Lambda never loads from dependencies, by coded category, without breaking imports.

The categories are data (rules/slim.toml). Two guards keep a smaller package working:
test and docs folders are pruned only after a static scan of every shipped Python file
finds which of their modules real code imports (those stay), and ELF stripping never moves
a loaded byte (see lpack.elf).
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from lpack import elf
from lpack.errors import ConfigError
from lpack.plan import Entry, Plan, matches_any
from lpack.resources import load_rules_toml
from lpack.target import Target

USER_DROP = "drop"  # the category of entries removed by the user's own drop globs
_LICENSE_PREFIXES = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    summary: str
    why: str
    saves: str
    default: bool
    dirs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()


def categories() -> dict[str, Category]:
    table = load_rules_toml("slim.toml")
    result = {}
    for code, row in table.items():
        result[code] = Category(
            code=code,
            name=row["name"],
            summary=row["summary"],
            why=row["why"],
            saves=row["saves"],
            default=row.get("default", True),
            dirs=tuple(row.get("dirs", ())),
            files=tuple(row.get("files", ())),
            suffixes=tuple(row.get("suffixes", ())),
            packages=tuple(row.get("packages", ())),
        )
    return result


@dataclass
class SlimRules:
    """Which categories run, and the user's keep/drop globs, for all or one distribution."""

    enabled: set[str]
    keep: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)


@dataclass
class SlimOptions:
    enabled: bool = True
    enable: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    per_distribution: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def validate(self) -> None:
        known = categories()
        lists = [("enable", self.enable), ("disable", self.disable)]
        for name, per in self.per_distribution.items():
            lists += [
                (f"per-distribution.{name}.enable", per.get("enable", [])),
                (f"per-distribution.{name}.disable", per.get("disable", [])),
            ]
        for key, codes in lists:
            for code in codes:
                if code not in known:
                    raise ConfigError(
                        f"Unknown slim category {code!r} in `{key}`; lpack knows "
                        f"{', '.join(f'{c} ({k.name})' for c, k in known.items())}.",
                        hint="use one of those codes (`lpack rules` lists them, `lpack explain CODE` explains one).",
                    )

    def rules_for(self, dist: str | None) -> SlimRules:
        known = categories()
        enabled = {c for c, k in known.items() if k.default}
        enabled = (enabled | set(self.enable)) - set(self.disable)
        keep, drop = list(self.keep), list(self.drop)
        per = self.per_distribution.get(canonicalize_name(dist)) if dist else None
        if per:
            enabled = (enabled | set(per.get("enable", []))) - set(per.get("disable", []))
            keep += per.get("keep", [])
            drop += per.get("drop", [])
        return SlimRules(enabled, keep, drop)


@dataclass(frozen=True)
class Removal:
    path: str
    dist: str
    code: str
    size: int


@dataclass(frozen=True)
class Stripped:
    path: str
    dist: str
    before: int
    after: int
    removed_sections: tuple[str, ...]


@dataclass
class SlimResult:
    removals: list[Removal] = field(default_factory=list)
    stripped: list[Stripped] = field(default_factory=list)
    kept_imported: list[str] = field(default_factory=list)  # test/doc modules code imports
    untouched_binaries: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    runtime_entries: list[Entry] = field(default_factory=list)  # what LP808 left to the runtime

    def saved_by_category(self) -> dict[str, int]:
        saved: dict[str, int] = defaultdict(int)
        for r in self.removals:
            saved[r.code] += r.size
        for s in self.stripped:
            saved["LP807"] += s.before - s.after
        return dict(sorted(saved.items(), key=lambda kv: -kv[1]))

    def saved_by_distribution(self) -> dict[str, int]:
        saved: dict[str, int] = defaultdict(int)
        for r in self.removals:
            saved[r.dist] += r.size
        for s in self.stripped:
            saved[s.dist] += s.before - s.after
        return dict(sorted(saved.items(), key=lambda kv: -kv[1]))

    @property
    def total_saved(self) -> int:
        return sum(self.saved_by_category().values())


def _module_name(path: str) -> str | None:
    if not path.endswith(".py"):
        return None
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


# Import statements found textually: far faster than parsing every file, and where it errs
# (an "import" inside a string) it only keeps more, never less.
_FROM_IMPORT = re.compile(
    rb"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]*(\([^)]*\)|[^\n#;]*(?:\\\n[^\n#;]*)*)", re.M
)
_PLAIN_IMPORT = re.compile(rb"^[ \t]*import[ \t]+([^\n#;]*(?:\\\n[^\n#;]*)*)", re.M)
_NAME = re.compile(rb"[A-Za-z_][\w.]*")


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
        spec = match.group(1).decode("ascii", "replace")
        level = len(spec) - len(spec.lstrip("."))
        relative = spec[level:]
        if level:
            base_parts = package.split(".") if package else []
            if level > 1:
                base_parts = base_parts[: len(base_parts) - (level - 1)]
            base = ".".join(base_parts + ([relative] if relative else []))
        else:
            base = relative
        if not base:
            continue
        add(base)
        names = match.group(2).strip(b"()").replace(b"\\\n", b" ")
        for clause in names.split(b","):
            name = _NAME.match(clause.strip())
            if name and b"." not in name.group(0):
                found.add(f"{base}.{name.group(0).decode('ascii', 'replace')}")
    return found


def _in_pruned_dir(path: str, dirs: tuple[str, ...]) -> bool:
    return any(part in dirs for part in path.split("/")[:-1])


_EXT_SUFFIX = re.compile(r"\.(?:cpython-[^.]+|abi3|pypy[^.]*)?\.?(so|pyd)$")


def _module_stem(path: str) -> str | None:
    """ "pkg/mod" for pkg/mod.py, pkg/mod.cpython-311-x86_64-linux-gnu.so, pkg/mod.pyd."""
    if path.endswith(".py"):
        return path[:-3]
    folder, _, name = path.rpartition("/")
    if name.endswith((".so", ".pyd")) and "." in name:
        stem = name.split(".", 1)[0]
        return f"{folder}/{stem}" if folder else stem
    return None


def _stub_has_module(path: str, known: set[str], stems: set[str]) -> bool:
    """A .pyi is dead weight only beside the module it describes; stubs shipped as data
    (mypy's typeshed, jedi's) have no such module and are read at run time."""
    stem = path[:-4]
    if "/typeshed/" in f"/{path}":
        return False
    if stem.endswith("/__init__"):
        package = stem[: -len("/__init__")]
        # a stub package can describe an extension module of the same name (_pydantic_core)
        return f"{stem}.py" in known or package in stems
    return stem in stems or f"{stem}/__init__.py" in known


def _category_of(
    entry: Entry,
    cats: list[Category],
    dist_info: str | None,
    known: set[str],
    stems: set[str],
) -> str | None:
    path = entry.path
    name = path.rsplit("/", 1)[-1]
    for cat in cats:
        if cat.code == "LP806":
            if dist_info and path.startswith(dist_info + "/") and path.count("/") == 1:
                if name in cat.files and not name.upper().startswith(_LICENSE_PREFIXES):
                    return cat.code
            continue
        if dist_info and path.startswith(dist_info + "/"):
            continue  # metadata is only ever touched by LP806
        if cat.dirs and _in_pruned_dir(path, cat.dirs):
            return cat.code
        if cat.files and any(fnmatch.fnmatchcase(name, f) for f in cat.files):
            return cat.code
        if cat.suffixes and path.endswith(cat.suffixes):
            if path.endswith(".pyi") and not _stub_has_module(path, known, stems):
                continue
            # A .pyc with no source beside it is the module itself (a sourceless wheel).
            if (
                path.endswith((".pyc", ".pyo"))
                and f"{path[:-1]}" not in known
                and ("__pycache__" not in path.split("/"))
            ):
                continue
            return cat.code
    return None


def _protected_paths(plan: Plan, prunable_dirs: tuple[str, ...]) -> tuple[set[str], list[str]]:
    """Files inside test/docs folders that shipped code imports, and their packages."""
    modules: dict[str, str] = {}
    for path in plan.entries:
        name = _module_name(path)
        if name:
            modules[name] = path
        elif path.endswith((".so", ".pyd")):  # extension modules are imported too
            stem = _module_stem(path)
            if stem and all(p.isidentifier() for p in stem.split("/")):
                modules.setdefault(stem.replace("/", "."), path)
    prunable = {name for name, path in modules.items() if _in_pruned_dir(path, prunable_dirs)}
    if not prunable:
        return set(), []
    words = tuple(d.encode() for d in prunable_dirs)
    protected: set[str] = set()
    outside = [path for name, path in modules.items() if name not in prunable]
    queue = list(outside)
    filtered = set(outside)  # kept modules inside test folders import relatively: parse all
    seen: set[str] = set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        if not path.endswith(".py"):
            continue  # an extension module's imports cannot be read statically
        entry = plan.entries[path]
        source = entry.read()
        if path in filtered and not any(w in source for w in words):  # cheap pre-filter
            continue
        name = _module_name(path) or ""
        for imported in imported_modules(source, name, path.endswith("__init__.py")):
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
    paths = {modules[m] for m in protected}
    # Data files and extension modules that sit directly in a kept package folder are
    # what its modules load (importlib.resources, __file__-relative paths).
    folders = {p.rsplit("/", 1)[0] for p in paths if p.endswith("/__init__.py")}
    folders |= {p.rsplit("/", 1)[0] for p in paths if "/" in p}
    for path in plan.entries:
        folder, _, name = path.rpartition("/")
        if folder in folders and not (name.endswith(".py") and name.startswith("test")):
            if not name.endswith(".py") or _module_name(path) in protected:
                paths.add(path)
    return paths, sorted(protected)


def runtime_provided_drops(
    plan: Plan, roots: list[str], target: Target, packages: tuple[str, ...]
) -> set[str]:
    """Distributions that only the runtime-provided packages need (plus those packages)."""
    provided = {canonicalize_name(p) for p in packages}
    env = target.marker_environment()
    graph: dict[str, set[str]] = {}
    for dist in plan.distributions:
        deps: set[str] = set()
        for line in dist.requires:
            try:
                req = Requirement(line)
                if req.marker is None or req.marker.evaluate({**env, "extra": ""}):
                    deps.add(canonicalize_name(req.name))
            except (InvalidRequirement, InvalidMarker):
                continue
        graph[dist.key] = deps
    present = set(graph)
    depended_on = {d for deps in graph.values() for d in deps}
    starts = ({canonicalize_name(r) for r in roots} | (present - depended_on)) & present
    needed: set[str] = set()
    stack = [s for s in starts if s not in provided]
    while stack:
        node = stack.pop()
        if node in needed or node in provided:
            continue
        needed.add(node)
        stack.extend(d for d in graph.get(node, ()) if d in present)
    return present - needed


def slim(plan: Plan, options: SlimOptions, target: Target, roots: list[str]) -> SlimResult:
    """Remove and strip, in place on plan.entries; return what was done and saved."""
    result = SlimResult()
    if not options.enabled:
        return result
    options.validate()
    known = categories()
    dist_info_of = {d.key: d.dist_info for d in plan.distributions}
    keep_hits: dict[str, int] = defaultdict(int)
    drop_hits: dict[str, int] = defaultdict(int)
    all_rules = [options.rules_for(None)] + [options.rules_for(d) for d in options.per_distribution]
    for rules in all_rules:
        for g in rules.keep:
            keep_hits.setdefault(g, 0)
        for g in rules.drop:
            drop_hits.setdefault(g, 0)
    prunable_dirs = tuple(sorted({d for code in ("LP802", "LP805") for d in known[code].dirs}))
    protected, kept_modules = _protected_paths(plan, prunable_dirs)
    all_paths = set(plan.entries)
    module_stems = {stem for p in all_paths if (stem := _module_stem(p))}
    result.kept_imported = kept_modules

    runtime_dists: set[Any] = set()
    if any("LP808" in options.rules_for(d.key).enabled for d in plan.distributions):
        runtime_dists = runtime_provided_drops(plan, roots, target, known["LP808"].packages)

    for path in sorted(plan.entries):
        entry = plan.entries[path]
        if entry.dist is None:
            continue  # the function's own source is the user's to shape (include/exclude)
        rules = options.rules_for(entry.dist)
        dist_info = dist_info_of.get(entry.dist)
        kept_by_glob = [g for g in rules.keep if matches_any(path, [g])]
        for g in kept_by_glob:
            keep_hits[g] += 1
        code: str | None = None
        if "LP808" in rules.enabled and entry.dist in runtime_dists:
            code = "LP808"
        elif path.endswith("/RECORD") and dist_info and path == f"{dist_info}/RECORD":
            code = None
        else:
            cats = [known[c] for c in sorted(rules.enabled) if c not in ("LP807", "LP808")]
            code = _category_of(entry, cats, dist_info, all_paths, module_stems)
            if code in ("LP802", "LP805") and path in protected:
                code = None
        dropped_by = [g for g in rules.drop if matches_any(path, [g])]
        for g in dropped_by:
            drop_hits[g] += 1
        if code is None and dropped_by:
            code = USER_DROP
        if code == "LP808":
            # A distribution left to the runtime goes whole: keeping some of its files
            # would ship a dist-info that shadows the runtime's own.
            if kept_by_glob:
                result.warnings.append(
                    f"keep glob {kept_by_glob[0]!r} matches {path}, but {entry.dist} is left "
                    "to the runtime (LP808) as a whole; the file is not shipped."
                )
            result.runtime_entries.append(entry)
        elif code is None or kept_by_glob:
            continue
        result.removals.append(Removal(path, entry.dist, code, entry.size))
        del plan.entries[path]

    for path, entry in sorted(plan.entries.items()):
        if entry.dist is None or "LP807" not in options.rules_for(entry.dist).enabled:
            continue
        name = path.rsplit("/", 1)[-1]
        if not (name.endswith(".so") or ".so." in name):
            continue
        data = entry.read()
        if not elf.is_elf(data):
            result.untouched_binaries.append(f"{path}: not an ELF file")
            continue
        try:
            header = elf.parse(data)
            if header.machine_name != target.machine:
                result.untouched_binaries.append(
                    f"{path}: ELF for {header.machine_name}, not {target.machine}"
                )
                continue
            stripped = elf.strip(data)
        except elf.ElfError as exc:
            result.untouched_binaries.append(f"{path}: {exc}")
            continue
        except Exception as exc:  # a hostile binary must never stop the build
            result.untouched_binaries.append(f"{path}: unreadable ({type(exc).__name__})")
            continue
        if stripped.changed and len(stripped.data) < len(data):
            result.stripped.append(
                Stripped(path, entry.dist, len(data), len(stripped.data), stripped.removed_sections)
            )
            entry.replace_data(stripped.data)

    remaining = {e.dist for e in plan.entries.values() if e.dist is not None}
    plan.distributions = [d for d in plan.distributions if d.key in remaining]
    for glob, hits in keep_hits.items():
        if not hits:
            result.warnings.append(f"slim keep glob {glob!r} matched no dependency file.")
    for glob, hits in drop_hits.items():
        if not hits:
            result.warnings.append(f"slim drop glob {glob!r} matched no dependency file.")
    return result


def options_from_config(table: dict[str, Any] | None) -> SlimOptions:
    """[tool.lpack.slim] (already type-checked by config) into SlimOptions."""
    table = table or {}
    per: dict[str, dict[str, list[str]]] = {
        str(canonicalize_name(k)): v for k, v in table.get("per-distribution", {}).items()
    }
    return SlimOptions(
        enabled=table.get("enabled", True),
        enable=list(table.get("enable", [])),
        disable=list(table.get("disable", [])),
        keep=list(table.get("keep", [])),
        drop=list(table.get("drop", [])),
        per_distribution=per,
    )
