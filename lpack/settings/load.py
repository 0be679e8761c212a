"""Loads a project's settings: defaults, then [tool.lpack] of pyproject.toml, then the CLI."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from lpack.errors import ConfigError
from lpack.facts import facts
from lpack.settings.merge import CLI_ORIGIN, Where
from lpack.settings.model import ArtifactSpec, Project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]


def read_pyproject(project_dir: Path) -> dict[str, Any]:
    path = project_dir / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        with open(path, "rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
        return data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}.",
            hint="fix the syntax at that line (a TOML linter or `python -m tomllib` shows it).",
        ) from exc


_TABLES = {"functions": "function", "layers": "layer"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# What makes a folder a project lpack builds (resolve/inputs.py reads the same files):
# a requirements input or a lock; a pyproject.toml only when it is a project's (see below).
PROJECT_MARKERS = (
    "requirements.in",
    "requirements.txt",
    "lpack.lock",
    "uv.lock",
    "poetry.lock",
    "pylock.toml",
)
# A repository's root bounds the search: a folder above it is another project's, or none.
VCS_MARKERS = (".git", ".hg", ".svn", ".jj")
# A pyproject.toml with only [tool.black] or [tool.pytest.ini_options] configures tools for
# a folder; it makes no project (a cheap text test, as sizing.is_project does).
_PROJECT_TABLE = re.compile(r"^\s*\[\s*(project|tool\.lpack)\s*[\].]", re.MULTILINE)


def find_project_dir(start: Path) -> Path:
    """The project a folder belongs to, found as ruff and uv find theirs: the nearest folder,
    from start upwards, holding a requirements file, a lock, or a pyproject.toml with
    [project] or [tool.lpack]. The search stops at a repository's root (which still counts)
    and below the home folder, unless it started there (a stray requirements.txt in the
    home folder makes it no project: zipping it would ship the user's documents); when nothing is found, start
    itself is the project (a function that needs no packages)."""
    start = start.resolve()
    home = _home()
    for folder in (start, *start.parents):
        if folder != start and folder == home:
            break
        if _marks_project(folder):
            return folder
        if any(os.path.lexists(folder / name) for name in VCS_MARKERS):
            break
    return start


def _home() -> Path | None:
    try:
        home = Path.home().resolve()
    except (RuntimeError, OSError):
        return None
    return home if home.parent != home else None  # HOME=/ bounds nothing


def _marks_project(folder: Path) -> bool:
    if any((folder / name).is_file() for name in PROJECT_MARKERS):
        return True
    pyproject = folder / "pyproject.toml"
    try:
        return pyproject.is_file() and bool(_PROJECT_TABLE.search(pyproject.read_text("utf-8")))
    except (OSError, UnicodeDecodeError):
        return False


def load_project(project_dir: Path, cli: ArtifactSpec | None = None) -> Project:
    """Defaults, then [tool.lpack] of pyproject.toml, then each artifact's own table, then
    the command line (which wins). project_dir may be a folder inside the project: the
    project is found from there upwards (find_project_dir)."""
    start = project_dir.resolve()
    if not start.is_dir():
        raise ConfigError(
            f"Project folder {start} does not exist.",
            hint="pass the folder that holds your handler and requirements.",
        )
    root = find_project_dir(start)
    cli = _paths_from(cli, start, root) if cli is not None and root != start else cli
    pyproject = read_pyproject(root)
    tool = pyproject.get("tool", {})
    table = tool.get("lpack", {}) if isinstance(tool, dict) else None
    path = root / "pyproject.toml"
    if not isinstance(table, dict):
        raise ConfigError(
            f"{path}: [tool.lpack] must be a table.",
            hint="write it as a [tool.lpack] section with key = value lines.",
        )
    common = {k: v for k, v in table.items() if k not in _TABLES}
    base = ArtifactSpec().merged(ArtifactSpec.from_table(common, Where("[tool.lpack]", str(path))))
    cli = cli or ArtifactSpec()
    if not any(key in table for key in _TABLES):
        spec = base.merged(cli)
        name = spec.name or _project_name(pyproject) or root.name or "function"
        from_cli = bool({"runtime", "arch"} & cli.given)
        spec = replace(spec, project_dir=root, name=name, target_from_cli=from_cli)
        spec.target  # noqa: B018 - validates the runtime/arch pair early
        _check_writes_inside(spec, cli, path)
        return Project(root, (spec,))
    _check_one_artifact_flags(cli, table, path)
    artifacts = [
        _declared(root, base, cli, kind, name, own, path)
        for key, kind in _TABLES.items()
        for name, own in _tables(table.get(key, {}), key, path).items()
    ]
    if not artifacts:
        raise ConfigError(
            f"{path} has [tool.lpack.functions] or [tool.lpack.layers] tables but no artifact "
            "in them.",
            hint="declare each as its own table: [tool.lpack.functions.NAME] with `source` and "
            "`handler`.",
        )
    for spec in artifacts:
        _check_writes_inside(spec, cli, path)
    shared = replace(base.merged(cli), project_dir=root, name=_project_name(pyproject) or root.name)
    project = Project(root, tuple(artifacts), shared)
    check_project(project)
    return project


# Settings that name a path: in pyproject.toml relative to the project, on the command line
# relative to the folder the command ran from.
_PATH_KEYS = ("source", "output", "lock", "requirements")


def _paths_from(cli: ArtifactSpec, start: Path, root: Path) -> ArtifactSpec:
    """The command line's relative paths, meant from start, as the project folder sees them."""
    moved: dict[str, Any] = {
        key: os.path.relpath(start / value, root)
        for key in _PATH_KEYS
        if key in cli.given
        and isinstance(value := getattr(cli, key), str)
        and not os.path.isabs(value)
    }
    return replace(cli, **moved)


def _check_writes_inside(spec: ArtifactSpec, cli: ArtifactSpec, path: Path) -> None:
    """A project's settings never make lpack write outside the project: someone else's
    folder could hold `output = "../../.bashrc"`. Only the command line may name such a path."""
    for key, target in (("output", spec.output_path), ("lock", spec.lock_path)):
        if key not in cli.given and not target.is_relative_to(spec.project_dir):
            flag = "-o" if key == "output" else "--lock"
            raise ConfigError(
                f"`{key}` of {spec.name} in {path} points outside the project ({target}); "
                "lpack writes only inside the project unless the command line names the path.",
                hint=f"set `{key}` to a path inside {spec.project_dir}, or pass {flag} {target}.",
            )


# Command-line values that describe one artifact: with several, they would apply to every one.
_ONE_ARTIFACT_FLAGS = {
    "output": "--output",
    "lock": "--lock",
    "source": "--source",
    "handler": "--handler",
    "requirements": "--requirements",
}


def _check_one_artifact_flags(cli: ArtifactSpec, table: Mapping[str, Any], path: Path) -> None:
    declared = [name for key in _TABLES for name in _tables(table.get(key, {}), key, path)]
    given = [flag for field, flag in _ONE_ARTIFACT_FLAGS.items() if field in cli.given]
    if given and len(declared) > 1:
        raise ConfigError(
            f"{' and '.join(given)} {'describes' if len(given) == 1 else 'describe'} one "
            f"artifact, and {path} declares "
            f"{len(declared)} ({', '.join(declared)}): the value would apply to every one.",
            hint="set it in the artifact's own [tool.lpack.functions.NAME] or "
            "[tool.lpack.layers.NAME] table instead.",
        )


def _tables(value: Any, key: str, path: Path) -> dict[str, Mapping[str, Any]]:
    if not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
        raise ConfigError(
            f"{path}: [tool.lpack.{key}] must hold one table per artifact, e.g. "
            f"[tool.lpack.{key}.NAME].",
        )
    return dict(value)


def _declared(
    root: Path,
    base: ArtifactSpec,
    cli: ArtifactSpec,
    kind: str,
    name: str,
    own: Mapping[str, Any],
    path: Path,
) -> ArtifactSpec:
    """One function's or layer's spec: the shared settings, its table, the command line."""
    table_name = f"[tool.lpack.{kind}s.{name}]"
    if not _NAME.match(name):
        raise ConfigError(
            f"{table_name} in {path}: {name!r} is not a usable artifact name.",
            hint="use letters, digits, '.', '_' and '-' (it names the zip: dist/NAME.zip).",
        )
    if kind == "layer" and "layers" in own:
        raise ConfigError(f"{table_name} in {path}: a layer cannot use other layers (`layers`).")
    if "name" in own:
        raise ConfigError(
            f"{table_name} in {path}: the table's name is the artifact's name.",
            hint="remove `name`.",
        )
    spec = base.merged(ArtifactSpec.from_table(own, Where(table_name, str(path)))).merged(cli)
    if kind == "layer" and "source" not in spec.given:
        spec = replace(spec, source=None)  # a layer ships dependencies unless given code
    elif "source" not in spec.given:  # the project folder would ship every other artifact
        raise ConfigError(
            f"{table_name} in {path} has no `source`, so the function's code is unknown.",
            hint=f'set source = "functions/{name}" (the folder with its code), in its table or '
            "for every function in [tool.lpack].",
        )
    if kind == "layer" and spec.source is None and not spec.requirements:
        raise ConfigError(
            f"{table_name} in {path} has neither `requirements` nor `source`: the layer would "
            "be empty.",
            hint="set `requirements` (the packages it provides) or `source` (code it shares).",
        )
    if len(set(spec.layers)) != len(spec.layers):
        raise ConfigError(
            f"{table_name} in {path} names a layer twice in `layers`: {list(spec.layers)}.",
            hint="list each layer once.",
        )
    spec = replace(spec, kind=kind, name=name, project_dir=root, declared=True)
    source = spec.source_dir
    if source is not None and not source.is_dir():
        raise ConfigError(
            f"The source folder {source} of {name} ({table_name} in {path}) does not exist"
            + (" (it is a file)." if source.exists() else "."),
            hint="point `source` at the folder that holds the code.",
        )
    if "lock" not in spec.given:
        folder = (root / spec.requirements).parent if spec.requirements else spec.requirements_dir
        if not folder.resolve().is_relative_to(root):  # lpack writes nothing outside the project
            folder = root
        lock = folder / f"lpack-{name}-{spec.runtime}-{spec.arch}.lock"
        spec = replace(spec, lock=os.path.relpath(lock, root))
    spec.target  # noqa: B018 - validates the runtime/arch pair early
    return spec


def check_project(project: Project) -> None:
    """What no single artifact can tell: names, shared paths, and the layers functions use."""
    seen: dict[str, str] = {}
    outputs: dict[Path, str] = {}
    locks: dict[Path, str] = {}
    for spec in project.artifacts:
        if spec.name in seen:
            raise ConfigError(
                f"{spec.name!r} is both a {seen[spec.name]} and a {spec.kind} in "
                f"{project.root / 'pyproject.toml'}: every artifact needs its own name.",
                hint="rename one of them (the name is its zip's name).",
            )
        seen[spec.name] = spec.kind
        for kind, paths, where in (
            ("zip", outputs, spec.output_path),
            ("lock", locks, spec.lock_path),
        ):
            if where in paths:
                raise ConfigError(
                    f"{paths[where]} and {spec.name} would both write the {kind} {where}.",
                    hint=f"give each artifact its own `{'output' if kind == 'zip' else 'lock'}`.",
                )
            paths[where] = spec.name
    for spec in project.artifacts:
        _check_layers(project, spec)


def _check_layers(project: Project, spec: ArtifactSpec) -> None:
    limit = facts().max_layers
    if len(spec.layers) > limit:
        raise ConfigError(
            f"Function {spec.name} uses {len(spec.layers)} layers; Lambda allows at most {limit}.",
            hint="merge layers, or move dependencies into the function.",
        )
    layers = {a.name: a for a in project.artifacts if a.kind == "layer"}
    for name in spec.layers:
        layer = layers.get(name)
        if layer is None:
            raise ConfigError(
                f"Function {spec.name} uses layer {name!r}, which the project does not declare "
                f"(layers: {', '.join(sorted(layers)) or 'none'}).",
                hint=f"add [tool.lpack.layers.{name}] or fix `layers` of {spec.name}.",
            )
        if (layer.runtime, layer.arch) != (spec.runtime, spec.arch):
            raise ConfigError(
                f"Layer {name} is built for {layer.runtime} {layer.arch}, but function "
                f"{spec.name}, which uses it, runs on {spec.runtime} {spec.arch}: its native "
                "code and its python/ folder would not load.",
                hint=f"set the same runtime and arch for {name} and {spec.name}.",
            )


def load_artifact(
    project_dir: Path, cli: ArtifactSpec | None = None, path: Path | None = None
) -> ArtifactSpec:
    """The settings a single-package command works with: the project's function, or the
    artifact that writes `path` (see Project.spec_for)."""
    return load_project(project_dir, cli).spec_for(path)


def cli_spec(values: Mapping[str, Any]) -> ArtifactSpec:
    """A partial spec from command-line values under their TOML keys; None and empty
    values are options the user did not give."""
    given = {k: v for k, v in values.items() if v not in (None, (), [], {})}
    return ArtifactSpec.from_table(given, Where("[tool.lpack]", CLI_ORIGIN))


def _project_name(pyproject: Mapping[str, Any]) -> str | None:
    project = pyproject.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    return name if isinstance(name, str) and name else None
