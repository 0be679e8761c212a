"""One typed settings model: a project is a list of artifact specs (functions and layers).

pyproject.toml and the command line each give a *partial* spec of the same dataclasses (the
fields they set are listed in `given`); `Section.merged` layers one partial over another by
one rule, read from each field's declaration:

- replace (scalars and plain lists): a value that is given replaces the one below it;
- extend (`extend-*`-like lists: slim enable/disable/keep/drop, lint rule selections): the
  lists are concatenated, lower layer first;
- nested (the slim and lint tables): merged field by field with these same rules;
- update (tables keyed by a name: per-distribution, per-path-ignores): merged key by key.

Lint `select`/`extend-select`/`ignore` keep one RuleSelection per layer and are resolved as
ruff resolves them (inspect/lint.py): a later `select` starts over, a later `ignore` or
`extend-select` refines what the layers below chose.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from packaging.utils import canonicalize_name

from lpack.catalog import lint_rules, slim_categories
from lpack.errors import ConfigError
from lpack.target import Target, arches, runtimes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

DEFAULT_RUNTIME = "python3.12"
DEFAULT_ARCH = "x86_64"
UPLOAD_MODES = ("direct", "s3")
KINDS = ("function", "layer")
CLI_ORIGIN = "the command line"

REPLACE, EXTEND, NESTED, UPDATE = "replace", "extend", "nested", "update"


@dataclass(frozen=True)
class Where:
    """Where a value was read: a table of pyproject.toml, or the command line."""

    table: str  # "[tool.lpack.slim]"
    origin: str  # the pyproject.toml's path, or CLI_ORIGIN

    def __str__(self) -> str:
        return self.origin if self.origin == CLI_ORIGIN else self.table

    def nested(self, table: str) -> Where:
        return Where(table, self.origin)


Parser = Callable[[Any, str, Where], Any]  # (value, key, where) -> checked value


def setting(
    default: Any = MISSING,
    *,
    merge: str = REPLACE,
    parse: Parser | None = None,
    key: str | None = None,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A settings field: its merge rule, the parser of its TOML/CLI value and its TOML key
    (default: the field name with dashes). Fields without a parser are not user-settable."""
    metadata = {"merge": merge, "parse": parse, "key": key}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _key(f: Field[Any]) -> str:
    return str(f.metadata.get("key") or f.name.replace("_", "-"))


S = TypeVar("S", bound="Section")


@dataclass(frozen=True)
class Section:
    """A table of settings that merges with another of its kind."""

    given: frozenset[str] = field(default=frozenset(), repr=False, compare=False, kw_only=True)

    @classmethod
    def partial(cls: type[S], **values: Any) -> S:
        """Only these fields are set: merging it changes nothing else."""
        return cls(**values, given=frozenset(values))

    def merged(self: S, over: S) -> S:
        """`over` layered on top of self, field by field (see the module docstring)."""
        changes: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "given":
                continue
            rule = f.metadata.get("merge", REPLACE)
            mine, theirs = getattr(self, f.name), getattr(over, f.name)
            if rule == NESTED:
                changes[f.name] = mine.merged(theirs)
            elif f.name not in over.given:
                continue
            elif rule == EXTEND:
                changes[f.name] = tuple(mine) + tuple(theirs)
            elif rule == UPDATE:
                changes[f.name] = _merge_mapping(mine, theirs)
            else:
                changes[f.name] = theirs
        return replace(self, given=self.given | over.given, **changes)

    def to_data(self) -> dict[str, Any]:
        """Every field as plain, canonical data (what a digest or a debug dump needs)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "given"}

    @classmethod
    def from_table(cls: type[S], table: Mapping[str, Any], where: Where) -> S:
        """A partial section from a TOML table (or the CLI's values under the same keys)."""
        by_key = {_key(f): f for f in fields(cls) if f.metadata.get("parse")}
        values: dict[str, Any] = {}
        for key, value in table.items():
            f = by_key.get(key)
            if f is None:
                raise ConfigError(
                    f"Unknown key `{key}` in {where.table} of {where.origin}.",
                    hint=f"accepted keys: {', '.join(sorted(by_key))}.",
                )
            values[f.name] = f.metadata["parse"](value, key, where)
        return cls.partial(**values)


def _plain(value: Any) -> Any:
    if isinstance(value, Section):
        return value.to_data()
    if isinstance(value, RuleSelection):
        return [_plain(value.select), list(value.extend_select), list(value.ignore)]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _merge_mapping(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(mine)
    for name, value in theirs.items():
        below = result.get(name)
        if isinstance(below, Section):
            result[name] = below.merged(value)
        elif isinstance(below, tuple):
            result[name] = below + tuple(value)
        else:
            result[name] = value
    return result


# -- value parsers: each names the key and says what is accepted ------------------------

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}
_SIZE_UNITS.update({"kib": 1024, "mib": 1024**2, "gib": 1024**3})


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


def _size(value: Any, key: str, where: Where) -> int:
    return parse_size(key, value)


def _text(value: Any, key: str, where: Where) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"`{key}` in {where} must be a string, not {value!r}.")
    return value


