"""Command line: parses options, calls the services, turns errors into exit codes."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from lpack import __version__
from lpack.config import UPLOAD_MODES, load_config, parse_size
from lpack.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, ConfigError, LpackError
from lpack.target import arches, runtimes


def _console(stderr: bool = False) -> Console:
    # emoji=False: a path like "c/up" must not turn into an emoji code's picture.
    console = Console(stderr=stderr, highlight=False, emoji=False)
    if not console.is_terminal:  # logs and CI: no wrapping at 80 columns
        console = Console(stderr=stderr, highlight=False, emoji=False, width=160)
    return console


def _fail(error: LpackError, fmt: str) -> None:
    from lpack import render

    if fmt == "json":
        print(__import__("json").dumps(render.error_json(error), indent=2))
    render.print_error(_console(stderr=True), error)
    sys.exit(error.exit_code)


def _size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_size(param.name or "size", value)
    except ConfigError as exc:
        raise click.BadParameter(exc.message) from exc


def target_options(f: Any) -> Any:
    f = click.option("--arch", type=click.Choice(arches()), help="Lambda architecture.")(f)
    f = click.option(
        "--runtime",
        type=click.Choice(list(runtimes())),
        help="Lambda runtime (default python3.12).",
    )(f)
    f = click.option(
        "--requirements",
        "-r",
        help="Requirements input (requirements.in, requirements.txt or pyproject.toml).",
    )(f)
    f = click.option(
        "--extra",
        "extras",
        multiple=True,
        help="Optional-dependency group of pyproject.toml to include.",
    )(f)
    f = click.option("--lock", "lock_file", help="Lock file path (default lpack.lock).")(f)
    f = click.option(
        "--allow-sdist",
        multiple=True,
        metavar="NAME",
        help="Allow building this package's pure-Python sdist (:all: for any).",
    )(f)
    f = click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output format.",
    )(f)
    f = click.argument(
        "project_dir", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
    )(f)
    return f


def project_target_options(f: Any) -> Any:
    """--project (whose [tool.lpack] gives defaults), --runtime and --arch, for commands
    that read a package rather than build one."""
    f = click.option("--arch", type=click.Choice(arches()), help="Lambda architecture.")(f)
    f = click.option("--runtime", type=click.Choice(list(runtimes())), help="Lambda runtime.")(f)
    return click.option(
        "--project",
        "project_dir",
        default=".",
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Project whose [tool.lpack] gives the runtime, handler and settings.",
    )(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lpack")
def cli() -> None:
    """Build, lint and size-gate AWS Lambda deployment packages for Python."""


@cli.command()
@target_options
@click.option("--source", help="Folder with the function's code (default: the project folder).")
@click.option("--handler", help="Handler as Lambda names it, e.g. app.lambda_handler.")
@click.option("--output", "-o", help="Zip to write (default dist/<name>.zip).")
@click.option("--include", multiple=True, help="Only ship source files matching this glob.")
@click.option("--exclude", multiple=True, help="Do not ship source files matching this glob.")
@click.option(
    "--upload",
    type=click.Choice(UPLOAD_MODES),
    help="How the zip reaches Lambda: direct (50 MiB zipped limit applies) or s3.",
)
@click.option("--max-zipped", callback=_size, help='Budget for the zip, e.g. "40 MiB".')
@click.option("--max-unzipped", callback=_size, help="Budget for the unzipped package.")
@click.option(
    "--no-slim", is_flag=True, help="Ship dependencies exactly as their wheels hold them."
)
@click.option(
    "--slim-enable",
    multiple=True,
    metavar="CODE",
    help="Turn on an off-by-default slim category (LP808: runtime-provided SDK).",
)
@click.option("--slim-disable", multiple=True, metavar="CODE", help="Turn off a slim category.")
@click.option("--keep", multiple=True, metavar="GLOB", help="Never slim files matching GLOB.")
@click.option(
    "--drop", multiple=True, metavar="GLOB", help="Also drop dependency files matching GLOB."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Resolve, fetch and list what slimming would remove; write nothing.",
)
@click.option(
    "--verify",
    "verify_after",
    is_flag=True,
    help="After writing, import the package as Lambda would (lpack verify).",
)
@click.option("--refresh-lock", is_flag=True, help="Re-resolve even if the lock is current.")
@click.option("--locked", is_flag=True, help="Fail instead of updating a stale lock (for CI).")
def build(
    project_dir: Path,
    fmt: str,
    refresh_lock: bool,
    locked: bool,
    lock_file: str | None,
    no_slim: bool,
    slim_enable: tuple[str, ...],
    slim_disable: tuple[str, ...],
    keep: tuple[str, ...],
    drop: tuple[str, ...],
    dry_run: bool,
    verify_after: bool,
    **options: Any,
) -> None:
    """Resolve, fetch, slim and write a reproducible Lambda zip for PROJECT_DIR."""
    from lpack import render
    from lpack.build import build as run_build

    options["lock"] = lock_file
    slim_flags: dict[str, Any] = {}
    if no_slim:
        slim_flags["enabled"] = False
    for key, values in (
        ("enable", slim_enable),
        ("disable", slim_disable),
        ("keep", keep),
        ("drop", drop),
    ):
        if values:
            slim_flags[key] = list(values)
    options["slim"] = slim_flags
    if dry_run and verify_after:
        _fail(
            ConfigError(
                "--dry-run writes no zip, so there is nothing to --verify.",
                hint="drop one of the two options.",
            ),
            fmt,
        )
    try:
        config = load_config(project_dir, options)
        console = _console()
        interactive = fmt == "text" and console.is_terminal
        if interactive:
            with render.RichProgress(console) as progress:
                result = run_build(
                    config, progress, refresh_lock=refresh_lock, locked=locked, dry_run=dry_run
                )
        else:
            result = run_build(config, refresh_lock=refresh_lock, locked=locked, dry_run=dry_run)
    except LpackError as exc:
        _fail(exc, fmt)
    except KeyboardInterrupt:
        sys.exit(130)
    if dry_run:
        if fmt == "json":
            print(__import__("json").dumps(render.dry_run_json(result), indent=2))
        else:
            render.print_dry_run(console, result)
        sys.exit(EXIT_OK)
    verified = None
    if verify_after:
        try:
            verified = _verify_build(result, config)
        except LpackError as exc:
            _fail(exc, fmt)
    if fmt == "json":
        data = render.build_json(result)
        if verified is not None:
            data["verify"] = render.verify_json(verified)
        print(__import__("json").dumps(data, indent=2))
    else:
        render.print_build(console, result)
        if verified is not None:
            render.print_verify(console, verified)
    failed = result.exceeded or result.lint_errors or (verified is not None and not verified.ok)
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)


def _verify_build(result: Any, config: Any) -> Any:
    """Verify what build wrote; what LP808 left to the runtime stands in for its SDK."""
    import tempfile

    from lpack.archive import write_zip
    from lpack.verify import verify as run_verify

    assert result.archive is not None
    with tempfile.TemporaryDirectory(prefix="lpack-sdk-") as tmp:
        sdk = None
        if result.slim.runtime_entries:
            sdk = write_zip(result.slim.runtime_entries, Path(tmp) / "runtime-sdk.zip").path
        return run_verify(
            result.archive.path,
            config.target,
            handler=result.handler.handler,
            name=config.name,
            runtime_sdk=sdk,
        )


@cli.command(name="verify")
@click.argument("artifact", type=click.Path(dir_okay=False, path_type=Path))
@project_target_options
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
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
def verify_command(
    artifact: Path,
    project_dir: Path,
    runtime: str | None,
    arch: str | None,
    handler: str | None,
    event_file: Path | None,
    layers: tuple[Path, ...],
    skip: tuple[str, ...],
    fmt: str,
) -> None:
    """Import ARTIFACT (a Lambda zip) as Lambda would: isolated, read-only, unprivileged."""
    from lpack import render
    from lpack.verify import verify as run_verify

    try:
        config = load_config(project_dir, {"runtime": runtime, "arch": arch})
        result = run_verify(
            artifact,
            config.target,
            handler=handler or config.handler,
            event_file=event_file,
            layers=list(layers),
            skip=list(skip),
            name=config.name,
        )
    except LpackError as exc:
        _fail(exc, fmt)
    if fmt == "json":
        print(__import__("json").dumps(render.verify_json(result), indent=2))
    else:
        render.print_verify(_console(), result)
    sys.exit(EXIT_OK if result.ok else EXIT_FINDINGS)


@cli.command(name="lock")
@target_options
@click.option("--upgrade", "-U", is_flag=True, help="Upgrade every pin to the newest release.")
@click.option(
    "--upgrade-package",
    "-P",
    multiple=True,
    metavar="NAME",
    help="Upgrade only this package (repeatable).",
)
def lock_command(
    project_dir: Path,
    fmt: str,
    upgrade: bool,
    upgrade_package: tuple[str, ...],
    lock_file: str | None,
    **options: Any,
) -> None:
    """Resolve PROJECT_DIR's requirements for the target and write the lock."""
    from lpack import render
    from lpack.lock import lock

    options["lock"] = lock_file
    try:
        config = load_config(project_dir, options)
        result = lock(config, refresh=True, upgrade=upgrade, upgrade_packages=upgrade_package)
    except LpackError as exc:
        _fail(exc, fmt)
    if fmt == "json":
        print(__import__("json").dumps(render.lock_json(result), indent=2))
    else:
        render.print_lock(_console(), result)


