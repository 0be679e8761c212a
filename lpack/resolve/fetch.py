"""Gets one verified wheel per lock pin: from the cache, the index, or (opt-in) a pure sdist."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name, parse_wheel_filename

from lpack.errors import FetchError
from lpack.files import default_cache_dir
from lpack.resolve.cache import WheelCache, sha256_file
from lpack.resolve.diagnose import fetch_error
from lpack.resolve.lockfile import Lockfile, Pin
from lpack.resolve.worker import EventHandler, run_worker
from lpack.settings import ArtifactSpec
from lpack.target import Target


@dataclass(frozen=True)
class FetchedWheel:
    name: str
    version: str
    path: Path
    filename: str
    sha256: str  # of the file the lock allowed (the sdist, when one was built)
    cached: bool
    built_from_sdist: bool = False


def _selection_key(target: Target, pin: Pin) -> str:
    text = "|".join([target.key, pin.key, pin.version, *sorted(pin.hashes)])
    return hashlib.sha256(text.encode()).hexdigest()


def fetch(
    spec: ArtifactSpec,
    lockfile: Lockfile,
    on_event: EventHandler | None = None,
    cache: WheelCache | None = None,
) -> list[FetchedWheel]:
    """One verified wheel per pin, in lock order: cached, downloaded, or built from an
    allowed sdist."""
    target = spec.target
    cache = cache or WheelCache(default_cache_dir())
    for pin in lockfile.pins:
        if not pin.hashes:
            raise FetchError(
                f"The lock {lockfile.path} has no hashes for {pin.name}=={pin.version}.",
                hint="run `lpack lock` to regenerate it with hashes.",
            )
    results = _cached(lockfile.pins, target, cache, on_event)
    missing = [pin for pin in lockfile.pins if pin.key not in results]
    if missing:
        extra = [arg for url in lockfile.indexes for arg in ("--extra-index-url", url)]
        results.update(_download(missing, spec, cache, on_event, lockfile.pip_args + extra))
    allowed_sdists = {canonicalize_name(n) for n in spec.allow_sdist}
    wheels = []
    for pin in lockfile.pins:
        fetched = results[pin.key]
        if not fetched.filename.endswith(".whl"):
            if pin.key not in allowed_sdists and ":all:" not in spec.allow_sdist:
                raise FetchError(
                    f"{pin.name}=={pin.version} is available only as an sdist "
                    f"({fetched.filename}), and building it runs its code.",
                    hint=f'if it is pure Python, allow it with `allow-sdist = ["{pin.name}"]`; '
                    "otherwise pin a version that publishes manylinux wheels.",
                )
            fetched = build_sdist(fetched, cache, target)
        wheels.append(fetched)
    return wheels


def _cached(
    pins: list[Pin], target: Target, cache: WheelCache, on_event: EventHandler | None
) -> dict[str, FetchedWheel]:
    """The pins whose chosen file is in the cache and still hashes to its name."""
    results = {}
    for pin in pins:
        selection = cache.get_selection(_selection_key(target, pin))
        if not (
            selection
            and isinstance(selection.get("sha256"), str)
            and isinstance(selection.get("filename"), str)
            and selection["sha256"] in pin.hashes  # the lock, not the cache, decides
        ):
            continue
        path = cache.verified(selection["sha256"], selection["filename"])
        if path is None:
            continue
        results[pin.key] = FetchedWheel(
            pin.name, pin.version, path, selection["filename"], selection["sha256"], True
        )
        if on_event:
            on_event({"event": "fetched", "name": pin.name, "cached": True})
    return results


def _download(
    pins: list[Pin],
    spec: ArtifactSpec,
    cache: WheelCache,
    on_event: EventHandler | None,
    pip_args: list[str],
) -> dict[str, FetchedWheel]:
    """Ask the worker to choose and download each pin's file for the target (a foreign
    lock's pin names its file, and its URL when the lock records one)."""
    target = spec.target
    request = {
        "mode": "fetch",
        "runtime": target.runtime,
        "arch": target.arch,
        "allow_sdist": list(spec.allow_sdist),
        "pip_args": pip_args,
        "cache_root": str(cache.root),
        "pins": [
            {
                "name": p.name,
                "version": p.version,
                "hashes": list(p.hashes),
                "url": p.url,
                "filename": p.filename,
            }
            for p in pins
        ],
    }
    by_key = {p.key: p for p in pins}

    def record_each(event: dict[str, Any]) -> None:
        # Recorded as each wheel lands, not at the end: an interrupted fetch keeps the
        # wheels it finished, and the next build does not download them again.
        pin = by_key.get(canonicalize_name(str(event.get("name", ""))))
        if event.get("event") == "fetched" and event.get("sha256") and pin is not None:
            selection = {"sha256": event["sha256"], "filename": event["filename"]}
            cache.put_selection(_selection_key(target, pin), selection)
        if on_event is not None:
            on_event(event)

    final, stderr = run_worker(request, on_event=record_each, cwd=spec.project_dir)
    if final["event"] == "error":
        raise fetch_error(final, stderr)
    results = {}
    for item in final["pins"]:
        pin = by_key[canonicalize_name(item["name"])]
        if item["status"] != "ok":
            raise _no_file_error(pin, item.get("files", []), target)
        cache.put_selection(
            _selection_key(target, pin), {"sha256": item["sha256"], "filename": item["filename"]}
        )
        results[pin.key] = FetchedWheel(
            pin.name, pin.version, Path(item["path"]), item["filename"], item["sha256"], False
        )
    return results


