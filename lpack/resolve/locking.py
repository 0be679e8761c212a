"""Locking: reuse the lock while inputs and target are unchanged, else resolve with pip-tools."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.utils import canonicalize_name

from lpack.errors import LockError, StaleLockError
from lpack.files import default_cache_dir, file_system_error, refuse_to_replace, write_atomic
from lpack.resolve.diagnose import lock_error
from lpack.resolve.explain import changes, skipped_newer
from lpack.resolve.foreign import as_lockfile, read_foreign
from lpack.resolve.inputs import (
    Constraints,
    RequirementsInput,
    find_foreign_lock,
    find_requirements,
    index_options,
    lock_digest,
    refuse_local_requirements,
    target_lock_path,
)
from lpack.resolve.lockfile import Lockfile, Pin, lock_header, parse_lock, read_lock
from lpack.resolve.worker import run_worker
from lpack.settings import ArtifactSpec
from lpack.target import Target


@dataclass(frozen=True)
class LockResult:
    lockfile: Lockfile
    reused: bool
    requirements: RequirementsInput
    unwritten: str | None = None  # the lock's text, when the caller writes it (write_lock)
    defers_to: str | None = None  # a foreign lock's own tool ("uv lock"): lpack writes none
    changes: tuple[tuple[str, str | None, str | None], ...] = ()  # (name, old, new) versions
    notes: tuple[str, ...] = ()  # newer releases the target cannot use, and why


def lock(
    spec: ArtifactSpec,
    *,
    refresh: bool = False,
    upgrade: bool = False,
    upgrade_packages: Iterable[str] = (),
    locked: bool = False,
    constraints: Sequence[Constraints] = (),
    write: bool = True,
) -> LockResult:
    """Reuse the lock when inputs and target are unchanged, else resolve with pip-tools.

    locked: never write the lock; a stale one is a StaleLockError (CI, pre-commit).
    constraints: the pins of the layers a function uses; its versions must agree.
    write: False leaves writing a new lock to the caller (a project writes every lock only
    once all of them resolved)."""
    target = spec.target
    foreign = find_foreign_lock(spec)
    if foreign is not None:
        return _read_foreign(spec, foreign, upgrade or bool(list(upgrade_packages)), constraints)
    req = find_requirements(spec)
    digest = lock_digest(spec, req, constraints)
    path = target_lock_path(spec)
    refuse_to_replace(path)  # a device or a pipe: fail now, not after resolving
    upgrade_packages = list(upgrade_packages)
    if not (refresh or upgrade or upgrade_packages):
        existing, damage = _current(path, target, digest, locked)
        if existing is not None:
            existing.pip_args = index_options(req)
            return LockResult(existing, reused=True, requirements=req)
    else:
        damage = None
    if locked:
        raise _stale(spec, path, req, constraints)
    refuse_local_requirements(req)
    before = _previous_pins(path, target)
    _check_upgrade_names(upgrade_packages, before, path)
    skipped: dict[str, list[list[str]]] = {}
    try:
        body = ""
        if not req.is_empty:
            body, skipped = _compile(spec, path, req, upgrade, upgrade_packages, constraints)
    except LockError as exc:
        if not constraints:
            raise
        raise _with_layers(exc, spec, constraints) from exc
    text = lock_header(target, req.label, digest) + body
    lockfile = parse_lock(text, path, target)  # refuse to write a lock fetch cannot use
    lockfile.pip_args = index_options(req)
    result = LockResult(
        lockfile,
        reused=False,
        requirements=req,
        unwritten=text,
        changes=tuple(changes(before, lockfile.pins)) if before else (),
        notes=(*([damage] if damage else []), *skipped_newer(lockfile.pins, skipped, target)),
    )
    return write_lock(result) if write else result


def _with_layers(
    exc: LockError, spec: ArtifactSpec, constraints: Sequence[Constraints]
) -> LockError:
    """A resolution failure, worded for a function locked against its layers' pins."""
    layers = ", ".join(c.name for c in constraints)
    return LockError(
        f"Function {spec.name} cannot be locked with the pins of its layers ({layers}) as "
        f"constraints: {exc.message}",
        details=exc.details,
        hint=f"make {spec.name}'s requirements agree with the versions its layers pin "
        f"(their locks), or change the layers' requirements; {exc.hint or ''}".rstrip("; "),
    )


def _current(
    path: Path, target: Target, digest: str, locked: bool
) -> tuple[Lockfile | None, str | None]:
    """The lock at path while it is current for the target and inputs, and why an existing
    lock could not be read (a damaged lock is derived data: it is resolved again, and said)."""
    if not path.is_file():
        return None, None
    try:
        existing = read_lock(path, target)
    except LockError as exc:
        if locked:
            raise
        return None, f"{path.name} could not be read ({exc.message}) and was resolved again"
    return (existing if existing.is_current(target, digest) else None), None


def _stale(
    spec: ArtifactSpec, path: Path, req: RequirementsInput, constraints: Sequence[Constraints]
) -> StaleLockError:
    target = spec.target
    what = f"The lock of {spec.kind} {spec.name}, {path}," if spec.declared else str(path)
    layers = f", the pins of its layers ({', '.join(c.name for c in constraints)})"
    return StaleLockError(
        f"{what} is not current for {req.label}{layers if constraints else ''} and "
        f"{target.runtime} {target.arch} (--locked forbids updating it).",
        hint="run `lpack lock` and commit the result.",
    )


