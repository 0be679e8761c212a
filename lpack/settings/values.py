"""Parsers of settings values: each checks one key's value and names the key, where it was
read and what is accepted when it is wrong."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from lpack.catalog import lint_rules, slim_categories
from lpack.errors import ConfigError
from lpack.settings.merge import Parser, Where
from lpack.target import arches, runtimes

UPLOAD_MODES = ("direct", "s3")


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}
_SIZE_UNITS.update({"kib": 1024, "mib": 1024**2, "gib": 1024**3})


def parse_size(key: str, value: object, where: Where | None = None) -> int:
    place = f" in {where}" if where is not None else ""
    if isinstance(value, bool):
        raise ConfigError(
            f'`{key}`{place} must be a size such as 40000000 or "40 MiB", not {value!r}.'
        )
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        if match:
            unit = (match.group(2) or "B").lower()
            parsed = int(float(match.group(1)) * _SIZE_UNITS[unit])
            if parsed > 0:  # "0 B" is as meaningless a budget as 0
                return parsed
    raise ConfigError(
        f"`{key}` = {value!r}{place} is not a size.",
        hint='write a positive number of bytes (40000000) or a string like "40 MiB" or "45 MB".',
    )


def size(value: Any, key: str, where: Where) -> int:
    return parse_size(key, value, where)


def text(value: Any, key: str, where: Where) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"`{key}` in {where} must be a string, not {value!r}.")
    return value


def strings(value: Any, key: str, where: Where) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"`{key}` in {where} must be a list of strings, not {value!r}.")
    return tuple(value)


def choice(accepted: Callable[[], Any], what: str, hint: str) -> Parser:
    def parse(value: Any, key: str, where: Where) -> str:
        choices = list(accepted())
        if value not in choices:
            raise ConfigError(
                f"`{key}` = {value!r} in {where} is not {what}; accepted: {', '.join(choices)}.",
                hint=hint,
            )
        return str(value)

    return parse


runtime = choice(
    runtimes, "a Lambda Python runtime", "pick one of those (python3.12 is the default)."
)
arch = choice(
    arches, "a Lambda architecture", "use x86_64 or arm64 (Lambda's names; aarch64 is arm64)."
)
upload = choice(
    lambda: UPLOAD_MODES,
    "accepted",
    "`direct` when the zip goes straight to the Lambda API (Terraform `filename`, console); "
    "`s3` for SAM, Serverless, CDK and other S3 uploads.",
)

compression = choice(
    lambda: ("fast", "default", "smallest"),
    "a compression",
    "`default` deflates every file with libdeflate -10 (cached, so paid once per file); "
    "`smallest` with -12; `fast` copies wheel members as their wheels compressed them.",
)


def lint_codes(value: Any, key: str, where: Where) -> tuple[str, ...]:
    """Rule codes or prefixes; "LP201,LP105" is two, as in ruff."""
    items = [p.strip().upper() for v in strings(value, key, where) for p in v.split(",")]
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


def slim_codes(value: Any, key: str, where: Where) -> tuple[str, ...]:
    codes = tuple(c.upper() for c in strings(value, key, where))
    known = slim_categories()
    for code in codes:
        if code not in known:
            raise ConfigError(
                f"Unknown slim category {code!r} in `{key}` of {where}; lpack knows "
                f"{', '.join(f'{c} ({k.name})' for c, k in known.items())}.",
                hint="use one of those codes (`lpack rules` lists them, `lpack explain CODE` "
                "explains one).",
            )
    return codes


def table(value: Any, key: str, where: Where, shape: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"`{key}` in {where} must be a table of {shape}.")
    return value


def flag(value: Any, key: str, where: Where) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"`{key}` in {where} must be true or false.")
    return value


def share(value: Any, key: str, where: Where) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(
            f"`{key}` in {where} must be a share between 0 and 1 (e.g. 0.8), not {value!r}."
        )
    return float(value)
