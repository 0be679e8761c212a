"""The one merge rule of settings: partial sections layered field by field.

See lpack/settings/__init__.py for the rule; each field declares how it merges with
`setting(merge=...)`, and which parser reads its value from TOML or the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from lpack.errors import ConfigError

CLI_ORIGIN = "the command line"
REPLACE, EXTEND, NESTED, UPDATE = "replace", "extend", "nested", "update"


@dataclass(frozen=True)
class Where:
    """Where a value was read: a table of pyproject.toml, or the command line."""

    table: str  # "[tool.lpack.slim]"
    origin: str  # the pyproject.toml's path, or CLI_ORIGIN

    def __str__(self) -> str:
        return self.origin if self.origin == CLI_ORIGIN else f"{self.table} of {self.origin}"

    def nested(self, key: str) -> Where:
        """The subtable `key` of this table: [tool.lpack.functions.api] -> [...api.slim]."""
        return Where(f"[{self.table.strip('[]')}.{key}]", self.origin)


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
    def table_keys(cls) -> list[str]:
        """The keys its table accepts, in declaration order."""
        return [_key(f) for f in fields(cls) if f.metadata.get("parse")]

    @classmethod
    def from_table(cls: type[S], table: Mapping[str, Any], where: Where) -> S:
        """A partial section from a TOML table (or the CLI's values under the same keys)."""
        by_key = {_key(f): f for f in fields(cls) if f.metadata.get("parse")}
        values: dict[str, Any] = {}
        for key, value in table.items():
            f = by_key.get(key)
            if f is None:
                raise ConfigError(
                    f"Unknown key `{key}` in {where}.",
                    hint=f"accepted keys: {', '.join(cls.table_keys())}.",
                )
            values[f.name] = f.metadata["parse"](value, key, where)
        return cls.partial(**values)


def _plain(value: Any) -> Any:
    if isinstance(value, Section):
        return value.to_data()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
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