@cli.command(name="lint")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@project_target_options
@click.option("--handler", help="Handler to check, e.g. app.lambda_handler.")
@click.option(
    "--upload", type=click.Choice(UPLOAD_MODES), help="direct (50 MiB zipped applies) or s3."
)
@click.option("--max-zipped", callback=_size, help="Budget for the zip.")
@click.option("--max-unzipped", callback=_size, help="Budget for function plus layers, unzipped.")
@click.option("--select", multiple=True, metavar="CODE", help="Only these codes or prefixes.")
@click.option("--extend-select", multiple=True, metavar="CODE", help="Add codes or prefixes.")
@click.option("--ignore", multiple=True, metavar="CODE", help="Skip codes or prefixes.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when errors are found.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github", "sarif"]),
    default="text",
    show_default=True,
    help="Output format.",
)
def lint_command(
    paths: tuple[Path, ...],
    project_dir: Path,
    runtime: str | None,
    arch: str | None,
    handler: str | None,
    upload: str | None,
    max_zipped: int | None,
    max_unzipped: int | None,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    exit_zero: bool,
    fmt: str,
) -> None:
    """Check Lambda packages (zips or folders; the function first, then its layers).

    With no PATHS, lints the project's built zip (its `output`, default dist/<name>.zip)."""
    import json

    from lpack import render
    from lpack.lint import lint_paths, options_from_config

    lint_flags = {
        k: list(v)
        for k, v in (("select", select), ("extend-select", extend_select), ("ignore", ignore))
        if v
    }
    try:
        config = load_config(
            project_dir,
            {
                "runtime": runtime,
                "arch": arch,
                "upload": upload,
                "max_zipped": max_zipped,
                "max_unzipped": max_unzipped,
                "lint": lint_flags,
            },
        )
        if select:  # --select replaces the configured selection, as in ruff
            config.lint["select"] = list(select)
        if not paths:
            if not config.output_path.is_file():
                raise ConfigError(
                    f"No PATH given and the project's zip {config.output_path} does not exist.",
                    hint="run `lpack build` first, or pass the zip or folder to lint.",
                )
            paths = (config.output_path,)
        options = options_from_config(config, handler)
        findings = lint_paths(list(paths), config.target, options)
    except LpackError as exc:
        _fail(exc, "json" if fmt in ("json", "sarif") else "text")
    if fmt == "json":
        print(json.dumps(render.findings_json(findings, config.target), indent=2))
    elif fmt == "sarif":
        print(json.dumps(render.findings_sarif(findings), indent=2))
    elif fmt == "github":
        sys.stdout.write(render.findings_github(findings))
    else:
        render.print_findings_text(_console(), findings)
    errors = sum(1 for f in findings if f.severity == "error")
    sys.exit(EXIT_FINDINGS if errors and not exit_zero else EXIT_OK)


