"""Loads a project's settings: defaults, then [tool.lpack] of pyproject.toml, then the CLI."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from lpack.errors import ConfigError
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


def load_project(project_dir: Path, cli: ArtifactSpec | None = None) -> Project:
    """Defaults, then [tool.lpack] of pyproject.toml, then the command line (which wins)."""
    root = project_dir.resolve()
    if not root.is_dir():
        raise ConfigError(
            f"Project folder {root} does not exist.",
            hint="pass the folder that holds your handler and requirements.",
        )
    pyproject = read_pyproject(root)
    tool = pyproject.get("tool", {})
    table = tool.get("lpack", {}) if isinstance(tool, dict) else None
    path = root / "pyproject.toml"
    if not isinstance(table, dict):
        raise ConfigError(
            f"{path}: [tool.lpack] must be a table.",
            hint="write it as a [tool.lpack] section with key = value lines.",
        )
    spec = ArtifactSpec().merged(ArtifactSpec.from_table(table, Where("[tool.lpack]", str(path))))
    spec = spec.merged(cli or ArtifactSpec())
    name = spec.name or _project_name(pyproject) or root.name or "function"
    spec = replace(spec, project_dir=root, name=name)
    spec.target  # noqa: B018 - validates the runtime/arch pair early
    return Project(root, (spec,))


def load_artifact(project_dir: Path, cli: ArtifactSpec | None = None) -> ArtifactSpec:
    """The project's function: what every single-artifact command works on."""
    return load_project(project_dir, cli).function


def cli_spec(values: Mapping[str, Any]) -> ArtifactSpec:
    """A partial spec from command-line values under their TOML keys; None and empty
    values are options the user did not give."""
    given = {k: v for k, v in values.items() if v not in (None, (), [], {})}
    return ArtifactSpec.from_table(given, Where("[tool.lpack]", CLI_ORIGIN))


def _project_name(pyproject: Mapping[str, Any]) -> str | None:
    project = pyproject.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    return name if isinstance(name, str) and name else None
