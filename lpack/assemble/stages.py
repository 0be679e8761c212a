"""The build stages that run between laying out the package and writing it, as a list.

Each stage changes the plan in place and records what it did in the SlimResult; the order is
the list's order (prune before strip, so nothing removed is stripped; RECORD last, so it lists
what ships). The pipeline (lpack/build.py) holds the list: adding a stage (bytecode
compilation) is adding to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from lpack.assemble.entries import Entry
from lpack.assemble.layout import Plan
from lpack.settings import SlimSettings
from lpack.target import Target

USER_DROP = "drop"  # the code of entries removed by the user's own drop globs


@dataclass(frozen=True)
class Removal:
    path: str
    dist: str
    code: str
    size: int


@dataclass(frozen=True)
class Stripped:
    path: str
    dist: str
    code: str
    before: int
    after: int
    removed_sections: tuple[str, ...]


@dataclass
class SlimResult:
    """What the stages removed, rewrote and deliberately kept."""

    enabled: bool = True
    removals: list[Removal] = field(default_factory=list)
    stripped: list[Stripped] = field(default_factory=list)
    kept_imported: list[str] = field(default_factory=list)  # test/doc modules code imports
    kept_read: dict[str, str] = field(default_factory=dict)  # path -> why shipped code reads it
    untouched_binaries: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    runtime_entries: list[Entry] = field(default_factory=list)  # left to the runtime (LP808)

    def _saved(self, key: Callable[[Removal | Stripped], str]) -> dict[str, int]:
        saved: dict[str, int] = defaultdict(int)
        for r in self.removals:
            saved[key(r)] += r.size
        for s in self.stripped:
            saved[key(s)] += s.before - s.after
        return dict(sorted(saved.items(), key=lambda kv: -kv[1]))

    def saved_by_category(self) -> dict[str, int]:
        return self._saved(lambda change: change.code)

    def saved_by_distribution(self) -> dict[str, int]:
        return self._saved(lambda change: change.dist)

    def files_by_category(self) -> dict[str, int]:
        files: dict[str, int] = defaultdict(int)
        for r in self.removals:
            files[r.code] += 1
        for s in self.stripped:
            files[s.code] += 1
        return dict(files)

    @property
    def total_saved(self) -> int:
        return sum(self.saved_by_category().values())


@dataclass(frozen=True)
class StageContext:
    target: Target
    slim: SlimSettings
    roots: list[str]  # the distributions the requirements name (the dependency graph's roots)


class Stage(Protocol):
    name: str

    def run(self, plan: Plan, context: StageContext, result: SlimResult) -> None: ...


def run_stages(plan: Plan, context: StageContext, stages: Sequence[Stage]) -> SlimResult:
    result = SlimResult(enabled=context.slim.enabled)
    for stage in stages:
        stage.run(plan, context, result)
    return result
