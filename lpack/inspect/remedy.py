"""What to do when a package is over Lambda's limits, with the sizes the remedy would give.

Only the zipped limit exceeded: upload through S3, or move the heaviest distributions into a
layer (each layer zip is itself held to the direct-upload limit, and a function takes at most
five layers). Over 250 MiB unzipped with its layers: no layer split helps, since Lambda counts
the layers with the function; a container image does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

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


def weights_of(files: Iterable[_Member]) -> list[Weight]:
    """A package's weight per distribution, heaviest zipped first."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for item in files:
        name = item.dist or SOURCE_LABEL
        path = len(item.path.encode())
        total = totals[name]
        total[0] += item.compressed_size + _ZIP_HEADERS + 2 * path
        total[1] += item.size
        total[2] += path
        total[3] += 1
    found = [Weight(n, z, u, p, f) for n, (z, u, p, f) in totals.items()]
    return sorted(found, key=lambda w: (-w.zipped, w.name))


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def _layers_for(moved: list[Weight], limit: int) -> list[int]:
    """First-fit decreasing: the zipped size of each layer the moved distributions fill."""
    bins: list[int] = []
    for w in moved:
        size = w.zipped + 2 * w.files * _LAYER_PREFIX
        for i, used in enumerate(bins):
            if used + size <= limit:
                bins[i] += size
                break
        else:
            bins.append(_END_RECORD + size)
    return bins


def _layer_split(weights: Sequence[Weight], zipped: int, layers_used: int) -> str | None:
    """Move the heaviest distributions until the function zip fits; None when that cannot."""
    limit = facts().zipped_limit
    moved: list[Weight] = []
    left = zipped
    for w in weights:
        if left <= limit:
            break
        if w.name != SOURCE_LABEL:
            moved.append(w)
            left -= w.zipped
    if left > limit or not moved:
        return None
    bins = _layers_for(moved, limit)
    if any(size > limit for size in bins) or layers_used + len(bins) > facts().max_layers:
        return None
    names = ", ".join(w.name for w in moved)
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
