"""Command line: parse, call one service, render, exit (errors become exit codes in options.fail); the only user of click, and may import everything."""

from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
from typing import Any, NoReturn, TextIO

import click

from lpack import __version__
from lpack.errors import EXIT_INTERRUPTED, EXIT_USAGE, ConfigError, LpackError
from lpack.files import file_system_error

# Each command's module, imported only when that command runs (or help lists them all):
# a rebuild that changes nothing should not pay for loading lint, report and verify.
# tests/test_cli_commands.py checks this table against each module's COMMANDS.
COMMAND_MODULES = {
    "build": "building",
    "lock": "building",
    "check": "building",
    "verify": "inspecting",
    "lint": "inspecting",
    "report": "inspecting",
    "diff": "inspecting",
    "gate": "inspecting",
    "rules": "info",
    "explain": "info",
    "runtimes": "info",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is None:
            return None
        commands = importlib.import_module(f"lpack.cli.{module}").COMMANDS
        return next((c for c in commands if c.name == cmd_name), None)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lpack")
def cli() -> None:
    """Build, lint and size-gate AWS Lambda deployment packages for Python."""


_SIGNALLED: list[int] = []


def _on_sigterm(signum: int, frame: object) -> None:
    # A cancelled CI job or `timeout`: unwind like Ctrl-C, so every temp file is removed
    # and the worker killed on the way out.
    _SIGNALLED.append(signum)
    raise KeyboardInterrupt


class _ReaderGone:
    """stdout that outlives its reader (`lpack build | head`): once the pipe breaks, output
    goes to /dev/null and the command finishes, so its exit code still says how the build
    went, not that `head` stopped reading (Python's default is exit 1, lpack's "over a
    limit")."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        # What the stream still buffers is written to /dev/null by its next flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def main() -> None:
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    signal.signal(signal.SIGTERM, _on_sigterm)
    sys.stdout = _ReaderGone(sys.stdout)
    try:
        cli.main(prog_name="lpack", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("lpack: interrupted; nothing was left half-written.", err=True)
        sys.exit(128 + _SIGNALLED[0] if _SIGNALLED else EXIT_INTERRUPTED)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # usage errors: click's own message, exit 2
        exc.show()
        usage = ConfigError(exc.format_message(), hint="see `lpack COMMAND --help`.")
        usage.exit_code = exc.exit_code
        _json_error(usage)
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except OSError as exc:  # the file system refused: a full disk, a permission, a loop
        if exc.errno is None:  # not the file system's (a library's own OSError subclass)
            _internal_error(exc)
        if exc.errno == errno.EPIPE:  # a pipe other than stdout (_ReaderGone has that one)
            _internal_error(exc)
        if os.environ.get("LPACK_DEBUG"):
            raise
        _report(file_system_error(exc))
    except RuntimeError as exc:
        # pathlib before Python 3.13 reports a symlink loop as a RuntimeError, not ELOOP.
        if os.environ.get("LPACK_DEBUG") or not str(exc).startswith("Symlink loop from "):
            _internal_error(exc)
        loop = str(exc).removeprefix("Symlink loop from ").strip("'\"")
        _report(file_system_error(OSError(errno.ELOOP, os.strerror(errno.ELOOP), loop)))
    except Exception as exc:  # a bug: still exit 2 with a short message, not a bare traceback
        _internal_error(exc)


def _internal_error(exc: Exception) -> NoReturn:
    if os.environ.get("LPACK_DEBUG"):
        raise exc
    message = (
        f"internal error: {type(exc).__name__}: {exc} "
        "(set LPACK_DEBUG=1 for the traceback and report it)"
    )
    click.echo(f"error: {message}", err=True)
    _json_error(LpackError(message))
    sys.exit(EXIT_USAGE)


def _report(error: LpackError) -> NoReturn:
    """An error that escaped its command, reported as the command would (options.fail)."""
    from lpack.render.console import make_console
    from lpack.render.text import print_error

    _json_error(error)
    print_error(make_console(stderr=True), error)
    sys.exit(error.exit_code)


def _json_error(error: LpackError) -> None:
    if _wants_json(sys.argv[1:]):  # machines read stdout: it stays one JSON document
        from lpack.render import json as render_json

        print(render_json.dumps(render_json.error_json(error)))


def _wants_json(args: list[str]) -> bool:
    for i, arg in enumerate(args):
        if arg == "--format" and i + 1 < len(args):
            return args[i + 1] in ("json", "sarif")
        if arg in ("--format=json", "--format=sarif"):
            return True
    return False
