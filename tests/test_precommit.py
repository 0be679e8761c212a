"""The pre-commit hooks, through the real pre-commit tool (try-repo in a temporary git repo)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_lpack

pytestmark = [
    pytest.mark.network,  # pre-commit installs lpack and its dependencies into its own env
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
]


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_hooks_through_pre_commit(tmp_path: Path) -> None:
    pre_commit = [sys.executable, "-m", "pre_commit"]
    env = dict(
        os.environ,
        PRE_COMMIT_HOME=str(tmp_path / "pc-home"),
        LPACK_CACHE_DIR=str(tmp_path / "cache"),
        NO_COLOR="1",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
    )
    repo = tmp_path / "fn"
    repo.mkdir()
    (repo / "requirements.in").write_text("six\n")
    (repo / "app.py").write_text(
        "import six\n\ndef lambda_handler(event, context):\n    return 1\n"
    )
    (repo / "pyproject.toml").write_text(
        '[tool.lpack]\nruntime = "python3.11"\nmax-zipped = "1 MiB"\n'
    )
    (repo / ".gitignore").write_text("dist/\n")
    assert run_lpack("lock", str(repo), env=env).rc == 0
    for cmd in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "init"]):
        assert _run(cmd, repo, env).returncode == 0

    ok = _run([*pre_commit, "try-repo", str(ROOT), "lpack-check", "--all-files"], repo, env)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
    assert "lpack check" in ok.stdout and "Passed" in ok.stdout

    (repo / "requirements.in").write_text("six\nidna\n")  # the lock is now stale
    stale = _run([*pre_commit, "try-repo", str(ROOT), "lpack-check", "--all-files"], repo, env)
    assert stale.returncode == 1 and "not current" in stale.stdout, stale.stdout[-3000:]

    (repo / "requirements.in").write_text("six\n")
    assert run_lpack("build", str(repo), env=env).rc == 0
    lint = _run([*pre_commit, "try-repo", str(ROOT), "lpack-lint", "--all-files"], repo, env)
    assert lint.returncode == 0, lint.stdout[-3000:]
    assert "lpack lint" in lint.stdout and "Passed" in lint.stdout

    (repo / "dist" / "fn.zip").unlink()
    missing = _run([*pre_commit, "try-repo", str(ROOT), "lpack-lint", "--all-files"], repo, env)
    assert missing.returncode != 0 and "run `lpack build` first" in missing.stdout
