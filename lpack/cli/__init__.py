"""Command line: parse, call one service, render, exit (errors become exit codes in options.fail); the only user of click, and may import everything."""

from __future__ import annotations

import os
import signal
import sys

import click

from lpack import __version__
from lpack.errors import EXIT_INTERRUPTED, EXIT_USAGE


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lpack")
def cli() -> None:
    """Build, lint and size-gate AWS Lambda deployment packages for Python."""


def _register() -> None:
    from lpack.cli import building, info, inspecting

    for module in (building, inspecting, info):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


_SIGNALLED: list[int] = []


def _on_sigterm(signum: int, frame: object) -> None:
    # A cancelled CI job or `timeout`: unwind like Ctrl-C, so every temp file is removed
    # and the worker killed on the way out.
    _SIGNALLED.append(signum)
    raise KeyboardInterrupt


def main() -> None:
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli.main(prog_name="lpack", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("lpack: interrupted; nothing was left half-written.", err=True)
        sys.exit(128 + _SIGNALLED[0] if _SIGNALLED else EXIT_INTERRUPTED)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # usage errors: click's own message, exit 2
        exc.show()
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:  # a bug: still exit 2 with a short message, not a bare traceback
        if os.environ.get("LPACK_DEBUG"):
            raise
        message = (
            f"internal error: {type(exc).__name__}: {exc} "
            "(set LPACK_DEBUG=1 for the traceback and report it)"
        )
        click.echo(f"error: {message}", err=True)
        if _wants_json(sys.argv[1:]):  # machines read stdout: it stays one JSON document
            from lpack.errors import LpackError
            from lpack.render import json as render_json

            print(render_json.dumps(render_json.error_json(LpackError(message))))
        sys.exit(EXIT_USAGE)


def _wants_json(args: list[str]) -> bool:
    for i, arg in enumerate(args):
        if arg == "--format" and i + 1 < len(args):
            return args[i + 1] == "json"
        if arg == "--format=json":
            return True
    return False
