"""Lambda's facts (rules/lambda.toml), validated once when loaded, and the labels lpack prints.

Everything else reads limits, runtime-provided packages and folder names from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from lpack.errors import RulesError
from lpack.resources import load_rules_toml

# How the function's own files are named where distributions are listed.
SOURCE_NAME = "your source"
SOURCE_LABEL = f"({SOURCE_NAME})"


@dataclass(frozen=True)
class LambdaFacts:
    zipped_limit: int
    unzipped_limit: int
    max_layers: int
    runtime_provided: tuple[str, ...]
    test_dirs: tuple[str, ...]
    doc_dirs: tuple[str, ...]

    @property
    def zipped_label(self) -> str:
        return f"{mib(self.zipped_limit)} zipped"

    @property
    def unzipped_label(self) -> str:
        return f"{mib(self.unzipped_limit)} unzipped"


def mib(n: int) -> str:
    """A limit in MiB as Lambda's documentation writes it: "50 MiB", "250 MiB"."""
    value = n / 1024 / 1024
    return f"{value:g} MiB"


def _positive_int(table: dict[str, Any], key: str, where: str) -> int:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise RulesError(f"rules/lambda.toml: [{where}] {key} must be a positive integer.")
    return value


def _names(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise RulesError(f"rules/lambda.toml: [{where}] {key} must be a list of names.")
    return tuple(value)


@cache
def facts() -> LambdaFacts:
    data = load_rules_toml("lambda.toml")
    expected = {
        "limits": {"zipped", "unzipped", "layers"},
        "runtime": {"provided"},
        "folders": {"tests", "docs"},
    }
    for section, keys in expected.items():
        table = data.get(section)
        if not isinstance(table, dict) or set(table) != keys:
            raise RulesError(
                f"rules/lambda.toml: [{section}] must hold exactly {', '.join(sorted(keys))}.",
                hint="reinstall lpack; the data shipped with it is damaged.",
            )
    limits, runtime, folders = data["limits"], data["runtime"], data["folders"]
    return LambdaFacts(
        zipped_limit=_positive_int(limits, "zipped", "limits"),
        unzipped_limit=_positive_int(limits, "unzipped", "limits"),
        max_layers=_positive_int(limits, "layers", "limits"),
        runtime_provided=_names(runtime, "provided", "runtime"),
        test_dirs=_names(folders, "tests", "folders"),
        doc_dirs=_names(folders, "docs", "folders"),
    )
