"""What changed between two packages, distribution by distribution (reports, zips, baselines)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lpack.inspect.report import Report, TargetRef

DIFF_VERSION = 1


@dataclass(frozen=True)
class DistributionSize:
    version: str
    unzipped: int


@dataclass(frozen=True)
class PackageSizes:
    """What a diff compares: a package's totals and its distributions' sizes."""

    artifact: str
    target: TargetRef | None
    zipped_size: int | None
    unzipped_size: int
    distributions: dict[str, DistributionSize]

    @classmethod
    def of_report(cls, report: Report) -> PackageSizes:
        return cls(
            report.artifact,
            report.target,
            report.zipped_size,
            report.unzipped_size,
            {d.name: DistributionSize(d.version, d.sizes.unzipped) for d in report.distributions},
        )

    def summary_json(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact,
            "target": self.target.to_json() if self.target else None,
            "zipped_size": self.zipped_size,
            "unzipped_size": self.unzipped_size,
        }


@dataclass(frozen=True)
class DistributionChange:
    name: str
    status: str  # added | removed | changed | same
    old_version: str | None
    new_version: str | None
    old_unzipped: int
    new_unzipped: int

    @property
    def delta(self) -> int:
        return self.new_unzipped - self.old_unzipped

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "old_unzipped": self.old_unzipped,
            "new_unzipped": self.new_unzipped,
            "delta": self.delta,
        }


@dataclass(frozen=True)
class Diff:
    old: PackageSizes
    new: PackageSizes
    distributions: list[DistributionChange]  # largest change first
    warnings: list[str]

    @property
    def unzipped_delta(self) -> int:
        return self.new.unzipped_size - self.old.unzipped_size

    @property
    def zipped_delta(self) -> int | None:
        if self.old.zipped_size is None or self.new.zipped_size is None:
            return None
        return self.new.zipped_size - self.old.zipped_size

    @property
    def changed(self) -> list[DistributionChange]:
        return [row for row in self.distributions if row.status != "same"]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": DIFF_VERSION,
            "command": "diff",
            "old": self.old.summary_json(),
            "new": self.new.summary_json(),
            "unzipped_delta": self.unzipped_delta,
            "zipped_delta": self.zipped_delta,
            "distributions": [row.to_json() for row in self.distributions],
            "warnings": self.warnings,
        }


def _change(
    name: str, a: DistributionSize | None, b: DistributionSize | None
) -> DistributionChange:
    if a is None:
        status = "added"
    elif b is None:
        status = "removed"
    else:
        status = "changed" if (a.version, a.unzipped) != (b.version, b.unzipped) else "same"
    return DistributionChange(
        name,
        status,
        a.version if a else None,
        b.version if b else None,
        a.unzipped if a else 0,
        b.unzipped if b else 0,
    )


def diff_sizes(old: PackageSizes, new: PackageSizes) -> Diff:
    """Per-distribution deltas, largest first, and a warning when the targets differ."""
    names = sorted(set(old.distributions) | set(new.distributions))
    rows = [_change(n, old.distributions.get(n), new.distributions.get(n)) for n in names]
    rows.sort(key=lambda r: (-abs(r.delta), r.name))
    warnings = []
    if old.target and new.target and old.target != new.target:
        warnings.append(
            f"the two packages target different runtimes: {old.target.describe()} and "
            f"{new.target.describe()}; sizes are compared anyway"
        )
    return Diff(old, new, rows, warnings)


def diff_reports(old: Report, new: Report) -> Diff:
    return diff_sizes(PackageSizes.of_report(old), PackageSizes.of_report(new))
