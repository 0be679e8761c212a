"""Locates the data under rules/, inside the installed wheel or in a source checkout."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]


@cache
def rules_dir() -> Path:
    # The wheel carries rules/ as lpack/rules (hatch force-include); an editable
    # install or a plain checkout finds it beside the package.
    packaged = Path(__file__).parent / "rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "rules"


@cache
def load_rules_toml(name: str) -> dict[str, Any]:
    with open(rules_dir() / name, "rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    return data
