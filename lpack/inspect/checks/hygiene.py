"""LP3xx: what a package carries that it should not (bytecode, tests, debug info, duplicates)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace

from lpack.facts import facts
from lpack.inspect.checks.grouping import per_distribution
from lpack.inspect.contents import Contents, Item
from lpack.inspect.registry import Context, Finding, check, dists, files, finding
from lpack.units import human_bytes


@check("LP301")
def bytecode_shipped(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        pyc = [i for i in contents.files if i.name.endswith((".pyc", ".pyo"))]
        if pyc:
            size = sum(i.size for i in pyc)
            what = "bytecode file" if len(pyc) == 1 else "bytecode files"
            yield finding(
                "LP301", contents, None, f"{len(pyc):,} {what}, {human_bytes(size)} unzipped"
            )


@check("LP302")
def test_suites(ctx: Context) -> Iterator[Finding]:
    test_dirs = facts().test_dirs
    for contents in ctx.packages:
        suites: dict[str, int] = defaultdict(int)
        owners: dict[str, str] = {}
        for item in files(ctx, contents):
            if item.dist is None or item.rel is None:
                continue
            parts = item.rel.split("/")
            for i, part in enumerate(parts[:-1]):
                if part in test_dirs and i >= 1:
                    suite = "/".join(parts[: i + 1])
                    suites[suite] += item.size
                    owners[suite] = item.dist
                    break
        # scipy alone has 40-odd suites: one finding per distribution, its largest suite first.
        by_dist: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for suite, size in sorted(suites.items(), key=lambda kv: -kv[1]):
            if size >= 10_000 and not ctx.options.ignored_at("LP302", suite):
                by_dist[owners[suite]].append((suite, size))
        for dist, found in by_dist.items():
            (largest, size), *more = found
            if not more:
                yield finding(
                    "LP302", contents, largest, f"test suite of {human_bytes(size)} unzipped"
                )
                continue
            total = sum(s for _, s in found)
            text = (
                f"{len(found)} test suites of {dist}, {human_bytes(total)} unzipped; "
                f"the largest, this one, {human_bytes(size)}"
            )
            grouped = finding("LP302", contents, largest, text)
            yield replace(grouped, paths=tuple(suite for suite, _ in found))


@check("LP303")
def unstripped(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        hits = (
            (item, "carries debug sections")
            for item in files(ctx, contents)
            if item.binary and item.binary.format == "elf" and item.binary.has_debug_info
        )
        yield from per_distribution(ctx, "LP303", contents, hits, sized=True)


@check("LP304")
def duplicates(ctx: Context) -> Iterator[Finding]:
    seen: dict[str, tuple[Contents, str]] = {}
    for contents in ctx.packages:
        local: dict[str, list[str]] = defaultdict(list)
        for dist in dists(ctx, contents):
            local[dist.name].append(dist.path)
        for name, paths in local.items():
            if len(paths) > 1:
                yield finding(
                    "LP304",
                    contents,
                    paths[0],
                    f"{name} is installed {len(paths)} times: {', '.join(paths)}",
                )
            if name in seen and seen[name][0] is not contents:
                yield finding(
                    "LP304",
                    contents,
                    paths[0],
                    f"{name} is also in {seen[name][0].source} ({seen[name][1]}); "
                    "only the function's copy is imported",
                )
            seen.setdefault(name, (contents, paths[0]))


@check("LP305")
def missing_dist_info(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        owned_tops = {i.rel.split("/")[0] for i in contents.files if i.dist and i.rel}
        tops: dict[str, list[Item]] = defaultdict(list)
        for item in files(ctx, contents):
            if item.rel and "/" in item.rel and item.dist is None:
                tops[item.rel.split("/")[0]].append(item)
        for top, items in sorted(tops.items()):
            if top in owned_tops or not top.isidentifier():
                continue
            names = {i.name for i in items}
            looks_installed = (
                "py.typed" in names
                or any(i.binary is not None for i in items)
                or _declares_version(contents, items, top)
            )
            if looks_installed and len(items) >= 3:
                yield finding(
                    "LP305",
                    contents,
                    top,
                    f"package {top!r} looks installed (version marker or binaries) but "
                    "no *.dist-info describes it",
                )


def _declares_version(contents: Contents, items: list[Item], top: str) -> bool:
    init = next((i for i in items if i.rel == f"{top}/__init__.py"), None)
    if init is None or init.size > 2_000_000:
        return False
    return b"__version__" in (contents.read_intact(init, 2_000_000) or b"")


@check("LP306")
def runtime_provided(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        names = {d.name for d in contents.distributions}
        for name in facts().runtime_provided:
            if name in names:
                yield finding(
                    "LP306", contents, None, f"{name} is shipped; the runtime has its own"
                )
