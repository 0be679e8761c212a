"""Target-correct locking with pip-tools, and the lock file it writes and reads."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion

from lpack.cache import default_cache_dir, write_atomic
from lpack.config import Config
from lpack.errors import FetchError, LockError
from lpack.inputs import RequirementsInput, find_requirements, inputs_digest
from lpack.target import Target

LOCK_FORMAT = "1"
_HEADER_RE = re.compile(r"^#\s*([a-z-]+):\s*(.*?)\s*$")

EventHandler = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    hashes: tuple[str, ...]
    marker: str | None = None

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)


@dataclass
class Lockfile:
    path: Path
    header: dict[str, str]
    pins: list[Pin]

    def is_current(self, target: Target, digest: str) -> bool:
        return (
            self.header.get("lpack-lock-version") == LOCK_FORMAT
            and self.header.get("target-key") == target.key
            and self.header.get("input-digest") == digest
        )


@dataclass
class LockResult:
    lockfile: Lockfile
    reused: bool
    requirements: RequirementsInput
    warnings: list[str] = field(default_factory=list)


def read_lock(path: Path, target: Target | None = None) -> Lockfile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LockError(f"Cannot read lock file {path}: {exc}.") from exc
    return parse_lock(text, path, target)


def parse_lock(text: str, path: Path, target: Target | None = None) -> Lockfile:
    """Parse a pip-tools style lock: pins with --hash options, markers evaluated for target."""
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        match = _HEADER_RE.match(line)
        if match:
            header[match.group(1)] = match.group(2)
    pins: list[Pin] = []
    environment = target.marker_environment() if target else None
    for number, line in _logical_lines(text):
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


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
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


def run_worker(
    request: dict[str, Any], on_event: EventHandler | None = None, cwd: Path | None = None
) -> tuple[dict[str, Any], str]:
    """Run lpack._pipworker; return its final event and its stderr (pip's own words)."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lpack._pipworker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
    )
    assert proc.stdin and proc.stdout and proc.stderr
    stderr_pipe = proc.stderr
    proc.stdin.write(json.dumps(request))
    proc.stdin.close()
    # stderr is drained on a thread so a chatty pip cannot block the pipe.
    import threading

    err_chunks: list[str] = []
    drain = threading.Thread(target=lambda: err_chunks.append(stderr_pipe.read()), daemon=True)
    drain.start()
    final: dict[str, Any] = {}
    for line in proc.stdout:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") in ("result", "error"):
            final = event
        elif on_event:
            on_event(event)
    proc.wait()
    drain.join()
    stderr = "".join(err_chunks)
    if not final:
        final = {"event": "error", "kind": "crash", "message": f"exit code {proc.returncode}"}
    return final, stderr


def pip_explanation(stderr: str) -> str:
    """pip's and pip-tools' explanation, without the noise of skipped mirror locations."""
    keep = []
    for line in stderr.splitlines():
        if re.search(r"is ignored: it is neither a file nor a directory|^\s*$", line):
            continue
        if line.startswith("Traceback") or line.startswith("  File "):
            continue
        keep.append(line.rstrip())
    return "\n".join(keep[-40:])


def _digest(config: Config, req: RequirementsInput) -> str:
    return inputs_digest(
        req,
        f"lpack-lock-version={LOCK_FORMAT}",
        f"target={config.target.key}",
        "allow-sdist=" + ",".join(sorted(canonicalize_name(n) for n in config.allow_sdist)),
        *_included_files(req),
    )


_INCLUDE_RE = re.compile(r"^\s*(?:-r|-c|--requirement|--constraint)(?:[\s=]+|(?=[^\s=-]))(\S+)")


def _included_files(req: RequirementsInput) -> Iterable[str]:
    """Text of every file the input pulls in with -r / -c, followed recursively, so that
    editing any of them invalidates the lock."""
    seen: set[Path] = {req.path.resolve()}
    queue = [(req.path, req.text)]
    while queue:
        including, text = queue.pop(0)
        for line in text.splitlines():
            match = _INCLUDE_RE.match(line)
            if not match:
                continue
            path = (including.parent / match.group(1)).resolve()
            if path in seen:
                continue
            seen.add(path)
            # Named relative to the input, so the digest is the same in any checkout.
            label = os.path.relpath(path, req.path.parent.resolve())
            try:
                content = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                yield f"{label}:<missing>"
                continue
            yield f"{label}:{content}"
            queue.append((path, content))


