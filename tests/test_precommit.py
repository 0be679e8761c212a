"""The pre-commit hooks: `lpack lint --skip-unbuilt` (the lint hook's mode) offline, and the
README's pre-commit config through the real pre-commit tool in a temporary git repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, make_project, run_lpack
from test_docs import PLACEHOLDER, readme_recipe

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

HANDLER = "def lambda_handler(event, context):\n    return 1\n"


def test_lint_skip_unbuilt_notes_and_passes_until_built(
    tmp_path: Path, lpack_env: dict[str, str]
) -> None:
    project = make_project(tmp_path / "fn", "gamma\n", tool='runtime = "python3.11"')
    plain = run_lpack("lint", "--project", str(project))
    assert plain.rc == 2 and "run `lpack build` first" in plain.stderr  # without the flag

    skipped = run_lpack("lint", "--project", str(project), "--skip-unbuilt")
    assert skipped.rc == 0, skipped.stderr
    note = "lpack lint: skipped fn: " + str(project / "dist" / "fn.zip") + " is not built"
    assert note in skipped.stderr
    as_json = run_lpack("lint", "--project", str(project), "--skip-unbuilt", "--format", "json")
    assert as_json.rc == 0 and as_json.json["findings"] == [] and note in as_json.stderr

    assert run_lpack("build", str(project)).rc == 0
    linted = run_lpack("lint", "--project", str(project), "--skip-unbuilt", "--format", "json")
    assert linted.rc == 0 and "skipped" not in linted.stderr
    assert (
        linted.json["findings"]
        == run_lpack("lint", "--project", str(project), "--format", "json").json["findings"]
    )
    # A path given is linted as given: the flag only concerns the project's own zips.
    missing = run_lpack("lint", "--skip-unbuilt", str(project / "dist" / "other.zip"))
    assert missing.rc == 2


def test_lint_skip_unbuilt_lints_what_is_built_of_a_project(
    tmp_path: Path, lpack_env: dict[str, str]
) -> None:
    """Of two functions, the built one is linted (its error fails the run), the other noted."""
    tool = (
        'runtime = "python3.11"\nhandler = "app.lambda_handler"\n'
        '[tool.lpack.functions.api]\nsource = "functions/api"\n'
        '[tool.lpack.functions.jobs]\nsource = "functions/jobs"\n'
    )
    files = {"functions/api/app.py": HANDLER, "functions/jobs/app.py": HANDLER}
    project = make_project(tmp_path / "proj", None, files=files, tool=tool)
    assert run_lpack("build", str(project), "jobs").rc == 0
    # jobs' zip now lacks the handler its settings name: an error only linting it finds.
    (project / "pyproject.toml").write_text(f'[tool.lpack]\n{tool}handler = "app.gone"\n')
    result = run_lpack("lint", "--project", str(project), "--skip-unbuilt", "--format", "json")
    assert result.rc == 1, result.stderr
    assert "lpack lint: skipped api: " in result.stderr and "skipped jobs" not in result.stderr
    assert [(f["code"], Path(f["artifact"]).name) for f in result.json["findings"]] == [
        ("LP501", "jobs.zip")
    ]


def _git(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(["git", *cmd], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, (cmd, done.stderr)
    return done.stdout


def _lpack_repository(tmp_path: Path, env: dict[str, str], tag: str) -> Path:
    """A git repository of lpack as this working tree has it, tagged as the README pins it."""
    mirror = tmp_path / "lpack-repo"
    _git(["clone", "-q", str(ROOT), str(mirror)], tmp_path, env)
    changed = _git(["ls-files", "-m", "-o", "--exclude-standard"], ROOT, env).split()
    for name in changed:
        source, target = ROOT / name, mirror / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for name in _git(["ls-files", "-d"], ROOT, env).split():
        (mirror / name).unlink(missing_ok=True)
    _git(["add", "-A"], mirror, env)
    _git(["commit", "-qm", "working tree", "--allow-empty"], mirror, env)
    _git(["tag", tag], mirror, env)
    return mirror


def _hook_lines(output: str) -> dict[str, str]:
    """pre-commit's verdict line per hook name: {"lpack check …": "Passed"}."""
    found = re.findall(r"^(lpack \w+)[^\n]*?\.{3,}(?:\(no files to check\))?(\w+)$", output, re.M)
    return dict(found)


@pytest.mark.network  # pre-commit installs lpack and its dependencies into its own env
def test_readme_pre_commit_config_through_pre_commit(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {
        "PRE_COMMIT_HOME": str(tmp_path / "pc-home"),
        "LPACK_CACHE_DIR": str(tmp_path / "cache"),
        "NO_COLOR": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    config = readme_recipe("pre-commit-config")
    rev = re.search(r"rev: (\S+)", config)
    assert rev
    mirror = _lpack_repository(tmp_path, env, rev.group(1))
    repo = make_project(tmp_path / "fn", "six\n", files={"app.py": "import six\n" + HANDLER})
    (repo / "pyproject.toml").write_text(
        '[tool.lpack]\nruntime = "python3.11"\nmax-zipped = "1 MiB"\n'
    )
    (repo / ".gitignore").write_text("dist/\n")
    (repo / "README.md").write_text("# fn\n")
    (repo / ".pre-commit-config.yaml").write_text(config.replace(PLACEHOLDER, str(mirror)))
    assert run_lpack("lock", str(repo), env=env).rc == 0
    _git(["init", "-q"], repo, env)
    _git(["add", "."], repo, env)
    _git(["commit", "-qm", "init"], repo, env)

    def pre_commit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", *args],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    # Nothing built: check passes, lint says so and passes.
    first = pre_commit("--all-files")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert _hook_lines(first.stdout) == {"lpack check": "Passed", "lpack lint": "Passed"}
    assert "lpack lint: skipped fn: " in first.stdout and "is not built" in first.stdout

    # A commit that touches no package input: neither hook runs.
    (repo / "README.md").write_text("# fn, documented\n")
    _git(["add", "README.md"], repo, env)
    docs = pre_commit()
    assert docs.returncode == 0, docs.stdout[-3000:]
    assert _hook_lines(docs.stdout) == {"lpack check": "Skipped", "lpack lint": "Skipped"}
    _git(["commit", "-qm", "docs"], repo, env)

    # A requirements change without a new lock: the check fails the commit.
    (repo / "requirements.in").write_text("six\nidna\n")
    _git(["add", "requirements.in"], repo, env)
    stale = pre_commit()
    assert stale.returncode == 1 and "not current" in stale.stdout, stale.stdout[-3000:]
    assert _hook_lines(stale.stdout)["lpack check"] == "Failed"
    (repo / "requirements.in").write_text("six\n")
    _git(["add", "requirements.in"], repo, env)

    # Built, and the source changed: lint runs on the zip and passes.
    assert run_lpack("build", str(repo), env=env).rc == 0
    (repo / "app.py").write_text("import six\n" + HANDLER + "# edited\n")
    _git(["add", "app.py"], repo, env)
    linted = pre_commit()
    assert linted.returncode == 0, linted.stdout[-3000:]
    assert _hook_lines(linted.stdout) == {"lpack check": "Passed", "lpack lint": "Passed"}
    assert "skipped" not in linted.stdout
