"""The services behind report, diff and gate: a size report of whatever path the user names,
and the gate's verdict against a baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from lpack.errors import ConfigError
from lpack.inspect.contents import read_contents
from lpack.inspect.gate import (
    Baseline,
    GateResult,
    GateThresholds,
    gate,
    read_baseline,
    read_project_baseline,
)
from lpack.inspect.limits import LimitCheck, check_limits
from lpack.inspect.report import Report, load_report_json, make_report
from lpack.resolve.inputs import input_label
from lpack.settings import ArtifactSpec, load_artifact, load_project


def is_project(path: Path) -> bool:
    """A folder lpack builds (it has lpack's config or lock), not a package folder."""
    if not path.is_dir():
        return False
    if (path / "lpack.lock").is_file():
        return True
    pyproject = path / "pyproject.toml"
    return pyproject.is_file() and "[tool.lpack" in pyproject.read_text(errors="replace")


def built_zip(spec: ArtifactSpec) -> Path:
    """The zip `lpack build` wrote for the artifact: inspecting reads, it never builds."""
    path = spec.output_path
    if not path.is_file():
        raise ConfigError(
            f"{spec.name}'s zip {path} does not exist: report, diff and gate read what "
            "`lpack build` wrote, and never build a project themselves.",
            hint=f"run `lpack build {spec.project_dir}` first, or name a zip or folder.",
        )
    return path


def _label(spec: ArtifactSpec) -> str:
    try:
        return input_label(spec)
    except ConfigError:
        return "your requirements"


def report_of(path: Path, project_dir: Path, cli: ArtifactSpec) -> Report:
    """A report of a zip, a package folder, a report JSON, or a project's built zip."""
    if path.is_file() and path.suffix == ".json":
        return load_report_json(path)
    if is_project(path):
        spec = load_artifact(path, cli)
        package, label = built_zip(spec), _label(spec)
    else:
        spec = load_artifact(project_dir, cli, path)
        package, label = path, "your requirements"
    contents = read_contents(package)
    try:
        return make_report(contents, spec.target, label)
    finally:
        contents.close()


@dataclass(frozen=True)
class GateRequest:
    path: Path
    baseline: Path
    thresholds: GateThresholds
    project_dir: Path
    cli: ArtifactSpec


@dataclass(frozen=True)
class ArtifactReport:
    """One artifact's report and the limit checks it fails (a function with its layers)."""

    name: str | None  # None for a project without artifact tables, a zip or a folder
    report: Report
    limit_failures: list[str]


def reports_of(
    path: Path, project_dir: Path, cli: ArtifactSpec, artifacts: Sequence[str] = ()
) -> list[ArtifactReport]:
    """A report per artifact when PATH is a project that declares functions and layers
    (of the zips it built; `artifacts` narrows them), else the one report of report_of."""
    project = load_project(path, cli) if is_project(path) else None
    if project is None or not project.declared:
        if artifacts:
            raise ConfigError(
                f"--artifact names an artifact of a project, and {path} declares none.",
                hint="drop --artifact, or point at a project with [tool.lpack.functions].",
            )
        report = report_of(path, project_dir, cli)
        spec = load_artifact(project_dir, cli, Path(report.artifact) if report.artifact else None)
        checks = _limit_checks(report, spec)
        failures = [c.message() for c in checks if c.exceeded]
        return [ArtifactReport(None, replace(report, limits=tuple(checks)), failures)]
    results = []
    unzipped: dict[str, int] = {}
    for spec in project.select(artifacts):  # layers first: functions count theirs
        contents = read_contents(built_zip(spec))
        try:
            report = make_report(contents, spec.target, _label(spec))
            zipped, unzipped[spec.name] = contents.zipped_size, contents.unzipped_size
        finally:
            contents.close()
        if artifacts and spec.name not in artifacts:
            continue  # a layer a named function uses: measured, not reported
        checks = check_limits(
            zipped,
            unzipped[spec.name] + sum(unzipped[name] for name in spec.layers),
            spec.upload,
            spec.max_zipped,
            spec.max_unzipped,
            layered=bool(spec.layers),
        )
        failures = [c.message() for c in checks if c.exceeded]
        results.append(ArtifactReport(spec.name, replace(report, limits=tuple(checks)), failures))
    return results


def _limit_checks(report: Report, spec: ArtifactSpec) -> list[LimitCheck]:
    artifact = Path(report.artifact)
    if not report.artifact or not artifact.exists():  # a report file's zip may be gone
        return []
    contents = read_contents(artifact)
    try:
        checks = check_limits(
            contents.zipped_size,
            contents.unzipped_size,
            spec.upload,
            spec.max_zipped,
            spec.max_unzipped,
        )
    finally:
        contents.close()
    return checks


def gate_artifacts(
    request: GateRequest, artifacts: Sequence[str] = ()
) -> list[tuple[str | None, GateResult]]:
    """Each artifact against its entry of the baseline (a project's baseline holds them all)."""
    reports = reports_of(request.path, request.project_dir, request.cli, artifacts)
    if len(reports) == 1 and reports[0].name is None:
        only = reports[0]
        baseline = read_baseline(request.baseline, only.report)
        return [(None, gate(only.report, baseline, request.thresholds, only.limit_failures))]
    baselines = read_project_baseline(
        request.baseline, {r.name: r.report for r in reports if r.name}
    )
    return [
        (r.name, gate(r.report, baselines[r.name or ""], request.thresholds, r.limit_failures))
        for r in reports
    ]


def baselines_of(reports: list[ArtifactReport]) -> dict[str, Baseline] | Baseline:
    if len(reports) == 1 and reports[0].name is None:
        return Baseline.of_report(reports[0].report)
    return {r.name: Baseline.of_report(r.report) for r in reports if r.name}
