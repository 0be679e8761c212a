"""LP3xx: what a package carries that it should not (bytecode, tests, debug info, duplicates)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from lpack.facts import facts
from lpack.inspect.contents import Contents, Item
from lpack.inspect.registry import Context, Finding, check, dists, files, finding


@check("LP301")
def bytecode_shipped(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        pyc = [i for i in contents.files if i.name.endswith((".pyc", ".pyo"))]
        if pyc:
            size = sum(i.size for i in pyc)
            yield finding(
                "LP301", contents, None, f"{len(pyc):,} bytecode files, {size:,} B unzipped"
            )


@check("LP302")
def test_suites(ctx: Context) -> Iterator[Finding]:
    test_dirs = facts().test_dirs
    for contents in ctx.packages:
        suites: dict[str, int] = defaultdict(int)
        for item in files(ctx, contents):
            if item.dist is None or item.rel is None:
                continue
            parts = item.rel.split("/")
            for i, part in enumerate(parts[:-1]):
                if part in test_dirs and i >= 1:
                    suites["/".join(parts[: i + 1])] += item.size
                    break
        for suite, size in sorted(suites.items(), key=lambda kv: -kv[1]):
            if size >= 10_000:
                yield finding("LP302", contents, suite, f"test suite of {size:,} B unzipped")


@check("LP303")
def unstripped(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in files(ctx, contents):
            facts = item.binary
            if facts and facts.format == "elf" and facts.has_debug_info:
                yield finding(
                    "LP303", contents, item.path, f"carries debug sections ({item.size:,} B in all)"
                )


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
