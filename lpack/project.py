"""The project build service: every function and layer a project declares, layers before the
functions that use them, all locked first, independent ones built in parallel, unchanged ones
skipped, and the result recorded in dist/lpack-manifest.json."""

from __future__ import annotations

import base64
import os
import threading
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.utils import canonicalize_name

from lpack.build import BuildResult, LayerBuild, build, own_files, verify_build
from lpack.errors import LockError
from lpack.inspect.verify import VerifyResult, verify
from lpack.manifest import MANIFEST_NAME, Manifest, ManifestEntry, read_manifest
from lpack.resolve.cache import sha256_file
from lpack.resolve.inputs import Constraints
from lpack.resolve.locking import LockResult, lock, pinned_names, write_lock
from lpack.settings import ArtifactSpec, Project
from lpack.unchanged import base_parts, digest_of


@dataclass
class ArtifactOutcome:
    spec: ArtifactSpec
    entry: ManifestEntry | None  # None for a dry run
    result: BuildResult | None  # None when the artifact was unchanged

    @property
    def rebuilt(self) -> bool:
        return self.result is not None

    @property
    def ok(self) -> bool:
        return self.result is None or self.result.ok


@dataclass
class ProjectBuild:
    project: Project
    manifest: Manifest
    outcomes: list[ArtifactOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


def manifest_path(project: Project) -> Path:
    return project.root / "dist" / MANIFEST_NAME


def lock_project(
    project: Project,
    specs: Sequence[ArtifactSpec],
    *,
    refresh: bool = False,
    locked: bool = False,
    upgrade: bool = False,
    upgrade_packages: Sequence[str] = (),
) -> dict[str, LockResult]:
    """Each artifact's lock, layers first: a function is locked with its layers' pins as
    constraints, so their versions agree."""
    locks: dict[str, LockResult] = {}
    pinned = {spec.name: pinned_names(spec) for spec in specs} if upgrade_packages else {}
    if project.declared and upgrade_packages:
        _check_upgrade_names(upgrade_packages, pinned, project)
    for spec in sorted(specs, key=lambda s: s.kind != "layer"):
        constraints = [
            Constraints(layer.name, tuple(locks[layer.name].lockfile.pins))
            for layer in project.layers_of(spec)
        ]
        # In a project, each lock upgrades the named packages it pins.
        mine = [n for n in upgrade_packages if canonicalize_name(n) in pinned.get(spec.name, ())]
        locks[spec.name] = lock(
            spec,
            refresh=refresh,
            locked=locked,
            upgrade=upgrade,
            upgrade_packages=mine if project.declared else upgrade_packages,
            constraints=constraints,
            write=False,
        )
    # Only once every lock resolved: a conflict in one function leaves every lock as it was.
    return {name: write_lock(result) for name, result in locks.items()}


def _check_upgrade_names(
    names: Sequence[str], pinned: dict[str, set[str]], project: Project
) -> None:
    every = set().union(*pinned.values()) if pinned else set()
    unknown = [n for n in names if canonicalize_name(n) not in every]
    if unknown:
        raise LockError(
            f"--upgrade-package {unknown[0]}: no lock of {project.root} pins {unknown[0]}.",
            hint="name a package one of the locks pins, or add it to a requirements file.",
        )


def _inputs_digest(spec: ArtifactSpec, lock_result: LockResult, layer_digests: list[str]) -> str:
    """Everything the artifact's zip is made from: when it is unchanged, so is the zip."""
    lock_text = lock_result.lockfile.path.read_text(encoding="utf-8")
    return digest_of([*base_parts(spec, lock_text, own_files(spec, lock_result)), *layer_digests])


def _unchanged(manifest: Manifest, spec: ArtifactSpec, digest: str) -> ManifestEntry | None:
    """The artifact's entry, as this build would write it, when its inputs and its zip are
    what the manifest records and its last build passed (a failure is built, and reported,
    again)."""
    entry = manifest.entries.get(spec.name)
    path = spec.output_path
    if entry is None or not entry.ok or entry.inputs != digest or manifest.zip_path(entry) != path:
        return None
    if not path.is_file() or path.stat().st_size != entry.zipped_size:
        return None
    sha256 = sha256_file(path)
    try:
        with zipfile.ZipFile(path) as zf:
            unzipped = sum(i.file_size for i in zf.infolist())
    except (OSError, zipfile.BadZipFile):
        return None
    if sha256 != entry.sha256 or unzipped != entry.unzipped_size:
        return None
    # What the spec and the zip tell is derived again, never copied: a hand-edited manifest
    # field does not survive the next build.
    sha256_base64 = base64.b64encode(bytes.fromhex(sha256)).decode()
    return replace(
        entry,
        kind=spec.kind,
        runtime=spec.runtime,
        arch=spec.arch,
        layers=list(spec.layers),
        sha256_base64=sha256_base64,
        rebuilt=False,
    )


def _entry(
    manifest: Manifest, spec: ArtifactSpec, result: BuildResult, digest: str
) -> ManifestEntry:
    archive = result.archive
    assert archive is not None
    return ManifestEntry(
        name=spec.name,
        kind=spec.kind,
        path=manifest.relative(archive.path),
        runtime=spec.runtime,
        arch=spec.arch,
        layers=list(spec.layers),
        zipped_size=archive.zipped_size,
        unzipped_size=archive.unzipped_size,
        sha256=archive.sha256,
        sha256_base64=archive.sha256_base64,
        rebuilt=True,
        ok=result.ok,
        inputs=digest,
        distributions={d.name: d.unzipped for d in result.sizes_by_distribution},
    )


def _layer_build(manifest: Manifest, entry: ManifestEntry, lock_result: LockResult) -> LayerBuild:
    sizes = {str(canonicalize_name(name)): size for name, size in entry.distributions.items()}
    return LayerBuild(
        entry.name,
        manifest.zip_path(entry),
        entry.unzipped_size,
        tuple(lock_result.lockfile.pins),
        sizes,
    )


@dataclass
class _Run:
    project: Project
    manifest: Manifest
    locks: dict[str, LockResult]
    dry_run: bool
    on_done: Callable[[str], None]
    force: bool = False
    rebuild: bool = False  # build even what is unchanged
    digests: dict[str, str] = field(default_factory=dict)
    layers: dict[str, LayerBuild] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def one(self, spec: ArtifactSpec) -> ArtifactOutcome:
        lock_result = self.locks[spec.name]
        layer_digests = [self.digests[name] for name in spec.layers]
        digest = _inputs_digest(spec, lock_result, layer_digests)
        uses = [self.layers[name] for name in spec.layers]
        skip_check = self.dry_run or self.rebuild
        unchanged = None if skip_check else _unchanged(self.manifest, spec, digest)
        if unchanged is not None:
            entry: ManifestEntry | None = unchanged
            outcome = ArtifactOutcome(spec, entry, None)
        else:
            recorded = self.manifest.entries.get(spec.name)
            # The manifest records the zip as lpack's own, even when it was damaged since.
            ours = recorded is not None and self.manifest.zip_path(recorded) == spec.output_path
            result = build(
                spec,
                lock_result=lock_result,
                layers=uses,
                dry_run=self.dry_run,
                force=self.force or ours,
            )
            entry = None if self.dry_run else _entry(self.manifest, spec, result, digest)
            outcome = ArtifactOutcome(spec, entry, result)
        with self.guard:
            self.digests[spec.name] = digest
            if entry is not None:
                self.manifest.entries[spec.name] = entry
                if spec.kind == "layer":
                    self.layers[spec.name] = _layer_build(self.manifest, entry, lock_result)
            elif spec.kind == "layer":  # a dry run: what the layer's lock provides, sizes unknown
                pins = tuple(lock_result.lockfile.pins)
                self.layers[spec.name] = LayerBuild(spec.name, spec.output_path, 0, pins, {})
        self.on_done(spec.name)
        return outcome


def build_project(
    project: Project,
    names: Sequence[str] = (),
    *,
    refresh_lock: bool = False,
    locked: bool = False,
    dry_run: bool = False,
    on_done: Callable[[str], None] = lambda name: None,
    workers: int | None = None,
    manifest_file: Path | None = None,
    force: bool = False,
    rebuild: bool = False,
) -> ProjectBuild:
    """Build the named artifacts (all when none) and the layers they use."""
    specs = project.select(names)
    locks = lock_project(project, specs, refresh=refresh_lock, locked=locked)
    manifest = read_manifest(manifest_file or manifest_path(project))
    run = _Run(project, manifest, locks, dry_run, on_done, force, rebuild)
    outcomes: dict[str, ArtifactOutcome] = {}
    limit = workers or os.cpu_count() or 2
    for wave in ([s for s in specs if s.kind == "layer"], [s for s in specs if s.kind != "layer"]):
        if not wave:
            continue
        with ThreadPoolExecutor(max_workers=min(limit, len(wave))) as pool:
            for outcome in pool.map(run.one, wave):
                outcomes[outcome.spec.name] = outcome
    if not dry_run:
        known = {a.name for a in project.artifacts}
        manifest.entries = {
            name: entry if name in outcomes else replace(entry, rebuilt=False)
            for name, entry in manifest.entries.items()
            if name in known
        }
        manifest.write()
    return ProjectBuild(project, manifest, [outcomes[s.name] for s in specs])


def verify_project(built: ProjectBuild) -> dict[str, VerifyResult]:
    """Import each function built (or unchanged) as Lambda would, with its layers."""
    results = {}
    for outcome in built.outcomes:
        spec = outcome.spec
        if spec.kind != "function" or outcome.entry is None:
            continue
        layers = [built.manifest.zip_path(built.manifest.entries[name]) for name in spec.layers]
        if outcome.result is not None:
            results[spec.name] = verify_build(outcome.result, layers)
        else:  # unchanged: a module the runtime provides counts as provided
            zip_path = built.manifest.zip_path(outcome.entry)
            results[spec.name] = verify(
                zip_path,
                spec.target,
                handler=spec.handler,
                layers=layers,
                name=spec.name,
                emulation_root=spec.emulation_root_path,
            )
    return results
