"""What to do when a package is over Lambda's limits, with the sizes the remedy would give.

Only the zipped limit exceeded: upload through S3, or move the heaviest distributions into a
layer (each layer zip is itself held to the direct-upload limit, and a function takes at most
five layers). Over 250 MiB unzipped with its layers: no layer split helps, since Lambda counts
the layers with the function; a container image does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from lpack.facts import SOURCE_LABEL, facts, mib

# Each file costs its local header and central directory entry besides its data.
_ZIP_HEADERS = 30 + 46
_END_RECORD = 22
_LAYER_PREFIX = len("python/")


@dataclass(frozen=True)
class Weight:
    """One distribution's share of a package (name is SOURCE_LABEL for the user's code)."""

    name: str
    zipped: int  # compressed bytes plus the zip's per-file headers
    unzipped: int
    path_bytes: int = 0  # sum of its paths' lengths, for the cost of moving it under python/
    files: int = 0
    requires: tuple[str, ...] = ()  # canonical names of the distributions it depends on


class _Member(Protocol):
    """A file of a zip: a Contents item, or an entry of the archive lpack wrote."""

    @property
    def path(self) -> str: ...
    @property
    def dist(self) -> str | None: ...
    @property
    def size(self) -> int: ...
    @property
    def compressed_size(self) -> int: ...


def dependency_names(requires: Iterable[str]) -> tuple[str, ...]:
    """Canonical names of Requires-Dist lines, leaving out what only an extra asks for."""
    names = []
    for line in requires:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is None or "extra" not in str(req.marker):
            names.append(canonicalize_name(req.name))
    return tuple(names)


def weights_of(
    files: Iterable[_Member], requires: Mapping[str, tuple[str, ...]] | None = None
) -> list[Weight]:
    """A package's weight per distribution, heaviest zipped first; requires: each
    distribution's dependencies (dependency_names), so a layer split moves them along."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for item in files:
        name = item.dist or SOURCE_LABEL
        path = len(item.path.encode())
        total = totals[name]
        total[0] += item.compressed_size + _ZIP_HEADERS + 2 * path
        total[1] += item.size
        total[2] += path
        total[3] += 1
    needs = requires or {}
    found = [Weight(n, z, u, p, f, needs.get(n, ())) for n, (z, u, p, f) in totals.items()]
    return sorted(found, key=lambda w: (-w.zipped, w.name))


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def _closure(root: Weight, by_name: Mapping[str, Weight], taken: set[str]) -> list[Weight]:
    """The distribution and what it needs that is still in the function: a layer made of
    it resolves its dependencies too, so they move with it."""
    group, stack = [], [root.name]
    while stack:
        name = stack.pop()
        if name in taken or name not in by_name:
            continue
        taken.add(name)
        group.append(by_name[name])
        stack.extend(by_name[name].requires)
    return group


def _layers_for(groups: list[list[Weight]], limit: int) -> list[int]:
    """First-fit decreasing: the zipped size of each layer the moved groups fill (a group
    stays in one layer, which brings its own dependencies)."""
    bins: list[int] = []
    sizes = sorted(
        (sum(w.zipped + 2 * w.files * _LAYER_PREFIX for w in g) for g in groups), reverse=True
    )
    for size in sizes:
        for i, used in enumerate(bins):
            if used + size <= limit:
                bins[i] += size
                break
        else:
            bins.append(_END_RECORD + size)
    return bins


def _layer_split(weights: Sequence[Weight], zipped: int, layers_used: int) -> str | None:
    """Move the heaviest distributions (with what they need) until the function zip fits;
    None when that cannot work."""
    limit = facts().zipped_limit
    by_name = {w.name: w for w in weights if w.name != SOURCE_LABEL}
    taken: set[str] = set()
    groups: list[list[Weight]] = []
    left = zipped
    for w in weights:
        if left <= limit:
            break
        if w.name in by_name and w.name not in taken:
            group = _closure(w, by_name, taken)
            groups.append(group)
            left -= sum(g.zipped for g in group)
    if left > limit or not groups:
        return None
    bins = _layers_for(groups, limit)
    if any(size > limit for size in bins) or layers_used + len(bins) > facts().max_layers:
        return None
    names = ", ".join(
        g[0].name + (f" (with {', '.join(w.name for w in g[1:])})" if len(g) > 1 else "")
        for g in groups
    )
    sizes = " and ".join(_mib(b) for b in bins)
    count = "a layer" if len(bins) == 1 else f"{len(bins)} layers"
    return (
        f"move {names} into {count} (a [tool.lpack.layers] entry): the function zip becomes "
        f"about {_mib(left)} and the layer zip{'s' if len(bins) > 1 else ''} about {sizes}"
    )


def remedy(
    weights: Sequence[Weight],
    zipped: int | None,
    unzipped_total: int,
    upload: str,
    layers_used: int = 0,
) -> str | None:
    """The remedy for a package over Lambda's limits (None when it is within them).

    weights: the function's distributions; unzipped_total counts its layers too."""
    known = facts()
    if unzipped_total > known.unzipped_limit:
        heaviest = ", ".join(
            f"{w.name} {_mib(w.unzipped)}" for w in sorted(weights, key=lambda w: -w.unzipped)[:3]
        )
        return (
            f"no layer split helps: Lambda counts the layers with the function against "
            f"{mib(known.unzipped_limit)} unzipped. Ship it as a container image (up to 10 GB), "
            f"or cut what it carries (largest unzipped: {heaviest}; LP808 leaves the AWS SDK "
            "to the runtime)"
        )
    if upload != "direct" or zipped is None or zipped <= known.zipped_limit:
        return None
    s3 = (
        f'set upload = "s3" and deploy the zip through S3, where the {mib(known.zipped_limit)} '
        f"zipped limit does not apply (it unzips to {_mib(unzipped_total)} with its layers, "
        f"within {mib(known.unzipped_limit)})"
    )
    split = _layer_split(weights, zipped, layers_used)
    return f"{s3}; or {split}" if split else s3
