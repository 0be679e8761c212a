"""Gate a package against a committed baseline: CI's size check (growth, limits, budgets)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpack.errors import ConfigError
from lpack.files import why_unusable, write_atomic
from lpack.inspect.diff import Diff, DistributionSize, PackageSizes, diff_sizes
from lpack.inspect.report import Report, TargetRef
from lpack.units import exact_bytes

BASELINE_VERSION = 1


@dataclass(frozen=True)
class Baseline:
    """A package's sizes as committed: small, sorted and stable, so it diffs well in git."""

    target: TargetRef | None
    zipped_size: int | None
    unzipped_size: int
    distributions: dict[str, DistributionSize]

    @classmethod
    def of_report(cls, report: Report) -> Baseline:
        sizes = PackageSizes.of_report(report)
        return cls(report.target, report.zipped_size, report.unzipped_size, sizes.distributions)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": BASELINE_VERSION,
            "target": self.target.to_json() if self.target else None,
            "zipped_size": self.zipped_size,
            "unzipped_size": self.unzipped_size,
            "distributions": {
                name: {"version": d.version, "unzipped": d.unzipped}
                for name, d in sorted(self.distributions.items())
            },
        }

    @classmethod
    def from_json(cls, data: Any) -> Baseline | None:
        """None when data is not a baseline of this version."""
        if not (
            isinstance(data, dict)
            and data.get("version") == BASELINE_VERSION
            and isinstance(data.get("distributions"), dict)
            and isinstance(data.get("unzipped_size"), int)
        ):
            return None
        zipped = data.get("zipped_size")
        return cls(
            TargetRef.from_json(data.get("target")),
            zipped if isinstance(zipped, int) else None,
            data["unzipped_size"],
            {
                str(name): DistributionSize(str(d.get("version", "")), int(d.get("unzipped", 0)))
                for name, d in data["distributions"].items()
                if isinstance(d, dict)
            },
        )

    def sizes(self) -> PackageSizes:
        return PackageSizes(
            "baseline", self.target, self.zipped_size, self.unzipped_size, self.distributions
        )


def write_baseline(path: Path, baseline: Baseline | dict[str, Baseline]) -> None:
    """One package's baseline, or a project's: one entry per artifact. Artifacts the file
    already holds and this update does not name keep their entries."""
    if isinstance(baseline, Baseline):
        data = baseline.to_json()
    else:
        existing = _load(path) if path.is_file() else None
        artifacts = {}
        if isinstance(existing, dict) and isinstance(existing.get("artifacts"), dict):
            artifacts = dict(existing["artifacts"])
        artifacts.update({name: b.to_json() for name, b in baseline.items()})
        data = {"version": BASELINE_VERSION, "artifacts": dict(sorted(artifacts.items()))}
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    try:
        write_atomic(path, text.encode())
    except OSError as exc:
        raise ConfigError(f"Cannot write baseline {path}: {exc.strerror or exc}.") from exc


def _how(path: Path) -> str:
    return f"create it with `lpack gate PATH --baseline {path} --update-baseline` and commit it"


def _load(path: Path) -> Any:
    if not path.is_file():
        why = why_unusable(path)  # never read a device or a pipe: /dev/zero never ends
        hint = _how(path) + "." if why == "does not exist" else "pass the baseline JSON file."
        raise ConfigError(f"Baseline {path} {why}.", hint=hint)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _corrupt(path: Path) -> ConfigError:
    return ConfigError(
        f"Baseline {path} is corrupt (not an lpack baseline, version {BASELINE_VERSION}).",
        hint=f"restore it from git, or {_how(path)}.",
    )


def _check_target(
    path: Path, baseline: Baseline, report: Report, what: str = "the package"
) -> None:
    target = report.target
    if target and target.runtime and baseline.target != target:
        made = baseline.target or TargetRef()
        raise ConfigError(
            f"Baseline {path} was made for {made.describe()}, {what} targets "
            f"{target.describe()}: sizes are not comparable.",
            hint=f"if the runtime change is intended, {_how(path)} (--update-baseline).",
        )


def read_baseline(path: Path, report: Report) -> Baseline:
    baseline = Baseline.from_json(_load(path))
    if baseline is None:
        raise _corrupt(path)
    _check_target(path, baseline, report)
    return baseline


def read_project_baseline(path: Path, reports: dict[str, Report]) -> dict[str, Baseline]:
    """A project's baseline: an entry for each artifact gated."""
    data = _load(path)
    raw = data.get("artifacts") if isinstance(data, dict) and data.get("version") == 1 else None
    if not isinstance(raw, dict):
        raise _corrupt(path)
    baselines = {}
    for name, report in reports.items():
        baseline = Baseline.from_json(raw.get(name))
        if baseline is None:
            raise ConfigError(
                f"Baseline {path} has no entry for artifact {name}.",
                hint=f"if {name} is new, {_how(path)} (--update-baseline).",
            )
        _check_target(path, baseline, report, f"artifact {name}")
        baselines[name] = baseline
    return baselines


@dataclass
class GateThresholds:
    max_growth_bytes: int = 1024 * 1024
    max_growth_percent: float = 5.0
    min_bytes: int = 100 * 1024  # growth below this never fails: small packages do not flap


@dataclass
class GateResult:
    diff: Diff
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "command": "gate",
            "ok": self.ok,
            "failures": self.failures,
            "diff": self.diff.to_json(),
        }


def gate(
    report: Report, baseline: Baseline, thresholds: GateThresholds, limit_failures: list[str]
) -> GateResult:
    """Failures: the limits and budgets the package breaks, then growth past the thresholds."""
    diff = diff_sizes(baseline.sizes(), PackageSizes.of_report(report))
    result = GateResult(diff, list(limit_failures))
    # The floor keeps tiny packages from flapping, but never hides growth the user
    # explicitly capped lower.
    floor = min(thresholds.min_bytes, thresholds.max_growth_bytes)
    for label, delta, base in (
        ("unzipped", diff.unzipped_delta, baseline.unzipped_size),
        ("zipped", diff.zipped_delta, baseline.zipped_size),
    ):
        if delta is None or base is None or delta <= floor:
            continue
        percent = 100.0 * delta / base if base else float("inf")
        if delta > thresholds.max_growth_bytes:
            result.failures.append(
                f"{label} size grew by {exact_bytes(delta)} ({percent:+.1f}%), more than the "
                f"allowed {exact_bytes(thresholds.max_growth_bytes)}"
            )
        elif percent > thresholds.max_growth_percent:
            result.failures.append(
                f"{label} size grew by {percent:+.1f}% ({exact_bytes(delta)}), more than the allowed "
                f"{thresholds.max_growth_percent:g}%"
            )
    return result
