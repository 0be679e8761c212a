"""Why a lock holds an older version than the index's newest, and what an upgrade changed.

The resolver's finder logs every file it passed over (the worker's SkipLog); a release newer
than the pin whose files were all passed over is explained in the target's terms: the glibc
its wheels need, the CPU or Python they are for, its Requires-Python, or sdist only.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from lpack.resolve.lockfile import Pin
from lpack.target import Target

_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")
_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def _version_of(filename: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def _glibc_needed(platform: str, machine: str) -> tuple[int, int] | None:
    match = _MANYLINUX.match(platform)
    if match and match.group(3) == machine:
        return int(match.group(1)), int(match.group(2))
    legacy, _, arch = platform.partition("_")
    if legacy in _LEGACY and arch == machine:
        return _LEGACY[legacy]
    return None


def _why(files: list[tuple[str, str, str]], target: Target) -> str:
    """One release's reason, from its files: (filename, skip kind, requires_python)."""
    python = "{}.{}".format(*target.python_version)
    needs = sorted({rp for _, kind, rp in files if "requires_python" in kind and rp})
    if needs:
        return f"requires Python {needs[0]}, {target.runtime} runs {python}"
    wheels = [f for f, _, _ in files if f.endswith(".whl")]
    if not wheels:
        return "only an sdist, and building one runs its code (allow-sdist)"
    tags = {t for w in wheels for t in parse_wheel_filename(w)[3]}
    glibc = sorted(
        {need for t in tags if (need := _glibc_needed(t.platform, target.machine)) is not None}
    )
    if glibc and all(g > target.glibc for g in glibc):
        low = glibc[0]
        return f"needs manylinux_{low[0]}_{low[1]}, {target.runtime} has glibc {target.glibc_text}"
    if not any(target.machine in t.platform for t in tags) and not any(
        t.platform == "any" for t in tags
    ):
        return f"has no wheel for {target.machine}"
    return f"has no wheel for {target.interpreter} on {target.machine}"


def skipped_newer(
    pins: Sequence[Pin], skipped: Mapping[str, Iterable[Sequence[str]]], target: Target
) -> list[str]:
    """For each pin, the newest release above it that the target could not use, and why."""
    notes = []
    for pin in pins:
        by_version: dict[Version, list[tuple[str, str, str]]] = defaultdict(list)
        for entry in skipped.get(canonicalize_name(pin.name), []):
            filename, kind, requires_python = (list(entry) + ["", ""])[:3]
            version = _version_of(filename)
            if version is not None:
                by_version[version].append((filename, kind, requires_python))
        try:
            pinned = Version(pin.version)
        except InvalidVersion:
            continue
        newer = sorted((v for v in by_version if v > pinned and not v.is_prerelease), reverse=True)
        if newer:
            why = _why(by_version[newer[0]], target)
            notes.append(f"{pin.name} {newer[0]} skipped: {why} (locked {pin.version})")
    return notes


def changes(
    before: Sequence[Pin], after: Sequence[Pin]
) -> list[tuple[str, str | None, str | None]]:
    """(name, old version or None, new version or None) for every pin that changed."""
    old = {p.key: p for p in before}
    new = {p.key: p for p in after}
    found = []
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key), new.get(key)
        if was is None or now is None or was.version != now.version:
            name = (now or was).name  # type: ignore[union-attr]
            found.append((name, was.version if was else None, now.version if now else None))
    return found
