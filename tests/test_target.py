"""Target: the runtime table turned into wheel tags and marker values."""

from __future__ import annotations

import pytest
from packaging.tags import Tag

from lpack.errors import ConfigError
from lpack.target import Target


def test_al2_runtime_accepts_every_manylinux_up_to_glibc_2_26() -> None:
    t = Target.from_names("python3.11", "x86_64")
    assert t.glibc == (2, 26) and t.os_name == "Amazon Linux 2"
    tags = set(t.tags)
    for plat in (
        "manylinux_2_26_x86_64",
        "manylinux_2_24_x86_64",
        "manylinux2014_x86_64",
        "manylinux2010_x86_64",
        "manylinux1_x86_64",
        "manylinux_2_17_x86_64",
    ):
        assert Tag("cp311", "cp311", plat) in tags
    assert Tag("cp311", "cp311", "manylinux_2_27_x86_64") not in tags
    assert Tag("cp311", "cp311", "manylinux_2_28_x86_64") not in tags
    assert Tag("cp311", "cp311", "linux_x86_64") not in tags  # not portable: never accepted
    assert Tag("cp311", "cp311", "musllinux_1_2_x86_64") not in tags


def test_al2023_runtime_reaches_glibc_2_34_and_prefers_newest() -> None:
    t = Target.from_names("python3.12", "x86_64")
    assert t.tags[0] == Tag("cp312", "cp312", "manylinux_2_34_x86_64")
    assert Tag("cp312", "cp312", "manylinux_2_28_x86_64") in set(t.tags)
    assert Tag("cp312", "cp312", "manylinux_2_35_x86_64") not in set(t.tags)
    # Preference: a manylinux_2_28 build ranks above a manylinux2014 one.
    assert t.wheel_rank("x-1-cp312-cp312-manylinux_2_28_x86_64.whl") < t.wheel_rank(
        "x-1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )


def test_abi3_only_from_its_minimum_version_and_pure_wheels() -> None:
    t = Target.from_names("python3.10", "arm64")
    tags = set(t.tags)
    assert Tag("cp39", "abi3", "manylinux_2_17_aarch64") in tags
    assert Tag("cp311", "abi3", "manylinux_2_17_aarch64") not in tags
    assert Tag("py3", "none", "any") in tags
    assert Tag("cp310", "cp310", "manylinux_2_17_x86_64") not in tags
    assert Tag("cp310", "cp310", "manylinux_2_12_aarch64") not in tags  # below aarch64's floor
    assert t.wheel_rank("x-1-cp311-cp311-manylinux_2_17_aarch64.whl") is None
    assert t.wheel_rank("x-1-py3-none-any.whl") is not None


def test_marker_environment_is_the_runtime_not_the_host() -> None:
    env = Target.from_names("python3.9", "arm64").marker_environment()
    assert env["python_version"] == "3.9"
    assert env["python_full_version"].startswith("3.9.")
    assert env["platform_machine"] == "aarch64"
    assert env["sys_platform"] == "linux" and env["platform_system"] == "Linux"


@pytest.mark.parametrize(
    "runtime", ["python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14"]
)
def test_every_runtime_on_both_arches(runtime: str) -> None:
    for arch in ("x86_64", "arm64"):
        t = Target.from_names(runtime, arch)
        minor = int(runtime.split(".")[1])
        assert t.glibc == ((2, 26) if minor <= 11 else (2, 34))
        assert t.tags[0].interpreter == f"cp3{minor}"


def test_unknown_runtime_and_arch_name_the_accepted_values() -> None:
    with pytest.raises(ConfigError, match=r"python3\.8.*python3\.9, python3\.10"):
        Target.from_names("python3.8", "x86_64")
    with pytest.raises(ConfigError, match="x86_64, arm64"):
        Target.from_names("python3.12", "aarch64")
