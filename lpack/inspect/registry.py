"""What every lint check sees and returns, and the registry that maps codes to checks.

The catalog (rules/lint.toml) says what a rule flags and why; a check registered here under
the same code says where. A test keeps the two one to one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from lpack.catalog import SEVERITIES, lint_rules
from lpack.files import matches_any
from lpack.inspect.contents import Contents, DistInfo, Item
from lpack.settings import ArtifactSpec, LintSettings
from lpack.target import Target


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    artifact: str  # the zip or folder
    path: str | None  # the member, if the finding is about one (a group's first)
    message: str
    # Every member a grouped finding stands for (one line per distribution, not per file).
    paths: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return lint_rules()[self.code].name


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    result = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        result[f.severity] += 1
    return result


@dataclass(frozen=True)
class LintOptions:
    """The lint settings plus what a check needs to know about the artifact."""

    settings: LintSettings = field(default_factory=LintSettings)
    upload: str = "direct"
    max_zipped: int | None = None
    max_unzipped: int | None = None
    handler: str | None = None
    # Codes the caller reports in its own words (a build prints its limits section).
    reported_elsewhere: tuple[str, ...] = ()

    @classmethod
    def for_artifact(
        cls,
        spec: ArtifactSpec,
        handler: str | None = None,
        reported_elsewhere: tuple[str, ...] = (),
    ) -> LintOptions:
        return cls(
            settings=spec.lint,
            upload=spec.upload,
            max_zipped=spec.max_zipped,
            max_unzipped=spec.max_unzipped,
            handler=handler if handler is not None else spec.handler,
            reported_elsewhere=reported_elsewhere,
        )

    @property
    def near_limit(self) -> float:
        return self.settings.near_limit_share

    @property
    def large_file(self) -> int:
        return self.settings.large_file_bytes

    def ignored_at(self, code: str, path: str | None) -> bool:
        if path is None:
            return False
        # A finding about a folder (pandas/tests, .git) matches "tests/" and "pkg/tests/**".
        candidates = [path, path.rstrip("/") + "/", path.rstrip("/") + "/_"]
        for pattern, codes in self.settings.per_path_ignores.items():
            if any(code.startswith(c) for c in codes) and any(
                matches_any(p, [pattern]) for p in candidates
            ):
                return True
        return False


@dataclass
class Context:
    """What every check sees: the packages (function first, then layers) and the target."""

    packages: list[Contents]
    target: Target
    options: LintOptions
    # files() per package, computed once: every check walks them (200,000 entries, 14 checks).
    _visible: dict[int, list[Item]] = field(default_factory=dict)


Check = Callable[[Context], Iterator[Finding]]
_REGISTRY: dict[str, Check] = {}


def check(code: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        if code in _REGISTRY:
            raise RuntimeError(f"two checks registered for {code}")
        _REGISTRY[code] = fn
        return fn

    return register


def registry() -> dict[str, Check]:
    """Every registered check by code (lpack.inspect.lint imports the checks/ families)."""
    return dict(_REGISTRY)


VERSIONED_ROOT = re.compile(r"^python/lib/python(\d+\.\d+)/site-packages/$")


def _inert_root(root: str, target: Target) -> bool:
    """A layer's site-packages for another Python: that runtime never looks there."""
    match = VERSIONED_ROOT.match(root)
    return match is not None and match.group(1) != "{}.{}".format(*target.python_version)


def files(ctx: Context, contents: Contents) -> list[Item]:
    """The files the target runtime would see (other Pythons' layer folders are inert)."""
    visible = ctx._visible.get(id(contents))
    if visible is None:
        inert = {r for r in contents.roots if _inert_root(r, ctx.target)}
        visible = [
            item
            for item in contents.files
            if not inert
            or (item.path[: len(item.path) - len(item.rel)] if item.rel is not None else "")
            not in inert
        ]
        ctx._visible[id(contents)] = visible
    return visible


def dists(ctx: Context, contents: Contents) -> list[DistInfo]:
    return [d for d in contents.distributions if not _inert_root(d.root, ctx.target)]


def finding(code: str, contents: Contents, path: str | None, message: str) -> Finding:
    return Finding(code, lint_rules()[code].severity, str(contents.source), path, message)
