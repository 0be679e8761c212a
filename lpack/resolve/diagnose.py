"""Turns the worker's error events into errors that name the package, the cause and the fix."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion

from lpack.errors import FetchError, LockError, LpackError, NetworkError
from lpack.files import file_system_error
from lpack.resolve.inputs import RequirementsInput
from lpack.resolve.network import NetworkFailure, NetworkLimits
from lpack.resolve.worker import pip_explanation
from lpack.settings import ArtifactSpec
from lpack.target import Target


def lock_error(
    error: dict[str, Any], stderr: str, spec: ArtifactSpec, req: RequirementsInput
) -> LpackError:
    target = spec.target
    where = f"{target.runtime} {target.arch}"
    unsupported = unsupported_pip(error)
    if unsupported:
        return LockError(unsupported, hint=_REINSTALL)
    if error.get("kind") in ("network", "os-error"):
        return _not_our_inputs(error)
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
        not_found_at = error.get("not_found_at") or []
        return _no_candidate_error(requirement, diag, target, spec, not_found_at)
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


@dataclass(frozen=True)
class _Skipped:
    """Why the index's files of one requirement were passed over, sorted by cause."""

    requires_python: list[str]  # "beta 2.0 requires Python >=3.12"
    platform: list[str]  # wheels whose tags do not fit the target
    sdists: list[str]  # sdists lpack was not allowed to build

    @classmethod
    def of(cls, requirement: str, skipped: list[dict[str, Any]], python: str) -> _Skipped:
        file_rp = {s["file"]: s["requires_python"] for s in skipped}
        relevant = set(_versions_matching(requirement, sorted(file_rp)))
        requires_python = {
            f"{_release_of(f)} requires Python {rp}"
            for f, rp in file_rp.items()
            if f in relevant and not _admits(rp, python)
        }
        # Files Requires-Python excludes are explained by it, not by their tags or format.
        fits = {f for f in relevant if _admits(file_rp[f], python)}
        by_kind: dict[str, list[str]] = {"platform_mismatch": [], "format_unsupported": []}
        for s in skipped:
            if s["kind"] in by_kind and s["file"] in fits:
                by_kind[s["kind"]].append(s["file"])
        return cls(
            sorted(requires_python),
            sorted(by_kind["platform_mismatch"]),
            sorted(by_kind["format_unsupported"]),
        )

    def details(self, target: Target) -> list[str]:
        lines = []
        python = "{}.{}".format(*target.python_version)
        if self.requires_python:
            shown = "; ".join(self.requires_python[:5])
            lines.append(f"- Requires-Python excludes Python {python} ({target.runtime}): {shown}")
        if self.platform:
            more = len(self.platform) - 12
            listed = ", ".join(self.platform[:12]) + (f" and {more} more" if more > 0 else "")
            tags = [str(t) for t in target.tags]
            lines.append(
                f"- wheels that exist but do not fit {target.runtime} {target.arch}: {listed}"
            )
            lines.append(
                f"- tags tried ({len(tags)}): {', '.join(tags[:4])}, …, {tags[-1]} "
                f"(manylinux up to glibc {target.glibc_text})"
            )
        if self.sdists:
            lines.append(
                f"- sdists skipped (lpack builds none unless allowed): {', '.join(self.sdists[:5])}"
            )
        return lines

    def hints(self, name: str, sdists_allowed: bool) -> list[str]:
        hints = []
        if self.requires_python:
            hints.append(
                "pin a release whose Requires-Python admits this runtime, or pick a "
                "newer runtime with --runtime"
            )
        if self.platform:
            hints.append(
                "pin a version that publishes manylinux wheels for this arch and glibc, "
                "or target another runtime/arch"
            )
        if self.sdists and not sdists_allowed:
            hints.append(
                f"if {name} is pure Python, allow building it with "
                f'`allow-sdist = ["{name}"]` or --allow-sdist {name}'
            )
        return hints


