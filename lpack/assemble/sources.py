"""Finds the function's own files: everything in the source folder but what never ships."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import stat
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpack.assemble.ignorefiles import (
    IGNORE_FILES,
    IgnoreStack,
    LeftOut,
    default_rule,
    ignore_folders,
    is_virtualenv,
    names,
    never_walked,
    stack_for,
)
from lpack.errors import BuildError
from lpack.files import default_cache_dir, is_lpack_temp, matches_any
from lpack.resolve.inputs import LOCK_NAMES, REQUIREMENT_FILES
from lpack.settings import ArtifactSpec

# OS junk, and the ignore files: they describe the source tree, not the function.
ALWAYS_EXCLUDED_FILES = frozenset({".DS_Store", "Thumbs.db", ".gitignore", ".lpackignore"})
ALWAYS_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
# lpack's own locks, for any artifact and target: "lpack.lock", "lpack-NAME-RUNTIME-ARCH.lock".
LPACK_LOCKS = re.compile(r"^lpack([-.][^/]+)?\.lock$")  # lpack.lock, per-target and per-artifact


@dataclass
class SourceSelection:
    """The files that ship (relative posix path, absolute path; sorted) and what was left
    out by default or by an ignore file."""

    files: list[tuple[str, Path]]
    left_out: LeftOut = field(default_factory=LeftOut)


@dataclass(frozen=True)
class _Walk:
    source: Path
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    skip_paths: AbstractSet[Path]
    warnings: list[str]
    left_out: LeftOut
    venvs: list[Path] = field(default_factory=list)  # virtualenvs left out (their pyvenv.cfg)


def source_files(
    source_dir: Path,
    include: tuple[str, ...] | list[str],
    exclude: tuple[str, ...] | list[str],
    skip_paths: set[Path],
    warnings: list[str],
    root: Path | None = None,
) -> SourceSelection:
    """The function's own files. root: the project folder; the ignore files from its
    repository's root (or itself) down to the source folder apply too."""
    walk = _Walk(source_dir, tuple(include), tuple(exclude), skip_paths, warnings, LeftOut())
    found = []
    for folder, prefix, files, stack, forced in _folders(walk, root):
        for name in files:
            full = folder / name
            if _file_ships(walk, full, prefix + name, stack, forced):
                found.append((prefix + name, full))
    return SourceSelection(found, walk.left_out)


_Visit = tuple[Path, str, list[str], IgnoreStack, "tuple[str, ...] | None"]


def _folders(walk: _Walk, root: Path | None) -> Iterator[_Visit]:
    """Each folder a build reads files from (sorted names), with the ignore files in force
    there and the include patterns that named a folder above it: the walk the build and the
    no-change stamp share, so the stamp never reads a folder the build would not."""
    source_dir = walk.source
    stacks = {source_dir: stack_for(source_dir, root, walk.warnings)}
    # Folders an include pattern named, with those patterns: they say what of it ships, and
    # the ignore files stop there.
    named: dict[Path, tuple[str, ...]] = {}
    for dirpath, dirs, files in os.walk(source_dir):
        folder = Path(dirpath)
        stack = stacks.pop(folder)
        forced = named.get(folder)
        here = _rel(walk, folder)
        if forced is None and here:  # the source folder's own are in stack_for's
            stack = stack.below(folder, here, walk.warnings)
        prefix = f"{here}/" if here else ""
        kept = []
        for d in sorted(dirs):
            verdict = _folder_verdict(walk, folder / d, prefix + d, stack, forced)
            if verdict is not None:
                stacks[folder / d] = stack
                kept.append(d)
                if verdict or forced:
                    named[folder / d] = verdict or forced or ()
        dirs[:] = kept
        yield folder, prefix, sorted(files), stack, forced


def _rel(walk: _Walk, path: Path) -> str:
    rel = path.relative_to(walk.source).as_posix()
    return "" if rel == "." else rel


def _folder_verdict(
    walk: _Walk, folder: Path, rel: str, stack: IgnoreStack, forced: tuple[str, ...] | None
) -> tuple[str, ...] | None:
    """None: not walked; else walked, with the include patterns that named it (if any)."""
    name = folder.name
    if never_walked(name) or folder in walk.skip_paths:
        return None
    if not could_match_below(forced or walk.include, rel):
        return None  # no include pattern reaches a file in it: node_modules/left-pad/** alone
    rule = default_rule(name, True, "/" not in rel)
    venv = rule is None and is_virtualenv(folder)
    group = rule.group if rule else ("dev folders" if venv else None)
    if group is None and forced is None:
        group = stack.ignored_by(rel, True)
    if group is None and folder.is_symlink():  # a link left out anyway is said in the note
        walk.warnings.append(f"{folder} is a symlink to a folder; lpack does not follow it.")
        return None
    if group is None:
        return ()
    naming = names(walk.include, name, rule)
    if naming and folder.is_symlink():
        walk.warnings.append(f"{folder} is a symlink to a folder; lpack does not follow it.")
        return None
    if naming:
        return naming
    walk.left_out.add(group, rel, True)
    if venv:
        walk.venvs.append(folder)
    return None


