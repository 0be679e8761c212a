"""The build service: settings → lock → fetch → layout → stages → zip → limits and lint.

It composes resolve/, assemble/ and inspect/ and returns a BuildResult; it never prints.
The CLI renders the result, and a live display follows the stages through `Progress`.
"""

from __future__ import annotations

import tempfile
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from packaging.utils import canonicalize_name

from lpack.assemble.archive import Archive, write_archive
from lpack.assemble.bytecode import Bytecode
from lpack.assemble.compress import COMPRESSIONS
from lpack.assemble.entries import close_wheels
from lpack.assemble.entrycache import EntryCache
from lpack.assemble.layout import InstallLayout, Plan, make_plan
from lpack.assemble.packer import Packer
from lpack.assemble.prune import Prune
from lpack.assemble.record import WriteRecords
from lpack.assemble.sources import project_files, source_files
from lpack.assemble.stages import SlimResult, Stage, StageContext, run_stages
from lpack.assemble.strip import StripElf
from lpack.errors import BuildError, ConfigError, FetchError
from lpack.facts import SOURCE_LABEL
from lpack.files import default_cache_dir
from lpack.inspect.handler import HandlerCheck, check_handler
from lpack.inspect.limits import LIMIT_CODES, LimitCheck, check_limits
from lpack.inspect.lint import ACROSS_LAYERS, Finding, LintOptions, lint_paths
from lpack.inspect.remedy import dependency_names, remedy, weights_of
from lpack.inspect.sourcesecrets import refuse_secrets, source_secrets
from lpack.resolve.fetch import FetchedWheel, fetch
from lpack.resolve.inputs import LOCK_NAMES, REQUIREMENT_FILES, requirement_names
from lpack.resolve.lockfile import Pin
from lpack.resolve.locking import LockResult, lock
from lpack.resolve.ownpackage import build_own_wheel, own_package
from lpack.settings import ArtifactSpec

if TYPE_CHECKING:
    from lpack.inspect.verify import VerifyResult

# What runs between laying the package out and writing it, in order (see assemble/stages.py).
BUILD_STAGES: tuple[Stage, ...] = (Prune(), StripElf(), Bytecode(), WriteRecords())
LAYER_HANDLER = HandlerCheck(None, False, "a layer: no handler")


class Progress(Protocol):
    """How a display follows a build: one stage at a time, with an optional total (items, or
    bytes), and each stage's outcome as it ends, for a display that reports it then. The
    outcome: the LockResult (lock), the wheels (fetch), the wheel's file name (package), and
    the BuildResult so far (slim, then write)."""

    def start(
        self, stage: str, description: str, total: int | None = None, unit: str = "items"
    ) -> None: ...
    def advance(self, amount: int = 1) -> None: ...
    def expect(self, amount: int) -> None: ...
    def done(self, stage: str, outcome: object) -> None: ...


class SilentProgress:
    def start(
        self, stage: str, description: str, total: int | None = None, unit: str = "items"
    ) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass

    def expect(self, amount: int) -> None:
        pass

    def done(self, stage: str, outcome: object) -> None:
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
    spec: ArtifactSpec
    lock: LockResult
    wheels: list[FetchedWheel]
    plan: Plan
    handler: HandlerCheck
    slim: SlimResult
    archive: Archive | None  # None for a dry run
    limits: list[LimitCheck]
    timings: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)  # provided by the function's layers
    remedy: str | None = None  # what to do when the package is over Lambda's limits
    # What the user should know and need not fix: source files left out by default or by an
    # ignore file, a function with no dependencies.
    notes: list[str] = field(default_factory=list)

    @property
    def lint_errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def exceeded(self) -> list[LimitCheck]:
        return [c for c in self.limits if c.exceeded]

    @property
    def ok(self) -> bool:
        return not self.exceeded and not self.lint_errors

    @property
    def warnings(self) -> list[str]:
        return self.plan.warnings + self.slim.warnings

    @property
    def sizes_by_distribution(self) -> list[DistSize]:
        """Files and bytes per distribution (and the function's own source), largest first."""
        versions = {d.key: d for d in self.plan.distributions}
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
            dist = versions.get(canonicalize_name(key))
            name, version = (dist.name, dist.version) if dist else (key, "")
            result.append(DistSize(name, version, files, unzipped, zipped))
        return sorted(result, key=lambda d: (-d.unzipped, d.name))


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = time.perf_counter() - start


