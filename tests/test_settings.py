"""One merge rule: (pyproject.toml, command line) -> effective settings, table-driven."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_lpack
from lint_fixtures import golden_package

from lpack.errors import ConfigError
from lpack.inspect.lint import enabled_codes
from lpack.settings import (
    ArtifactSpec,
    LintSettings,
    Project,
    RuleSelection,
    SlimSettings,
    cli_spec,
    load_artifact,
    load_project,
)

HOST = f"python3.{sys.version_info[1]}"
ALL_LINT = set(enabled_codes(()))


def _effective(tmp_path: Path, toml: str, flags: dict[str, Any]) -> ArtifactSpec:
    project = tmp_path / "fn"
    project.mkdir()
    (project / "pyproject.toml").write_text(toml)
    return load_artifact(project, cli_spec(flags))


def _lint(spec: ArtifactSpec) -> set[str]:
    return enabled_codes(spec.lint.selections)


def _prefixed(*prefixes: str) -> set[str]:
    return {c for c in ALL_LINT if c.startswith(prefixes)}


# (name, pyproject.toml, command-line values under their TOML keys, expected facts)
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "defaults",
        "",
        {},
        {
            "runtime": "python3.12",
            "upload": "direct",
            "lint": ALL_LINT,
            "slim.enabled": True,
            "near_limit": 0.8,
        },
    ),
    (
        "flag replaces a scalar",
        '[tool.lpack]\nruntime = "python3.11"\nupload = "s3"\n',
        {"runtime": "python3.13"},
        {"runtime": "python3.13", "upload": "s3"},
    ),
    (
        "flag replaces a plain list",
        '[tool.lpack]\nexclude = ["*.md"]\n',
        {"exclude": ["docs"]},
        {"exclude": ("docs",)},
    ),
    # The bug this model fixes: any lint flag used to drop the whole [tool.lpack.lint] table.
    (
        "--ignore keeps the project's ignore and thresholds",
        '[tool.lpack.lint]\nignore = ["LP402"]\nnear-limit = 0.5\nlarge-file = "1 MiB"\n'
        '[tool.lpack.lint.per-path-ignores]\n"vendor/" = ["LP3"]\n',
        {"lint": {"ignore": ["LP105"]}},
        {
            "lint": ALL_LINT - {"LP402", "LP105"},
            "near_limit": 0.5,
            "large_file": 1024**2,
            "per_path_ignores": {"vendor/": ("LP3",)},
        },
    ),
    (
        "--extend-select keeps the project's ignore",
        '[tool.lpack.lint]\nignore = ["LP402"]\n',
        {"lint": {"extend-select": ["LP3"]}},
        {"lint": ALL_LINT - {"LP402"}},
    ),
    (
        "a later extend-select re-enables what the project ignored",
        '[tool.lpack.lint]\nignore = ["LP4"]\n',
        {"lint": {"extend-select": ["LP402"]}},
        {"lint": ALL_LINT - _prefixed("LP4") | {"LP402"}},
    ),
    (
        "--select starts over, as in ruff",
        '[tool.lpack.lint]\nignore = ["LP402"]\n',
        {"lint": {"select": ["LP4"]}},
        {"lint": _prefixed("LP4")},
    ),
    (
        "the more specific selector wins within a layer",
        '[tool.lpack.lint]\nselect = ["LP4"]\nignore = ["LP402"]\n',
        {},
        {"lint": _prefixed("LP4") - {"LP402"}},
    ),
    (
        "a specific select beats a broad ignore",
        '[tool.lpack.lint]\nselect = ["LP402"]\nignore = ["LP4"]\n',
        {},
        {"lint": {"LP402"}},
    ),
    (
        "comma lists split",
        "",
        {"lint": {"ignore": ["LP201,LP105"]}},
        {"lint": ALL_LINT - {"LP201", "LP105"}},
    ),
    (
        "slim flags extend the project's lists",
        '[tool.lpack.slim]\nkeep = ["a/**"]\ndisable = ["LP803"]\n',
        {"slim": {"keep": ["b/**"], "enable": ["LP808"]}},
        {"slim.keep": ("a/**", "b/**"), "slim.disable": ("LP803",), "slim.enable": ("LP808",)},
    ),
    (
        "--no-slim turns off what the project turned on",
        "[tool.lpack.slim]\nenabled = true\n",
        {"slim": {"enabled": False}},
        {"slim.enabled": False},
    ),
    ("slim = false in the project", "[tool.lpack]\nslim = false\n", {}, {"slim.enabled": False}),
    (
        "budgets from the file, one replaced by a flag",
        '[tool.lpack]\nmax-zipped = "10 MiB"\nmax-unzipped = 1000\n',
        {"max-zipped": 5},
        {"max_zipped": 5, "max_unzipped": 1000},
    ),
]


@pytest.mark.parametrize("name, toml, flags, expected", CASES, ids=[c[0] for c in CASES])
def test_toml_and_flags_give_effective_settings(
    tmp_path: Path, name: str, toml: str, flags: dict[str, Any], expected: dict[str, Any]
) -> None:
    spec = _effective(tmp_path, toml, flags)
    actual = {
        "runtime": spec.runtime,
        "upload": spec.upload,
        "exclude": spec.exclude,
        "lint": _lint(spec),
        "near_limit": spec.lint.near_limit_share,
        "large_file": spec.lint.large_file_bytes,
        "per_path_ignores": dict(spec.lint.per_path_ignores),
        "max_zipped": spec.max_zipped,
        "max_unzipped": spec.max_unzipped,
        "slim.enabled": spec.slim.enabled,
        "slim.keep": spec.slim.keep,
        "slim.enable": spec.slim.enable,
        "slim.disable": spec.slim.disable,
    }
    assert {key: actual[key] for key in expected} == expected


def test_per_distribution_slim_refines_the_project_wide_rules(tmp_path: Path) -> None:
    spec = _effective(
        tmp_path,
        '[tool.lpack.slim]\ndisable = ["LP803"]\nkeep = ["x"]\n'
        '[tool.lpack.slim.per-distribution.Some_Dist]\nenable = ["LP803"]\ndrop = ["y"]\n',
        {"slim": {"keep": ["z"]}},
    )
    mine = spec.slim.rules_for("some-dist")
    others = spec.slim.rules_for("other")
    assert "LP803" in mine.enabled and "LP803" not in others.enabled
    assert mine.keep == ("x", "z") and mine.drop == ("y",) and others.drop == ()


def test_merge_rule_is_one_rule_for_every_section() -> None:
    base = LintSettings.partial(selections=(RuleSelection(ignore=("LP402",)),), near_limit=0.5)
    over = LintSettings.partial(selections=(RuleSelection(ignore=("LP105",)),))
    merged = base.merged(over)
    assert merged.near_limit == 0.5  # not given above: kept
    assert [s.ignore for s in merged.selections] == [("LP402",), ("LP105",)]
    assert merged.given == {"selections", "near_limit"}
    # A partial changes only what it sets; an empty partial changes nothing.
    assert SlimSettings.partial(keep=("a",)).merged(SlimSettings()) == SlimSettings(keep=("a",))
    spec = ArtifactSpec.partial(runtime="python3.11")
    assert spec.merged(ArtifactSpec.partial(arch="arm64")).runtime == "python3.11"


def test_a_project_is_a_list_of_artifacts(tmp_path: Path) -> None:
    project = tmp_path / "orders"
    project.mkdir()
    loaded = load_project(project)
    assert isinstance(loaded, Project) and len(loaded.artifacts) == 1
    function = loaded.function
    assert function.kind == "function" and function.name == "orders"
    assert function.output_path == project / "dist" / "orders.zip"


@pytest.mark.parametrize(
    "toml, message",
    [
        ('[tool.lpack.lint]\nignore = ["LP999"]\n', "Unknown rule code or prefix 'LP999'"),
        ('[tool.lpack.lint]\nselect = ["XX1"]\n', "Unknown rule code or prefix 'XX1'"),
        ("[tool.lpack.lint]\nnear-limit = 2\n", "share between 0 and 1"),
        ("[tool.lpack.lint]\nfrobnicate = 1\n", "Unknown key `frobnicate` in [tool.lpack.lint]"),
        ('[tool.lpack.slim.per-distribution.x]\nenable = ["LP899"]\n', "Unknown slim category"),
        (
            "[tool.lpack.slim.per-distribution.x]\nkeepp = []\n",
            "Unknown key `keepp` in [tool.lpack.slim.per-distribution.x]",
        ),
        ('[tool.lpack]\nslim = "yes"\n', "must be a table or true/false"),
        ('[tool.lpack.lint]\nlarge-file = "big"\n', "`large-file` = 'big' in [tool.lpack.lint] of"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _effective(tmp_path, toml, {})
    assert message in caught.value.message
    assert str(tmp_path / "fn" / "pyproject.toml") in caught.value.message or "[tool.lpack" in (
        caught.value.message
    )


def test_lint_flags_keep_the_projects_ignore(tmp_path: Path) -> None:
    """The reported bug, end to end: `--ignore` on the command line used to bring back every
    finding the project's [tool.lpack.lint] ignored."""
    package = golden_package(tmp_path / "bad.zip")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[tool.lpack]\nruntime = "{HOST}"\n[tool.lpack.lint]\nignore = ["LP402"]\n'
    )
    base = run_lpack("lint", str(package), "--runtime", HOST, "--format", "json")
    assert any(f["code"] == "LP402" for f in base.json["findings"])
    for flags in (["--ignore", "LP105"], ["--extend-select", "LP3"]):
        r = run_lpack("lint", str(package), "--project", str(project), *flags, "--format", "json")
        assert r.rc in (0, 1), r.stderr
        assert not any(f["code"] == "LP402" for f in r.json["findings"]), flags


def test_unknown_key_hints_list_every_key_of_the_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _effective(tmp_path, "[tool.lpack.lint]\nselectt = []\n", {})
    assert caught.value.hint == (
        "accepted keys: select, extend-select, ignore, per-path-ignores, near-limit, large-file."
    )
