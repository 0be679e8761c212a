"""`lpack check`: what a pre-commit hook can afford to run on every commit."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from lpack.cache import default_cache_dir, write_atomic
from lpack.config import Config
from lpack.errors import LockError
from lpack.limits import check_limits
from lpack.lock import lock
from lpack.plan import ALWAYS_EXCLUDED_DIRS


def _fingerprint(config: Config, lock_text: str) -> str:
    """Everything that decides the package's size: lock, settings and the source files."""
    h = hashlib.sha256()
    h.update(lock_text.encode())
    settings = {k: v for k, v in vars(config).items() if k != "project_dir"}
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for root, dirs, files in os.walk(config.source_dir):
        dirs[:] = sorted(d for d in dirs if d not in ALWAYS_EXCLUDED_DIRS)
        for name in sorted(files):
            try:  # lstat: a dangling link (an editor's lock file) is part of the tree, not an error
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            h.update(f"{os.path.join(root, name)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def check(config: Config) -> tuple[bool, str]:
    try:
        result = lock(config, locked=True)  # no network: a stale lock is a finding
    except LockError as exc:
        if "not current" in exc.message:
            return False, f"lpack check: {exc.message} Run `lpack lock` and commit it."
        raise
    record = (
        default_cache_dir()
        / "checks"
        / (_fingerprint(config, result.lockfile.path.read_text()) + ".json")
    )
    sizes = None
    if record.is_file():
        try:
            sizes = json.loads(record.read_text())
        except ValueError:
            sizes = None
    if sizes is None:
        from lpack.build import build

        # The usual output folder must stay out of the package even though this build
        # writes elsewhere.
        exclude = list(config.exclude)
        out_dir = config.output_path.parent
        if out_dir.is_relative_to(config.source_dir) and out_dir != config.source_dir:
            exclude.append("/" + out_dir.relative_to(config.source_dir).as_posix())
        with tempfile.TemporaryDirectory(prefix="lpack-check-") as tmp:
            probe = replace(config, output=str(Path(tmp) / "check.zip"), exclude=exclude)
            built = build(probe, locked=True)
            assert built.archive is not None
            sizes = {"zipped": built.archive.zipped_size, "unzipped": built.archive.unzipped_size}
        write_atomic(record, json.dumps(sizes).encode())
    checks = check_limits(
        sizes["zipped"], sizes["unzipped"], config.upload, config.max_zipped, config.max_unzipped
    )
    over = [c for c in checks if c.exceeded]
    summary = (
        f"{sizes['zipped']:,} B zipped, {sizes['unzipped']:,} B unzipped for "
        f"{config.runtime} {config.arch}"
    )
    if over:
        details = "; ".join(f"{c.over_by:,} B over {c.label}" for c in over)
        return False, f"lpack check: FAIL {summary}: {details}."
    return True, f"lpack check: ok — lock current, {summary}, within every limit and budget."