def _no_candidate_error(
    requirement: str,
    diag: dict[str, Any],
    target: Target,
    spec: ArtifactSpec,
    not_found_at: list[str],
) -> LockError:
    name = diag.get("project", requirement)
    if not diag.get("links_seen"):
        pages = [u for u in not_found_at if NetworkFailure(u, "").project == name] or not_found_at
        answered = f" ({pages[0]} answered HTTP 404)" if pages else ""
        return LockError(
            f"Package {name!r} (from {requirement!r}) was not found on the package index"
            f"{answered}.",
            hint="check the spelling and the index URL; for a private package, set index-url / "
            "extra-index-url in pip.conf or PIP_INDEX_URL / PIP_EXTRA_INDEX_URL (lpack uses "
            "pip's configuration).",
        )
    python = "{}.{}".format(*target.python_version)
    skipped = _Skipped.of(requirement, diag.get("skipped") or [], python)
    return LockError(
        f"No release of {requirement!r} can be installed on {target.runtime} {target.arch}:",
        details="\n".join(skipped.details(target)) or None,
        hint="; ".join(skipped.hints(name, bool(spec.allow_sdist)))
        or "check the requirement's versions on the index.",
    )


def unsupported_pip(error: dict[str, Any]) -> str | None:
    """The message for a worker that refused to drive this pip, if it did."""
    if error.get("kind") != "unsupported-pip":
        return None
    return (
        f"lpack drives pip's resolver through internals that change between releases, and "
        f"this environment has {error.get('message')}."
    )


_REINSTALL = "reinstall lpack so that pip installs the versions it depends on (`pip install --force-reinstall lpack`)."


def fetch_error(final: dict[str, Any], stderr: str) -> LpackError:
    kind = final.get("kind")
    unsupported = unsupported_pip(final)
    if unsupported:
        return FetchError(unsupported, hint=_REINSTALL)
    if kind in ("network", "os-error"):
        return _not_our_inputs(final)
    if kind == "hash-mismatch":
        return FetchError(
            f"Hash mismatch for {final['url']}: got sha256:{final['got']}, the lock allows "
            f"{', '.join('sha256:' + h[:16] + '…' for h in final['expected'])}. "
            "The file was discarded; the cache is unchanged.",
            hint="if the package was re-published on purpose, run `lpack lock --upgrade-package "
            "NAME`; otherwise the index or a proxy served a wrong file.",
        )
    return FetchError(
        f"Fetching wheels failed: {final.get('message', 'unknown error')}",
        details=pip_explanation(stderr),
        hint="check your index settings (pip.conf, PIP_INDEX_URL) and the network.",
    )


def _not_our_inputs(error: dict[str, Any]) -> LpackError:
    """The network's or the disk's failure, never worded as the requirements' or the lock's."""
    if error.get("kind") == "os-error":
        code = int(error.get("errno") or 0)
        return file_system_error(OSError(code, os.strerror(code), error.get("filename")))
    return network_error(error)


def network_error(error: dict[str, Any]) -> NetworkError:
    """The index failed or could not be reached: which host, what it answered, for what."""
    failures = [NetworkFailure.from_json(f) for f in error.get("failures") or []]
    first = failures[0] if failures else NetworkFailure("", "could not be reached")
    package = error.get("package")
    tries = f"after {first.attempts} attempts" if first.attempts > 1 else "on the first attempt"
    limits = NetworkLimits.from_env()
    hint = (
        "this is a network or index failure, not a problem with the requirements or the "
        "lock: check that the index URL is right (PIP_INDEX_URL, pip.conf, --index-url in "
        "the requirements), the proxy settings (HTTPS_PROXY, NO_PROXY), and that the index "
        f"is up, then run again; {limits.describe()}."
    )
    if first.status in (401, 403):
        hint = (
            "the index wants credentials, or refused the ones given: check them (the "
            "index URL's user:password, ~/.netrc, keyring); " + hint
        )
    details = "\n".join(f"- {f.describe()}" for f in failures[1:]) or None
    failed = f"{first.host} {first.reason} ({first.url} failed {tries})"
    if error.get("during") == "download":
        message = (
            f"Network failure while downloading {package}: {failed}. Nothing partial was "
            "kept in the cache."
        )
        hint += " Wheels already cached are reused."
    else:
        message = f"Network failure while resolving {package or 'the requirements'}: {failed}."
    return NetworkError(message, hint=hint, details=details)