def could_match_below(patterns: tuple[str, ...], rel: str) -> bool:
    """Whether some include pattern (gitignore semantics, as matches_any) could match a file
    below the folder rel: a pattern without a slash matches at any depth; an anchored one
    only while its leading segments match rel's."""
    if not patterns:
        return True
    parts = rel.split("/")
    for pattern in patterns:
        if pattern.startswith("!"):
            continue
        body = pattern.strip("/")
        if "/" not in body and not pattern.startswith("/"):
            return True
        segments = body.split("/")
        for i, part in enumerate(parts):
            if i >= len(segments) or segments[i] == "**":
                return True  # a folder pattern covers all below it
            if not fnmatch.fnmatchcase(part, segments[i]):
                break
        else:
            return True
    return False


def _file_ships(
    walk: _Walk, full: Path, rel: str, stack: IgnoreStack, forced: tuple[str, ...] | None
) -> bool:
    """Whether the file (rel: its path below the source folder) ships. forced: the include
    patterns that named a folder above it, one of which it must match."""
    name = full.name
    if name in ALWAYS_EXCLUDED_FILES or name.endswith(ALWAYS_EXCLUDED_SUFFIXES):
        return False
    if LPACK_LOCKS.match(name) or is_lpack_temp(name):
        return False  # lpack's own locks, and a zip a killed build was writing
    if full in walk.skip_paths:
        return False
    rule = default_rule(name, False, "/" not in rel, full)
    group = rule.group if rule else None
    if group is None and forced is None:
        group = stack.ignored_by(rel, False)
    if group is not None and not matches_any(rel, names(walk.include, name, rule)):
        walk.left_out.add(group, rel, False)
        return False
    if forced and not matches_any(rel, forced):
        return False
    if not _shippable(full, rel, walk.source, walk.warnings):
        return False
    if walk.include and not matches_any(rel, walk.include):
        return False
    if walk.exclude and matches_any(rel, walk.exclude):
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


def source_stamp(spec: ArtifactSpec, skip: AbstractSet[Path] = frozenset()) -> str:
    """The stamp of everything that decides which source files ship and their bytes: the
    source tree, and the ignore files above it up to the repository's root."""
    source = spec.source_dir
    return tree_stamp(source, skip, spec.include, spec.project_dir.resolve())


def tree_stamp(
    folder: Path | None,
    skip: AbstractSet[Path] = frozenset(),
    include: tuple[str, ...] = (),
    root: Path | None = None,
) -> str:
    """A digest of the folder's file names, sizes, and modification and change times: it
    changes whenever a file that could ship is added, removed or edited (ctime too, because
    `cp -p`, `rsync -a` or `tar x` can restore an edited file's size and mtime). It reads
    the folders the build reads and no other (a .venv or a gitignored coverage report would
    cost the no-change path its speed); the ignore files above the folder count, and a
    left-out virtualenv's pyvenv.cfg (deleting it would make the folder ship)."""
    h = hashlib.sha256()
    if folder is None:
        return h.hexdigest()
    for above in ignore_folders(folder, root)[:-1]:
        for name in IGNORE_FILES:
            _stamp_file(h, above / name, os.fsencode(above / name))
    walk = _Walk(folder, include, (), skip, [], LeftOut())
    for here, _prefix, files, _stack, _forced in _folders(walk, root):
        for name in files:
            full = here / name
            if full not in skip:
                # fsencode: a name that is not UTF-8 still stamps (the build says why it stops)
                _stamp_file(h, full, os.fsencode(full.relative_to(folder)))
    for venv in walk.venvs:
        _stamp_file(h, venv / "pyvenv.cfg", os.fsencode(venv.relative_to(folder)))
    return h.hexdigest()


def _stamp_file(h: Any, full: Path, label: bytes) -> None:
    try:  # lstat: a dangling link (an editor's lock file) is part of the tree, not an error
        st = os.lstat(full)
    except OSError:
        h.update(label + b"\0absent\0")
        return
    h.update(label)
    h.update(f"\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0".encode())
    if stat.S_ISLNK(st.st_mode):  # a link ships its target's bytes, wherever it is
        try:
            target = os.stat(full)
            h.update(f"{target.st_size}\0{target.st_mtime_ns}\0{target.st_ctime_ns}".encode())
        except OSError:
            h.update(b"dangling")


def project_files(spec: ArtifactSpec, lock_paths: Iterable[Path]) -> set[Path]:
    """lpack's inputs and outputs in the project, which never ship inside the function."""
    project = spec.project_dir
    paths = {
        *lock_paths,
        spec.output_path,
        spec.output_path.parent,
        project / "dist",  # where builds go by default, even when this one writes elsewhere
        default_cache_dir(),  # LPACK_CACHE_DIR in the project: GitLab CI caches only there
        project / "pyproject.toml",
        *(project / name for name in (*REQUIREMENT_FILES, *LOCK_NAMES)),
        *(spec.requirements_dir / name for name in REQUIREMENT_FILES),
    }
    return {p.resolve() for p in paths}
