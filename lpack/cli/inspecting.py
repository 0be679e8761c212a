"""verify, lint, report, diff and gate: the commands that read a package."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lpack.cli.options import (
    artifact_option,
    budget_options,
    fail,
    format_option,
    project_option,
    selection_options,
    size_value,
    spec_from_flags,
    target_options,
    upload_option,
    verbosity,
    verbosity_options,
)
from lpack.errors import EXIT_FINDINGS, EXIT_OK, ConfigError, LpackError
from lpack.files import write_atomic
from lpack.inspect.sandbox import DEFAULT_TIMEOUT, EMULATED_TIMEOUT
from lpack.settings import Project, load_artifact, load_project

if TYPE_CHECKING:
    from lpack.inspect.gate import GateResult
    from lpack.inspect.registry import Finding

_REPORT_FORMATS = ("text", "json", "markdown", "html")


@click.command(name="verify")
@click.argument("artifact", type=click.Path(dir_okay=False, path_type=Path))
@project_option
@target_options
@click.option("--handler", help="Handler to import (and call with --event).")
@click.option(
    "--event",
    "event_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON event: call the handler with it and print the result.",
)
@click.option(
    "--layer",
    "layers",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Layer zip to put on sys.path after the function (repeatable).",
)
@click.option("--skip", multiple=True, metavar="MODULE", help="Do not import this module.")
@click.option(
    "--runtime-libraries-only",
    is_flag=True,
    help="Hide this machine's shared libraries that the Lambda runtime lacks (needs a private "
    "mount namespace: Linux, as root or with user namespaces).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1, max=3600),
    metavar="SECONDS",
    help=f"Stop the package after this long; the step still running fails (default "
    f"{DEFAULT_TIMEOUT:g}, {EMULATED_TIMEOUT:g} under emulation).",
)
@click.option(
    "--profile",
    is_flag=True,
    help="Then import the handler's module once more in a fresh interpreter with -X "
    "importtime: its cold import time, the heaviest imports, and how much came from bytecode.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1, max=20),
    default=1,
    show_default=True,
    metavar="N",
    help="With --profile: that many fresh runs, the fastest shown (less noise).",
)
@click.option(
    "--emulation-root",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="FOLDER",
    help="Root file system of the package's CPU with the runtime's Python, run under "
    "qemu-user when that CPU is not this machine's (.ci/arm64-python makes an arm64 one; "
    "default: `emulation-root` in [tool.lpack], else $LPACK_EMULATION_ROOT).",
)
@click.option("-v", "--verbose", is_flag=True, help="Print the traceback of each failed import.")
@format_option("text", "json")
def verify_command(
    artifact: Path,
    project_dir: Path,
    event_file: Path | None,
    layers: tuple[Path, ...],
    skip: tuple[str, ...],
    runtime_libraries_only: bool,
    timeout: float | None,
    profile: bool,
    repeat: int,
    emulation_root: Path | None,
    verbose: bool,
    fmt: str,
    **flags: Any,
) -> None:
    """Import ARTIFACT (a Lambda zip) as Lambda would: isolated, read-only, unprivileged."""
    from lpack.inspect.emulation import VERIFY_SETTING
    from lpack.inspect.verify import verify
    from lpack.render import json as render_json
    from lpack.render.console import make_console
    from lpack.render.verify_text import print_verify

    try:
        if repeat != 1 and not profile:
            raise ConfigError(
                "--repeat repeats the --profile run, and --profile was not given.",
                hint="add --profile, or drop --repeat.",
            )
        spec = load_artifact(project_dir, spec_from_flags(flags), artifact)
        result = verify(
            artifact,
            spec.target,
            handler=spec.handler,
            event_file=event_file,
            layers=list(layers),
            skip=list(skip),
            name=spec.name,
            runtime_libraries_only=runtime_libraries_only,
            timeout=timeout,
            private=[project_dir],
            profile_runs=repeat if profile else 0,
            emulation_root=emulation_root or spec.emulation_root_path,
            setting=VERIFY_SETTING,
        )
    except LpackError as exc:
        fail(exc, fmt)
    if fmt == "json":
        print(render_json.dumps(render_json.verify_json(result)))
    else:
        print_verify(make_console(), result, verbose=verbose)
    sys.exit(EXIT_OK if result.ok else EXIT_FINDINGS)


@click.command(name="lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@project_option
@target_options
@click.option("--handler", help="Handler to check, e.g. app.lambda_handler.")
@upload_option
@budget_options
@selection_options
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when errors are found.")
@click.option(
    "--statistics",
    is_flag=True,
    help="One line per rule: how many findings, the most frequent first (JSON: a "
    "`statistics` list beside the findings). The exit code is the same.",
)
@click.option(
    "--skip-unbuilt",
    is_flag=True,
    help="With no PATHS, note and skip a function whose zip (or a layer's) is not built yet, "
    "instead of failing (the pre-commit hook's mode).",
)
@verbosity_options
@format_option("text", "json", "github", "sarif")
def lint_command(
    paths: tuple[Path, ...],
    project_dir: Path,
    exit_zero: bool,
    statistics: bool,
    skip_unbuilt: bool,
    fmt: str,
    **flags: Any,
) -> None:
    """Check Lambda packages (zips or folders; the function first, then its layers).

    With no PATHS, lints the project's built zip (its `output`, default dist/<name>.zip)."""
    from lpack.inspect.lint import LintOptions, lint_paths
    from lpack.render import json as render_json
    from lpack.render.console import make_console
    from lpack.render.findings import print_findings
    from lpack.render.github import announce, findings_github
    from lpack.render.sarif import findings_sarif

    try:
        if statistics and fmt in ("github", "sarif"):
            raise ConfigError(
                f"--statistics counts findings per rule, and --format {fmt} has no place for it.",
                hint="use --statistics with --format text or json.",
            )
        project = load_project(project_dir, spec_from_flags(flags))
        spec = project.spec_for(paths[0] if paths else None)
        if paths:
            findings = lint_paths(list(paths), spec.target, LintOptions.for_artifact(spec))
        else:
            findings = _lint_built(project, skip_unbuilt)
    except LpackError as exc:
        fail(exc, "json" if fmt in ("json", "sarif") else "text")
    if fmt == "json":
        print(render_json.dumps(render_json.findings_json(findings, spec.target, statistics)))
    elif fmt == "sarif":
        print(render_json.dumps(findings_sarif(findings)))
    elif fmt == "github":
        sys.stdout.write(findings_github(findings))
    else:
        print_findings(make_console(), findings, statistics, verbosity())
    announce(findings, "lpack lint", annotate=fmt != "github")  # in GitHub Actions only
    errors = sum(1 for f in findings if f.severity == "error")
    sys.exit(EXIT_FINDINGS if errors and not exit_zero else EXIT_OK)


