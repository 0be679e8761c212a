"""Per-file findings folded into one per distribution: a wheel built for another Python or
CPU trips a rule on every one of its hundreds of files, and one line says it as well."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from lpack.inspect.contents import Contents, Item
from lpack.inspect.registry import Context, Finding, finding
from lpack.units import human_bytes


def per_distribution(
    ctx: Context,
    code: str,
    contents: Contents,
    hits: Iterable[tuple[Item, str]],
    sized: bool = False,
) -> Iterator[Finding]:
    """One finding per (distribution, message) of the hits: the first path as the example,
    every path in `paths`. A lone hit stays a plain per-file finding (with its size when
    `sized`: a group always says its total).

    Per-path ignores apply to each file before grouping, so an ignore that covers some of a
    distribution's files shrinks the group instead of silencing it all.
    """
    groups: dict[tuple[str | None, str], list[Item]] = {}
    owners: dict[str, str] | None = None
    for item, message in hits:
        if ctx.options.ignored_at(code, item.path):
            continue
        dist = item.dist
        if dist is None and item.rel and "/" in item.rel:
            # .pyc compiled after install are in no RECORD: the folder tells whose they are.
            owners = _owners(contents) if owners is None else owners
            dist = owners.get(item.rel.split("/", 1)[0])
        groups.setdefault((dist, message), []).append(item)
    for (dist, message), items in groups.items():
        if len(items) == 1:
            alone = f"{message} ({human_bytes(items[0].size)})" if sized else message
            yield finding(code, contents, items[0].path, alone)
            continue
        owner = f"of {dist}" if dist is not None else "outside any distribution"
        size = sum(i.size for i in items)
        text = f"{len(items):,} files {owner} ({human_bytes(size)}) like this one: {message}"
        grouped = finding(code, contents, items[0].path, text)
        yield replace(grouped, paths=tuple(i.path for i in items))


def _owners(contents: Contents) -> dict[str, str]:
    """Top-level import folder → the distribution whose RECORD lists files in it."""
    owners: dict[str, str] = {}
    for item in contents.files:
        if item.dist is not None and item.rel and "/" in item.rel:
            owners.setdefault(item.rel.split("/", 1)[0], item.dist)
    return owners
