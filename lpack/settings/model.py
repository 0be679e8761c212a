"""The settings sections: slim, lint, and the artifact spec that holds them, and a project as a
list of artifacts. Each field declares its merge rule and its value parser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from lpack.catalog import lint_rules, slim_categories
from lpack.errors import ConfigError
from lpack.settings import values
from lpack.settings.merge import EXTEND, NESTED, UPDATE, Section, Where, setting
from lpack.target import Target


def canonical(name: str) -> str:
    """packaging's canonicalize_name, imported when a per-distribution table is read."""
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


DEFAULT_RUNTIME = "python3.12"
DEFAULT_ARCH = "x86_64"
KINDS = ("function", "layer")


@dataclass(frozen=True)
class DistributionSlim(Section):
    """[tool.lpack.slim.per-distribution.NAME]: slimming for one distribution."""

    enable: tuple[str, ...] = setting((), merge=EXTEND, parse=values.slim_codes)
    disable: tuple[str, ...] = setting((), merge=EXTEND, parse=values.slim_codes)
    keep: tuple[str, ...] = setting((), merge=EXTEND, parse=values.strings)
    drop: tuple[str, ...] = setting((), merge=EXTEND, parse=values.strings)


def _per_distribution(value: Any, key: str, where: Where) -> dict[str, DistributionSlim]:
    result: dict[str, DistributionSlim] = {}
    for dist, rules in values.table(value, key, where, "distribution = {...}").items():
        if not isinstance(rules, Mapping):
            raise ConfigError(f"`slim.per-distribution.{dist}` must be a table.")
        result[str(canonical(dist))] = DistributionSlim.from_table(
            rules, where.nested(f"per-distribution.{dist}")
        )
    return result


@dataclass(frozen=True)
class SlimSettings(Section):
    """[tool.lpack.slim]: which categories run and the user's keep/drop globs."""

    enabled: bool = setting(True, parse=values.flag)
    enable: tuple[str, ...] = setting((), merge=EXTEND, parse=values.slim_codes)
    disable: tuple[str, ...] = setting((), merge=EXTEND, parse=values.slim_codes)
    keep: tuple[str, ...] = setting((), merge=EXTEND, parse=values.strings)
    drop: tuple[str, ...] = setting((), merge=EXTEND, parse=values.strings)
    per_distribution: Mapping[str, DistributionSlim] = setting(
        merge=UPDATE, parse=_per_distribution, factory=dict
    )

    def rules_for(self, dist: str | None) -> SlimRules:
        """The categories, keep and drop globs in force for one distribution (None: the
        project-wide ones): per-distribution settings refine the project's."""
        defaults = {code for code, cat in slim_categories().items() if cat.default}
        enabled = (defaults | set(self.enable)) - set(self.disable)
        keep, drop = self.keep, self.drop
        per = self.per_distribution.get(canonical(dist)) if dist else None
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


def _slim(value: Any, key: str, where: Where) -> SlimSettings:
    if isinstance(value, bool):  # `slim = false` turns slimming off
        return SlimSettings.partial(enabled=value)
    if not isinstance(value, Mapping):
        raise ConfigError(f"`slim` in {where} must be a table or true/false, not {value!r}.")
    return SlimSettings.from_table(value, where.nested("slim"))