def _is_project(path: Path) -> bool:
    """A folder lpack builds (it has lpack's config or lock), not a package folder."""
    if not path.is_dir():
        return False
    if (path / "lpack.lock").is_file():
        return True
    pyproject = path / "pyproject.toml"
    return pyproject.is_file() and "[tool.lpack" in pyproject.read_text(errors="replace")


def _report_of(
    path: Path, project_dir: Path, runtime: str | None, arch: str | None
) -> dict[str, Any]:
    """A report document for a zip, a package folder, a report JSON, or a project (built)."""
    from lpack.contents import read_contents
    from lpack.report import load_report_json, make_report

    if path.is_file() and path.suffix == ".json":
        return load_report_json(path)
    if _is_project(path):
        from lpack.build import build as run_build

        config = load_config(path, {"runtime": runtime, "arch": arch})
        result = run_build(config)
        assert result.archive is not None
        contents = read_contents(result.archive.path)
        label = result.lock.requirements.label
    else:
        config = load_config(project_dir, {"runtime": runtime, "arch": arch})
        contents = read_contents(path)
        label = "your requirements"
    try:
        return make_report(contents, config.target, label).as_json()
    finally:
        contents.close()


def _write_output(text: str, output: Path | None) -> None:
    from lpack.cache import write_atomic

    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_atomic(output, text.encode())
    except OSError as exc:
        raise ConfigError(f"Cannot write {output}: {exc.strerror or exc}.") from exc