def _no_file_error(pin: Pin, files: list[str], target: Target) -> FetchError:
    return FetchError(
        f"None of the files of {pin.name}=={pin.version} on the index both fits "
        f"{target.runtime} {target.arch} and matches a hash in the lock "
        f"(files seen: {', '.join(files) or 'none'}).",
        hint="the lock is stale or the index changed: run `lpack lock --upgrade-package "
        f"{pin.name}`.",
    )


def is_pure_wheel(path: Path) -> bool:
    _, _, _, tags = parse_wheel_filename(path.name)
    if any(t.abi != "none" or t.platform != "any" for t in tags):
        return False
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.endswith(".dist-info/WHEEL"):
                text = zf.read(name).decode("utf-8", "replace").lower()
                return "root-is-purelib: true" in text
    return False


def build_wheel(source: Path, outdir: Path) -> tuple[Path | None, str]:
    """`python -m build --wheel` of an sdist or a project folder, isolated as pip builds:
    the wheel, or None and the last lines of what the build printed."""
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(source)],
        capture_output=True,
        text=True,
    )
    wheels = sorted(outdir.glob("*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        return None, "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
    return wheels[0], ""


def build_sdist(sdist: FetchedWheel, cache: WheelCache, target: Target) -> FetchedWheel:
    """Build an allowed sdist in isolation; accept the result only if it is pure Python.

    The built wheel is cached by its own hash, recorded against the sdist's: reused only
    while it still hashes to the record (a damaged or poisoned one is built again)."""
    record_key = f"built-{sdist.sha256}"
    record = cache.get_selection(record_key) or {}
    if isinstance(record.get("sha256"), str) and isinstance(record.get("filename"), str):
        reused = cache.verified(record["sha256"], record["filename"])
        if reused is not None:
            return FetchedWheel(
                sdist.name, sdist.version, reused, reused.name, sdist.sha256, True, True
            )
    ways_out = (
        "pin a version of it that publishes manylinux wheels, choose a runtime for which "
        "wheels exist (--runtime), or build the wheel on Amazon Linux and serve it from a "
        "find-links folder"
    )
    with tempfile.TemporaryDirectory(prefix="lpack-sdist-") as tmp:
        built, tail = build_wheel(sdist.path, Path(tmp))
        if built is None:
            raise FetchError(
                f"Building {sdist.name}=={sdist.version} from its sdist failed; "
                "it probably needs a compiler or system libraries.",
                details=tail,
                hint=ways_out,
            )
        wheel = built
        if not is_pure_wheel(wheel):
            raise FetchError(
                f"{sdist.name}=={sdist.version} built into {wheel.name}, which contains "
                f"compiled code for this machine, not for {target.runtime} {target.arch}: "
                "lpack builds pure-Python sdists only.",
                hint=ways_out,
            )
        handle, temp = cache.open_temp()
        with handle, open(wheel, "rb") as source:
            shutil.copyfileobj(source, handle)
        digest = sha256_file(temp)
        final = cache.store(temp, digest, wheel.name)
        cache.put_selection(record_key, {"sha256": digest, "filename": wheel.name})
    return FetchedWheel(sdist.name, sdist.version, final, final.name, sdist.sha256, False, True)
