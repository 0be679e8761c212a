"""The shared libraries each Lambda runtime provides (rules/runtime-libs.toml), checked once.

An ELF in a package may need these without shipping them; lint rule LP209 flags any other
need that nothing shipped provides, and `lpack verify --runtime-libraries-only` shows only
these to the import.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from lpack.errors import RulesError
from lpack.resources import load_rules_toml
from lpack.target import Target, arches, runtimes

_FILE = "rules/runtime-libs.toml"


def _names(table: Any, where: str) -> frozenset[str]:
    entry = table.get("libraries") if isinstance(table, dict) else None
    if not isinstance(entry, list) or not all(isinstance(n, str) and n for n in entry):
        raise RulesError(
            f"{_FILE}: [{where}] needs `libraries`, a list of library names.",
            hint="reinstall lpack; the data shipped with it is damaged.",
        )
    return frozenset(entry)


@cache
def _table() -> dict[str, Any]:
    table = load_rules_toml("runtime-libs.toml")
    known_os = {str(entry["os"]) for entry in runtimes().values()}
    for section, names in (("os", known_os), ("arch", set(arches()))):
        for name in names:
            _names(table.get(section, {}).get(name), f"{section}.{name}")
    for name, entry in table.get("runtime", {}).items():
        if name not in runtimes():
            raise RulesError(f"{_FILE}: [runtime.{name}] is not a runtime lpack knows.")
        _names(entry, f"runtime.{name}")
    _names(table.get("common"), "common")
    _names(table.get("python"), "python")
    remedies = table.get("remedy", {})
    if not isinstance(remedies, dict) or not all(isinstance(v, str) for v in remedies.values()):
        raise RulesError(f"{_FILE}: [remedy] maps library names to text.")
    return table


@cache
def provided_libraries(target: Target) -> frozenset[str]:
    """Every library name the target runtime's image and /var/lang/lib provide."""
    table = _table()
    python = "{}.{}".format(*target.python_version)
    parts = [
        _names(table["common"], "common"),
        _names(table["os"][target.os_id], f"os.{target.os_id}"),
        _names(table["arch"][target.arch], f"arch.{target.arch}"),
        frozenset(n.replace("{python}", python) for n in table["python"]["libraries"]),
    ]
    if target.runtime in table.get("runtime", {}):
        parts.append(_names(table["runtime"][target.runtime], f"runtime.{target.runtime}"))
    return frozenset().union(*parts)


def library_remedy(name: str) -> str:
    """What to do when a package needs this library and nothing provides it."""
    remedies: dict[str, str] = _table().get("remedy", {})
    base = name.split(".so", 1)[0]  # libgomp.so.1.0.0 is libgomp.so.1's file name
    specific = remedies.get(name) or next(
        (text for key, text in remedies.items() if key.split(".so", 1)[0] == base), None
    )
    return specific or (
        f"ship a build of {name} for the target in a layer's lib/ folder (Lambda searches "
        "/opt/lib) or in the function's lib/ folder, or use a wheel that bundles it "
        "(auditwheel repair puts it in <package>.libs/)"
    )
