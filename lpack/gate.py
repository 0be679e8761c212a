"""Diff two packages, and gate a package against a committed baseline (CI's size check)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpack.cache import write_atomic
from lpack.errors import ConfigError

BASELINE_VERSION = 1


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Per-distribution deltas between two report documents (see lpack.report)."""
    before = {d["name"]: d for d in old["distributions"]}
    after = {d["name"]: d for d in new["distributions"]}
    rows = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        status = (
            "added"
            if a is None
            else "removed"
            if b is None
            else (
                "changed"
                if (a["version"], a["unzipped"]) != (b["version"], b["unzipped"])
                else "same"
            )
        )
        rows.append(
            {
                "name": name,
                "status": status,
                "old_version": a["version"] if a else None,
                "new_version": b["version"] if b else None,
                "old_unzipped": a["unzipped"] if a else 0,
                "new_unzipped": b["unzipped"] if b else 0,
                "delta": (b["unzipped"] if b else 0) - (a["unzipped"] if a else 0),
            }
        )
    rows.sort(key=lambda r: (-abs(r["delta"]), r["name"]))
    warnings = []
    if old.get("target") and new.get("target") and old["target"] != new["target"]:
        o, n = old["target"], new["target"]
        warnings.append(
            f"the two packages target different runtimes: {o.get('runtime')} "
            f"{o.get('arch')} and {n.get('runtime')} {n.get('arch')}; "
            "sizes are compared anyway"
        )
    zipped = None
    if old.get("zipped_size") is not None and new.get("zipped_size") is not None:
        zipped = new["zipped_size"] - old["zipped_size"]
    return {
        "version": 1,
        "command": "diff",
        "old": {k: old.get(k) for k in ("artifact", "target", "zipped_size", "unzipped_size")},
        "new": {k: new.get(k) for k in ("artifact", "target", "zipped_size", "unzipped_size")},
        "unzipped_delta": new["unzipped_size"] - old["unzipped_size"],
        "zipped_delta": zipped,
        "distributions": rows,
        "warnings": warnings,
    }


def baseline_from(report: dict[str, Any]) -> dict[str, Any]:
    """Small, sorted, stable: diffs well in git."""
    return {
        "version": BASELINE_VERSION,
        "target": report["target"],
        "zipped_size": report["zipped_size"],
        "unzipped_size": report["unzipped_size"],
        "distributions": {
            d["name"]: {"version": d["version"], "unzipped": d["unzipped"]}
            for d in sorted(report["distributions"], key=lambda d: d["name"])
        },
    }


def write_baseline(path: Path, report: dict[str, Any]) -> None:
    text = json.dumps(baseline_from(report), indent=2, sort_keys=True) + "\n"
    try:
        write_atomic(path, text.encode())
    except OSError as exc:
        raise ConfigError(f"Cannot write baseline {path}: {exc.strerror or exc}.") from exc


def read_baseline(path: Path, report: dict[str, Any]) -> dict[str, Any]:
    how = f"create it with `lpack gate PATH --baseline {path} --update-baseline` and commit it"
    if not path.is_file():
        raise ConfigError(f"Baseline {path} does not exist.", hint=how + ".")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        ok = (
            isinstance(data, dict)
            and data.get("version") == BASELINE_VERSION
            and isinstance(data.get("distributions"), dict)
            and isinstance(data.get("unzipped_size"), int)
        )
    except (OSError, ValueError):
        ok = False
    if not ok or not isinstance(data, dict):
        raise ConfigError(
            f"Baseline {path} is corrupt (not an lpack baseline, version {BASELINE_VERSION}).",
            hint=f"restore it from git, or {how}.",
        )
    if report.get("target", {}).get("runtime") and data.get("target") != report["target"]:
        t, b = report["target"], data.get("target") or {}
        raise ConfigError(
            f"Baseline {path} was made for {b.get('runtime')} {b.get('arch')}, the package "
            f"targets {t.get('runtime')} {t.get('arch')}: sizes are not comparable.",
            hint=f"if the runtime change is intended, {how} (--update-baseline).",
        )
    baseline: dict[str, Any] = data
    return baseline


def baseline_as_report(baseline: dict[str, Any], artifact: str) -> dict[str, Any]:
    return {
        "artifact": artifact,
        "target": baseline.get("target"),
        "zipped_size": baseline.get("zipped_size"),
        "unzipped_size": baseline["unzipped_size"],
        "distributions": [
            {"name": name, "version": d.get("version", ""), "unzipped": d.get("unzipped", 0)}
            for name, d in baseline["distributions"].items()
        ],
    }


@dataclass
class GateThresholds:
    max_growth_bytes: int = 1024 * 1024
    max_growth_percent: float = 5.0
    min_bytes: int = 100 * 1024  # growth below this never fails: small packages do not flap


@dataclass
class GateResult:
    diff: dict[str, Any]
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def gate(
    report: dict[str, Any],
    baseline: dict[str, Any],
    thresholds: GateThresholds,
    budget_failures: list[str],
) -> GateResult:
    diff = diff_reports(baseline_as_report(baseline, "baseline"), report)
    result = GateResult(diff, list(budget_failures))
    # The floor keeps tiny packages from flapping, but never hides growth the user
    # explicitly capped lower.
    floor = min(thresholds.min_bytes, thresholds.max_growth_bytes)
    for label, delta, base in (
        ("unzipped", diff["unzipped_delta"], baseline["unzipped_size"]),
        ("zipped", diff["zipped_delta"], baseline.get("zipped_size")),
    ):
        if delta is None or base is None or delta <= floor:
            continue
        percent = 100.0 * delta / base if base else float("inf")
        if delta > thresholds.max_growth_bytes:
            result.failures.append(
                f"{label} size grew by {delta:,} B ({percent:+.1f}%), more than the allowed "
                f"{thresholds.max_growth_bytes:,} B"
            )
        elif percent > thresholds.max_growth_percent:
            result.failures.append(
                f"{label} size grew by {percent:+.1f}% ({delta:,} B), more than the allowed "
                f"{thresholds.max_growth_percent:g}%"
            )
    return result
