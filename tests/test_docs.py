"""The README agrees with the code: its tables come from the catalog, and its install and CI
recipes are checked as written (by the tools' own schemas, and against what lpack reads and
where it caches). tests/test_ci_recipes.py runs the CI recipes' steps; tests/test_precommit.py
runs the pre-commit recipe."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from lpack.catalog import slim_categories as categories
from lpack.resolve.inputs import LOCK_NAMES

README = ROOT / "README.md"
# Stands for "wherever you get lpack"; .invalid never resolves, so unedited it fails closed.
PLACEHOLDER = "https://example.invalid/your-mirror-of/lpack"


def readme_recipe(name: str) -> str:
    """The YAML block after `<!-- recipe: NAME ... -->` in the README."""
    found = re.search(
        rf"<!-- recipe: {re.escape(name)}\b[^>]*-->\n```yaml\n(.*?)```", README.read_text(), re.S
    )
    assert found, f"README lost its {name} recipe (or its marker)"
    return found.group(1)


def test_readme_slim_table_matches_catalog() -> None:
    readme = README.read_text()
    table = re.search(r"<!-- slim-table.*?-->\n(.*?)<!-- /slim-table -->", readme, re.S)
    assert table, "README lost its slim table markers"
    rows = [line for line in table.group(1).splitlines() if re.match(r"\| LP\d{3} ", line)]
    expected = [
        f"| {c.code} | {c.name} | {'on' if c.default else 'off'} | {c.summary} |"
        for c in categories().values()
    ]
    assert rows == expected


def _install_commands(text: str) -> list[str]:
    """Every `pip install …` command in the text's code blocks (the prose warns against one),
    up to the end of its line or command."""
    code = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", text, re.S))
    return [m.group(0) for m in re.finditer(r"pip install[^\n;&|]*", code)]


def test_readme_never_installs_lpack_from_the_index() -> None:
    """PyPI's `lpack` is an unrelated package: every install of lpack names the repository,
    pinned, and the README says why."""
    readme = README.read_text()
    commands = _install_commands(readme)
    assert len(commands) >= 5  # Quick start, Install, the matrix, GitHub, GitLab
    lpack_installs = [c for c in commands if re.search(r"\blpack\b", c)]
    for command in lpack_installs:
        assert f'"lpack @ git+{PLACEHOLDER}@v' in command, command
    assert len(lpack_installs) >= 4
    # A bare requirement `lpack` (what would come from the index) appears nowhere.
    for command in commands:
        words = re.findall(r"[^\s\"']+", command.split("install", 1)[1])
        assert "lpack" not in words or "@" in words, command
    assert "never `pip install lpack`" in readme
    assert "belongs to an unrelated package" in readme
    # The pre-commit recipe installs from the same repository, never from a registry.
    config = yaml.safe_load(readme_recipe("pre-commit-config"))
    assert [r["repo"] for r in config["repos"]] == [PLACEHOLDER]


def _validate(schema: str, text: str, tmp_path: Path, name: str) -> None:
    tool = shutil.which("check-jsonschema", path=os.path.dirname(sys.executable))
    if tool is None:
        pytest.skip("check-jsonschema (the test extra) is not installed")
    path = tmp_path / name
    path.write_text(text)
    done = subprocess.run(
        [tool, "--builtin-schema", schema, str(path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_recipes_match_the_platforms_schemas(tmp_path: Path) -> None:
    """GitHub's workflow schema and GitLab's CI schema, as check-jsonschema bundles them (no
    network), accept the recipes; a broken one is refused (the check can fail)."""
    workflow = readme_recipe("github-size")
    _validate("vendor.github-workflows", workflow, tmp_path, "lambda-size.yml")
    _validate("vendor.gitlab-ci", readme_recipe("gitlab-size"), tmp_path, ".gitlab-ci.yml")
    broken = workflow.replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest")
    with pytest.raises(AssertionError):
        _validate("vendor.github-workflows", broken, tmp_path, "broken.yml")


def test_pre_commit_recipe_is_a_valid_config(tmp_path: Path) -> None:
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(readme_recipe("pre-commit-config"))
    for command in (
        ["validate-config", str(config)],
        ["validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "pre_commit", *command], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
    hooks = {h["id"] for h in yaml.safe_load(config.read_text())["repos"][0]["hooks"]}
    offered = {h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks <= offered


def _steps(workflow: str) -> list[dict]:
    jobs = yaml.safe_load(workflow)["jobs"]
    return [step for job in jobs.values() for step in job["steps"]]


def test_github_recipe_fetches_the_history_it_compares_against() -> None:
    """The steps read origin/main: checkout's default depth (1) fetches no such ref."""
    steps = _steps(readme_recipe("github-size"))
    scripts = "\n".join(s.get("run", "") for s in steps)
    assert "origin/main" in scripts
    checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts and all(s.get("with", {}).get("fetch-depth") == 0 for s in checkouts)


