"""`lpack check`: what a pre-commit hook can afford to run on every commit."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lpack.assemble.sources import source_stamp
from lpack.errors import StaleLockError
from lpack.files import default_cache_dir, write_atomic
from lpack.inspect.limits import LimitCheck, check_limits
from lpack.resolve.locking import lock
from lpack.settings import ArtifactSpec, Project
from lpack.units import exact_bytes, human_bytes


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str


def _fingerprint(spec: ArtifactSpec, lock_text: str) -> str:
    """Everything that decides the package's size: lock, settings and the source files."""
    h = hashlib.sha256()
    h.update(lock_text.encode())
    settings = {k: v for k, v in spec.to_data().items() if k != "project_dir"}
    h.update(json.dumps(settings, sort_keys=True).encode())
    h.update(str(spec.source_dir).encode())
    h.update(source_stamp(spec).encode())
    return h.hexdigest()


def _measure(spec: ArtifactSpec) -> dict[str, int]:
    """Build into a temp folder (cached wheels, the lock as it is) and keep only the sizes."""
    from lpack.build import build

    # The usual output folder must stay out of the package even though this build
    # writes elsewhere.
    exclude = list(spec.exclude)
    out_dir, source = spec.output_path.parent, spec.source_dir
    if source is not None and out_dir.is_relative_to(source) and out_dir != source:
        exclude.append("/" + out_dir.relative_to(source).as_posix())
    with tempfile.TemporaryDirectory(prefix="lpack-check-") as tmp:
        probe = replace(spec, output=str(Path(tmp) / "check.zip"), exclude=tuple(exclude))
        built = build(probe, locked=True)
        assert built.archive is not None
        return {"zipped": built.archive.zipped_size, "unzipped": built.archive.unzipped_size}


def check(spec: ArtifactSpec) -> CheckResult:
    try:
        result = lock(spec, locked=True)  # no network: a stale lock is a finding
    except StaleLockError as exc:
        return CheckResult(False, f"lpack check: {exc.message} Run `lpack lock` and commit it.")
    name = _fingerprint(spec, result.lockfile.path.read_text()) + ".json"
    record = default_cache_dir() / "checks" / name
    sizes: dict[str, Any] = _read_record(record)
    if not all(_is_size(sizes.get(k)) for k in ("zipped", "unzipped")):  # missing or tampered
        sizes = dict(_measure(spec))
        write_atomic(record, json.dumps(sizes).encode())
    checks = check_limits(
        sizes["zipped"], sizes["unzipped"], spec.upload, spec.max_zipped, spec.max_unzipped
    )
    return _verdict("", checks, sizes["zipped"], sizes["unzipped"], spec)


def _read_record(path: Path) -> dict[str, Any]:
    """A cached measurement, or {} when it is missing or not what lpack writes."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _verdict(
    who: str, checks: list[LimitCheck], zipped: int, unzipped: int, spec: ArtifactSpec
) -> CheckResult:
    over = [c for c in checks if c.exceeded]
    sizes = f"{human_bytes(zipped)} zipped, {human_bytes(unzipped)} unzipped"
    summary = f"{sizes} for {spec.runtime} {spec.arch}"
    if over:
        details = "; ".join(f"{exact_bytes(c.over_by)} over {c.label}" for c in over)
        return CheckResult(False, f"lpack check: {who}FAIL {summary}: {details}.")
    return CheckResult(
        True, f"lpack check: {who}ok — lock current, {summary}, within every limit and budget."
    )


def check_project(project: Project, names: Sequence[str] = ()) -> list[CheckResult]:
    """`check` for every selected artifact of a project with functions and layers: locks
    current (no network), and each function within its limits together with its layers."""
    from lpack.project import lock_project

    specs = project.select(names)
    try:
        locks = lock_project(project, specs, locked=True)
    except StaleLockError as exc:
        return [CheckResult(False, f"lpack check: {exc.message} Run `lpack lock` and commit it.")]
    h = hashlib.sha256()
    for spec in specs:
        h.update(_fingerprint(spec, locks[spec.name].lockfile.path.read_text()).encode())
    record = default_cache_dir() / "checks" / f"project-{h.hexdigest()}.json"
    sizes = _read_record(record)
    wanted = {s.name for s in specs} | {layer for s in specs for layer in s.layers}
    if not all(
        isinstance(sizes.get(n), list) and len(sizes[n]) == 2 and all(map(_is_size, sizes[n]))
        for n in wanted
    ):
        sizes = _measure_project(project, names)
        write_atomic(record, json.dumps(sizes).encode())
    results = []
    for spec in specs:
        zipped, unzipped = sizes[spec.name]
        with_layers = unzipped + sum(sizes[layer][1] for layer in spec.layers)
        checks = check_limits(
            zipped,
            with_layers,
            spec.upload,
            spec.max_zipped,
            spec.max_unzipped,
            layered=bool(spec.layers),
        )
        results.append(_verdict(f"{spec.name}: ", checks, zipped, with_layers, spec))
    return results


def _measure_project(project: Project, names: Sequence[str]) -> dict[str, list[int]]:
    from lpack.project import build_project

    with tempfile.TemporaryDirectory(prefix="lpack-check-") as tmp:
        moved = [replace(s, output=str(Path(tmp) / f"{s.name}.zip")) for s in project.artifacts]
        probe = Project(project.root, tuple(moved))
        built = build_project(probe, names, locked=True, manifest_file=Path(tmp) / "manifest.json")
        return {n: [e.zipped_size, e.unzipped_size] for n, e in built.manifest.entries.items()}
