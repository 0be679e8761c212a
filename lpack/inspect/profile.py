"""lpack verify --profile: the handler's cold import, read from `python -X importtime`.

verify runs the harness once more in a fresh interpreter that imports only the handler's
module (verify_harness.py's profile mode); CPython writes one `import time:` line per
import to stderr, children before their parent, indented two spaces a level. This module
turns those lines into a tree and the tree into the heaviest imports, each package once
(top-level names: what a user can drop, swap or defer), with its cumulative and own time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lpack.inspect.sandbox import Outcome

HEAVIEST = 10  # imports listed
# Not anchored: the package's own output may share the line (a print with no newline).
_LINE = re.compile(r"import time:\s*(\d+)\s*\|\s*(\d+)\s*\|( *)([A-Za-z_][\w.]*)\s*$")


@dataclass
class Node:
    """One import as -X importtime reported it; times in microseconds."""

    name: str
    self_us: int
    cumulative_us: int
    depth: int
    children: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class Heavy:
    """A package's share of the import: cumulative_us from where it was first imported (what
    it pulls in included), self_us in its own modules' bodies (compiling them included)."""

    module: str
    cumulative_us: int
    self_us: int
    imported_by: str


@dataclass(frozen=True)
class ImportProfile:
    module: str  # the handler's module
    seconds: float  # wall time of its import, the best run
    runs: int
    from_pyc: int  # the package's own Python modules loaded from bytecode
    from_source: int  # and those compiled from source (no usable .pyc)
    stale_pyc: int  # of those, the ones whose shipped .pyc did not match their source
    heaviest: list[Heavy]

    @property
    def bytecode(self) -> float | None:
        """The share of the package's modules loaded from .pyc; None when it loaded none."""
        total = self.from_pyc + self.from_source
        return round(self.from_pyc / total, 3) if total else None


def parse_importtime(text: str) -> list[Node]:
    """The import trees in -X importtime's output, in the order their roots finished."""
    pending: list[Node] = []
    for line in text.splitlines():
        match = _LINE.search(line)
        if not match:
            continue
        node = Node(match[4], int(match[1]), int(match[2]), len(match[3]) // 2)
        # A parent is reported after its children: the deeper nodes just before it are its.
        start = len(pending)
        while start and pending[start - 1].depth > node.depth:
            start -= 1
        node.children, pending[start:] = pending[start:], [node]
    return pending


def heaviest(root: Node, limit: int = HEAVIEST) -> list[Heavy]:
    """The heaviest imports under root, the handler's module: a package counts once, from its
    outermost import (numpy inside pandas is listed too, imported by pandas); the handler's
    own package is split by module, the only part of it a user would weigh."""
    own = root.name.split(".")[0]

    def key(name: str) -> str:
        top = name.split(".")[0]
        return name if top == own else top

    cumulative: dict[str, int] = {}
    self_us: dict[str, int] = {}
    parent: dict[str, str] = {}
    # Depth first, in the order of the imports: imported_by is where a package came in first.
    stack: list[tuple[Node, tuple[str, ...]]] = [(c, (root.name,)) for c in reversed(root.children)]
    while stack:
        node, above = stack.pop()
        name = key(node.name)
        self_us[name] = self_us.get(name, 0) + node.self_us
        if name not in above:  # outermost: a nested import of itself is already counted
            cumulative[name] = cumulative.get(name, 0) + node.cumulative_us
            parent.setdefault(name, above[-1])
        stack += [(child, (*above, name)) for child in reversed(node.children)]
    ranked = sorted(cumulative, key=lambda n: (-cumulative[n], n))[:limit]
    # min: each line's times are rounded on their own, so the sum can pass the whole by 1 µs.
    return [Heavy(n, cumulative[n], min(self_us[n], cumulative[n]), parent[n]) for n in ranked]


def read_run(outcome: Outcome, module: str) -> dict[str, Any] | str:
    """The harness's profile event from one run, or why there is none."""
    event: dict[str, Any] = {}
    for line in outcome.events.decode("utf-8", "replace").splitlines():
        try:
            found = json.loads(line)
        except (ValueError, RecursionError):
            continue
        # The package shares the channel: only a well-formed event of this run counts.
        if isinstance(found, dict) and found.get("kind") == "profile":
            if found.get("module") == module and isinstance(found.get("ok"), bool):
                event = found
    if event.get("ok") is False:
        return f"{module} did not import: {event.get('type')}: {event.get('message')}"
    if not event:
        if outcome.timed_out:
            return f"{module}'s import was still running at the deadline (--timeout)"
        return f"the interpreter stopped (exit status {outcome.returncode}) before {module} was imported"
    return event


def best_profile(runs: list[tuple[dict[str, Any], str]], module: str) -> ImportProfile | str:
    """The fastest of the runs (its event and importtime output), or why none can be shown."""
    try:
        event, stderr = min(runs, key=lambda run: float(run[0]["seconds"]))
        seconds = float(event["seconds"])
        pyc, source, stale = (int(event[k]) for k in ("from_pyc", "from_source", "stale_pyc"))
    except (KeyError, TypeError, ValueError):
        return "the profiling run's report was malformed"
    roots = [node for node in parse_importtime(stderr) if node.name == module]
    heavy = heaviest(roots[-1]) if roots else []  # none: the harness had imported it already
    return ImportProfile(module, seconds, len(runs), pyc, source, stale, heavy)