def own_files(spec: ArtifactSpec, lock_result: LockResult) -> set[Path]:
    """lpack's inputs and outputs never ship inside the function."""
    locks = (spec.lock_path, lock_result.lockfile.path, lock_result.requirements.path)
    return project_files(spec, locks)


@dataclass(frozen=True)
class LayerBuild:
    """What a function needs of a layer it uses: the layer's zip and what it provides."""

    name: str
    archive: Path
    unzipped_size: int
    pins: tuple[Pin, ...]  # the layer's lock: the function ships none of these
    sizes: dict[str, int]  # distribution key -> unzipped bytes in the layer


@dataclass(frozen=True)
class LeftOut:
    """A distribution the function's lock holds but leaves to one of its layers."""

    name: str
    version: str
    layer: str
    size: int  # unzipped bytes it takes in the layer: what the function does not ship twice


def build(
    spec: ArtifactSpec,
    progress: Progress | None = None,
    *,
    refresh_lock: bool = False,
    locked: bool = False,
    dry_run: bool = False,
    lock_result: LockResult | None = None,
    layers: Sequence[LayerBuild] = (),
    force: bool = False,
) -> BuildResult:
    """Build one artifact; a dry run stops before writing (archive None, no limits).

    lock_result: a lock already made (a project locks every artifact first); layers: the
    built layers a function uses, whose distributions it leaves out; force: replace an
    existing output that is not a zip."""
    progress = progress or SilentProgress()
    timings: dict[str, float] = {}
    if not dry_run:
        _check_output(spec, force)
    try:
        if lock_result is None:
            with _timed(timings, "lock"):
                lock_result = _lock(spec, progress, refresh_lock, locked)
        return _build(spec, progress, lock_result, layers, dry_run, timings, force)
    finally:
        close_wheels()


def _lock(spec: ArtifactSpec, progress: Progress, refresh: bool, locked: bool) -> LockResult:
    progress.start("lock", "resolving dependencies for " + spec.target.runtime)
    lock_result = lock(spec, refresh=refresh, locked=locked)
    progress.done("lock", lock_result)
    return lock_result


def _fetch(
    spec: ArtifactSpec, lock_result: LockResult, layers: Sequence[LayerBuild], progress: Progress
) -> tuple[list[FetchedWheel], list[LeftOut]]:
    """The wheels the function ships: its pins, less those its layers provide."""
    provided = {pin.key: (layer, pin) for layer in layers for pin in layer.pins}
    lockfile = lock_result.lockfile
    kept = [p for p in lockfile.pins if p.key not in provided]
    left_out = [
        LeftOut(p.name, p.version, provided[p.key][0].name, provided[p.key][0].sizes.get(p.key, 0))
        for p in lockfile.pins
        if p.key in provided
    ]
    # Counted in bytes as the index sends them: one big wheel is most of a cold fetch's time.
    progress.start("fetch", f"fetching {len(kept)} wheels", total=0, unit="bytes")

    def on_event(event: dict[str, Any]) -> None:
        if event.get("event") == "downloading":
            if event.get("size"):
                progress.expect(int(event["size"]))
            progress.advance(int(event.get("amount", 0)))

    wheels = fetch(spec, replace(lockfile, pins=kept), on_event=on_event)
    progress.done("fetch", wheels)
    return wheels, left_out


