"""Where the bytes go: sizes by distribution, module, folder and kind of file, and why each
distribution is there. Built from the Contents model, so it works on any package."""

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

from lpack.contents import Contents, Item
from lpack.errors import ConfigError
from lpack.target import Target

REPORT_VERSION = 1
SOURCE = "(your source)"
KINDS = ("native code", "Python source", "bytecode", "tests", "metadata", "data")
_NATIVE = (".so", ".pyd", ".dylib", ".dll")


def kind_of(item: Item) -> str:
    parts = (item.rel or item.path).split("/")
    if any(p.endswith(".dist-info") for p in parts[:-1]):
        return "metadata"
    if (
        any(p in ("tests", "test") for p in parts[:-1])
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


@dataclass
class Sizes:
    files: int = 0
    unzipped: int = 0
    zipped: int = 0

    def add(self, item: Item) -> None:
        self.files += 1
        self.unzipped += item.size
        self.zipped += item.compressed_size

    def as_json(self) -> dict[str, int]:
        return {"files": self.files, "unzipped": self.unzipped, "zipped": self.zipped}


@dataclass
class Report:
    artifact: str
    runtime: str | None
    arch: str | None
    zipped: int | None
    total: Sizes
    distributions: dict[str, dict[str, Any]]  # name -> {version, sizes, why}
    modules: dict[str, Sizes]
    kinds: dict[str, Sizes]
    tree: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "command": "report",
            "artifact": self.artifact,
            "target": {"runtime": self.runtime, "arch": self.arch},
            "zipped_size": self.zipped,
            "unzipped_size": self.total.unzipped,
            "files": self.total.files,
            "distributions": [
                {"name": name, "version": d["version"], **d["sizes"].as_json(), "why": d["why"]}
                for name, d in sorted(
                    self.distributions.items(), key=lambda kv: (-kv[1]["sizes"].unzipped, kv[0])
                )
            ],
            "modules": [
                {"name": name, **s.as_json()}
                for name, s in sorted(self.modules.items(), key=lambda kv: (-kv[1].unzipped, kv[0]))
            ],
            "kinds": [{"name": k, **self.kinds[k].as_json()} for k in KINDS if k in self.kinds],
            "tree": self.tree,
        }


def _requires(contents: Contents, dist_path: str, env: dict[str, str] | None) -> set[str]:
    item = next((i for i in contents.files if i.path == f"{dist_path}/METADATA"), None)
    if item is None:
        return set()
    message = BytesHeaderParser().parsebytes(contents.read(item, 8 << 20))
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


def _tree(items: list[Item]) -> dict[str, Any]:
    root: dict[str, Any] = {"name": "", "size": 0, "zipped": 0, "children": {}}
    for item in items:
        node = root
        node["size"] += item.size
        node["zipped"] += item.compressed_size
        parts = item.path.split("/")
        for i, part in enumerate(parts):
            children = node.setdefault("children", {})
            node = children.setdefault(part, {"name": part, "size": 0, "zipped": 0})
            node["size"] += item.size
            node["zipped"] += item.compressed_size
            if i == len(parts) - 1:
                node["dist"] = item.dist or SOURCE
                node["kind"] = kind_of(item)

    def freeze(node: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in node.items() if k != "children"}
        if node.get("children"):
            out["children"] = sorted(
                (freeze(c) for c in node["children"].values()),
                key=lambda c: (-c["size"], c["name"]),
            )
        return out

    return freeze(root)


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
        by_dist[item.dist or SOURCE].add(item)
        top = (item.rel or item.path).split("/")[0]
        if top.endswith(".py"):
            top = top[:-3]
        elif "." in top and not top.endswith((".dist-info", ".data")):
            top = top.split(".")[0] if top.endswith(_NATIVE) else top
        modules[top].add(item)
        kinds[kind_of(item)].add(item)
    versions = {d.name: d.version for d in contents.distributions}
    chains = why_chains(contents, target, root_label)
    dists = {
        name: {"version": versions.get(name, ""), "sizes": sizes, "why": chains.get(name, [])}
        for name, sizes in by_dist.items()
    }
    return Report(
        artifact=str(contents.source),
        runtime=target.runtime if target else None,
        arch=target.arch if target else None,
        zipped=contents.zipped_size,
        total=total,
        distributions=dists,
        modules=dict(modules),
        kinds=dict(kinds),
        tree=_tree(files),
    )


def load_report_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not a readable report JSON: {exc}.") from exc
    if not isinstance(data, dict) or data.get("command") != "report" or "distributions" not in data:
        raise ConfigError(
            f"{path} is JSON but not an lpack report.",
            hint="make one with `lpack report PATH --format json > report.json`.",
        )
    return data