_REPORT_FORMATS = click.Choice(["text", "json", "markdown", "html"])


@cli.command(name="report")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@project_target_options
@click.option(
    "--depth",
    default=2,
    show_default=True,
    type=click.IntRange(1, 20),
    help="Folder levels in the text tree.",
)
@click.option("--format", "fmt", type=_REPORT_FORMATS, default="text", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def report_command(
    path: Path,
    project_dir: Path,
    runtime: str | None,
    arch: str | None,
    depth: int,
    fmt: str,
    output: Path | None,
) -> None:
    """Where the bytes go in PATH (a zip, a folder, or a project, which is built first)."""
    import json

    from lpack import render
    from lpack.html_report import render_html

    try:
        report = _report_of(path, project_dir, runtime, arch)
        if fmt == "json":
            _write_output(json.dumps(report, indent=2) + "\n", output)
        elif fmt == "markdown":
            _write_output(render.report_markdown(report), output)
        elif fmt == "html":
            _write_output(render_html(report), output)
        else:
            render.print_report(_console(), report, depth)
    except LpackError as exc:
        _fail(exc, "json" if fmt == "json" else "text")


@cli.command(name="diff")
@click.argument("old", type=click.Path(exists=True, path_type=Path))
@click.argument("new", type=click.Path(exists=True, path_type=Path))
@project_target_options
@click.option("--format", "fmt", type=_REPORT_FORMATS, default="text", show_default=True)
def diff_command(
    old: Path, new: Path, project_dir: Path, runtime: str | None, arch: str | None, fmt: str
) -> None:
    """Per-distribution size changes from OLD to NEW (zips, folders or report JSONs)."""
    import json

    from lpack import render
    from lpack.gate import diff_reports

    try:
        result = diff_reports(
            _report_of(old, project_dir, runtime, arch), _report_of(new, project_dir, runtime, arch)
        )
    except LpackError as exc:
        _fail(exc, fmt)
    if fmt == "json":
        print(json.dumps(result, indent=2))
    elif fmt == "markdown":
        sys.stdout.write(render.diff_markdown(result))
    elif fmt == "html":
        from lpack.html_report import render_diff_html

        sys.stdout.write(render_diff_html(result))
    else:
        render.print_diff(_console(), result)


@cli.command(name="gate")
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
    callback=_size,
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
    callback=_size,
    default="100 KiB",
    show_default=True,
    help="Growth below this never fails (small packages do not flap).",
)
@project_target_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "github"]),
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
    runtime: str | None,
    arch: str | None,
    fmt: str | None,
) -> None:
    """Fail (exit 1) when PATH grew past the thresholds against --baseline, or broke a budget."""
    import json
    import os

    from lpack import render
    from lpack.contents import read_contents
    from lpack.gate import GateThresholds, gate, read_baseline, write_baseline
    from lpack.lint import LintOptions, lint

    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    fmt = fmt or ("github" if in_actions else "text")
    try:
        report = _report_of(path, project_dir, runtime, arch)
        if update_baseline:
            write_baseline(baseline, report)
            click.echo(
                f"wrote baseline {baseline}: {report['unzipped_size']:,} B unzipped, "
                f"{len(report['distributions'])} distributions"
            )
            return
        base = read_baseline(baseline, report)
        config = load_config(project_dir, {"runtime": runtime, "arch": arch})
        budget_failures: list[str] = []
        artifact = Path(report["artifact"])
        if artifact.exists():
            contents = read_contents(artifact)
            try:
                options = LintOptions(
                    select=["LP101", "LP102", "LP103"],
                    upload=config.upload,
                    max_zipped=config.max_zipped,
                    max_unzipped=config.max_unzipped,
                )
                budget_failures = [f.message for f in lint([contents], config.target, options)]
            finally:
                contents.close()
        result = gate(
            report,
            base,
            GateThresholds(max_growth_bytes, max_growth_percent, min_bytes),
            budget_failures,
        )
    except LpackError as exc:
        _fail(exc, "json" if fmt == "json" else "text")
    title = f"lpack gate: {'passed' if result.ok else 'FAILED'}"
    markdown = render.diff_markdown(result.diff, title) + "".join(
        f"\n- **{failure}**" for failure in result.failures
    )
    if fmt == "json":
        print(
            json.dumps(
                {
                    "version": 1,
                    "command": "gate",
                    "ok": result.ok,
                    "failures": result.failures,
                    "diff": result.diff,
                },
                indent=2,
            )
        )
    elif fmt == "markdown":
        sys.stdout.write(markdown + "\n")
    elif fmt == "github":
        for failure in result.failures:
            print(
                f"::error file={render._gh_escape(str(path), True)},title=lpack gate::"
                f"{render._gh_escape(failure)}"
            )
        delta = result.diff["unzipped_delta"]
        print(f"::notice title=lpack gate::unzipped {delta:+,} B against {baseline}")
    else:
        render.print_diff(_console(), result.diff)
        for failure in result.failures:
            click.echo(f"gate: FAIL {failure}")
        click.echo("gate: passed" if result.ok else "gate: failed")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")
    sys.exit(EXIT_OK if result.ok else EXIT_FINDINGS)


