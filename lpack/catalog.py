"""The coded rules as validated data: lint checks (rules/lint.toml) and slimming categories
(rules/slim.toml). A malformed table fails when loaded, never half-way through a build."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from lpack.errors import RulesError
from lpack.facts import facts
from lpack.resources import load_rules_toml

SEVERITIES = ("error", "warning", "info")
_CODE = re.compile(r"^LP\d{3}$")
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Rule:
    """A lint rule: what it flags, why it matters, and how to fix it."""

    code: str
    name: str
    severity: str
    summary: str
    why: str
    example: str
    fix: str
    params: dict[str, Any] = field(default_factory=dict)


# How a slimming category decides what it removes (rules/slim.toml `scope`, `action`, `guard`).
SCOPES = ("files", "dist-info", "distribution")
ACTIONS = ("remove", "strip-elf")
GUARDS = ("imported", "module-beside", "source-beside")
FOLDER_SETS = ("tests", "docs")
DISTRIBUTION_SETS = ("runtime-provided",)


@dataclass(frozen=True)
class Category:
    """A slimming category: which dependency files it removes (or rewrites) and why."""

    code: str
    name: str
    summary: str
    why: str
    saves: str
    default: bool
    scope: str = "files"  # files inside packages | top-level dist-info files | whole distributions
    action: str = "remove"  # remove the file | strip-elf: rewrite it without debug sections
    guard: str | None = None  # what keeps a matching file (see GUARDS)
    dirs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()


def _require_text(code: str, row: dict[str, Any], key: str, source: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RulesError(
            f"rules/{source}: {code} lacks `{key}` (a non-empty string).",
            hint="reinstall lpack; the data shipped with it is damaged.",
        )
    return value


def _check_code(code: str, row: Any, source: str, allowed: set[str]) -> dict[str, Any]:
    if not _CODE.match(code) or not isinstance(row, dict):
        raise RulesError(f"rules/{source}: {code!r} is not a rule (LP and three digits, a table).")
    unknown = set(row) - allowed
    if unknown:
        raise RulesError(f"rules/{source}: {code} has unknown keys {', '.join(sorted(unknown))}.")
    name = _require_text(code, row, "name", source)
    if not _NAME.match(name):
        raise RulesError(f"rules/{source}: {code} name {name!r} is not kebab-case.")
    return row


@cache
def lint_rules() -> dict[str, Rule]:
    """Every lint rule by code, in code order."""
    allowed = {"name", "severity", "summary", "why", "example", "fix", "params"}
    rules = {}
    for code, raw in sorted(load_rules_toml("lint.toml").items()):
        row = _check_code(code, raw, "lint.toml", allowed)
        if code[2] == "8":
            raise RulesError(f"rules/lint.toml: {code} is in the LP8 family, kept for slimming.")
        severity = _require_text(code, row, "severity", "lint.toml")
        if severity not in SEVERITIES:
            raise RulesError(
                f"rules/lint.toml: {code} severity {severity!r} is not one of "
                f"{', '.join(SEVERITIES)}."
            )
        params = row.get("params", {})
        if not isinstance(params, dict):
            raise RulesError(f"rules/lint.toml: {code} params must be a table.")
        text = {
            key: _require_text(code, row, key, "lint.toml")
            for key in ("summary", "why", "example", "fix")
        }
        rules[code] = Rule(code, row["name"], severity, **text, params=dict(params))
    return rules


def _strings(code: str, row: dict[str, Any], key: str) -> tuple[str, ...]:
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RulesError(f"rules/slim.toml: {code} `{key}` must be a list of strings.")
    return tuple(value)


def _choice(code: str, row: dict[str, Any], key: str, choices: tuple[str, ...]) -> str | None:
    value = row.get(key)
    if value is not None and value not in choices:
        raise RulesError(
            f"rules/slim.toml: {code} `{key}` = {value!r} is not one of {', '.join(choices)}."
        )
    return value


@cache
def slim_categories() -> dict[str, Category]:
    """Every slimming category by code, in code order, with fact references resolved."""
    allowed = {
        "name",
        "summary",
        "why",
        "saves",
        "default",
        "scope",
        "action",
        "guard",
        "dirs",
        "files",
        "suffixes",
        "folders",
        "packages",
    }
    known_facts = facts()
    folder_sets = {"tests": known_facts.test_dirs, "docs": known_facts.doc_dirs}
    distribution_sets = {"runtime-provided": known_facts.runtime_provided}
    result = {}
    for code, raw in sorted(load_rules_toml("slim.toml").items()):
        row = _check_code(code, raw, "slim.toml", allowed)
        if code[2] != "8":
            raise RulesError(f"rules/slim.toml: {code} is outside the LP8 slimming family.")
        default = row.get("default", True)
        if not isinstance(default, bool):
            raise RulesError(f"rules/slim.toml: {code} `default` must be true or false.")
        folders = _choice(code, row, "folders", FOLDER_SETS)
        packages = _choice(code, row, "packages", DISTRIBUTION_SETS)
        result[code] = Category(
            code=code,
            name=row["name"],
            summary=_require_text(code, row, "summary", "slim.toml"),
            why=_require_text(code, row, "why", "slim.toml"),
            saves=_require_text(code, row, "saves", "slim.toml"),
            default=default,
            scope=_choice(code, row, "scope", SCOPES) or "files",
            action=_choice(code, row, "action", ACTIONS) or "remove",
            guard=_choice(code, row, "guard", GUARDS),
            dirs=_strings(code, row, "dirs") + (folder_sets[folders] if folders else ()),
            files=_strings(code, row, "files"),
            suffixes=_strings(code, row, "suffixes"),
            packages=distribution_sets[packages] if packages else (),
        )
    return result


def all_codes() -> list[str]:
    """Lint codes then slimming codes: what `lpack rules` lists."""
    return [*lint_rules(), *slim_categories()]
