"""build, lock and check: the commands that resolve and write."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from lpack.cli.options import (
    budget_options,
    fail,
    format_option,
    project_argument,
    requirement_options,
    slim_options,
    spec_from_flags,
    target_options,
    upload_option,
)
from lpack.errors import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, ConfigError, LpackError
from lpack.settings import load_artifact


@click.command()
@project_argument
@target_options
@requirement_options
@format_option("text", "json")
@click.option("--source", help="Folder with the function's code (default: the project folder).")
@click.option("--handler", help="Handler as Lambda names it, e.g. app.lambda_handler.")
@click.option("--output", "-o", help="Zip to write (default dist/<name>.zip).")
@click.option("--include", multiple=True, help="Only ship source files matching this glob.")
@click.option("--exclude", multiple=True, help="Do not ship source files matching this glob.")
@upload_option
@budget_options
@slim_options
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
    dry_run: bool,
    verify_after: bool,
    **flags: Any,
) -> None:
    """Resolve, fetch, slim and write a reproducible Lambda zip for PROJECT_DIR."""
    from lpack.build import build as run_build
    from lpack.build import verify_build
    from lpack.render import json as render_json
    from lpack.render import text
    from lpack.render.console import make_console
    from lpack.render.progress import RichProgress

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
        spec = load_artifact(project_dir, spec_from_flags(flags))
        if fmt == "text" and console.is_terminal:
            with RichProgress(console) as progress:
                result = run_build(
                    spec, progress, refresh_lock=refresh_lock, locked=locked, dry_run=dry_run
                )
        else:
            result = run_build(spec, refresh_lock=refresh_lock, locked=locked, dry_run=dry_run)
        verified = verify_build(result) if verify_after else None
    except LpackError as exc:
        fail(exc, fmt)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    if dry_run:
        if fmt == "json":
            print(render_json.dumps(render_json.dry_run_json(result)))
        else:
            text.print_dry_run(console, result)
        sys.exit(EXIT_OK)
    if fmt == "json":
        print(render_json.dumps(render_json.build_json(result, verified)))
    else:
        text.print_build(console, result)
        if verified is not None:
            text.print_verify(console, verified)
    failed = not result.ok or (verified is not None and not verified.ok)
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)


@click.command(name="lock")
@project_argument
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
    project_dir: Path, fmt: str, upgrade: bool, upgrade_package: tuple[str, ...], **flags: Any
) -> None:
    """Resolve PROJECT_DIR's requirements for the target and write the lock."""
    from lpack.render import json as render_json
    from lpack.render.console import make_console
    from lpack.render.text import print_lock
    from lpack.resolve.locking import lock

    try:
        spec = load_artifact(project_dir, spec_from_flags(flags))
        result = lock(spec, refresh=True, upgrade=upgrade, upgrade_packages=upgrade_package)
    except LpackError as exc:
        fail(exc, fmt)
    if fmt == "json":
        print(render_json.dumps(render_json.lock_json(result)))
    else:
        print_lock(make_console(), result)


@click.command(name="check")
@project_argument
@target_options
def check_command(project_dir: Path, **flags: Any) -> None:
    """Fast pre-commit check: the lock is current for the target and the package stays
    within its limits and budgets (a cached result is reused while nothing changed)."""
    from lpack.precommit import check

    try:
        result = check(load_artifact(project_dir, spec_from_flags(flags)))
    except LpackError as exc:
        fail(exc, "text")
    click.echo(result.message)
    sys.exit(EXIT_OK if result.ok else EXIT_FINDINGS)


COMMANDS = [build, lock_command, check_command]