def lock(
    config: Config,
    *,
    refresh: bool = False,
    upgrade: bool = False,
    upgrade_packages: Iterable[str] = (),
    locked: bool = False,
    on_event: EventHandler | None = None,
) -> LockResult:
    """Reuse the lock when inputs and target are unchanged, else resolve with pip-tools."""
    target = config.target
    req = find_requirements(config)
    digest = _digest(config, req)
    path = config.lock_path
    upgrade_packages = list(upgrade_packages)
    if path.is_file() and not (refresh or upgrade or upgrade_packages):
        try:
            existing = read_lock(path, target)
        except LockError:
            if locked:
                raise
            existing = None  # a damaged lock is derived data: resolve again
        if existing is not None and existing.is_current(target, digest):
            return LockResult(existing, reused=True, requirements=req)
    if locked:
        raise LockError(
            f"{path} is not current for {req.label} and {target.runtime} {target.arch} "
            "(--locked forbids updating it).",
            hint="run `lpack lock` and commit the result.",
        )
    if req.is_empty:
        body = ""
    else:
        body = _compile(config, req, upgrade, upgrade_packages)
    header = [
        "# This file is generated by `lpack lock`: edit the requirements input, not this file.",
        f"# lpack-lock-version: {LOCK_FORMAT}",
        f"# target: {target.runtime} {target.arch} ({target.os_name}, glibc {target.glibc_text})",
        f"# target-key: {target.key}",
        f"# input: {req.label}",
        f"# input-digest: {digest}",
        "#",
    ]
    text = "\n".join(header) + "\n" + body
    lockfile = parse_lock(text, path, target)  # refuse to write a lock fetch cannot use
    try:
        write_atomic(path, text.encode())
    except OSError as exc:
        raise LockError(
            f"Cannot write lock file {path}: {exc.strerror}.",
            hint="make its folder writable or set `lock` to another path.",
        ) from exc
    return LockResult(lockfile, reused=False, requirements=req)


def _compile(
    config: Config, req: RequirementsInput, upgrade: bool, upgrade_packages: list[str]
) -> str:
    target = config.target
    cache_root = default_cache_dir()
    with tempfile.TemporaryDirectory(prefix="lpack-lock-") as tmp:
        tmp_dir = Path(tmp)
        if req.path.suffix == ".toml":
            src = tmp_dir / "pyproject-dependencies.in"
            src.write_text(req.text, encoding="utf-8")
        else:
            src = req.path
        output = tmp_dir / "lock.txt"
        try:
            previous = read_lock(config.lock_path)
        except LockError:
            previous = None  # missing or damaged: nothing worth keeping
        # Pins are kept unless upgraded, but only pins made for this same target.
        if previous is not None and previous.header.get("target-key") in (None, target.key):
            shutil.copyfile(config.lock_path, output)
        request = {
            "mode": "compile",
            "runtime": target.runtime,
            "arch": target.arch,
            "src_file": os.path.relpath(src, config.project_dir),
            "output_file": str(output),
            "upgrade": upgrade,
            "upgrade_packages": upgrade_packages,
            "allow_sdist": config.allow_sdist,
            "cache_dir": str(cache_root / "pip-tools" / target.key),
        }
        final, stderr = run_worker(request, cwd=config.project_dir)
        if final["event"] == "error":
            raise _lock_error(final, stderr, config, req)
        body = output.read_text(encoding="utf-8")
        # Annotations name the input as the user knows it, not our temp file.
        body = body.replace(os.path.relpath(src, config.project_dir), req.path.name)
        return body


def _lock_error(
    error: dict[str, Any], stderr: str, config: Config, req: RequirementsInput
) -> LockError:
    target = config.target
    where = f"{target.runtime} {target.arch}"
    diag = error.get("diagnosis") or {}
    requirement = error.get("requirement")
    if error.get("kind") == "conflict":
        details = pip_explanation(stderr)
        if error.get("conflict"):
            details += "\nThe conflict is caused by:\n" + "\n".join(
                f"    {line}" for line in error["conflict"]
            )
        return LockError(
            f"The requirements in {req.label} conflict for {where}; pip-tools explains:",
            details=details,
            hint="loosen or change the pins named above, then run `lpack lock` again.",
        )
    if requirement and diag:
        return _no_candidate_error(requirement, diag, target, config)
    message = str(error.get("message", ""))
    if message.startswith("Invalid requirement"):
        return LockError(
            f"{req.label} holds a line pip cannot parse: {message}",
            hint="write each requirement as PEP 508, e.g. `requests>=2.31` or "
            "`pydantic[email]==2.9.2; python_version >= '3.10'`.",
        )
    if message.startswith("Could not open requirements file"):
        return LockError(
            f"{req.label} includes a file that does not exist: {message}",
            hint="fix the -r / -c line (paths are relative to the including file).",
        )
    return LockError(
        f"Resolving {req.label} for {where} failed: {error.get('message', 'unknown error')}",
        details=pip_explanation(stderr),
        hint="check the requirement named above and your index settings (pip.conf, "
        "PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS).",
    )


