"""The build pipeline: config -> target -> lock -> fetch -> plan -> write -> limits."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lpack.archive import Archive, write_zip
from lpack.config import Config
from lpack.fetch import FetchedWheel, fetch
from lpack.handler import HandlerCheck, check_handler
from lpack.inputs import requirement_names
from lpack.limits import LimitCheck, check_limits
from lpack.lint import Finding, lint_paths
from lpack.lint import options_from_config as lint_options
from lpack.lock import LockResult, lock
from lpack.plan import Distribution, Plan, close_wheels, make_plan, source_files, write_records
from lpack.slim import SlimResult, options_from_config, slim

SOURCE_LABEL = "(your source)"


class Progress(Protocol):
    def start(self, stage: str, description: str, total: int | None = None) -> None: ...
    def advance(self, amount: int = 1) -> None: ...
    def done(self, stage: str, summary: str) -> None: ...


class SilentProgress:
    def start(self, stage: str, description: str, total: int | None = None) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass

    def done(self, stage: str, summary: str) -> None:
        pass


@dataclass(frozen=True)
class DistSize:
    name: str
    version: str
    files: int
    unzipped: int
    zipped: int


@dataclass
class BuildResult:
    config: Config
    lock: LockResult
    wheels: list[FetchedWheel]
    plan: Plan
    handler: HandlerCheck
    slim: SlimResult
    archive: Archive | None  # None for a dry run
    limits: list[LimitCheck]
    timings: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def lint_errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def exceeded(self) -> list[LimitCheck]:
        return [c for c in self.limits if c.exceeded]

    @property
    def sizes_by_distribution(self) -> list[DistSize]:
        versions = {d.name.lower(): d for d in self.plan.distributions}
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for entry in self.archive.entries if self.archive else []:
            if entry.path.endswith("/"):
                continue
            key = entry.dist or SOURCE_LABEL
            totals[key][0] += 1
            totals[key][1] += entry.size
            totals[key][2] += entry.compressed_size
        result = []
        for key, (files, unzipped, zipped) in totals.items():
            dist = _lookup(versions, key)
            result.append(
                DistSize(
                    dist.name if dist else key,
                    dist.version if dist else "",
                    files,
                    unzipped,
                    zipped,
                )
            )
        return sorted(result, key=lambda d: (-d.unzipped, d.name))


def _lookup(versions: dict[str, Distribution], key: str) -> Distribution | None:
    from packaging.utils import canonicalize_name

    for dist in versions.values():
        if canonicalize_name(dist.name) == key:
            return dist
    return None


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = time.perf_counter() - start


def _own_files(config: Config, lock_result: LockResult) -> set[Path]:
    """lpack's inputs and outputs never ship inside the function."""
    project = config.project_dir
    paths = {
        config.lock_path,
        config.output_path,
        config.output_path.parent,
        project / "dist",  # where builds go by default, even when this one writes elsewhere
        project / "pyproject.toml",
        lock_result.requirements.path,
        project / "requirements.in",
        project / "requirements.txt",
    }
    return {p.resolve() for p in paths}


def build(
    config: Config,
    progress: Progress | None = None,
    *,
    refresh_lock: bool = False,
    locked: bool = False,
    dry_run: bool = False,
) -> BuildResult:
    try:
        return _build(config, progress or SilentProgress(), refresh_lock, locked, dry_run)
    finally:
        close_wheels()


def _build(
    config: Config, progress: Progress, refresh_lock: bool, locked: bool, dry_run: bool
) -> BuildResult:
    timings: dict[str, float] = {}
    target = config.target
    options_from_config(config.slim).validate()  # a typo in a code fails before any work

    with _timed(timings, "lock"):
        progress.start("lock", "resolving dependencies for " + target.runtime)
        lock_result = lock(config, refresh=refresh_lock, locked=locked)
    progress.done(
        "lock",
        f"{lock_result.requirements.label} → {config.lock_path.name} "
        f"({len(lock_result.lockfile.pins)} pins"
        f"{', reused' if lock_result.reused else ''})",
    )

    with _timed(timings, "fetch"):
        progress.start("fetch", "fetching wheels", total=len(lock_result.lockfile.pins))

        def on_event(event: dict[str, Any]) -> None:
            if event.get("event") == "fetched":
                progress.advance(1)

        wheels = fetch(config, lock_result.lockfile, on_event=on_event)
    cached = sum(1 for w in wheels if w.cached)
    progress.done("fetch", f"{len(wheels)} wheels ({cached} cached)")

    with _timed(timings, "plan"):
        warnings: list[str] = []
        if not config.source_dir.is_dir():
            from lpack.errors import ConfigError

            raise ConfigError(
                f"Source folder {config.source_dir} does not exist.",
                hint="fix `source` in [tool.lpack] or --source.",
            )
        files = source_files(
            config.source_dir,
            config.include,
            config.exclude,
            _own_files(config, lock_result),
            warnings,
        )
        plan = make_plan(wheels, files, warnings)
        handler = check_handler(plan.entries, config.handler)

    with _timed(timings, "slim"):
        progress.start("slim", "slimming dependencies")
        slimmed = slim(
            plan,
            options_from_config(config.slim),
            target,
            requirement_names(lock_result.requirements),
        )
        write_records(plan)
    if dry_run:
        return BuildResult(config, lock_result, wheels, plan, handler, slimmed, None, [], timings)

    with _timed(timings, "write"):
        entries = plan.sorted_entries()
        progress.start(
            "write", f"writing {config.output_path.name}", total=sum(e.size for e in entries)
        )
        archive = write_zip(entries, config.output_path, progress=progress.advance)
    progress.done("write", str(config.output_path))

    limits = check_limits(
        archive.zipped_size,
        archive.unzipped_size,
        config.upload,
        config.max_zipped,
        config.max_unzipped,
    )
    with _timed(timings, "lint"):
        # The same checks `lpack lint` runs on anybody's zip, on what we just wrote.
        findings = lint_paths([archive.path], target, lint_options(config, handler.handler))
    return BuildResult(
        config, lock_result, wheels, plan, handler, slimmed, archive, limits, timings, findings
    )
