"""build, lock and check: the commands that resolve and write."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from lpack.cli.options import (
    artifact_option,
    budget_options,
    fail,
    format_option,
    project_and_names,
    project_argument,
    requirement_options,
    slim_options,
    spec_from_flags,
    split_project_args,
    target_options,
    upload_option,
    verbosity,
    verbosity_options,
)
from lpack.errors import EXIT_FINDINGS, EXIT_OK, ConfigError, LpackError
from lpack.settings import ArtifactSpec, Project, load_project

if TYPE_CHECKING:
    from lpack.build import BuildResult
    from lpack.project import ProjectBuild
    from lpack.unchanged import Inputs


@click.command()
@project_and_names
@target_options
@requirement_options
@format_option("text", "json")
@verbosity_options
@click.option("--source", help="Folder with the function's code (default: the project folder).")
@click.option("--handler", help="Handler as Lambda names it, e.g. app.lambda_handler.")
@click.option("--output", "-o", help="Zip to write (default dist/<name>.zip).")
@click.option("--include", multiple=True, help="Only ship source files matching this glob.")
@click.option("--exclude", multiple=True, help="Do not ship source files matching this glob.")
@upload_option
@budget_options
@slim_options
@click.option(
    "--bytecode/--no-bytecode",
    default=None,
    help="Ship .pyc compiled by the target's Python (needs python3.X on this machine): "
    "faster cold starts, a bigger zip (default: `bytecode` in [tool.lpack], else off).",
)
@click.option(
    "--compression",
    type=click.Choice(["fast", "default", "smallest"]),
    help="default: every file at libdeflate -10 (cached per file); smallest: -12; "
    "fast: wheel members as their wheels compressed them.",
)
@click.option(
    "--list",
    "list_only",
    is_flag=True,
    help="List the project's artifacts (functions and layers) without building.",
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
@click.option("--force", is_flag=True, help="Replace an existing output file that is not a zip.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Build even when nothing changed since the last build (which leaves the zip as it is).",
)
def build(
    args: tuple[str, ...],
    fmt: str,
    list_only: bool,
    refresh_lock: bool,
    locked: bool,
    dry_run: bool,
    verify_after: bool,
    force: bool,
    rebuild: bool,
    **flags: Any,
) -> None:
    """Build PROJECT_DIR: every function and layer it declares, or those NAMEd (with the
    layers they use); a project without [tool.lpack.functions] is one function."""
    from lpack.render.console import make_console

    if dry_run and verify_after:
        fail(
            ConfigError(
                "--dry-run writes no zip, so there is nothing to --verify.",
                hint="drop one of the two options.",
            ),
            fmt,
        )
    console = make_console()
    try:
        project_dir, names = split_project_args(args)
        project = load_project(project_dir, spec_from_flags(flags))
        if fmt == "text" and verbosity() >= 0 and project.root != project_dir.resolve():
            _say_found(console, project.root, project_dir)
        if list_only:
            _print_list(project, names, fmt, console)
            sys.exit(EXIT_OK)
        options = BuildFlags(refresh_lock, locked, dry_run, verify_after, force, rebuild)
        for name in names:
            project.artifact(name)  # an unknown name is an error, whatever the project
        if project.declared:
            failed = _build_project(project, names, options, fmt, console)
        else:
            failed = _build_function(
                project.artifact(names[0]) if names else project.function, options, fmt, console
            )
    except LpackError as exc:
        fail(exc, fmt)
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)


def _say_found(console: Console, root: Path, start: Path) -> None:
    """The project was found above the folder the build started from (find_project_dir)."""
    from lpack.render.console import line

    line(console, "project", escape(f"{root} (found above {start.resolve()})"))


@dataclass(frozen=True)
class BuildFlags:
    refresh_lock: bool
    locked: bool
    dry_run: bool
    verify: bool
    force: bool = False
    rebuild: bool = False


def _build_function(spec: ArtifactSpec, flags: BuildFlags, fmt: str, console: Console) -> bool:
    """One function, as a project without artifact tables has; True when it failed."""
    from lpack import unchanged

    inputs = unchanged.function_inputs(spec)
    # --verify builds: its import test needs what the build leaves to the runtime (LP808).
    if not (flags.dry_run or flags.refresh_lock or flags.rebuild or flags.verify):
        report = unchanged.unchanged_report(spec, inputs)
        if report is not None:
            return _report_unchanged(report, fmt, console)
    result = _run_build(spec, flags, fmt, console)
    if not flags.dry_run:
        _remember(spec, result, inputs)
    return _report_build(result, flags, fmt, console)


def _run_build(spec: ArtifactSpec, flags: BuildFlags, fmt: str, console: Console) -> BuildResult:
    from lpack.build import Progress
    from lpack.build import build as run_build
    from lpack.render.console import line, wants_live_display
    from lpack.render.stages import StageDisplay

    def run(progress: Progress | None = None) -> BuildResult:
        return run_build(
            spec,
            progress,
            refresh_lock=flags.refresh_lock,
            locked=flags.locked,
            dry_run=flags.dry_run,
            force=flags.force,
        )

    if fmt != "text":
        return run()  # stdout is one JSON document
    quiet = verbosity() < 0
    live = wants_live_display(console) and not quiet
    if quiet or flags.dry_run:  # a dry run's report repeats its stages in detail
        with StageDisplay(console, live, stream=False) as display:
            return run(display)
    line(console, "target", escape(spec.target.describe()))
    with StageDisplay(console, live) as display:
        return run(display)


def _remember(spec: ArtifactSpec, result: BuildResult, before: Inputs) -> None:
    """Record a build that passed for the next one to confirm; a source file edited while
    it ran (the zip may hold the old bytes) or a failure records nothing."""
    from lpack import unchanged
    from lpack.render import json as render_json

    after = unchanged.function_inputs(spec)
    if result.ok and result.archive and after.same_run(before, spec, result.lock):
        report = render_json.build_json(result)
        unchanged.remember(spec, after, result.archive.sha256, report)
    else:
        unchanged.forget(spec)


def _report_build(result: BuildResult, flags: BuildFlags, fmt: str, console: Console) -> bool:
    from lpack.build import verify_build
    from lpack.render import build_text, github, text
    from lpack.render import json as render_json

    if flags.dry_run:
        if fmt == "json":
            print(render_json.dumps(render_json.dry_run_json(result)))
        else:
            build_text.print_dry_run(console, result)
        return False
    verified = verify_build(result) if flags.verify else None
    if fmt == "json":
        print(render_json.dumps(render_json.build_json(result, verified)))
    else:
        build_text.print_build(
            console, result, streamed=True, quiet=verbosity() < 0, verbose=verbosity() > 0
        )
        if verified is not None:
            text.print_verify(console, verified, verbose=verbosity() > 0)
    github.announce_build(result)  # annotations and job summary, in GitHub Actions only
    return not result.ok or (verified is not None and not verified.ok)


def _report_unchanged(report: dict[str, Any], fmt: str, console: Console) -> bool:
    """What the last build reported, for a zip its inputs would make again byte for byte.
    Loads only what it prints: this path is the whole of a rebuild that changes nothing."""
    from lpack.render import unchanged as render_unchanged

    if fmt == "json":
        print(render_unchanged.dumps(report))
    elif verbosity() >= 0:  # quiet: a build that passed says nothing
        render_unchanged.print_unchanged(console, report)
    return False  # only a build that passed is recorded


def _build_project(
    project: Project, names: list[str], flags: BuildFlags, fmt: str, console: Console
) -> bool:
    """Every selected artifact; True when one of them failed a limit, lint or verify."""
    from lpack.project import build_project, verify_project
    from lpack.render import github, text
    from lpack.render import json as render_json
    from lpack.render.console import wants_live_display
    from lpack.render.stages import StageDisplay

    count = len(project.select(names))

    def run(on_done: Callable[[str], None] = lambda name: None) -> ProjectBuild:
        return build_project(
            project,
            names,
            refresh_lock=flags.refresh_lock,
            locked=flags.locked,
            dry_run=flags.dry_run,
            on_done=on_done,
            force=flags.force,
            rebuild=flags.rebuild,
        )

    if fmt == "text" and wants_live_display(console) and verbosity() >= 0:
        with StageDisplay(console, live=True, stream=False) as progress:
            progress.start("build", f"building {count} artifacts", total=count)
            built = run(lambda name: progress.advance())
    else:
        built = run()
    verified = verify_project(built) if flags.verify else {}
    if fmt == "json":
        print(render_json.dumps(render_json.project_build_json(built, verified)))
    else:
        text.print_project_build(console, built, verified, verbosity())
    for outcome in built.outcomes:  # in GitHub Actions: annotations and job summary
        if outcome.result is not None:
            github.announce_build(outcome.result)
    return not built.ok or any(not v.ok for v in verified.values())


def _print_list(project: Project, names: list[str], fmt: str, console: Console) -> None:
    from lpack.render import json as render_json
    from lpack.render import text

    specs = project.select(names)
    if fmt == "json":
        print(render_json.dumps(render_json.artifacts_json(project, specs)))
    else:
        text.print_artifacts(console, project, specs)


@click.command(name="lock")
@project_and_names
@target_options
@requirement_options
@format_option("text", "json")
@click.option("--upgrade", "-U", is_flag=True, help="Upgrade every pin to the newest release.")
@click.option(
    "--upgrade-package",
    "-P",
    multiple=True,
    metavar="NAME",
    help="Upgrade only this package (repeatable).",
)
def lock_command(
    args: tuple[str, ...], fmt: str, upgrade: bool, upgrade_package: tuple[str, ...], **flags: Any
) -> None:
    """Resolve the requirements of PROJECT_DIR (or of its NAMEd artifacts, layers first) for
    their targets and write their locks."""
    from lpack.project import lock_project
    from lpack.render import json as render_json
    from lpack.render.console import make_console
    from lpack.render.text import print_lock

    try:
        project_dir, names = split_project_args(args)
        project = load_project(project_dir, spec_from_flags(flags))
        specs = project.select(names) if project.declared else [project.function]
        for name in names:
            project.artifact(name)
        locks = lock_project(
            project, specs, refresh=True, upgrade=upgrade, upgrade_packages=upgrade_package
        )
    except LpackError as exc:
        fail(exc, fmt)
    results = [locks[s.name] for s in specs]
    if fmt == "json" and not project.declared:
        print(render_json.dumps(render_json.lock_json(results[0])))
    elif fmt == "json":
        documents = [render_json.lock_json(r) for r in results]
        print(render_json.dumps({"version": 1, "command": "lock", "artifacts": documents}))
    else:
        for result in results:
            print_lock(make_console(), result)


@click.command(name="check")
@project_argument
@target_options
@artifact_option
def check_command(project_dir: Path, artifacts: tuple[str, ...], **flags: Any) -> None:
    """Fast pre-commit check: the locks are current for their targets and every artifact
    stays within its limits and budgets (a cached result is reused while nothing changed)."""
    from lpack.precommit import check, check_project

    try:
        project = load_project(project_dir, spec_from_flags(flags))
        if project.declared:
            results = check_project(project, artifacts)
        else:
            results = [check(project.artifact(artifacts[0]) if artifacts else project.function)]
    except LpackError as exc:
        fail(exc, "text")
    for result in results:
        click.echo(result.message)
    sys.exit(EXIT_OK if all(r.ok for r in results) else EXIT_FINDINGS)


COMMANDS = [build, lock_command, check_command]