def _own_wheel(spec: ArtifactSpec, progress: Progress) -> tuple[list[FetchedWheel], list[str]]:
    """The project's own package as a wheel, when it is one (see resolve/ownpackage.py). A
    flat layout whose backend cannot build it ships its files as before, with a warning."""
    own = own_package(spec)
    if own is None:
        return [], []
    progress.start("package", f"building {own.module} ({own.layout} layout) into a wheel")
    try:
        wheel = build_own_wheel(own)
    except FetchError as exc:
        if own.layout != "flat":
            raise
        last = (exc.details or "").strip().splitlines()[-1:] or ["no output"]
        note = (
            f"{exc.message} The folder's files ship instead, as for a project without a build "
            f"backend (the build said: {last[0]})"
        )
        progress.done("package", "not built: the folder's files ship")
        return [], [note]
    progress.done("package", f"{wheel.filename} ({own.layout} layout)")
    return [wheel], []


def _plan(
    spec: ArtifactSpec,
    lock_result: LockResult,
    wheels: list[FetchedWheel],
    loose: bool = True,
    notes: Sequence[str] = (),
) -> tuple[Plan, list[str]]:
    """The layout, and the notes about the source files (what was left out). Secrets in the
    source files stop the build here, before anything is written."""
    warnings: list[str] = list(notes)
    files: list[tuple[str, Path]] = []
    source = spec.source_dir
    source_notes: list[str] = []
    if source is not None and loose:
        if not source.is_dir():
            raise ConfigError(
                f"Source folder {source} of {spec.name} does not exist.",
                hint="fix `source` in [tool.lpack] or --source.",
            )
        own = own_files(spec, lock_result)
        root = spec.project_dir.resolve()
        selection = source_files(source, spec.include, spec.exclude, own, warnings, root)
        files = selection.files
        left_out = selection.left_out.note()
        source_notes += [left_out] if left_out else []
        found = source_secrets(source, files, spec.target, LintOptions.for_artifact(spec))
        refuse_secrets(found, spec.name, lock_written=not lock_result.reused)
    plan = make_plan(wheels, files, warnings, InstallLayout.for_kind(spec.kind))
    return plan, source_notes


def _check_output(spec: ArtifactSpec, force: bool) -> None:
    """The zip replaces only a zip: never an input, a source file, a folder, a link or a
    device, and another existing file only with --force. Checked before anything runs."""
    out = spec.output_path
    inputs = {
        spec.lock_path,
        spec.project_dir / "pyproject.toml",
        *(spec.requirements_dir / name for name in (*REQUIREMENT_FILES, *LOCK_NAMES)),
        *([spec.project_dir / spec.requirements] if spec.requirements else []),
    }
    source = spec.source_dir
    what = None
    named = spec.project_dir / (spec.output or f"dist/{spec.name}.zip")  # unresolved
    if named.is_symlink() or out.is_symlink():
        what = "a symbolic link"
    elif (
        out in {p.resolve() for p in inputs}
        or out.name.startswith("lpack")
        and out.suffix == ".lock"
    ):
        what = "one of the build's own inputs (requirements, lock or pyproject.toml)"
    elif out.exists() and not out.is_file():
        what = "a folder" if out.is_dir() else "not a regular file (a device, FIFO or socket)"
    elif out.is_file() and not zipfile.is_zipfile(out):
        inside = source is not None and out.is_relative_to(source)
        if inside:
            what = "a file of the function's source"
        elif not force:
            what = "an existing file that is not a zip"
    if what is not None:
        forceable = what.startswith("an existing file")
        raise BuildError(
            f"The output {out} of {spec.name} is {what}; writing the zip there would replace it.",
            hint="choose another output (-o or `output`)"
            + (", or pass --force to replace it" if forceable else "")
            + ".",
        )


def _measure(result: BuildResult, layers: Sequence[LayerBuild]) -> None:
    """The written zip against the limits and budgets, and the remedy when it is over."""
    spec, archive = result.spec, result.archive
    assert archive is not None
    with_layers = archive.unzipped_size + sum(layer.unzipped_size for layer in layers)
    result.limits = check_limits(
        archive.zipped_size,
        with_layers,
        spec.upload,
        spec.max_zipped,
        spec.max_unzipped,
        layered=bool(layers),
    )
    written = (e for e in archive.entries if not e.path.endswith("/"))
    needs = {d.key: dependency_names(d.requires) for d in result.plan.distributions}
    result.remedy = remedy(
        weights_of(written, needs), archive.zipped_size, with_layers, spec.upload, len(layers)
    )


