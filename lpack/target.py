"""The Lambda target: runtime + arch -> Python version, OS, glibc, wheel tags and markers."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from lpack.errors import ConfigError, RulesError
from lpack.resources import load_rules_toml

if TYPE_CHECKING:
    from packaging import tags as ptags

# manylinux_2_X equivalents of the legacy PEP 513/571/599 names.
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


_REQUIRED = {
    "os": {"name", "glibc", "glibcxx", "cxxabi", "platform_release"},
    "arch": {"machine", "manylinux_floor"},
    "runtime": {"python", "python_full", "os", "arches"},
}


@cache
def _table() -> dict[str, Any]:
    """rules/runtimes.toml, checked once: every entry complete, every reference known."""
    table = load_rules_toml("runtimes.toml")
    for section, keys in _REQUIRED.items():
        entries = table.get(section)
        if not isinstance(entries, dict) or not entries:
            raise RulesError(f"rules/runtimes.toml: [{section}] is missing.")
        for name, entry in entries.items():
            if not isinstance(entry, dict) or set(entry) != keys:
                raise RulesError(
                    f"rules/runtimes.toml: [{section}.{name}] must hold exactly "
                    f"{', '.join(sorted(keys))}.",
                    hint="reinstall lpack; the data shipped with it is damaged.",
                )
    for name, entry in table["runtime"].items():
        if entry["os"] not in table["os"] or not set(entry["arches"]) <= set(table["arch"]):
            raise RulesError(f"rules/runtimes.toml: {name} names an unknown os or arch.")
    return table


def runtimes() -> dict[str, dict[str, object]]:
    return dict(_table()["runtime"])


def arches() -> list[str]:
    return list(_table()["arch"])


def _version_tuple(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


if TYPE_CHECKING:
    from packaging import tags as ptags


@dataclass(frozen=True)
class Target:
    runtime: str
    arch: str
    python_version: tuple[int, int]
    python_full: str
    os_id: str
    os_name: str
    glibc: tuple[int, int]
    machine: str
    manylinux_floor: tuple[int, int]
    platform_release: str
    glibcxx: tuple[int, ...] = (3, 4, 24)
    cxxabi: tuple[int, ...] = (1, 3, 11)

    @classmethod
    def from_names(cls, runtime: str, arch: str) -> Target:
        table = _table()
        known = table["runtime"]
        if runtime not in known:
            raise ConfigError(
                f"Unknown runtime {runtime!r}: lpack knows {', '.join(known)}.",
                hint="set `runtime` in [tool.lpack] or pass --runtime with one of those.",
            )
        entry = known[runtime]
        if arch not in entry["arches"]:
            raise ConfigError(
                f"Unknown arch {arch!r} for {runtime}: Lambda offers {', '.join(entry['arches'])}.",
                hint="set `arch` in [tool.lpack] or pass --arch x86_64 or --arch arm64.",
            )
        os_entry = table["os"][entry["os"]]
        arch_entry = table["arch"][arch]
        return cls(
            runtime=runtime,
            arch=arch,
            python_version=_version_tuple(entry["python"]),
            python_full=entry["python_full"],
            os_id=entry["os"],
            os_name=os_entry["name"],
            glibc=_version_tuple(os_entry["glibc"]),
            machine=arch_entry["machine"],
            manylinux_floor=_version_tuple(arch_entry["manylinux_floor"]),
            platform_release=f"{os_entry['platform_release']}.{arch_entry['machine']}",
            glibcxx=tuple(int(p) for p in os_entry["glibcxx"].split(".")),
            cxxabi=tuple(int(p) for p in os_entry["cxxabi"].split(".")),
        )

    @property
    def key(self) -> str:
        """Stable identity of the target, used in lock headers and cache keys."""
        return f"{self.runtime}-{self.arch}"

    @property
    def interpreter(self) -> str:
        return "cp{}{}".format(*self.python_version)

    @property
    def glibc_text(self) -> str:
        return "{}.{}".format(*self.glibc)

    def describe(self) -> str:
        return (
            f"{self.runtime} · {self.arch} · {self.os_name} · "
            f"manylinux ≤ {self.glibc[0]}_{self.glibc[1]}"
        )

    @cached_property
    def platforms(self) -> list[str]:
        """Platform tags in order of preference: newest glibc first, legacy alias after its twin.

        Unlike the recipe that asks only for manylinux2014, every manylinux_2_X up to
        the runtime's glibc is accepted, so wheels tagged only manylinux_2_24/2_26 are seen.
        """
        major, newest = self.glibc
        result: list[str] = []
        for minor in range(newest, self.manylinux_floor[1] - 1, -1):
            result.append(f"manylinux_{major}_{minor}_{self.machine}")
            legacy = _LEGACY_MANYLINUX.get((major, minor))
            if legacy:
                result.append(f"{legacy}_{self.machine}")
        return result

    @cached_property
    def tags(self) -> list[ptags.Tag]:
        """Every wheel tag the runtime accepts, most preferred first (pip's order)."""
        from packaging import tags as ptags  # here: settings load targets, and must be quick

        interpreter = self.interpreter
        ordered = list(
            ptags.cpython_tags(
                python_version=self.python_version,
                abis=[interpreter],
                platforms=self.platforms,
            )
        )
        ordered += list(
            ptags.compatible_tags(
                python_version=self.python_version,
                interpreter=interpreter,
                platforms=self.platforms,
            )
        )
        seen: set[ptags.Tag] = set()
        unique = []
        for tag in ordered:
            if tag not in seen:
                seen.add(tag)
                unique.append(tag)
        return unique

    @cached_property
    def tag_rank(self) -> dict[ptags.Tag, int]:
        return {tag: rank for rank, tag in enumerate(self.tags)}

    def wheel_rank(self, filename: str) -> int | None:
        """Preference of a wheel file for this target (lower is better), None if incompatible."""
        from packaging.utils import InvalidWheelFilename, parse_wheel_filename

        try:
            _, _, _, file_tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            return None
        ranks = [self.tag_rank[t] for t in file_tags if t in self.tag_rank]
        return min(ranks) if ranks else None

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker values as the Lambda runtime would report them."""
        from packaging.markers import default_environment

        env: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
        version = "{}.{}".format(*self.python_version)
        env.update(
            implementation_name="cpython",
            implementation_version=self.python_full,
            os_name="posix",
            platform_machine=self.machine,
            platform_python_implementation="CPython",
            platform_release=self.platform_release,
            platform_system="Linux",
            platform_version="#1 SMP",
            python_full_version=self.python_full,
            python_version=version,
            sys_platform="linux",
        )
        return env

    def host_matches(self) -> bool:
        """True when this machine's Python could load the target's binaries."""
        import sys

        host_machine = platform.machine().lower()
        return (
            sys.platform == "linux"
            and sys.implementation.name == "cpython"
            and sys.version_info[:2] == self.python_version
            and host_machine in {self.machine, "amd64" if self.machine == "x86_64" else ""}
        )
