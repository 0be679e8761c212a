"""The build stages that run between laying out the package and writing it, as a list.

Each stage changes the plan in place and records what it did in the SlimResult; the order is
the list's order (prune before strip, so nothing removed is stripped; bytecode after both,
so nothing removed is compiled; RECORD last, so it lists what ships). The pipeline
(lpack/build.py) holds the list: adding a stage is adding to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
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


class _Written(Protocol):
    """A member as the archive wrote it (assemble/archive.py's WrittenEntry)."""

    @property
    def path(self) -> str: ...
    @property
    def compressed_size(self) -> int: ...


# What one member costs in a zip beyond its compressed bytes: a local header (30 B) and a
# central directory record (46 B), each with the name; archive.py writes no extra fields.
_ZIP_RECORDS = 30 + 46


@dataclass
class BytecodeResult:
    """What the bytecode stage added: a .pyc in __pycache__/ beside each shipped .py."""

    python: str  # the compiling interpreter's version, e.g. "3.11.7"
    interpreter: str  # its path
    cache_tag: str  # e.g. "cpython-311": the .pyc names Python looks for
    added: dict[str, int] = field(default_factory=dict)  # .pyc path -> bytes
    folders: list[str] = field(default_factory=list)  # the __pycache__/ folders it created
    compiled: int = 0  # compiled by this build; the others came from lpack's cache
    failed: dict[str, str] = field(default_factory=dict)  # .py path -> why it has no .pyc

    @property
    def files(self) -> int:
        return len(self.added)

    @property
    def unzipped(self) -> int:
        return sum(self.added.values())

    @property
    def cached(self) -> int:
        return self.files - self.compiled

    def zipped(self, written: Iterable[_Written]) -> int:
        """The bytes the .pyc files and their folders add to the zip."""
        mine = set(self.added) | set(self.folders)
        return sum(
            w.compressed_size + _ZIP_RECORDS + 2 * len(w.path.encode())
            for w in written
            if w.path in mine
        )


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
    bytecode: BytecodeResult | None = None  # None: the build ships no bytecode of its own

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
    bytecode: bool = False  # ship .pyc compiled by the target's Python (the `bytecode` setting)


class Stage(Protocol):
    name: str

    def run(self, plan: Plan, context: StageContext, result: SlimResult) -> None: ...


def run_stages(plan: Plan, context: StageContext, stages: Sequence[Stage]) -> SlimResult:
    result = SlimResult(enabled=context.slim.enabled)
    for stage in stages:
        stage.run(plan, context, result)
    return result