def _lint_built(project: Project, skip_unbuilt: bool = False) -> list[Finding]:
    """The project's built zips: each function with its layers, each layer alone."""
    from lpack.inspect.lint import LintOptions, lint_paths

    specs = project.artifacts if project.declared else (project.function,)
    findings: dict[Finding, None] = {}  # a layer's findings once, however many use it
    for spec in specs:
        zips = [spec.output_path, *(layer.output_path for layer in project.layers_of(spec))]
        missing = [z for z in zips if not z.is_file()]
        if missing and skip_unbuilt:  # a commit need not wait for a build: say so, go on
            click.echo(
                f"lpack lint: skipped {spec.name}: {missing[0]} is not built "
                "(run `lpack build` to lint it).",
                err=True,
            )
            continue
        if missing:
            raise ConfigError(
                f"No PATH given and the project's zip {missing[0]} does not exist.",
                hint="run `lpack build` first, or pass the zip or folder to lint.",
            )
        findings.update(
            dict.fromkeys(lint_paths(zips, spec.target, LintOptions.for_artifact(spec)))
        )
    return list(findings)


def _write_output(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_atomic(output, text.encode())
    except OSError as exc:
        raise ConfigError(f"Cannot write {output}: {exc.strerror or exc}.") from exc


@click.command(name="report")
@click.argument("path", type=click.Path(path_type=Path))
@project_option
@target_options
@artifact_option
@click.option(
    "--depth",
    default=2,
    show_default=True,
    type=click.IntRange(1, 20),
    help="Folder levels in the text tree.",
)
@format_option(*_REPORT_FORMATS)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def report_command(
    path: Path,
    project_dir: Path,
    artifacts: tuple[str, ...],
    depth: int,
    fmt: str,
    output: Path | None,
    **flags: Any,
) -> None:
    """Where the bytes go in PATH (a zip, a folder, or a project, which is built first; for
    a project of functions and layers, one report per artifact)."""
    from lpack.render import json as render_json
    from lpack.render.console import make_console
    from lpack.render.html import render_html
    from lpack.render.markdown import report_markdown
    from lpack.render.text import print_report
    from lpack.sizing import reports_of

    try:
        found = reports_of(path, project_dir, spec_from_flags(flags), artifacts)
        if fmt == "html" and len(found) > 1:
            raise ConfigError(
                f"An HTML report shows one package; {path} has {len(found)} artifacts.",
                hint="choose one with --artifact NAME.",
            )
        reports = [r.report for r in found]
        if fmt == "json" and found[0].name is None:
            _write_output(render_json.dumps(reports[0].to_json()) + "\n", output)
        elif fmt == "json":
            documents = [{"name": r.name, **r.report.to_json()} for r in found]
            data = {"version": 1, "command": "report", "artifacts": documents}
            _write_output(render_json.dumps(data) + "\n", output)
        elif fmt == "markdown":
            _write_output("\n".join(report_markdown(r) for r in reports), output)
        elif fmt == "html":
            _write_output(render_html(reports[0]), output)
        else:
            for report in reports:
                print_report(make_console(), report, depth)
    except LpackError as exc:
        fail(exc, "json" if fmt == "json" else "text")


@click.command(name="diff")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@project_option
@target_options
@format_option(*_REPORT_FORMATS)
def diff_command(old: Path, new: Path, project_dir: Path, fmt: str, **flags: Any) -> None:
    """Per-distribution size changes from OLD to NEW (zips, folders or report JSONs)."""
    from lpack.inspect.diff import diff_reports
    from lpack.render import json as render_json
    from lpack.render.console import make_console
    from lpack.render.html import render_diff_html
    from lpack.render.markdown import diff_markdown
    from lpack.render.text import print_diff
    from lpack.sizing import report_of

    cli = spec_from_flags(flags)
    try:
        result = diff_reports(report_of(old, project_dir, cli), report_of(new, project_dir, cli))
    except LpackError as exc:
        fail(exc, fmt)
    if fmt == "json":
        print(render_json.dumps(result.to_json()))
    elif fmt == "markdown":
        sys.stdout.write(diff_markdown(result))
    elif fmt == "html":
        sys.stdout.write(render_diff_html(result))
    else:
        print_diff(make_console(), result)


@click.command(name="gate")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--baseline",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The committed baseline JSON.",
)
@click.option("--update-baseline", is_flag=True, help="Write PATH's sizes as the new baseline.")
@click.option(
    "--max-growth-bytes",
    callback=size_value,
    default="1 MiB",
    show_default=True,
    help="Fail when the package grew by more than this.",
)
@click.option(
    "--max-growth-percent",
    type=float,
    default=5.0,
    show_default=True,
    help="Fail when the package grew by more than this share.",
)
@click.option(
    "--min-bytes",
    callback=size_value,
    default="100 KiB",
    show_default=True,
    help="Growth below this never fails (small packages do not flap).",
)
@project_option
@target_options
@artifact_option
@format_option(
    "text",
    "json",
    "markdown",
    "github",
    default=None,
    help="Output format (github when run in GitHub Actions).",
)
def gate_command(
    path: Path,
    baseline: Path,
    update_baseline: bool,
    max_growth_bytes: int,
    max_growth_percent: float,
    min_bytes: int,
    project_dir: Path,
    artifacts: tuple[str, ...],
    fmt: str | None,
    **flags: Any,
) -> None:
    """Fail (exit 1) when PATH grew past the thresholds against --baseline, or broke a limit
    or budget (for a project of functions and layers: each artifact, one baseline for all)."""
    from lpack.inspect.gate import GateThresholds, write_baseline
    from lpack.sizing import GateRequest, baselines_of, gate_artifacts, reports_of

    fmt = fmt or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    thresholds = GateThresholds(max_growth_bytes, max_growth_percent, min_bytes)
    request = GateRequest(path, baseline, thresholds, project_dir, spec_from_flags(flags))
    try:
        if update_baseline:
            found = reports_of(path, project_dir, request.cli, artifacts)
            written = baselines_of(found)
            write_baseline(baseline, written)
            total = sum(r.report.unzipped_size for r in found)
            click.echo(
                f"wrote baseline {baseline}: {total:,} B unzipped in {len(found)} "
                f"{'artifacts' if len(found) > 1 else 'package'}, "
                f"{sum(len(r.report.distributions) for r in found)} distributions"
            )
            return
        results = gate_artifacts(request, artifacts)
    except LpackError as exc:
        fail(exc, "json" if fmt == "json" else "text")
    ok = _show_gate(results, fmt, path, baseline)
    sys.exit(EXIT_OK if ok else EXIT_FINDINGS)


def _show_gate(
    results: list[tuple[str | None, GateResult]], fmt: str, path: Path, baseline: Path
) -> bool:
    """Print the verdicts (and add them to GitHub's step summary); True when all passed."""
    from lpack.render import json as render_json
    from lpack.render.console import make_console
    from lpack.render.github import gate_github
    from lpack.render.markdown import gate_markdown
    from lpack.render.text import print_gate

    ok = all(result.ok for _, result in results)
    markdown = "\n".join(gate_markdown(r, name) for name, r in results)
    if fmt == "json" and results[0][0] is None:
        print(render_json.dumps(results[0][1].to_json()))
    elif fmt == "json":
        documents = [{"name": name, **result.to_json()} for name, result in results]
        print(
            render_json.dumps({"version": 1, "command": "gate", "ok": ok, "artifacts": documents})
        )
    elif fmt == "markdown":
        sys.stdout.write(markdown + "\n")
    elif fmt == "github":
        sys.stdout.write("".join(gate_github(r, path, baseline, name) for name, r in results))
    else:
        for name, result in results:
            print_gate(make_console(), result, name)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:  # GitHub shows this file on the run's page
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")
    return ok


COMMANDS = [verify_command, lint_command, report_command, diff_command, gate_command]
