"""The prune stage: removes what Lambda never loads from dependencies, by coded category.

The categories are data (rules/slim.toml, loaded by lpack.catalog); this module keys on
their declared scope and guard, never on a literal code. Test and docs folders are pruned
only after a static scan finds which of their modules shipped code imports (those stay).
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from dataclasses import dataclass

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from lpack.assemble.entries import Entry
from lpack.assemble.importscan import Protected, in_folder_named, module_stem, protected_paths
from lpack.assemble.layout import Distribution, Plan
from lpack.assemble.readscan import read_at_runtime
from lpack.assemble.scancache import ScanCache
from lpack.assemble.stages import USER_DROP, Removal, SlimResult, StageContext
from lpack.catalog import Category, slim_categories
from lpack.files import default_cache_dir, matches_any
from lpack.settings import SlimRules
from lpack.target import Target

_LICENSE_PREFIXES = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")


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


def _guarded(cat: Category, path: str, known: set[str], stems: set[str]) -> bool:
    """Whether the category's guard keeps this file although its suffix matches."""
    if cat.guard == "module-beside":
        return not _stub_has_module(path, known, stems)
    if cat.guard == "source-beside":
        # A .pyc with no source beside it is the module itself (a sourceless wheel).
        return path[:-1] not in known and "__pycache__" not in path.split("/")
    return False


@dataclass(frozen=True)
class _Package:
    """What the matching needs to know about the whole plan, computed once."""

    paths: set[str]
    stems: set[str]
    dist_info: dict[str, str]  # distribution key -> its .dist-info folder
    protected: Protected


def _category_of(path: str, dist: str, cats: list[Category], package: _Package) -> str | None:
    """The first enabled file category that matches this dependency file, unless its guard
    keeps the file."""
    name = path.rsplit("/", 1)[-1]
    dist_info = package.dist_info.get(dist)
    in_metadata = dist_info is not None and path.startswith(f"{dist_info}/")
    for cat in cats:
        if cat.scope == "dist-info":
            top_level = in_metadata and "/" not in path[len(f"{dist_info}/") :]
            if top_level and name in cat.files and not name.upper().startswith(_LICENSE_PREFIXES):
                return cat.code
            continue
        if in_metadata:
            continue  # metadata is only ever touched by dist-info categories
        if cat.dirs and in_folder_named(path, cat.dirs):
            matched = True
        elif cat.files and any(fnmatch.fnmatchcase(name, f) for f in cat.files):
            matched = True
        else:
            matched = bool(cat.suffixes) and path.endswith(cat.suffixes)
            if matched and _guarded(cat, path, package.paths, package.stems):
                continue
        if matched:
            # A test or docs module that shipped code imports stays, with what is beside it.
            keep = cat.guard == "imported" and path in package.protected.paths
            return None if keep else cat.code
    return None


def runtime_provided_drops(
    distributions: list[Distribution], roots: list[str], target: Target, packages: tuple[str, ...]
) -> set[str]:
    """Distributions that only the runtime-provided packages need (plus those packages)."""
    provided = {canonicalize_name(p) for p in packages}
    env = target.marker_environment()
    graph: dict[str, set[str]] = {}
    for dist in distributions:
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