def _previous_pins(path: Path, target: Target) -> list[Pin]:
    """The pins of the lock being replaced, when it was made for this target."""
    try:
        previous = read_lock(path, target)
    except LockError:
        return []
    return previous.pins if previous.header.get("target-key") in (None, target.key) else []


def pinned_names(spec: ArtifactSpec) -> set[str]:
    """Canonical names the spec's current lock pins (empty without one)."""
    return {p.key for p in _previous_pins(target_lock_path(spec), spec.target)}


def _check_upgrade_names(names: list[str], pins: list[Pin], path: Path) -> None:
    known = {p.key for p in pins}
    unknown = [n for n in names if canonicalize_name(n) not in known]
    if unknown:
        listed = ", ".join(sorted(p.name for p in pins)[:12]) or "nothing yet"
        raise LockError(
            f"--upgrade-package {unknown[0]}: {unknown[0]} is not in {path} (it pins {listed}).",
            hint="name a package the lock pins, or add it to the requirements and run "
            "`lpack lock`.",
        )


def _read_foreign(
    spec: ArtifactSpec, path: Path, upgrading: bool, constraints: Sequence[Constraints]
) -> LockResult:
    """A lock another tool keeps: read for the target, never resolved or written here."""
    foreign = read_foreign(path, spec)
    if upgrading:
        raise LockError(
            f"{path.name} is {foreign.refresh.split()[0]}'s lock: lpack reads it and never "
            "re-resolves it, so it cannot upgrade it.",
            hint=f"upgrade with the tool that keeps it (`{foreign.refresh} --upgrade` or "
            f"`--upgrade-package NAME`), then build.",
        )
    lockfile = as_lockfile(foreign, spec)
    versions = {p.key: p.version for p in lockfile.pins}
    for layer in constraints:
        for pin in layer.pins:
            if versions.get(pin.key, pin.version) != pin.version:
                raise LockError(
                    f"{path} pins {pin.name} {versions[pin.key]}, and layer {layer.name} "
                    f"provides {pin.version}: the function would import the layer's.",
                    hint="make the two agree (lock the same version in both).",
                )
    roots = "".join(f"{name}\n" for name in foreign.roots)
    req = RequirementsInput(label=path.name, path=path, text=roots)
    return LockResult(lockfile, reused=True, requirements=req, defers_to=foreign.refresh)


def write_lock(result: LockResult) -> LockResult:
    """Write a lock that lock(write=False) resolved; the written result."""
    if result.unwritten is None:
        return result
    path = result.lockfile.path
    try:
        write_atomic(path, result.unwritten.encode())
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # the previous lock is intact: say so
            raise file_system_error(OSError(exc.errno, exc.strerror, str(path))) from exc
        raise LockError(
            f"Cannot write lock file {path}: {exc.strerror}.",
            hint="make its folder writable or set `lock` to another path.",
        ) from exc
    return replace(result, unwritten=None)


def _input_file(tmp_dir: Path, req: RequirementsInput, constraints: Sequence[Constraints]) -> Path:
    """The file pip-compile reads: the user's own, or one that includes it and constrains it."""
    if req.path.suffix == ".toml":
        src = tmp_dir / "pyproject-dependencies.in"
        src.write_text(req.text, encoding="utf-8")
    else:
        src = req.path
    if not constraints:
        return src
    lines = [f"-r {src}"]
    for c in constraints:
        layer = tmp_dir / f"layer-{c.name}.txt"
        layer.write_text(c.text(), encoding="utf-8")
        lines.append(f"-c {layer}")
    wrapper = tmp_dir / "constrained.in"
    wrapper.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return wrapper


def _compile(
    spec: ArtifactSpec,
    lock_path: Path,
    req: RequirementsInput,
    upgrade: bool,
    upgrade_packages: list[str],
    constraints: Sequence[Constraints],
) -> tuple[str, dict[str, list[list[str]]]]:
    target = spec.target
    with tempfile.TemporaryDirectory(prefix="lpack-lock-") as tmp:
        tmp_dir = Path(tmp)
        src = _input_file(tmp_dir, req, constraints)
        output = tmp_dir / "lock.txt"
        try:
            previous = read_lock(lock_path)
        except LockError:
            previous = None  # missing or damaged: nothing worth keeping
        # Pins are kept unless upgraded, but only pins made for this same target.
        if previous is not None and previous.header.get("target-key") in (None, target.key):
            shutil.copyfile(lock_path, output)
        request = {
            "mode": "compile",
            "runtime": target.runtime,
            "arch": target.arch,
            "src_file": os.path.relpath(src, spec.project_dir),
            "output_file": str(output),
            "upgrade": upgrade,
            "upgrade_packages": upgrade_packages,
            "allow_sdist": list(spec.allow_sdist),
            "cache_dir": str(default_cache_dir() / "pip-tools" / target.key),
        }
        final, stderr = run_worker(request, cwd=spec.project_dir)
        if final["event"] == "error":
            raise lock_error(final, stderr, spec, req)
        body = output.read_text(encoding="utf-8")
        # Annotations name the input as the user knows it, not our temp files.
        body = body.replace(os.path.relpath(src, spec.project_dir), req.path.name)
        body = body.replace(str(req.path), req.label).replace(f"{tmp_dir}/", "")
        body = body.replace(os.path.relpath(tmp_dir, spec.project_dir) + "/", "")
        return body, final.get("skipped", {})
