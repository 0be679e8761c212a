"""Where the bytes go: sizes by distribution, module, folder and kind of file, and why each
distribution is there. Built from the Contents model, so it works on any package; a report is
a typed document that reads and writes the `lpack report --format json` shape."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from lpack.errors import ConfigError
from lpack.facts import SOURCE_LABEL, facts
from lpack.inspect.contents import Contents, Item
from lpack.inspect.duplicates import Duplicate, find_duplicates
from lpack.inspect.limits import LimitCheck
from lpack.target import Target

REPORT_VERSION = 1
KINDS = ("native code", "Python source", "bytecode", "tests", "metadata", "data")
_NATIVE = (".so", ".pyd", ".dylib", ".dll")


def kind_of(item: Item) -> str:
    parts = (item.rel or item.path).split("/")
    if any(p.endswith(".dist-info") for p in parts[:-1]):
        return "metadata"
    if (
        any(p in facts().test_dirs for p in parts[:-1])
        or parts[-1].startswith("test_")
        or (parts[-1] == "conftest.py")
    ):
        return "tests"
    name = parts[-1]
    if name.endswith((".pyc", ".pyo")):
        return "bytecode"
    if name.endswith(_NATIVE) or ".so." in name or item.binary is not None:
        return "native code"
    if name.endswith((".py", ".pyi")):
        return "Python source"
    return "data"


@dataclass(frozen=True)
class TargetRef:
    """The runtime and arch a report or baseline was made for (None: not known)."""

    runtime: str | None = None
    arch: str | None = None
    # The object as read from a report or baseline file: written back as it was.
    source: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        if self.source is not None:
            return dict(self.source)
        return {"runtime": self.runtime, "arch": self.arch}

    @classmethod
    def from_json(cls, data: Any) -> TargetRef | None:
        if not isinstance(data, dict):
            return None
        runtime, arch = data.get("runtime"), data.get("arch")
        return cls(
            runtime if isinstance(runtime, str) else None,
            arch if isinstance(arch, str) else None,
            dict(data),
        )

    def describe(self) -> str:
        return f"{self.runtime} {self.arch}"


@dataclass
class Sizes:
    files: int = 0
    unzipped: int = 0
    zipped: int = 0

    def add(self, item: Item) -> None:
        self.files += 1
        self.unzipped += item.size
        self.zipped += item.compressed_size

    def to_json(self) -> dict[str, int]:
        return {"files": self.files, "unzipped": self.unzipped, "zipped": self.zipped}


@dataclass(frozen=True)
class DistributionSizes:
    name: str
    version: str
    sizes: Sizes
    why: list[str]  # ["numpy", "pandas", "requirements.in"]: numpy ← pandas ← requirements.in

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, **self.sizes.to_json(), "why": self.why}


@dataclass(frozen=True)
class NamedSizes:
    """A top-level module or a kind of file, and its sizes."""

    name: str
    sizes: Sizes

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.sizes.to_json()}


@dataclass
class TreeNode:
    """A folder (with children) or a file (with its owner and kind) and the bytes under it."""

    name: str
    size: int = 0
    zipped: int = 0
    dist: str | None = None
    kind: str | None = None
    children: list[TreeNode] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "size": self.size, "zipped": self.zipped}
        if self.dist is not None:
            out["dist"] = self.dist
        if self.kind is not None:
            out["kind"] = self.kind
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TreeNode:
        return cls(
            str(data.get("name", "")),
            int(data.get("size", 0)),
            int(data.get("zipped", 0)),
            data.get("dist"),
            data.get("kind"),
            [cls.from_json(c) for c in data.get("children", [])],
        )


@dataclass(frozen=True)
class Report:
    artifact: str
    target: TargetRef | None  # None only in a report file that names no target
    zipped_size: int | None
    total: Sizes
    distributions: list[DistributionSizes]  # largest first
    modules: list[NamedSizes]  # largest first
    kinds: list[NamedSizes]  # in KINDS order
    tree: TreeNode
    # The document as read from a report file: `report FILE.json --format json` echoes it.
    source: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    # For the HTML report, not in the JSON document: files shipped twice, and the limit and
    # budget checks (set by whoever knows the budgets; empty: only Lambda's limits are known).
    duplicates: list[Duplicate] = field(default_factory=list, compare=False, repr=False)
    limits: tuple[LimitCheck, ...] = field(default=(), compare=False, repr=False)

    @property
    def unzipped_size(self) -> int:
        return self.total.unzipped

    @property
    def files(self) -> int:
        return self.total.files

    def to_json(self) -> dict[str, Any]:
        if self.source is not None:
            return dict(self.source)
        return {
            "version": REPORT_VERSION,
            "command": "report",
            "artifact": self.artifact,
            "target": self.target.to_json() if self.target else None,
            "zipped_size": self.zipped_size,
            "unzipped_size": self.total.unzipped,
            "files": self.total.files,
            "distributions": [d.to_json() for d in self.distributions],
            "modules": [m.to_json() for m in self.modules],
            "kinds": [k.to_json() for k in self.kinds],
            "tree": self.tree.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], artifact: str = "") -> Report:
        """A report file, as far as it goes: only the distributions' names are required (a
        diff needs no more); sizes and versions it lacks count as 0 and ""."""

        def sizes(row: dict[str, Any]) -> Sizes:
            return Sizes(*(int(row.get(key) or 0) for key in ("files", "unzipped", "zipped")))

        dists = [
            DistributionSizes(
                str(d["name"]),
                str(d.get("version") or ""),
                sizes(d),
                [str(w) for w in d.get("why") or []],
            )
            for d in data["distributions"]
        ]
        total = Sizes(
            int(data.get("files") or sum(d.sizes.files for d in dists)),
            int(data.get("unzipped_size") or sum(d.sizes.unzipped for d in dists)),
            sum(d.sizes.zipped for d in dists),
        )
        zipped = data.get("zipped_size")
        return cls(
            artifact=str(data.get("artifact") or artifact),
            target=TargetRef.from_json(data.get("target")),
            zipped_size=int(zipped) if zipped is not None else None,
            total=total,
            distributions=dists,
            modules=[NamedSizes(str(m["name"]), sizes(m)) for m in data.get("modules") or []],
            kinds=[NamedSizes(str(k["name"]), sizes(k)) for k in data.get("kinds") or []],
            tree=TreeNode.from_json(data.get("tree") or {}),
            source=data,
        )


def _requires(contents: Contents, dist_path: str, env: dict[str, str] | None) -> set[str]:
    item = next((i for i in contents.files if i.path == f"{dist_path}/METADATA"), None)
    if item is None:
        return set()
    message = BytesHeaderParser().parsebytes(contents.read_intact(item, 8 << 20) or b"")
    result: set[str] = set()
    for line in message.get_all("Requires-Dist") or []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None:
            try:
                if env is None or not req.marker.evaluate({**env, "extra": ""}):
                    continue
            except InvalidMarker:
                continue
        result.add(canonicalize_name(req.name))
    return result


def why_chains(
    contents: Contents, target: Target | None, root_label: str = "your requirements"
) -> dict[str, list[str]]:
    """For each distribution, the shortest chain of requirements that pulls it in:
    ["numpy", "pandas", "requirements.in"] reads "numpy ← pandas ← requirements.in"."""
    env = target.marker_environment() if target else None
    present = {d.name for d in contents.distributions}
    graph = {d.name: _requires(contents, d.path, env) & present for d in contents.distributions}
    required = {dep for deps in graph.values() for dep in deps}
    roots = sorted(present - required) or sorted(present)
    parent: dict[str, str | None] = {r: None for r in roots}
    queue = list(roots)
    while queue:
        node = queue.pop(0)
        for dep in sorted(graph.get(node, ())):
            if dep not in parent:
                parent[dep] = node
                queue.append(dep)
    chains: dict[str, list[str]] = {}
    for name in present:
        chain: list[str] = [name]
        step: str | None = parent.get(name)
        while step is not None:
            chain.append(step)
            step = parent.get(step)
        chains[name] = chain + [root_label]
    return chains


def _tree(items: list[Item]) -> TreeNode:
    """The folder tree with sizes; children largest first."""
    root: dict[str, Any] = {"node": TreeNode(""), "children": {}}
    for item in items:
        level = root
        _add_sizes(level["node"], item)
        for part in item.path.split("/"):
            level = level["children"].setdefault(part, {"node": TreeNode(part), "children": {}})
            _add_sizes(level["node"], item)
        level["node"].dist = item.dist or SOURCE_LABEL
        level["node"].kind = kind_of(item)
    return _freeze(root)


def _add_sizes(node: TreeNode, item: Item) -> None:
    node.size += item.size
    node.zipped += item.compressed_size


def _freeze(level: dict[str, Any]) -> TreeNode:
    node: TreeNode = level["node"]
    children = [_freeze(child) for child in level["children"].values()]
    node.children = sorted(children, key=lambda c: (-c.size, c.name))
    return node


def _top_level_module(item: Item) -> str:
    top = (item.rel or item.path).split("/")[0]
    if top.endswith(".py"):
        return top[:-3]
    if "." in top and not top.endswith((".dist-info", ".data")) and top.endswith(_NATIVE):
        return top.split(".")[0]
    return top


def _largest_first(sizes: dict[str, Sizes]) -> list[tuple[str, Sizes]]:
    return sorted(sizes.items(), key=lambda kv: (-kv[1].unzipped, kv[0]))


def make_report(
    contents: Contents, target: Target | None, root_label: str = "your requirements"
) -> Report:
    files = [i for i in contents.files if i.symlink_target is None]
    if not files:
        raise ConfigError(
            f"{contents.source} holds no files: it is not a Lambda package.",
            hint="pass a zip or folder with your function, or a project folder to build.",
        )
    total = Sizes()
    by_dist: dict[str, Sizes] = defaultdict(Sizes)
    modules: dict[str, Sizes] = defaultdict(Sizes)
    kinds: dict[str, Sizes] = defaultdict(Sizes)
    for item in files:
        total.add(item)
        by_dist[item.dist or SOURCE_LABEL].add(item)
        modules[_top_level_module(item)].add(item)
        kinds[kind_of(item)].add(item)
    versions = {d.name: d.version for d in contents.distributions}
    chains = why_chains(contents, target, root_label)
    return Report(
        artifact=str(contents.source),
        target=TargetRef(target.runtime, target.arch) if target else TargetRef(),
        zipped_size=contents.zipped_size,
        total=total,
        distributions=[
            DistributionSizes(name, versions.get(name, ""), sizes, chains.get(name, []))
            for name, sizes in _largest_first(by_dist)
        ],
        modules=[NamedSizes(name, sizes) for name, sizes in _largest_first(modules)],
        kinds=[NamedSizes(k, kinds[k]) for k in KINDS if k in kinds],
        tree=_tree(files),
        duplicates=find_duplicates(contents, files, SOURCE_LABEL),
    )


def load_report_json(path: Path) -> Report:
    """A report written by `lpack report --format json`, checked to be one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path} is not a readable report JSON: {exc}.",
            hint="make one with `lpack report PATH --format json > report.json`.",
        ) from exc
    if not isinstance(data, dict) or data.get("command") != "report" or "distributions" not in data:
        raise ConfigError(
            f"{path} is JSON but not an lpack report.",
            hint="make one with `lpack report PATH --format json > report.json`.",
        )
    try:
        return Report.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"{path} is an lpack report with a missing or malformed field ({exc}).",
            hint="make it again with `lpack report PATH --format json > report.json`.",
        ) from exc
