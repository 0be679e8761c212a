"""Finds the function's own files: everything in the source folder but what never ships."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from pathlib import Path

from lpack.errors import BuildError
from lpack.files import is_lpack_temp, matches_any
from lpack.resolve.inputs import LOCK_NAMES, REQUIREMENT_FILES
from lpack.settings import ArtifactSpec

# Never part of a function: version control, virtualenvs, caches, editor junk.
ALWAYS_EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".idea",
        ".vscode",
        "node_modules",
        ".aws-sam",
        ".serverless",
        ".lpack",
        ".eggs",
    }
)
ALWAYS_EXCLUDED_FILES = frozenset({".DS_Store", "Thumbs.db"})
ALWAYS_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
# lpack's own locks, for any artifact and target: "lpack.lock", "lpack-NAME-RUNTIME-ARCH.lock".
LPACK_LOCKS = re.compile(r"^lpack([-.][^/]+)?\.lock$")  # lpack.lock, per-target and per-artifact


def source_files(
    source_dir: Path,
    include: tuple[str, ...] | list[str],
    exclude: tuple[str, ...] | list[str],
    skip_paths: set[Path],
    warnings: list[str],
) -> list[tuple[str, Path]]:
    """The function's own files: relative posix path and absolute path, sorted."""
    found = []
    for root, dirs, files in os.walk(source_dir):
        root_path = Path(root)
        dirs[:] = [d for d in sorted(dirs) if _walk_into(root_path / d, skip_paths, warnings)]
        for name in sorted(files):
            full = root_path / name
            if name in ALWAYS_EXCLUDED_FILES or name.endswith(ALWAYS_EXCLUDED_SUFFIXES):
                continue
            if LPACK_LOCKS.match(name) or is_lpack_temp(name):
                continue  # lpack's own locks, and a zip a killed build was writing
            if full in skip_paths:
                continue
            rel = full.relative_to(source_dir).as_posix()
            if not _shippable(full, rel, source_dir, warnings):
                continue
            if include and not matches_any(rel, include):
                continue
            if exclude and matches_any(rel, exclude):
                continue
            found.append((rel, full))
    return found


def _walk_into(folder: Path, skip_paths: set[Path], warnings: list[str]) -> bool:
    name = folder.name
    if name in ALWAYS_EXCLUDED_DIRS or name.endswith(".egg-info") or folder in skip_paths:
        return False
    if (folder / "pyvenv.cfg").exists():  # a virtualenv under any name
        return False
    if folder.is_symlink():
        warnings.append(f"{folder} is a symlink to a folder; lpack does not follow it.")
        return False
    return True


def _shippable(full: Path, rel: str, source_dir: Path, warnings: list[str]) -> bool:
    """A regular file (or a link to one inside the source folder) with a UTF-8 name."""
    if full.is_symlink():
        resolved = full.resolve()
        if not resolved.exists():
            warnings.append(f"{rel} is a broken symlink; it is not shipped.")
            return False
        if not resolved.is_relative_to(source_dir.resolve()):
            warnings.append(
                f"{rel} is a symlink to {resolved}, outside the source folder; "
                "it is not shipped (copy the file in if the function needs it)."
            )
            return False
    if not full.is_file():
        return False
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        raise BuildError(
            f"Source file {full!r} has a name that is not valid UTF-8; zip readers "
            "would garble it.",
            hint="rename it, or exclude it with `exclude`.",
        ) from None
    return True


def tree_stamp(folder: Path | None, skip: AbstractSet[Path] = frozenset()) -> str:
    """A digest of the folder's file names, sizes, and modification and change times: it
    changes whenever a file that could ship is added, removed or edited (ctime too, because
    `cp -p`, `rsync -a` or `tar x` can restore an edited file's size and mtime)."""
    h = hashlib.sha256()
    if folder is None:
        return h.hexdigest()
    for root, dirs, files in os.walk(folder):
        root_path = Path(root)
        dirs[:] = sorted(
            d for d in dirs if d not in ALWAYS_EXCLUDED_DIRS and root_path / d not in skip
        )
        for name in sorted(files):
            full = root_path / name
            if full in skip:
                continue
            try:  # lstat: a dangling link (an editor's lock file) is part of the tree, not an error
                st = os.lstat(full)
            except OSError:
                continue
            # fsencode: a name that is not UTF-8 still stamps (the build then says why it stops)
            h.update(os.fsencode(full.relative_to(folder)))
            h.update(f"\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0".encode())
            if stat.S_ISLNK(st.st_mode):  # a link ships its target's bytes, wherever it is
                try:
                    target = os.stat(full)
                    h.update(
                        f"{target.st_size}\0{target.st_mtime_ns}\0{target.st_ctime_ns}".encode()
                    )
                except OSError:
                    h.update(b"dangling")
    return h.hexdigest()


def project_files(spec: ArtifactSpec, lock_paths: Iterable[Path]) -> set[Path]:
    """lpack's inputs and outputs in the project, which never ship inside the function."""
    project = spec.project_dir
    paths = {
        *lock_paths,
        spec.output_path,
        spec.output_path.parent,
        project / "dist",  # where builds go by default, even when this one writes elsewhere
        project / "pyproject.toml",
        *(project / name for name in (*REQUIREMENT_FILES, *LOCK_NAMES)),
        *(spec.requirements_dir / name for name in REQUIREMENT_FILES),
    }
    return {p.resolve() for p in paths}
