"""The treemap's data: a distribution → folder → file tree of the report, each distribution's
colours (a stable palette with readable text on each), and the duplicate files marked.

The page's script lays the tree out (it knows the frame's size in pixels, and lays it out again
for the other size and on resize); this module decides what there is to lay out."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from lpack.facts import SOURCE_LABEL
from lpack.inspect.report import Report, TreeNode

# Tableau 10 without its grey (grey means "one of the small rest"): hues that stay apart for
# most colour vision, light enough that a tile's label reads on them.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
)
# The user's own code: the one dark group, so it stands out among the dependencies.
SOURCE_COLOR = "#4b2991"
OTHER_COLOR = "#bab0ac"
# A folder with more entries than this shows its largest ones and one tile for the rest:
# the page stays small and fast for a hostile zip of 100,000 files in one folder.
MAX_CHILDREN = 300


@dataclass(frozen=True)
class Colors:
    """A distribution's fills (files, folders, the distribution's frame) and their text."""

    base: str
    folder: str
    frame: str

    @classmethod
    def of(cls, base: str) -> Colors:
        return cls(base, mix(base, "#000000", 0.15), mix(base, "#000000", 0.38))

    def to_json(self) -> dict[str, str]:
        fills = {"base": self.base, "folder": self.folder, "frame": self.frame}
        return {**fills, **{f"{k}Text": text_color(v) for k, v in fills.items()}}


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def mix(color: str, other: str, share: float) -> str:
    a, b = _rgb(color), _rgb(other)
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b, strict=True))


def luminance(color: str) -> float:
    """WCAG 2 relative luminance."""

    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color(fill: str) -> str:
    """Black or white, whichever reads better on the fill (never below 4.5:1, WCAG AA)."""
    return max(("#000000", "#ffffff"), key=lambda t: contrast(fill, t))


def assign_colors(names: list[str]) -> dict[str, str]:
    """names largest first. A distribution keeps its hue from report to report (a hash of its
    name picks it) unless a larger one took that hue first; past the palette, grey."""
    taken: dict[int, str] = {}
    colors: dict[str, str] = {}
    for name in names:
        if name == SOURCE_LABEL:
            colors[name] = SOURCE_COLOR
            continue
        if len(taken) == len(PALETTE):
            colors[name] = OTHER_COLOR
            continue
        slot = zlib.crc32(name.encode()) % len(PALETTE)
        while slot in taken:
            slot = (slot + 1) % len(PALETTE)
        taken[slot] = name
        colors[name] = PALETTE[slot]
    return colors


def _files(tree: TreeNode) -> list[tuple[str, TreeNode]]:
    """(stored path, node) of every file of the report's folder tree."""
    out: list[tuple[str, TreeNode]] = []
    stack = [(child, child.name) for child in tree.children]
    while stack:
        node, path = stack.pop()
        if node.children:
            stack.extend((c, f"{path}/{c.name}") for c in node.children)
        else:
            out.append((path, node))
    return out


def _folder() -> dict[str, Any]:
    return {"s": 0, "z": 0, "kids": {}}


def display_tree(report: Report, dup_of: dict[str, int]) -> dict[str, Any]:
    """The package as distribution → folder → file nodes: n name, p stored path, s unzipped,
    z zipped, c children, d distribution (index into report.distributions), k kind, u the
    duplicate group of a file, m how many files a "rest" tile stands for."""
    index = {d.name: i for i, d in enumerate(report.distributions)}
    groups: dict[str, dict[str, Any]] = {}
    for path, node in _files(report.tree):
        owner = node.dist or SOURCE_LABEL
        level = groups.setdefault(owner, _folder())
        _add(level, node)
        parts = path.split("/")
        for depth, part in enumerate(parts):
            level = level["kids"].setdefault(part, _folder())
            level["p"] = "/".join(parts[: depth + 1])
            _add(level, node)
        level["k"] = node.kind
        if path in dup_of:
            level["u"] = dup_of[path]
    root: dict[str, Any] = {"n": "", "s": report.unzipped_size, "z": 0, "c": []}
    for dist in report.distributions:
        group = groups.get(dist.name)
        if group is None:  # a report file without its tree: the distribution as one tile
            group = {"s": dist.sizes.unzipped, "z": dist.sizes.zipped, "kids": {}}
        shown = _freeze(dist.name, group, merge=False)
        shown["d"] = index[dist.name]
        root["c"].append(shown)
        root["z"] += shown["z"]
    return root


def _add(level: dict[str, Any], node: TreeNode) -> None:
    level["s"] += node.size
    level["z"] += node.zipped


def _freeze(name: str, level: dict[str, Any], merge: bool = True) -> dict[str, Any]:
    """A JSON node; a folder holding only one folder is shown as one ("numpy/core")."""
    kids = level["kids"]
    while merge and len(kids) == 1:
        ((only, sub),) = kids.items()
        if not sub["kids"]:
            break
        name, level, kids = f"{name}/{only}", sub, sub["kids"]
    node: dict[str, Any] = {"n": name, "s": level["s"], "z": level["z"]}
    for key in ("p", "k", "u"):
        if key in level:
            node[key] = level[key]
    ordered = sorted(kids.items(), key=lambda kv: (-kv[1]["s"], kv[0]))
    children = [_freeze(child_name, child) for child_name, child in ordered[:MAX_CHILDREN]]
    rest = ordered[MAX_CHILDREN:]
    if rest:
        count = sum(max(1, _count(child)) for _, child in rest)
        children.append(
            {
                "n": f"{count:,} smaller files",
                "s": sum(child["s"] for _, child in rest),
                "z": sum(child["z"] for _, child in rest),
                "m": count,
            }
        )
    if children:
        node["c"] = children
    return node


def _count(level: dict[str, Any]) -> int:
    kids = level["kids"]
    return sum(_count(k) for k in kids.values()) if kids else 1
