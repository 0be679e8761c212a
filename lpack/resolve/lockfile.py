"""The lock file: pip-tools' requirements format with hashes, and lpack's header.

The header records the target and a digest of the inputs; the lock is current while both
match. Pins are evaluated for the target's markers when read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lpack.errors import LockError
from lpack.files import why_unusable
from lpack.target import Target

LOCK_FORMAT = "1"
_HEADER_RE = re.compile(r"^#\s*([a-z-]+):\s*(.*?)\s*$")


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    hashes: tuple[str, ...]
    marker: str | None = None
    # A foreign lock names the one file to install, and where it is when it records that.
    url: str | None = None
    filename: str | None = None

    @property
    def key(self) -> str:
        from packaging.utils import canonicalize_name  # on use: see resolve/inputs.py

        return canonicalize_name(self.name)


@dataclass
class Lockfile:
    path: Path
    header: dict[str, str]
    pins: list[Pin]
    indexes: list[str] = field(default_factory=list)  # extra indexes a foreign lock names
    # Index options the requirements file itself gives (--index-url, --find-links, ...):
    # pip-compile read them, so fetch must look in the same places.
    pip_args: list[str] = field(default_factory=list)

    def is_current(self, target: Target, digest: str) -> bool:
        return (
            self.header.get("lpack-lock-version") == LOCK_FORMAT
            and self.header.get("target-key") == target.key
            and self.header.get("input-digest") == digest
        )


def read_lock(path: Path, target: Target | None = None) -> Lockfile:
    if path.exists() and not path.is_file():  # a pipe or a device would be read forever
        raise LockError(f"Lock file {path} {why_unusable(path)}.", hint="fix `lock` or --lock.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LockError(f"Cannot read lock file {path}: {exc}.") from exc
    return parse_lock(text, path, target)


def parse_lock(text: str, path: Path, target: Target | None = None) -> Lockfile:
    """Parse a pip-tools style lock: pins with --hash options, markers evaluated for target."""
    from packaging.requirements import InvalidRequirement, Requirement

    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        match = _HEADER_RE.match(line)
        if match:
            header[match.group(1)] = match.group(2)
    pins: list[Pin] = []
    environment = target.marker_environment() if target else None
    for number, line in logical_lines(text):
        if not line:
            continue
        if line.startswith(("-e ", "--editable")):
            raise LockError(
                f"{path}: line {number} is an editable requirement ({line}); lpack installs "
                "only wheels from indexes, so it would be left out of the package.",
                hint="build the local package into a wheel and serve it from a find-links "
                "folder (PIP_FIND_LINKS), or make it part of your source folder.",
            )
        if line.startswith("-"):
            continue  # pip options (--index-url, ...): pip's configuration is the source
        hashes = tuple(h.lower() for h in re.findall(r"--hash[= ]sha256:([0-9a-fA-F]{64})", line))
        spec = re.sub(r"\s--hash[= ]\S+", "", " " + line).strip()
        try:
            req = Requirement(spec)
        except InvalidRequirement as exc:
            raise LockError(
                f"{path}: line {number} is not a requirement: {spec!r} ({exc}).",
                hint="regenerate the lock with `lpack lock`.",
            ) from exc
        if req.url:
            raise LockError(
                f"{path}: {req.name} comes from a direct reference ({req.url}); lpack fetches "
                "only from indexes, where it can pick the wheel that fits the target.",
                hint="publish the wheel to a private index or put it in a find-links folder "
                "(PIP_FIND_LINKS), and require it by name and version.",
            )
        pinned = [s for s in req.specifier if s.operator in ("==", "===")]
        if len(pinned) != 1 or "*" in pinned[0].version:
            raise LockError(
                f"{path}: {spec!r} is not pinned to one version.",
                hint="regenerate the lock with `lpack lock` (it pins every package).",
            )
        marker = str(req.marker) if req.marker else None
        if req.marker and environment and not req.marker.evaluate(environment):
            continue
        pins.append(Pin(req.name, pinned[0].version, hashes, marker))
    return Lockfile(path=path, header=header, pins=pins)


def logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(first physical line number, text without comment) for each requirement line."""
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not buffer:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1])
            continue
        buffer.append(stripped)
        joined = " ".join(buffer)
        buffer = []
        # pip treats "#" after whitespace (or at line start) as a comment
        yield start, re.split(r"(?:^|\s)#", joined, maxsplit=1)[0].strip()
    if buffer:
        yield start, re.split(r"(?:^|\s)#", " ".join(buffer), maxsplit=1)[0].strip()


def lock_header(target: Target, input_label: str, digest: str) -> str:
    """The comment block that makes a lock self-describing (and tells when it is stale)."""
    lines = [
        "# This file is generated by `lpack lock`: edit the requirements input, not this file.",
        f"# lpack-lock-version: {LOCK_FORMAT}",
        f"# target: {target.runtime} {target.arch} ({target.os_name}, glibc {target.glibc_text})",
        f"# target-key: {target.key}",
        f"# input: {input_label}",
        f"# input-digest: {digest}",
        "#",
    ]
    return "\n".join(lines) + "\n"