@dataclass(frozen=True)
class RuleSelection:
    """One layer's select / extend-select / ignore (codes or prefixes); select=None: unset."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


def _per_path_ignores(value: Any, key: str, where: Where) -> dict[str, tuple[str, ...]]:
    table = values.table(value, "lint.per-path-ignores", where, 'glob = ["CODE", ...]')
    return {
        glob: values.lint_codes(codes, f"lint.per-path-ignores.{glob}", where)
        for glob, codes in table.items()
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
    near_limit: float | None = setting(None, parse=values.share)
    large_file: int | None = setting(None, parse=values.size)

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
    def table_keys(cls) -> list[str]:
        return ["select", "extend-select", "ignore", *super().table_keys()]

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: Where) -> LintSettings:
        rest = {k: v for k, v in table.items() if k not in ("select", "extend-select", "ignore")}
        partial = super().from_table(rest, where)
        if len(rest) == len(table):
            return partial
        layer = RuleSelection(
            select=values.lint_codes(table["select"], "select", where)
            if "select" in table
            else None,
            extend_select=values.lint_codes(table.get("extend-select", ()), "extend-select", where),
            ignore=values.lint_codes(table.get("ignore", ()), "ignore", where),
        )
        return replace(partial, selections=(layer,), given=partial.given | {"selections"})


def _lint(value: Any, key: str, where: Where) -> LintSettings:
    if not isinstance(value, Mapping):
        raise ConfigError(f"`lint` in {where} must be a table, not {value!r}.")
    return LintSettings.from_table(value, where.nested("lint"))


@dataclass(frozen=True)
class ArtifactSpec(Section):
    """What to build and check for one function or layer, and where its files are."""

    kind: str = setting("function")
    name: str = setting("", parse=values.text)
    project_dir: Path = setting(Path("."))
    # Declared in a [tool.lpack.functions.NAME] or [tool.lpack.layers.NAME] table: its
    # requirements are found beside its source, and it may have none.
    declared: bool = setting(False)
    # The command line chose the runtime or arch: a lock for another target stays untouched.
    target_from_cli: bool = setting(False)
    runtime: str = setting(DEFAULT_RUNTIME, parse=values.runtime)
    arch: str = setting(DEFAULT_ARCH, parse=values.arch)
    source: str | None = setting(".", parse=values.text)  # None: no files of its own (a layer)
    layers: tuple[str, ...] = setting((), parse=values.strings)  # the layers a function uses
    handler: str | None = setting(None, parse=values.text)
    requirements: str | None = setting(None, parse=values.text)
    extras: tuple[str, ...] = setting((), parse=values.strings)
    # Dependency groups (PEP 735, uv, Poetry) to ship; None: the tool's defaults minus dev.
    groups: tuple[str, ...] | None = setting(None, parse=values.strings)
    lock: str = setting("lpack.lock", parse=values.text)
    output: str = setting("", parse=values.text)
    include: tuple[str, ...] = setting((), parse=values.strings)
    exclude: tuple[str, ...] = setting((), parse=values.strings)
    upload: str = setting("direct", parse=values.upload)
    compression: str = setting("default", parse=values.compression)  # see assemble/compress.py
    max_zipped: int | None = setting(None, parse=values.size)
    max_unzipped: int | None = setting(None, parse=values.size)
    allow_sdist: tuple[str, ...] = setting((), parse=values.strings)
    # Ship .pyc compiled by the target's Python: Lambda's read-only folders cannot cache them.
    bytecode: bool = setting(False, parse=values.flag)
    # verify: a folder holding another CPU's root file system with the runtime's Python, run
    # under qemu-user when the package's arch is not this machine's (.ci/arm64-python makes one).
    emulation_root: str | None = setting(None, parse=values.text)
    slim: SlimSettings = setting(merge=NESTED, parse=_slim, factory=SlimSettings)
    lint: LintSettings = setting(merge=NESTED, parse=_lint, factory=LintSettings)

    @cached_property
    def target(self) -> Target:
        return Target.from_names(self.runtime, self.arch)

    @property
    def source_dir(self) -> Path | None:
        return (self.project_dir / self.source).resolve() if self.source is not None else None

    @property
    def requirements_dir(self) -> Path:
        """Where its requirements file is looked for: its own folder when it was declared in
        a table, the project folder otherwise."""
        if self.declared and self.source_dir is not None:
            return self.source_dir
        return self.project_dir

    @property
    def lock_path(self) -> Path:
        return (self.project_dir / self.lock).resolve()

    @property
    def output_path(self) -> Path:
        return (self.project_dir / (self.output or f"dist/{self.name}.zip")).resolve()

    @property
    def emulation_root_path(self) -> Path | None:
        return (self.project_dir / self.emulation_root).resolve() if self.emulation_root else None


@dataclass(frozen=True)
class Project:
    """A project folder and the artifacts it builds: one function, or the functions and
    layers its [tool.lpack.functions] and [tool.lpack.layers] tables declare."""

    root: Path
    artifacts: tuple[ArtifactSpec, ...]
    # The settings every artifact starts from: what a zip that is none of them is read with.
    shared: ArtifactSpec | None = None

    @property
    def declared(self) -> bool:
        return any(a.declared for a in self.artifacts)

    @property
    def function(self) -> ArtifactSpec:
        """The function single-artifact commands work on (the first one declared)."""
        found = next((a for a in self.artifacts if a.kind == "function"), None)
        if found is None:
            raise ConfigError(
                f"{self.root} declares no function, only layers "
                f"({', '.join(a.name for a in self.artifacts)}).",
                hint="name the layer's zip explicitly, or declare a [tool.lpack.functions.NAME].",
            )
        return found

    def spec_for(self, path: Path | None) -> ArtifactSpec:
        """The settings to read a package with: the artifact that writes this zip, else the
        project's function (or, when it declares several, their shared settings)."""
        if path is not None:
            for spec in self.artifacts:
                if spec.output_path == path.resolve():
                    return spec
        if self.declared and self.shared is not None:
            return self.shared
        return self.function

    def artifact(self, name: str) -> ArtifactSpec:
        for spec in self.artifacts:
            if spec.name == name:
                return spec
        raise ConfigError(
            f"{self.root} has no artifact named {name!r}; it has "
            f"{', '.join(a.name for a in self.artifacts)}.",
            hint="use one of those names (`lpack build --list` lists them).",
        )

    def layers_of(self, spec: ArtifactSpec) -> list[ArtifactSpec]:
        return [self.artifact(name) for name in spec.layers]

    def select(self, names: Sequence[str]) -> list[ArtifactSpec]:
        """The named artifacts and the layers they use (every artifact when none is named),
        layers first, each once."""
        chosen = [self.artifact(n) for n in names] if names else list(self.artifacts)
        wanted = {s.name for s in chosen} | {layer for s in chosen for layer in s.layers}
        ordered = sorted(self.artifacts, key=lambda s: (s.kind != "layer", s.name))
        return [s for s in ordered if s.name in wanted]