def _strings(value: Any, key: str, where: Where) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"`{key}` in {where} must be a list of strings, not {value!r}.")
    return tuple(value)


def _choice(accepted: Callable[[], Any], what: str, hint: str) -> Parser:
    def parse(value: Any, key: str, where: Where) -> str:
        choices = list(accepted())
        if value not in choices:
            raise ConfigError(
                f"`{key}` = {value!r} in {where} is not {what}; accepted: {', '.join(choices)}.",
                hint=hint,
            )
        return str(value)

    return parse


_runtime = _choice(
    runtimes, "a Lambda Python runtime", "pick one of those (python3.12 is the default)."
)
_arch = _choice(
    arches, "a Lambda architecture", "use x86_64 or arm64 (Lambda's names; aarch64 is arm64)."
)
_upload = _choice(
    lambda: UPLOAD_MODES,
    "accepted",
    "`direct` when the zip goes straight to the Lambda API (Terraform `filename`, console); "
    "`s3` for SAM, Serverless, CDK and other S3 uploads.",
)


def _codes(value: Any, key: str, where: Where) -> tuple[str, ...]:
    """Rule codes or prefixes; "LP201,LP105" is two, as in ruff."""
    items = [p.strip().upper() for v in _strings(value, key, where) for p in v.split(",")]
    codes = tuple(p for p in items if p)
    known = lint_rules()
    for code in codes:
        if not code.startswith("LP") or not any(k.startswith(code) for k in known):
            raise ConfigError(
                f"Unknown rule code or prefix {code!r} in `{key}` of {where}; lint codes are "
                f"{min(known)}…{max(known)} (`lpack rules` lists them).",
                hint="use a code (LP203) or a prefix (LP2 for every compatibility rule).",
            )
    return codes


def _slim_codes(value: Any, key: str, where: Where) -> tuple[str, ...]:
    codes = tuple(c.upper() for c in _strings(value, key, where))
    known = slim_categories()
    for code in codes:
        if code not in known:
            raise ConfigError(
                f"Unknown slim category {code!r} in `{key}`; lpack knows "
                f"{', '.join(f'{c} ({k.name})' for c, k in known.items())}.",
                hint="use one of those codes (`lpack rules` lists them, `lpack explain CODE` "
                "explains one).",
            )
    return codes


def _table(value: Any, key: str, where: Where, shape: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"`{key}` in {where} must be a table of {shape}.")
    return value


# -- the sections ------------------------------------------------------------------------


@dataclass(frozen=True)
class DistributionSlim(Section):
    """[tool.lpack.slim.per-distribution.NAME]: slimming for one distribution."""

    enable: tuple[str, ...] = setting((), merge=EXTEND, parse=_slim_codes)
    disable: tuple[str, ...] = setting((), merge=EXTEND, parse=_slim_codes)
    keep: tuple[str, ...] = setting((), merge=EXTEND, parse=_strings)
    drop: tuple[str, ...] = setting((), merge=EXTEND, parse=_strings)


def _per_distribution(value: Any, key: str, where: Where) -> dict[str, DistributionSlim]:
    result: dict[str, DistributionSlim] = {}
    for dist, rules in _table(value, key, where, "distribution = {...}").items():
        if not isinstance(rules, Mapping):
            raise ConfigError(f"`slim.per-distribution.{dist}` must be a table.")
        table_name = f"[tool.lpack.slim.per-distribution.{dist}]"
        result[str(canonicalize_name(dist))] = DistributionSlim.from_table(
            rules, where.nested(table_name)
        )
    return result


@dataclass(frozen=True)
class SlimSettings(Section):
    """[tool.lpack.slim]: which categories run and the user's keep/drop globs."""

    enabled: bool = setting(
        True, parse=lambda value, key, where: _flag(value, "slim.enabled", where)
    )
    enable: tuple[str, ...] = setting((), merge=EXTEND, parse=_slim_codes)
    disable: tuple[str, ...] = setting((), merge=EXTEND, parse=_slim_codes)
    keep: tuple[str, ...] = setting((), merge=EXTEND, parse=_strings)
    drop: tuple[str, ...] = setting((), merge=EXTEND, parse=_strings)
    per_distribution: Mapping[str, DistributionSlim] = setting(
        merge=UPDATE, parse=_per_distribution, factory=dict
    )

    def rules_for(self, dist: str | None) -> SlimRules:
        """The categories, keep and drop globs in force for one distribution (None: the
        project-wide ones): per-distribution settings refine the project's."""
        defaults = {code for code, cat in slim_categories().items() if cat.default}
        enabled = (defaults | set(self.enable)) - set(self.disable)
        keep, drop = self.keep, self.drop
        per = self.per_distribution.get(canonicalize_name(dist)) if dist else None
        if per is not None:
            enabled = (enabled | set(per.enable)) - set(per.disable)
            keep, drop = keep + per.keep, drop + per.drop
        return SlimRules(frozenset(enabled), keep, drop)