class Prune:
    """Removes dependency files by category and by the user's drop globs; keep globs win."""

    name = "prune"

    def run(self, plan: Plan, context: StageContext, result: SlimResult) -> None:
        if not context.slim.enabled:
            return
        known = slim_categories()
        prunable_dirs = tuple(
            sorted({d for c in known.values() if c.guard == "imported" for d in c.dirs})
        )
        scans = ScanCache(default_cache_dir())
        protected = protected_paths(plan.entries, prunable_dirs, plan.layout, scans)
        result.kept_imported = list(protected.modules)
        package = _Package(
            paths=set(plan.entries),
            stems={stem for p in plan.entries if (stem := module_stem(p))},
            dist_info={d.key: d.dist_info for d in plan.distributions},
            protected=protected,
        )
        whole = self._whole_distributions(plan, context)
        hits = _GlobHits.for_settings(context)
        removals: dict[str, str] = {}
        user_dropped: set[str] = set()
        for path in sorted(plan.entries):
            entry = plan.entries[path]
            if entry.dist is None:
                continue  # the function's own source is the user's to shape (include/exclude)
            rules = context.slim.rules_for(entry.dist)
            kept_by = hits.count("keep", [g for g in rules.keep if matches_any(path, [g])])
            dropped_by = hits.count("drop", [g for g in rules.drop if matches_any(path, [g])])
            if entry.dist in whole:
                removals[path] = whole[entry.dist]
                _leave_to_runtime(entry, removals[path], kept_by, result)
                continue
            found = self._file_code(path, entry, rules, package)
            if dropped_by:
                user_dropped.add(path)
                found = found or USER_DROP
            if found is not None and not kept_by:
                removals[path] = found
        guessed = {p: c for p, c in removals.items() if p not in user_dropped}
        result.kept_read = self._read_at_runtime(plan, guessed, whole, prunable_dirs, scans)
        scans.save()
        for path, code in removals.items():
            if path in result.kept_read:
                continue
            entry = plan.entries.pop(path)
            result.removals.append(Removal(path, entry.dist or "", code, entry.size))
        remaining = {e.dist for e in plan.entries.values() if e.dist is not None}
        plan.distributions = [d for d in plan.distributions if d.key in remaining]
        result.warnings += hits.unmatched()

    @staticmethod
    def _read_at_runtime(
        plan: Plan,
        removals: dict[str, str],
        whole: dict[str, str],
        suite_dirs: tuple[str, ...],
        scans: ScanCache,
    ) -> dict[str, str]:
        """A file category's guess yields to a file that shipped code reads; the user's drop
        globs and dist-info metadata (read by installers, not the package) do not."""
        known = slim_categories()
        candidates = {
            path: plan.entries[path].dist or ""
            for path, code in removals.items()
            if code in known
            and known[code].scope == "files"
            and plan.entries[path].dist not in whole
        }
        return read_at_runtime(plan.entries, candidates, plan.layout, suite_dirs, scans)

    @staticmethod
    def _file_code(path: str, entry: Entry, rules: SlimRules, package: _Package) -> str | None:
        assert entry.dist is not None
        if path == f"{package.dist_info.get(entry.dist)}/RECORD":
            return None  # rewritten by the RECORD stage, never removed
        known = slim_categories()
        cats = [
            known[c]
            for c in sorted(rules.enabled)
            if known[c].scope != "distribution" and known[c].action == "remove"
        ]
        return _category_of(path, entry.dist, cats, package)

    @staticmethod
    def _whole_distributions(plan: Plan, context: StageContext) -> dict[str, str]:
        """Distribution -> code, for categories that leave whole distributions out."""
        whole: dict[str, str] = {}
        for cat in slim_categories().values():
            if cat.scope != "distribution":
                continue
            if not any(
                cat.code in context.slim.rules_for(d.key).enabled for d in plan.distributions
            ):
                continue
            dropped = runtime_provided_drops(
                plan.distributions, context.roots, context.target, cat.packages
            )
            for dist in dropped:
                if cat.code in context.slim.rules_for(dist).enabled:
                    whole.setdefault(dist, cat.code)
        return whole


def _leave_to_runtime(entry: Entry, code: str, kept_by: list[str], result: SlimResult) -> None:
    # A distribution left to the runtime goes whole: keeping some of its files would ship a
    # dist-info that shadows the runtime's own.
    if kept_by:
        result.warnings.append(
            f"keep glob {kept_by[0]!r} matches {entry.path}, but {entry.dist} is left to the "
            f"runtime ({code}) as a whole; the file is not shipped."
        )
    result.runtime_entries.append(entry)


class _GlobHits:
    """How many files each keep/drop glob matched: a glob that matches nothing is a typo."""

    def __init__(self, keep: list[str], drop: list[str]) -> None:
        self.hits = {
            "keep": Counter(dict.fromkeys(keep, 0)),
            "drop": Counter(dict.fromkeys(drop, 0)),
        }

    @classmethod
    def for_settings(cls, context: StageContext) -> _GlobHits:
        slim = context.slim
        every = [slim.rules_for(None)] + [slim.rules_for(d) for d in slim.per_distribution]
        return cls([g for r in every for g in r.keep], [g for r in every for g in r.drop])

    def count(self, kind: str, globs: list[str]) -> list[str]:
        self.hits[kind].update(globs)
        return globs

    def unmatched(self) -> list[str]:
        return [
            f"slim {kind} glob {glob!r} matched no dependency file."
            for kind, counter in self.hits.items()
            for glob, n in counter.items()
            if not n
        ]
