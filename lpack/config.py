"""Reads [tool.lpack] from pyproject.toml, merges CLI overrides, validates every key."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from lpack.errors import ConfigError
from lpack.target import Target, arches, runtimes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

DEFAULT_RUNTIME = "python3.12"
DEFAULT_ARCH = "x86_64"
UPLOAD_MODES = ("direct", "s3")
REQUIREMENT_FILES = ("requirements.in", "requirements.txt")

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


@dataclass
class Config:
    project_dir: Path
    runtime: str = DEFAULT_RUNTIME
    arch: str = DEFAULT_ARCH
    name: str = ""
    source: str = "."
    handler: str | None = None
    requirements: str | None = None
    extras: list[str] = field(default_factory=list)
    lock: str = "lpack.lock"
    output: str = ""
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    upload: str = "direct"
    max_zipped: int | None = None
    max_unzipped: int | None = None
    allow_sdist: list[str] = field(default_factory=list)
    slim: dict[str, Any] = field(default_factory=dict)
    lint: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> Target:
        return Target.from_names(self.runtime, self.arch)

    @property
    def source_dir(self) -> Path:
        return (self.project_dir / self.source).resolve()

    @property
    def lock_path(self) -> Path:
        return (self.project_dir / self.lock).resolve()

    @property
    def output_path(self) -> Path:
        return (self.project_dir / (self.output or f"dist/{self.name}.zip")).resolve()


_LIST_KEYS = {"extras", "include", "exclude", "allow_sdist"}
_SIZE_KEYS = {"max_zipped", "max_unzipped"}
_CHOICES: dict[str, Any] = {"upload": UPLOAD_MODES}


_SLIM_LIST_KEYS = ("enable", "disable", "keep", "drop")


def _validate_slim(value: Any, origin: str) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"enabled": value}
    if not isinstance(value, dict):
        raise ConfigError(f"[tool.lpack.slim] in {origin} must be a table or true/false.")
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key == "enabled":
            if not isinstance(item, bool):
                raise ConfigError(f"`slim.enabled` in {origin} must be true or false.")
            result[key] = item
        elif key in _SLIM_LIST_KEYS:
            result[key] = _string_list(f"slim.{key}", item, origin)
        elif key == "per-distribution" and isinstance(item, dict):
            per: dict[str, dict[str, list[str]]] = {}
            for dist, rules in item.items():
                if not isinstance(rules, dict):
                    raise ConfigError(f"`slim.per-distribution.{dist}` must be a table.")
                for sub, globs in rules.items():
                    if sub not in _SLIM_LIST_KEYS:
                        raise ConfigError(
                            f"Unknown key `{sub}` in [tool.lpack.slim.per-distribution.{dist}].",
                            hint=f"accepted keys: {', '.join(_SLIM_LIST_KEYS)}.",
                        )
                    per.setdefault(dist, {})[sub] = _string_list(
                        f"slim.per-distribution.{dist}.{sub}", globs, origin
                    )
            result[key] = per
        else:
            raise ConfigError(
                f"Unknown key `{key}` in [tool.lpack.slim] of {origin}.",
                hint="accepted keys: enabled, enable, disable, keep, drop, per-distribution.",
            )
    return result


def _string_list(key: str, value: Any, origin: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"`{key}` in {origin} must be a list of strings, not {value!r}.")
    return list(value)


_LINT_LIST_KEYS = ("select", "extend-select", "ignore")


def _validate_lint(value: Any, origin: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"[tool.lpack.lint] in {origin} must be a table.")
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key in _LINT_LIST_KEYS:
            result[key] = _string_list(f"lint.{key}", item, origin)
        elif key == "per-path-ignores":
            if not isinstance(item, dict):
                raise ConfigError(
                    f'`lint.per-path-ignores` in {origin} must be a table of glob = ["CODE", ...].'
                )
            result[key] = {
                glob: _string_list(f"lint.per-path-ignores.{glob}", codes, origin)
                for glob, codes in item.items()
            }
        elif key == "near-limit":
            if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0 < item < 1:
                raise ConfigError(
                    f"`lint.near-limit` in {origin} must be a share between 0 and "
                    f"1 (e.g. 0.8), not {item!r}."
                )
            result[key] = float(item)
        elif key == "large-file":
            result[key] = parse_size("lint.large-file", item)
        else:
            raise ConfigError(
                f"Unknown key `{key}` in [tool.lpack.lint] of {origin}.",
                hint="accepted keys: select, extend-select, ignore, per-path-ignores, "
                "near-limit, large-file.",
            )
    return result


def config_keys() -> list[str]:
    return [f.name.replace("_", "-") for f in fields(Config) if f.name != "project_dir"]


def parse_size(key: str, value: object) -> int:
    if isinstance(value, bool):
        raise ConfigError(f'`{key}` must be a size such as 40000000 or "40 MiB", not {value!r}.')
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        if match:
            unit = (match.group(2) or "B").lower()
            return int(float(match.group(1)) * _SIZE_UNITS[unit])
    raise ConfigError(
        f"`{key}` = {value!r} is not a size.",
        hint='write a positive number of bytes (40000000) or a string like "40 MiB" or "45 MB".',
    )


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


def _validate(key: str, value: Any, origin: str) -> Any:
    attr = key.replace("-", "_")
    if attr == "slim":
        return _validate_slim(value, origin)
    if attr == "lint":
        return _validate_lint(value, origin)
    if attr in _LIST_KEYS:
        return _string_list(key, value, origin)
    if attr in _SIZE_KEYS:
        return None if value is None else parse_size(key, value)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"`{key}` in {origin} must be a string, not {value!r}.")
    if attr == "runtime" and value not in runtimes():
        raise ConfigError(
            f"`runtime` = {value!r} in {origin} is not a Lambda Python runtime; "
            f"accepted: {', '.join(runtimes())}.",
            hint="pick one of those (python3.12 is the default).",
        )
    if attr == "arch" and value not in arches():
        raise ConfigError(
            f"`arch` = {value!r} in {origin} is not a Lambda architecture; "
            f"accepted: {', '.join(arches())}.",
            hint="use x86_64 or arm64 (Lambda's names; aarch64 is arm64).",
        )
    if attr in _CHOICES and value not in _CHOICES[attr]:
        raise ConfigError(
            f"`{key}` = {value!r} in {origin} is not accepted; "
            f"accepted: {', '.join(_CHOICES[attr])}.",
            hint="`direct` when the zip goes straight to the Lambda API (Terraform `filename`, "
            "console); `s3` for SAM, Serverless, CDK and other S3 uploads.",
        )
    return value


def load_config(project_dir: Path, overrides: dict[str, Any] | None = None) -> Config:
    """[tool.lpack] from pyproject.toml, then CLI overrides (CLI wins)."""
    project_dir = project_dir.resolve()
    if not project_dir.is_dir():
        raise ConfigError(
            f"Project folder {project_dir} does not exist.",
            hint="pass the folder that holds your handler and requirements.",
        )
    pyproject = read_pyproject(project_dir)
    tool = pyproject.get("tool", {})
    table = tool.get("lpack", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(
            f"{project_dir / 'pyproject.toml'}: [tool.lpack] must be a table.",
            hint="write it as a [tool.lpack] section with key = value lines.",
        )
    known = set(config_keys())
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(
                f"Unknown key `{key}` in [tool.lpack] of {project_dir / 'pyproject.toml'}.",
                hint=f"accepted keys: {', '.join(sorted(known))}.",
            )
        values[key.replace("-", "_")] = _validate(key, value, "[tool.lpack]")
    for key, value in (overrides or {}).items():
        if value is None or value == () or value == [] or value == {}:
            continue
        checked = _validate(key.replace("_", "-"), value, "the command line")
        if key in ("slim", "lint"):  # flags refine the table: scalars replace, lists extend
            merged = dict(values.get("slim", {}))
            for sub, item in checked.items():
                merged[sub] = item if not isinstance(item, list) else merged.get(sub, []) + item
            checked = merged
        values[key] = checked
    if not values.get("name"):
        project = pyproject.get("project")
        project_name = project.get("name") if isinstance(project, dict) else None
        if not isinstance(project_name, str):
            project_name = None
        values["name"] = project_name or project_dir.name or "function"
    config = Config(project_dir=project_dir, **values)
    config.target  # noqa: B018 - validates the runtime/arch pair early
    return config
