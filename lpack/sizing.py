"""The services behind report, diff and gate: a size report of whatever path the user names,
and the gate's verdict against a baseline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lpack.inspect.contents import read_contents
from lpack.inspect.gate import GateResult, GateThresholds, gate, read_baseline
from lpack.inspect.limits import check_limits
from lpack.inspect.report import Report, load_report_json, make_report
from lpack.settings import ArtifactSpec, load_artifact


def is_project(path: Path) -> bool:
    """A folder lpack builds (it has lpack's config or lock), not a package folder."""
    if not path.is_dir():
        return False
    if (path / "lpack.lock").is_file():
        return True
    pyproject = path / "pyproject.toml"
    return pyproject.is_file() and "[tool.lpack" in pyproject.read_text(errors="replace")


def report_of(path: Path, project_dir: Path, cli: ArtifactSpec) -> Report:
    """A report of a zip, a package folder, a report JSON, or a project (built first)."""
    if path.is_file() and path.suffix == ".json":
        return load_report_json(path)
    if is_project(path):
        from lpack.build import build

        spec = load_artifact(path, cli)
        result = build(spec)
        assert result.archive is not None
        package, label = result.archive.path, result.lock.requirements.label
    else:
        spec = load_artifact(project_dir, cli)
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


def gate_package(request: GateRequest) -> GateResult:
    """The package against its baseline: limits and budgets it breaks, then its growth."""
    report = report_of(request.path, request.project_dir, request.cli)
    baseline = read_baseline(request.baseline, report)
    spec = load_artifact(request.project_dir, request.cli)
    limit_failures: list[str] = []
    artifact = Path(report.artifact)
    if (
        report.artifact and artifact.exists()
    ):  # a report file's zip may be gone: growth is all we know
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
        limit_failures = [c.message() for c in checks if c.exceeded]
    return gate(report, baseline, request.thresholds, limit_failures)
