"""verify, lint, report, diff and gate: the commands that read a package."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from lpack.cli.options import (
    budget_options,
    fail,
    format_option,
    project_option,
    selection_options,
    size_value,
    spec_from_flags,
    target_options,
    upload_option,
)
from lpack.errors import EXIT_FINDINGS, EXIT_OK, ConfigError, LpackError
from lpack.files import write_atomic
from lpack.settings import load_artifact

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
@format_option("text", "json")
def verify_command(
    artifact: Path,
    project_dir: Path,
    event_file: Path | None,
    layers: tuple[Path, ...],
    skip: tuple[str, ...],
    fmt: str,
    **flags: Any,
) -> None:
    """Import ARTIFACT (a Lambda zip) as Lambda would: isolated, read-only, unprivileged."""
    from lpack.inspect.verify import verify
    from lpack.render import json as render_json
    from lpack.render.console import make_console
    from lpack.render.text import print_verify

    try:
        spec = load_artifact(project_dir, spec_from_flags(flags))
        result = verify(
            artifact,
            spec.target,
            handler=spec.handler,
            event_file=event_file,
            layers=list(layers),
            skip=list(skip),
            name=spec.name,
        )
    except LpackError as exc:
        fail(exc, fmt)
    if fmt == "json":
        print(render_json.dumps(render_json.verify_json(result)))
    else:
        print_verify(make_console(), result)
    sys.exit(EXIT_OK if result.ok else EXIT_FINDINGS)


@click.command(name="lint")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@project_option
@target_options
@click.option("--handler", help="Handler to check, e.g. app.lambda_handler.")
@upload_option
@budget_options
@selection_options
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when errors are found.")
@format_option("text", "json", "github", "sarif")
def lint_command(
    paths: tuple[Path, ...], project_dir: Path, exit_zero: bool, fmt: str, **flags: Any
) -> None:
    """Check Lambda packages (zips or folders; the function first, then its layers).

    With no PATHS, lints the project's built zip (its `output`, default dist/<name>.zip)."""
    from lpack.inspect.lint import LintOptions, lint_paths
    from lpack.render import json as render_json
    from lpack.render.console import make_console
    from lpack.render.github import findings_github
    from lpack.render.sarif import findings_sarif
    from lpack.render.text import print_findings

    try:
        spec = load_artifact(project_dir, spec_from_flags(flags))
        if not paths:
            if not spec.output_path.is_file():
                raise ConfigError(
                    f"No PATH given and the project's zip {spec.output_path} does not exist.",
                    hint="run `lpack build` first, or pass the zip or folder to lint.",
                )
            paths = (spec.output_path,)
        findings = lint_paths(list(paths), spec.target, LintOptions.for_artifact(spec))
    except LpackError as exc:
        fail(exc, "json" if fmt in ("json", "sarif") else "text")
    if fmt == "json":
        print(render_json.dumps(render_json.findings_json(findings, spec.target)))
    elif fmt == "sarif":
        print(render_json.dumps(findings_sarif(findings)))
    elif fmt == "github":
        sys.stdout.write(findings_github(findings))
    else:
        print_findings(make_console(), findings)
    errors = sum(1 for f in findings if f.severity == "error")
    sys.exit(EXIT_FINDINGS if errors and not exit_zero else EXIT_OK)


def _write_output(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_atomic(output, text.encode())
    except OSError as exc:
        raise ConfigError(f"Cannot write {output}: {exc.strerror or exc}.") from exc


@click.command(name="report")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@project_option
@target_options
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
    path: Path, project_dir: Path, depth: int, fmt: str, output: Path | None, **flags: Any
) -> None:
    """Where the bytes go in PATH (a zip, a folder, or a project, which is built first)."""
    from lpack.render import json as render_json
    from lpack.render.console import make_console
    from lpack.render.html import render_html
    from lpack.render.markdown import report_markdown
    from lpack.render.text import print_report
    from lpack.sizing import report_of

    try:
        report = report_of(path, project_dir, spec_from_flags(flags))
        if fmt == "json":
            _write_output(render_json.dumps(report.to_json()) + "\n", output)
        elif fmt == "markdown":
            _write_output(report_markdown(report), output)
        elif fmt == "html":
            _write_output(render_html(report), output)
        else:
            print_report(make_console(), report, depth)
    except LpackError as exc:
        fail(exc, "json" if fmt == "json" else "text")


@click.command(name="diff")
@click.argument("old", type=click.Path(exists=True, path_type=Path))
@click.argument("new", type=click.Path(exists=True, path_type=Path))
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
@click.argument("path", type=click.Path(exists=True, path_type=Path))
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
    fmt: str | None,
    **flags: Any,
) -> None:
    """Fail (exit 1) when PATH grew past the thresholds against --baseline, or broke a budget."""
    from lpack.inspect.gate import GateThresholds, write_baseline
    from lpack.render import json as render_json
    from lpack.render.console import make_console
    from lpack.render.github import gate_github
    from lpack.render.markdown import gate_markdown
    from lpack.render.text import print_gate
    from lpack.sizing import GateRequest, gate_package, report_of

    fmt = fmt or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    cli = spec_from_flags(flags)
    thresholds = GateThresholds(max_growth_bytes, max_growth_percent, min_bytes)
    try:
        if update_baseline:
            written = write_baseline(baseline, report_of(path, project_dir, cli))
            click.echo(
                f"wrote baseline {baseline}: {written.unzipped_size:,} B unzipped, "
                f"{len(written.distributions)} distributions"
            )
            return
        result = gate_package(GateRequest(path, baseline, thresholds, project_dir, cli))
    except LpackError as exc:
        fail(exc, "json" if fmt == "json" else "text")
    markdown = gate_markdown(result)
    if fmt == "json":
        print(render_json.dumps(result.to_json()))
    elif fmt == "markdown":
        sys.stdout.write(markdown + "\n")
    elif fmt == "github":
        sys.stdout.write(gate_github(result, path, baseline))
    else:
        print_gate(make_console(), result)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:  # GitHub shows this file on the run's page
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")
    sys.exit(EXIT_OK if result.ok else EXIT_FINDINGS)


COMMANDS = [verify_command, lint_command, report_command, diff_command, gate_command]