def test_github_recipe_comments_the_diff_and_commits_the_baseline_on_main() -> None:
    workflow = yaml.safe_load(readme_recipe("github-size"))
    steps = _steps(readme_recipe("github-size"))
    by_text = {s["run"]: s for s in steps if "run" in s}
    comment = next(s for t, s in by_text.items() if "gh pr comment" in t)
    assert "lpack diff" in comment["run"] and "--format markdown" in comment["run"]
    assert comment["if"] == "github.event_name == 'pull_request'"
    update = next(s for t, s in by_text.items() if "--update-baseline" in t)
    assert update["if"] == "github.event_name == 'push'"
    assert "git push" in update["run"] and "[skip ci]" in update["run"]
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true, as PyYAML does
    assert triggers["push"]["branches"] == ["main"] and "pull_request" in triggers
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """hashFiles' globs: `**/` is any number of folders (none too), `*` stays in one."""
    out = ""
    for part in re.split(r"(\*\*/|\*)", pattern):
        out += {"**/": "(?:.*/)?", "*": "[^/]*"}.get(part, re.escape(part))
    return re.compile(out + r"\Z")


def _cache_steps() -> list[dict]:
    text = README.read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    steps = [s for b in blocks if "actions/cache@" in b for s in _steps(b)]
    return [s for s in steps if s.get("uses", "").startswith("actions/cache@")]


def test_github_cache_is_keyed_on_every_lock_lpack_reads() -> None:
    """Each cache step keys on all of lpack's lock inputs, at the root and in subfolders,
    and falls back to the last cache when a lock changes."""
    caches = _cache_steps()
    assert len(caches) == 2  # the matrix recipe and the size recipe
    locks = ["lpack.lock", "lpack-api-python3.11-x86_64.lock", *LOCK_NAMES, "pylock.dev.toml"]
    for step in caches:
        key = step["with"]["key"]
        found = re.fullmatch(r"(lpack-)\$\{\{ hashFiles\((.*)\) \}\}", key)
        assert found, key
        patterns = [_glob_regex(p) for p in re.findall(r"'([^']+)'", found.group(2))]
        for lock in locks:
            for path in (lock, f"functions/api/{lock}"):
                assert any(p.match(path) for p in patterns), (path, key)
        for other in ("requirements.txt", "dist/api.zip", "lpack.lock.bak"):
            assert not any(p.match(other) for p in patterns), other
        assert step["with"]["restore-keys"] == found.group(1)


def test_github_cache_path_is_where_lpack_caches_on_a_runner(tmp_path: Path) -> None:
    """On a Linux runner (HOME set, no XDG_CACHE_HOME, no LPACK_CACHE_DIR) lpack's cache is
    the folder the recipes cache."""
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "LPACK_CACHE_DIR")}
    env["HOME"] = str(tmp_path / "runner")
    code = "from lpack.files import default_cache_dir; print(default_cache_dir())"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    for step in _cache_steps():
        path = step["with"]["path"]
        assert path.startswith("~/")
        assert Path(done.stdout.strip()) == Path(env["HOME"]) / path[2:]


def test_gitlab_recipe_caches_lpack_inside_the_project_and_keys_on_the_lock() -> None:
    job = yaml.safe_load(readme_recipe("gitlab-size"))["lambda-size"]
    assert job["variables"]["LPACK_CACHE_DIR"] == "$CI_PROJECT_DIR/" + job["cache"]["paths"][0]
    assert job["cache"]["key"]["files"] == ["lpack.lock"]
    assert job["variables"]["GIT_DEPTH"] == 0
    assert any("--update-baseline" in line for line in job["script"])
