"""[tool.lpack] and CLI options: defaults, precedence and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_project, run_lpack

from lpack.errors import ConfigError
from lpack.settings import cli_spec, load_artifact, parse_size


def test_defaults_without_any_config(tmp_path: Path) -> None:
    project = make_project(tmp_path / "fn")
    config = load_artifact(project)
    assert (config.runtime, config.arch, config.upload) == ("python3.12", "x86_64", "direct")
    assert config.output_path == project / "dist" / "fn.zip"
    assert config.lock_path == project / "lpack.lock"


def test_cli_overrides_pyproject(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "fn",
        tool='runtime = "python3.11"\narch = "arm64"\nmax-zipped = "10 MiB"\nexclude = ["*.md"]',
    )
    config = load_artifact(project, cli_spec({"runtime": "python3.13"}))
    assert config.runtime == "python3.13" and config.arch == "arm64"
    assert config.max_zipped == 10 * 1024 * 1024 and config.exclude == ("*.md",)


@pytest.mark.parametrize(
    "tool, message",
    [
        ('runtimee = "python3.11"', "Unknown key `runtimee`"),
        ('runtime = "python2.7"', "accepted: python3.9"),
        ('arch = "aarch64"', "accepted: x86_64, arm64"),
        ('upload = "ftp"', "accepted: direct, s3"),
        ('max-zipped = "lots"', "not a size"),
        ('max-zipped = "0 B"', "not a size"),
        ("max-unzipped = 0", "not a size"),
        ('[tool.lpack.slim]\nper-distribution = "numpy"', "per-distribution"),
        ('exclude = "*.md"\ninclude = [1]', "list of strings"),
    ],
)
def test_bad_config_names_key_and_accepted_values(tmp_path: Path, tool: str, message: str) -> None:
    project = make_project(tmp_path / "fn", tool=tool)
    with pytest.raises(ConfigError, match=message.replace("`", "`").replace(".", r"\.")):
        load_artifact(project)


def test_unparsable_pyproject_is_a_clear_error(tmp_path: Path) -> None:
    project = make_project(tmp_path / "fn")
    (project / "pyproject.toml").write_text("[tool.lpack\nruntime = 3\n")
    result = run_lpack("build", str(project), "--format", "json")
    assert result.rc == 2
    assert "is not valid TOML" in result.json["error"]["message"]
    assert not (project / "dist").exists()


def test_cli_rejects_unknown_runtime_with_choices(tmp_path: Path) -> None:
    result = run_lpack("build", str(make_project(tmp_path / "fn")), "--runtime", "python3.8")
    assert result.rc == 2 and "python3.12" in result.stderr


def test_sizes() -> None:
    assert parse_size("k", "40 MiB") == 41943040
    assert parse_size("k", "45MB") == 45_000_000
    assert parse_size("k", 123) == 123
    with pytest.raises(ConfigError):
        parse_size("k", -1)
