"""Options shared by several commands, each declared once as a named decorator."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from lpack.errors import ConfigError, LpackError
from lpack.settings import UPLOAD_MODES, ArtifactSpec, cli_spec, parse_size
from lpack.target import arches, runtimes

F = TypeVar("F", bound=Callable[..., Any])


def _apply(f: F, *decorators: Callable[[F], F]) -> F:
    # Applied bottom-up, so --help lists them in the order written here.
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def size_value(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_size(param.name or "size", value)
    except ConfigError as exc:
        raise click.BadParameter(exc.message) from exc


def format_option(
    *choices: str, default: str | None = "text", help: str = "Output format."
) -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default,
        show_default=default is not None,
        help=help,
    )


def verbosity_options(f: F) -> F:
    """-q/--quiet and -v/--verbose, as one `verbosity`: -1 quiet, 0, 1 verbose."""

    def pick(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        if value:
            chosen = -1 if param.name == "quiet" else 1
            if ctx.meta.get("lpack.verbosity", chosen) != chosen:
                raise click.UsageError("--quiet and --verbose contradict each other: give one.")
            ctx.meta["lpack.verbosity"] = chosen
        return value

    return _apply(
        f,
        click.option(
            "--quiet",
            "-q",
            is_flag=True,
            expose_value=False,
            callback=pick,
            help="Print only errors and the closing line (a build that passes prints nothing).",
        ),
        click.option(
            "--verbose",
            "-v",
            is_flag=True,
            expose_value=False,
            callback=pick,
            help="Print everything: every file of a grouped finding, every distribution.",
        ),
    )


def verbosity() -> int:
    """-1 quiet, 0 normal, 1 verbose: what verbosity_options parsed for this command."""
    ctx = click.get_current_context(silent=True)
    return int(ctx.meta.get("lpack.verbosity", 0)) if ctx is not None else 0


def project_and_names(f: F) -> F:
    """[PROJECT_DIR] [NAME]...: the project folder, then the artifacts to work on (all when
    none is named); see split_project_args."""
    return click.argument("args", nargs=-1, metavar="[PROJECT_DIR] [NAME]...")(f)


def split_project_args(args: tuple[str, ...]) -> tuple[Path, list[str]]:
    """The project folder and the artifact names. A first argument that names an artifact of
    the project around the current folder (found upwards, as git finds its repository)
    starts the names; else a first argument that is a folder is the project."""
    if not args:
        return Path("."), []
    home = _project_declaring(args[0])
    if home is not None:
        return home, list(args)
    if Path(args[0]).is_dir():
        return Path(args[0]), list(args[1:])
    return Path("."), list(args)


def _project_declaring(name: str) -> Path | None:
    """The nearest project folder, from here upwards, if it declares an artifact `name`."""
    from lpack.settings import load_project

    here = Path.cwd()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.lpack" in pyproject.read_text(errors="replace"):
            try:
                project = load_project(folder)
            except LpackError:
                return None
            found = project.declared and any(a.name == name for a in project.artifacts)
            return folder if found else None
    return None


def artifact_option(f: F) -> F:
    return click.option(
        "--artifact",
        "artifacts",
        multiple=True,
        metavar="NAME",
        help="Only this artifact of the project (repeatable; default: all).",
    )(f)


def project_argument(f: F) -> F:
    """PROJECT_DIR, the folder whose [tool.lpack] and requirements are built."""
    return click.argument(
        "project_dir", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
    )(f)


def target_options(f: F) -> F:
    """--runtime and --arch: the Lambda target."""
    return _apply(
        f,
        click.option(
            "--runtime",
            type=click.Choice(list(runtimes())),
            help="Lambda runtime (default: `runtime` in [tool.lpack], else python3.12).",
        ),
        click.option("--arch", type=click.Choice(arches()), help="Lambda architecture."),
    )


def requirement_options(f: F) -> F:
    """Where the dependencies come from and where their lock goes."""
    return _apply(
        f,
        click.option(
            "--requirements",
            "-r",
            help="Requirements input (requirements.in, requirements.txt, pyproject.toml) or a "
            "lock another tool wrote (uv.lock, poetry.lock, pylock.toml).",
        ),
        click.option(
            "--extra",
            "extras",
            multiple=True,
            help="Optional-dependency group of pyproject.toml to include.",
        ),
        click.option(
            "--group",
            "groups",
            multiple=True,
            help="Dependency group to ship (PEP 735, uv, Poetry; repeatable; dev groups "
            "ship only when named).",
        ),
        click.option("--lock", "lock_file", help="Lock file path (default lpack.lock)."),
        click.option(
            "--allow-sdist",
            multiple=True,
            metavar="NAME",
            help="Allow building this package's pure-Python sdist (:all: for any).",
        ),
    )


def project_option(f: F) -> F:
    """--project, for commands that read a package rather than build one."""
    return click.option(
        "--project",
        "project_dir",
        default=".",
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Project whose [tool.lpack] gives the runtime, handler and settings.",
    )(f)


def upload_option(f: F) -> F:
    return click.option(
        "--upload",
        type=click.Choice(UPLOAD_MODES),
        help="How the zip reaches Lambda: direct (50 MiB zipped limit applies) or s3.",
    )(f)


def budget_options(f: F) -> F:
    return _apply(
        f,
        click.option(
            "--max-zipped", callback=size_value, help='Budget for the zip, e.g. "40 MiB".'
        ),
        click.option(
            "--max-unzipped",
            callback=size_value,
            help="Budget for the package (with its layers), unzipped.",
        ),
    )


def slim_options(f: F) -> F:
    return _apply(
        f,
        click.option(
            "--no-slim", is_flag=True, help="Ship dependencies exactly as their wheels hold them."
        ),
        click.option(
            "--slim-enable",
            multiple=True,
            metavar="CODE",
            help="Turn on an off-by-default slim category (LP808: runtime-provided SDK).",
        ),
        click.option(
            "--slim-disable", multiple=True, metavar="CODE", help="Turn off a slim category."
        ),
        click.option(
            "--keep", multiple=True, metavar="GLOB", help="Never slim files matching GLOB."
        ),
        click.option(
            "--drop",
            multiple=True,
            metavar="GLOB",
            help="Also drop dependency files matching GLOB.",
        ),
    )


def selection_options(f: F) -> F:
    """--select / --extend-select / --ignore, as in ruff (codes or prefixes)."""
    return _apply(
        f,
        click.option(
            "--select", multiple=True, metavar="CODE", help="Only these codes or prefixes."
        ),
        click.option(
            "--extend-select", multiple=True, metavar="CODE", help="Add codes or prefixes."
        ),
        click.option("--ignore", multiple=True, metavar="CODE", help="Skip codes or prefixes."),
    )


def spec_from_flags(flags: Mapping[str, Any]) -> ArtifactSpec:
    """The command line's partial spec: click's parameter names mapped to [tool.lpack] keys."""
    slim = {
        "enabled": False if flags.get("no_slim") else None,
        "enable": flags.get("slim_enable"),
        "disable": flags.get("slim_disable"),
        "keep": flags.get("keep"),
        "drop": flags.get("drop"),
    }
    lint = {key: flags.get(key.replace("-", "_")) for key in ("select", "extend-select", "ignore")}
    values = {
        "runtime": flags.get("runtime"),
        "arch": flags.get("arch"),
        "requirements": flags.get("requirements"),
        "extras": flags.get("extras"),
        "groups": flags.get("groups"),
        "lock": flags.get("lock_file"),
        "allow-sdist": flags.get("allow_sdist"),
        "bytecode": flags.get("bytecode"),
        "source": flags.get("source"),
        "handler": flags.get("handler"),
        "output": flags.get("output"),
        "include": flags.get("include"),
        "exclude": flags.get("exclude"),
        "upload": flags.get("upload"),
        "compression": flags.get("compression"),
        "max-zipped": flags.get("max_zipped"),
        "max-unzipped": flags.get("max_unzipped"),
        "slim": {k: v for k, v in slim.items() if v not in (None, ())},
        "lint": {k: v for k, v in lint.items() if v not in (None, ())},
    }
    return cli_spec(values)


def fail(error: LpackError, fmt: str) -> NoReturn:
    """Report the error (also as JSON when the output is JSON) and exit with its code."""
    from lpack.render import json as render_json
    from lpack.render.console import make_console
    from lpack.render.text import print_error

    if fmt == "json":
        print(render_json.dumps(render_json.error_json(error)))
    print_error(make_console(stderr=True), error)
    sys.exit(error.exit_code)