def _versions_matching(requirement: str, filenames: list[str]) -> list[str]:
    try:
        spec = Requirement(requirement).specifier
    except InvalidRequirement:
        return filenames
    keep = []
    for name in filenames:
        try:
            if name.endswith(".whl"):
                version = parse_wheel_filename(name)[1]
            else:
                version = parse_sdist_filename(name)[1]
        except (ValueError, InvalidVersion):
            continue
        if spec.contains(version, prereleases=True):
            keep.append(name)
    return keep


def _admits(requires_python: str, python: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(requires_python).contains(python + ".999", prereleases=True) or (
            SpecifierSet(requires_python).contains(python, prereleases=True)
        )
    except InvalidSpecifier:
        return True


def _release_of(filename: str) -> str:
    try:
        name, version, *_ = parse_wheel_filename(filename)
        return f"{name} {version}"
    except (ValueError, InvalidVersion):
        try:
            name, version = parse_sdist_filename(filename)
            return f"{name} {version}"
        except (ValueError, InvalidVersion):
            return filename


def _no_candidate_error(
    requirement: str, diag: dict[str, Any], target: Target, config: Config
) -> LockError:
    name = diag.get("project", requirement)
    where = f"{target.runtime} {target.arch}"
    if not diag.get("links_seen"):
        return LockError(
            f"Package {name!r} (from {requirement!r}) was not found on the package index.",
            hint="check the spelling; for a private package, set index-url / extra-index-url "
            "in pip.conf or PIP_INDEX_URL / PIP_EXTRA_INDEX_URL (lpack uses pip's configuration).",
        )
    skipped = diag.get("skipped") or []
    file_rp = {s["file"]: s["requires_python"] for s in skipped}
    python = ".".join(map(str, target.python_version))
    relevant = set(_versions_matching(requirement, sorted(file_rp)))
    requires_python = sorted(
        {
            f"{_release_of(f)} requires Python {rp}"
            for f, rp in file_rp.items()
            if f in relevant and not _admits(rp, python)
        }
    )
    # Files Requires-Python excludes are explained by it, not by their tags or format.
    fits_python = {f for f in relevant if _admits(file_rp[f], python)}
    platform = sorted(
        s["file"] for s in skipped if s["kind"] == "platform_mismatch" and s["file"] in fits_python
    )
    sdists = sorted(
        s["file"] for s in skipped if s["kind"] == "format_unsupported" and s["file"] in fits_python
    )
    lines = []
    if requires_python:
        shown = "; ".join(requires_python[:5])
        lines.append(f"- Requires-Python excludes Python {python} ({target.runtime}): {shown}")
    if platform:
        listed = ", ".join(platform[:12]) + (
            f" and {len(platform) - 12} more" if len(platform) > 12 else ""
        )
        tags = [str(t) for t in target.tags]
        lines.append(f"- wheels that exist but do not fit {where}: {listed}")
        lines.append(
            f"- tags tried ({len(tags)}): {', '.join(tags[:4])}, …, {tags[-1]} "
            f"(manylinux up to glibc {target.glibc_text})"
        )
    if sdists:
        lines.append(
            f"- sdists skipped (lpack builds none unless allowed): {', '.join(sdists[:5])}"
        )
    hint_parts = []
    if requires_python:
        hint_parts.append(
            "pin a release whose Requires-Python admits this runtime, or pick a "
            "newer runtime with --runtime"
        )
    if platform:
        hint_parts.append(
            "pin a version that publishes manylinux wheels for this arch and glibc, "
            "or target another runtime/arch"
        )
    if sdists and not config.allow_sdist:
        hint_parts.append(
            f"if {name} is pure Python, allow building it with "
            f'`allow_sdist = ["{name}"]` or --allow-sdist {name}'
        )
    return LockError(
        f"No release of {requirement!r} can be installed on {where}:",
        details="\n".join(lines) or None,
        hint="; ".join(hint_parts) or "check the requirement's versions on the index.",
    )


def ensure_fetch_error(final: dict[str, Any], stderr: str) -> FetchError:
    kind = final.get("kind")
    if kind == "hash-mismatch":
        return FetchError(
            f"Hash mismatch for {final['url']}: got sha256:{final['got']}, the lock allows "
            f"{', '.join('sha256:' + h[:16] + '…' for h in final['expected'])}. "
            "The file was discarded; the cache is unchanged.",
            hint="if the package was re-published on purpose, run `lpack lock --upgrade-package "
            "NAME`; otherwise the index or a proxy served a wrong file.",
        )
    if kind == "download-failed":
        return FetchError(
            f"Downloading {final['url']} failed after {final['attempts']} attempts: "
            f"{final.get('message')}. Nothing partial was kept in the cache.",
            hint="check the network or proxy and run the build again; cached wheels are reused.",
        )
    return FetchError(
        f"Fetching wheels failed: {final.get('message', 'unknown error')}",
        details=pip_explanation(stderr),
        hint="check your index settings (pip.conf, PIP_INDEX_URL) and the network.",
    )