@cli.command(name="check")
@click.argument(
    "project_dir", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)
@click.option("--runtime", type=click.Choice(list(runtimes())), help="Lambda runtime.")
@click.option("--arch", type=click.Choice(arches()), help="Lambda architecture.")
def check_command(project_dir: Path, runtime: str | None, arch: str | None) -> None:
    """Fast pre-commit check: the lock is current for the target and the package stays
    within its limits and budgets (a cached result is reused while nothing changed)."""
    from lpack.precommit import check

    try:
        ok, message = check(load_config(project_dir, {"runtime": runtime, "arch": arch}))
    except LpackError as exc:
        _fail(exc, "text")
    click.echo(message)
    sys.exit(EXIT_OK if ok else EXIT_FINDINGS)


@cli.command(name="rules")
def rules_command() -> None:
    """List every coded rule: lint checks (LP1xx-LP5xx) and slimming categories (LP8xx)."""
    from lpack.lint import catalog
    from lpack.slim import categories

    for code, rule in catalog().items():
        click.echo(f"{code}  {rule.severity:<7}  {rule.name:<26} {rule.summary}")
    for code, cat in categories().items():
        state = "slim on" if cat.default else "slim off"
        click.echo(f"{code}  {state:<7}  {cat.name:<26} {cat.summary}")


@cli.command(name="explain")
@click.argument("code")
def explain_command(code: str) -> None:
    """Explain one rule: what it flags or removes, why, and how to fix it."""
    from lpack.lint import catalog
    from lpack.slim import categories

    code = code.upper()
    rule = catalog().get(code)
    if rule is not None:
        click.echo(f"{rule.code} {rule.name} ({rule.severity})\n")
        click.echo(f"{rule.summary}.\n")
        click.echo(f"Why: {rule.why}\n")
        click.echo(f"Example: {rule.example}\n")
        click.echo(f"Fix: {rule.fix}")
        for key, value in rule.params.items():
            click.echo(f"\nSetting: [tool.lpack.lint] {key} (default {value}).")
        return
    cat = categories().get(code)
    if cat is None:
        click.echo(f"error: unknown rule code {code!r}; `lpack rules` lists them.", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"{cat.code} {cat.name} (slimming, {'on' if cat.default else 'off'} by default)\n")
    click.echo(f"{cat.summary}.\n")
    click.echo(f"Why it is safe: {cat.why}\n")
    click.echo(f"What it saves: {cat.saves}.")
    if not cat.default:
        click.echo(
            f"\nTurn it on with --slim-enable {cat.code} or "
            f'[tool.lpack.slim] enable = ["{cat.code}"].'
        )


@cli.command(name="runtimes")
def runtimes_command() -> None:
    """List the Lambda runtimes lpack targets, with their OS and glibc."""
    from lpack.target import Target

    for name in runtimes():
        t = Target.from_names(name, "x86_64")
        click.echo(
            f"{name:<11} Python {t.python_version[0]}.{t.python_version[1]}  "
            f"{t.os_name:<18} glibc {t.glibc_text}  arches: {', '.join(arches())}"
        )


def main() -> None:
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    try:
        cli.main(prog_name="lpack", standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # a bug: still exit 2 with a short message, not a bare traceback
        if os.environ.get("LPACK_DEBUG"):
            raise
        click.echo(
            f"error: internal error: {type(exc).__name__}: {exc} "
            "(set LPACK_DEBUG=1 for the traceback and report it)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
