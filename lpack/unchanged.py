"""A rebuild that changes nothing is confirmed from digests, and the zip is left as it is.

The digest covers everything a function's zip is made from: the lock and what it was
resolved from (or the uv/Poetry lock it reads), every pyproject.toml the build reads, the
settings, the source files (names, sizes, times: see sources.source_stamp),
SOURCE_DATE_EPOCH and lpack itself (its version and the files it runs from, rules/ too, so
an upgrade or an edited checkout builds again). After a build that passed with the inputs
it read still on disk, the digest, the zip's sha256 and the build's report are recorded in
the cache; the next build with the same digest re-reads only the zip's bytes to confirm
they are the ones recorded, and reports that instead of building.

This module imports little on purpose: it runs before anything heavy is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lpack import __version__
from lpack.assemble.sources import project_files, source_stamp
from lpack.errors import LpackError
from lpack.files import default_cache_dir, write_atomic
from lpack.resolve.cache import sha256_file
from lpack.resolve.inputs import (
    find_foreign_lock,
    find_requirements,
    lock_digest,
    target_lock_path,
)
from lpack.resolve.lockfile import read_lock
from lpack.settings import ArtifactSpec

if TYPE_CHECKING:
    from lpack.resolve.locking import LockResult

_FORMAT = 1


@cache
def code_stamp() -> str:
    """lpack's version and the names, sizes and mtimes of the files it runs from: its
    modules and its rules/ data (beside the package in a checkout, inside it in a wheel)."""
    from lpack.resources import rules_dir

    h = hashlib.sha256(f"lpack={__version__}".encode())
    for folder in sorted({Path(__file__).resolve().parent, rules_dir().resolve()}):
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                st = os.stat(os.path.join(root, name))
                h.update(os.fsencode(os.path.join(root, name)))
                h.update(f"\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def digest_of(parts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return "sha256:" + h.hexdigest()


def _pyproject_texts(spec: ArtifactSpec) -> list[str]:
    """Every pyproject.toml the build may read, whole: beyond [tool.lpack] (in the settings)
    they hold [project] dependencies, a uv or Poetry project's own tables and the version
    the project's own package is built with."""
    folders = [spec.project_dir, spec.requirements_dir, spec.source_dir]
    paths = sorted({(f / "pyproject.toml").resolve() for f in folders if f is not None})
    texts = []
    for path in paths:
        try:
            texts.append(f"{path}:{hashlib.sha256(path.read_bytes()).hexdigest()}")
        except OSError:
            texts.append(f"{path}: absent")
    return texts


def base_parts(spec: ArtifactSpec, lock_text: str, skip: set[Path]) -> list[str]:
    """What every artifact's zip is made from, bar its layers."""
    settings = {k: v for k, v in spec.to_data().items() if k != "project_dir"}
    return [
        code_stamp(),
        f"SOURCE_DATE_EPOCH={os.environ.get('SOURCE_DATE_EPOCH', '')}",
        lock_text,
        json.dumps(settings, sort_keys=True),
        *_pyproject_texts(spec),
        source_stamp(spec, skip),
    ]


@dataclass(frozen=True)
class Inputs:
    digest: str | None  # None when it cannot be known without building: no lock yet,
    # or inputs the build itself will report as broken
    sources: str  # the source tree's stamp alone: a build that saw it change records nothing
    lock: str = ""  # the lock part: a foreign lock (which no build writes) must not change

    def same_run(self, before: Inputs, spec: ArtifactSpec, lock: LockResult) -> bool:
        """These inputs (read after a build) are the ones the build used: nothing was edited
        while it ran. Only lpack's own lock may have changed, written by the build itself;
        then the lock on disk must be current for the inputs on disk and pin what shipped."""
        if self.digest is None or self.sources != before.sources:
            return False
        if lock.defers_to is not None:  # a uv, Poetry or PEP 751 lock, which no build writes
            return self.lock == before.lock
        try:
            on_disk = read_lock(target_lock_path(spec), spec.target)
            current = on_disk.is_current(spec.target, lock_digest(spec, find_requirements(spec)))
        except (LpackError, OSError, UnicodeDecodeError):
            return False
        return current and on_disk.pins == lock.lockfile.pins


def function_inputs(spec: ArtifactSpec) -> Inputs:
    """The digest of a single function's inputs."""
    try:
        foreign = find_foreign_lock(spec)
        if foreign is not None:
            lock_text = f"foreign:{foreign}:{foreign.read_text(encoding='utf-8')}"
            lock_paths = [foreign]
        else:
            path = target_lock_path(spec)
            requirements = find_requirements(spec)
            lock_text = f"{lock_digest(spec, requirements)}:{path.read_text(encoding='utf-8')}"
            lock_paths = [spec.lock_path, path, requirements.path]
        skip = project_files(spec, lock_paths)
        parts = base_parts(spec, lock_text, skip)
    except (LpackError, OSError, UnicodeDecodeError):
        return Inputs(None, source_stamp(spec, project_files(spec, [spec.lock_path])))
    return Inputs(digest_of(parts), parts[-1], lock_text)


def _record_path(output: Path) -> Path:
    key = hashlib.sha256(str(output.resolve()).encode()).hexdigest()
    return default_cache_dir() / "builds" / key[:2] / f"{key}.json"


def remember(spec: ArtifactSpec, inputs: Inputs, zip_sha256: str, report: dict[str, Any]) -> None:
    """Record a build that passed, so that the same inputs next time are confirmed, not
    rebuilt. A record that cannot be written only costs the next build its full run."""
    record = {
        "format": _FORMAT,
        "inputs": inputs.digest,
        "zip": {"sha256": zip_sha256, "size": spec.output_path.stat().st_size},
        "report": report,
    }
    try:
        path = _record_path(spec.output_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(record).encode())
    except OSError:
        pass


def forget(spec: ArtifactSpec) -> None:
    """A build that failed or was not recorded: the next one runs in full."""
    try:
        _record_path(spec.output_path).unlink(missing_ok=True)
    except OSError:
        pass


def unchanged_report(spec: ArtifactSpec, inputs: Inputs) -> dict[str, Any] | None:
    """The last build's report when its inputs are these and its zip is intact, else None."""
    start = time.perf_counter()
    if inputs.digest is None:
        return None
    try:
        record = json.loads(_record_path(spec.output_path).read_text(encoding="utf-8"))
        if record.get("format") != _FORMAT or record.get("inputs") != inputs.digest:
            return None
        expected, report = record["zip"], record["report"]
        output = spec.output_path
        if output.is_symlink() or not output.is_file():
            return None
        if output.stat().st_size != expected["size"] or sha256_file(output) != expected["sha256"]:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(report, dict):
        return None
    report["rebuilt"] = False
    report["timings"] = {"unchanged": round(time.perf_counter() - start, 3)}
    return report