def _build(
    spec: ArtifactSpec,
    progress: Progress,
    lock_result: LockResult,
    layers: Sequence[LayerBuild],
    dry_run: bool,
    timings: dict[str, float],
    force: bool = False,
) -> BuildResult:
    with _timed(timings, "fetch"):
        wheels, left_out = _fetch(spec, lock_result, layers, progress)
    with _timed(timings, "package"):
        own, notes = _own_wheel(spec, progress)
    wheels += own
    with _timed(timings, "plan"):
        notes = [*lock_result.notes, *notes]  # a lock resolved again says why it was
        plan, source_notes = _plan(spec, lock_result, wheels, loose=not own, notes=notes)
        handler = (
            LAYER_HANDLER if spec.kind == "layer" else check_handler(plan.entries, spec.handler)
        )
    with _timed(timings, "slim"):
        progress.start("slim", "slimming dependencies")
        roots = requirement_names(lock_result.requirements)
        context = StageContext(spec.target, spec.slim, roots, bytecode=spec.bytecode)
        slimmed = run_stages(plan, context, BUILD_STAGES)
    result = BuildResult(spec, lock_result, wheels, plan, handler, slimmed, None, [], timings)
    result.left_out, result.notes = left_out, [*lock_result.requirements.notes, *source_notes]
    progress.done("slim", result)
    if dry_run:
        return result
    with _timed(timings, "write"):
        entries = plan.sorted_entries()
        progress.start(
            "write",
            f"writing {spec.output_path.name}",
            total=sum(e.size for e in entries),
            unit="bytes",
        )
        packer = Packer(COMPRESSIONS[spec.compression], EntryCache(default_cache_dir()))
        result.archive = write_archive(
            entries, spec.output_path, progress=progress.advance, packer=packer
        )
    progress.done("write", result)
    _measure(result, layers)
    with _timed(timings, "lint"):
        progress.start("lint", "checking the package")
        result.findings = _lint_written(result, layers)
    return result


def _lint_written(result: BuildResult, layers: Sequence[LayerBuild]) -> list[Finding]:
    """The same checks `lpack lint` runs on anybody's zip (the function first, then its
    layers), on what we just wrote; limits are reported once, by the limits section.

    LP408 (damaged members) is skipped: lpack wrote these zips itself, from wheel members
    whose CRCs it checked (assemble/wheelcheck.py) and bytes it compressed, so a second
    inflate of everything would cost a second and prove nothing. LP301 (bytecode shipped)
    is what `bytecode = true` asked for."""
    spec, archive = result.spec, result.archive
    assert archive is not None
    skipped = (*LIMIT_CODES, "LP408", *(["LP301"] if spec.bytecode else []))
    options = LintOptions.for_artifact(spec, result.handler.handler, reported_elsewhere=skipped)
    paths = [archive.path, *(layer.archive for layer in layers)]
    findings = lint_paths(paths, spec.target, options)
    # A layer's own findings belong to the layer's build, not again to each function.
    mine = str(archive.path)
    return [f for f in findings if f.artifact == mine or f.code in ACROSS_LAYERS]


def verify_build(result: BuildResult, layers: Sequence[Path] = ()) -> VerifyResult:
    """Verify what build wrote, with its layers; what the runtime provides (LP808) stands in
    for its SDK."""
    from lpack.inspect.verify import verify  # the sandbox's machinery: only when verifying

    assert result.archive is not None
    with tempfile.TemporaryDirectory(prefix="lpack-sdk-") as tmp:
        sdk = None
        if result.slim.runtime_entries:
            sdk = write_archive(result.slim.runtime_entries, Path(tmp) / "runtime-sdk.zip").path
        spec = result.spec
        return verify(
            result.archive.path,
            spec.target,
            handler=result.handler.handler,
            layers=list(layers),
            name=spec.name,
            runtime_sdk=sdk,
            emulation_root=spec.emulation_root_path,
        )