@dataclass(frozen=True)
class SlimRules:
    """Effective slimming for one distribution."""

    enabled: frozenset[str]
    keep: tuple[str, ...]
    drop: tuple[str, ...]


def _flag(value: Any, key: str, where: Where) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"`{key}` in {where} must be true or false.")
    return value


def _slim(value: Any, key: str, where: Where) -> SlimSettings:
    if isinstance(value, bool):  # `slim = false` turns slimming off
        return SlimSettings.partial(enabled=value)
    if not isinstance(value, Mapping):
        raise ConfigError(f"[tool.lpack.slim] in {where} must be a table or true/false.")
    return SlimSettings.from_table(value, where.nested("[tool.lpack.slim]"))


@dataclass(frozen=True)
class RuleSelection:
    """One layer's select / extend-select / ignore (codes or prefixes); select=None: unset."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


def _near_limit(value: Any, key: str, where: Where) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(
            f"`lint.near-limit` in {where} must be a share between 0 and 1 (e.g. 0.8), "
            f"not {value!r}."
        )
    return float(value)


def _per_path_ignores(value: Any, key: str, where: Where) -> dict[str, tuple[str, ...]]:
    table = _table(value, "lint.per-path-ignores", where, 'glob = ["CODE", ...]')
    return {
        glob: _codes(codes, f"lint.per-path-ignores.{glob}", where) for glob, codes in table.items()
    }


def _rule_default(code: str, param: str) -> Any:
    return lint_rules()[code].params[param]


@dataclass(frozen=True)
class LintSettings(Section):
    """[tool.lpack.lint]: rule selection (ruff's semantics), per-path ignores, thresholds."""

    selections: tuple[RuleSelection, ...] = setting((), merge=EXTEND)
    per_path_ignores: Mapping[str, tuple[str, ...]] = setting(
        merge=UPDATE, parse=_per_path_ignores, factory=dict
    )
    # None: the catalog's defaults (the params of LP104 and LP105)
    near_limit: float | None = setting(None, parse=_near_limit)
    large_file: int | None = setting(None, parse=_size)

    @property
    def near_limit_share(self) -> float:
        return (
            self.near_limit if self.near_limit is not None else _rule_default("LP104", "near-limit")
        )

    @property
    def large_file_bytes(self) -> int:
        return (
            self.large_file if self.large_file is not None else _rule_default("LP105", "large-file")
        )

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: Where) -> LintSettings:
        rest = {k: v for k, v in table.items() if k not in ("select", "extend-select", "ignore")}
        partial = super().from_table(rest, where)
        if len(rest) == len(table):
            return partial
        layer = RuleSelection(
            select=_codes(table["select"], "select", where) if "select" in table else None,
            extend_select=_codes(table.get("extend-select", ()), "extend-select", where),
            ignore=_codes(table.get("ignore", ()), "ignore", where),
        )
        return replace(partial, selections=(layer,), given=partial.given | {"selections"})


def _lint(value: Any, key: str, where: Where) -> LintSettings:
    if not isinstance(value, Mapping):
        raise ConfigError(f"[tool.lpack.lint] in {where} must be a table.")
    return LintSettings.from_table(value, where.nested("[tool.lpack.lint]"))


@dataclass(frozen=True)
class ArtifactSpec(Section):
    """What to build and check for one function or layer, and where its files are."""

    kind: str = setting("function")
    name: str = setting("", parse=_text)
    project_dir: Path = setting(Path("."))
    runtime: str = setting(DEFAULT_RUNTIME, parse=_runtime)
    arch: str = setting(DEFAULT_ARCH, parse=_arch)
    source: str = setting(".", parse=_text)
    handler: str | None = setting(None, parse=_text)
    requirements: str | None = setting(None, parse=_text)
    extras: tuple[str, ...] = setting((), parse=_strings)
    lock: str = setting("lpack.lock", parse=_text)
    output: str = setting("", parse=_text)
    include: tuple[str, ...] = setting((), parse=_strings)
    exclude: tuple[str, ...] = setting((), parse=_strings)
    upload: str = setting("direct", parse=_upload)
    max_zipped: int | None = setting(None, parse=_size)
    max_unzipped: int | None = setting(None, parse=_size)
    allow_sdist: tuple[str, ...] = setting((), parse=_strings)
    slim: SlimSettings = setting(merge=NESTED, parse=_slim, factory=SlimSettings)
    lint: LintSettings = setting(merge=NESTED, parse=_lint, factory=LintSettings)

    @cached_property
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


def settable_keys() -> list[str]:
    """The keys [tool.lpack] accepts."""
    return sorted(_key(f) for f in fields(ArtifactSpec) if f.metadata.get("parse"))


@dataclass(frozen=True)
class Project:
    """A project folder and the artifacts it builds (today: one function)."""

    root: Path
    artifacts: tuple[ArtifactSpec, ...]

    @property
    def function(self) -> ArtifactSpec:
        return next(a for a in self.artifacts if a.kind == "function")


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
