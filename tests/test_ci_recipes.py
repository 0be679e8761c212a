"""The README's CI recipes, run as written: each step's script, with its `if:`, `env:` and
expressions, in a checkout made as the platform makes it, against a local git remote.

What cannot run here is stood in for, and nothing else: `actions/checkout` by the git commands
it runs (honouring fetch-depth), `gh` by a recorder of comments, GitLab's push address by a
git `insteadOf` to the local remote. The install step is skipped (lpack is on PATH);
tests/test_docs.py checks it, and the network test below runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, make_project
from test_docs import PLACEHOLDER, readme_recipe

pytestmark = pytest.mark.skipif(
    subprocess.run(["git", "--version"], capture_output=True).returncode != 0,
    reason="needs git",
)

# The `if:` conditions the recipe uses; a new one must be taught here (KeyError otherwise).
CONDITIONS = {
    "github.event_name == 'pull_request'": lambda event: event == "pull_request",
    "github.event_name == 'push'": lambda event: event == "push",
}
EMULATED_ACTIONS = ("actions/checkout", "actions/setup-python", "actions/cache")

FAKE_GH = """#!{python}
# gh pr comment, as far as the recipe uses it: --edit-last fails while there is no comment.
import json, os, sys
args, state = sys.argv[1:], os.environ["FAKE_GH_STATE"]
assert args[:2] == ["pr", "comment"] and os.environ.get("GH_TOKEN"), args
comments = json.load(open(state)) if os.path.exists(state) else []
body = open(args[args.index("--body-file") + 1]).read()
if "--edit-last" in args:
    if not comments:
        sys.exit("no comments found for current user")
    comments[-1] = {{"pr": args[2], "body": body, "edits": comments[-1]["edits"] + 1}}
else:
    comments.append({{"pr": args[2], "body": body, "edits": 0}})
json.dump(comments, open(state, "w"))
"""


def _git(*args: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout.strip()


def _expand(text: str, values: dict[str, str]) -> str:
    """${{ expr }} as GitHub expands it, for the expressions the recipe uses."""
    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: values[m.group(1)], text)


class Runner:
    """A runner of the recipes: the remote, the environment and the records of one test."""

    def __init__(self, tmp: Path, lpack_env: dict[str, str]) -> None:
        self.tmp = tmp
        self.origin = tmp / "origin.git"
        bin_dir = tmp / "fake-bin"
        bin_dir.mkdir()
        gh = bin_dir / "gh"
        gh.write_text(FAKE_GH.format(python=sys.executable))
        gh.chmod(0o755)
        (tmp / "gitconfig").write_text("")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "GIT_"))}
        self.env |= lpack_env | {
            "PATH": os.pathsep.join([str(bin_dir), os.path.dirname(sys.executable)])
            + os.pathsep
            + os.environ["PATH"],
            "GIT_CONFIG_GLOBAL": str(tmp / "gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "FAKE_GH_STATE": str(tmp / "comments.json"),
        }
        # Our own commits (the recipe's give their author themselves).
        self.dev = self.env | {
            "GIT_AUTHOR_NAME": "dev",
            "GIT_AUTHOR_EMAIL": "dev@example.invalid",
            "GIT_COMMITTER_NAME": "dev",
            "GIT_COMMITTER_EMAIL": "dev@example.invalid",
        }
        _git("init", "-q", "--bare", "-b", "main", str(self.origin), cwd=tmp, env=self.env)

    @property
    def comments(self) -> list[dict]:
        state = Path(self.env["FAKE_GH_STATE"])
        return json.loads(state.read_text()) if state.exists() else []

    def checkout(self, ws: Path, branch: str, depth: int) -> str:
        """What actions/checkout runs: fetch-depth 0 fetches every branch and tag, any other
        depth only the commit it builds."""
        ws.mkdir(parents=True)
        _git("init", "-q", cwd=ws, env=self.env)
        _git("remote", "add", "origin", self.origin.as_uri(), cwd=ws, env=self.env)
        refspec = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
        if depth == 0:
            _git(
                "fetch",
                "-q",
                "--tags",
                "origin",
                "+refs/heads/*:refs/remotes/origin/*",
                cwd=ws,
                env=self.env,
            )
        else:
            _git("fetch", "-q", f"--depth={depth}", "origin", refspec, cwd=ws, env=self.env)
        _git("checkout", "-q", "--detach", f"origin/{branch}", cwd=ws, env=self.env)
        return _git("rev-parse", "HEAD", cwd=ws, env=self.env)

    def run_github(self, event: str, branch: str, depth: int | None = None) -> list[tuple]:
        """The size job for a push to or a pull request from BRANCH; [(step, process)]."""
        job = yaml.safe_load(readme_recipe("github-size"))["jobs"]["size"]
        ws = self.tmp / f"gh-{event}-{branch}-{len(list(self.tmp.iterdir()))}"
        temp = ws.with_name(ws.name + "-temp")
        temp.mkdir()
        values = {"github.event.pull_request.number": "7", "github.token": "token"}
        env = self.env | {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event,
            "RUNNER_TEMP": str(temp),
            "GITHUB_STEP_SUMMARY": str(temp / "summary.md"),
        }
        done = []
        for step in job["steps"]:
            if "if" in step and not CONDITIONS[step["if"]](event):
                continue
            if "uses" in step:
                action = step["uses"].split("@")[0]
                assert action in EMULATED_ACTIONS, action
                if action == "actions/checkout":
                    fetch_depth = step.get("with", {}).get("fetch-depth", 1)
                    sha = self.checkout(ws, branch, fetch_depth if depth is None else depth)
                    env["GITHUB_SHA"] = sha
                continue
            if step["run"].startswith("pip install"):
                continue  # lpack is on PATH; the install line has tests of its own
            step_env = {k: _expand(str(v), values) for k, v in step.get("env", {}).items()}
            script = _expand(step["run"], values)
            proc = subprocess.run(
                ["bash", "-e", "-c", script],
                cwd=ws,
                env=env | step_env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            done.append((step, proc))
            if proc.returncode and not step.get("continue-on-error"):
                break
        self.summary = (temp / "summary.md").read_text() if (temp / "summary.md").exists() else ""
        return done

    def run_gitlab(self, source: str, branch: str) -> subprocess.CompletedProcess:
        job = yaml.safe_load(readme_recipe("gitlab-size"))["lambda-size"]
        ws = self.tmp / f"gl-{source}-{branch}-{len(list(self.tmp.iterdir()))}"
        sha = self.checkout(ws, branch, job["variables"]["GIT_DEPTH"])
        env = self.env | {
            "CI_PIPELINE_SOURCE": source,
            "CI_PROJECT_DIR": str(ws),
            "CI_DEFAULT_BRANCH": "main",
            "CI_COMMIT_SHORT_SHA": sha[:8],
            "CI_SERVER_HOST": "gitlab.example.invalid",
            "CI_PROJECT_PATH": "group/fn",
            "LPACK_PUSH_TOKEN": "token",
        }
        if source == "merge_request_event":
            env["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"] = "main"
        for key, value in job["variables"].items():
            env[key] = os.path.expandvars(str(value).replace("$CI_PROJECT_DIR", str(ws)))
        script = [line for line in job["script"] if not line.startswith("pip install")]
        return subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", "\n".join(script)],
            cwd=ws,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def commit_to(self, branch: str, edit: dict[str, str | bytes], relock: bool = False) -> None:
        """A developer's commit on BRANCH (from main), locked again if asked, pushed."""
        dev = self.tmp / "dev"
        if not dev.exists():
            _git("clone", "-q", str(self.origin), str(dev), cwd=self.tmp, env=self.dev)
        _git("fetch", "-q", "origin", cwd=dev, env=self.dev)
        _git("checkout", "-q", "-B", branch, "origin/main", cwd=dev, env=self.dev)
        for name, content in edit.items():
            path = dev / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        if relock:
            assert subprocess.run(["lpack", "lock"], cwd=dev, env=self.dev).returncode == 0
        _git("add", "-A", cwd=dev, env=self.dev)
        _git("commit", "-qm", f"change {branch}", cwd=dev, env=self.dev)
        _git("push", "-q", "origin", f"HEAD:{branch}", cwd=dev, env=self.dev)


def _seed(runner: Runner) -> None:
    """A function on main with its lock and the first baseline, made as the README says."""
    project = make_project(
        runner.tmp / "seed",
        "gamma\n",
        tool='runtime = "python3.11"\nhandler = "app.lambda_handler"',
    )
    (project / ".gitignore").write_text("dist/\n")
    env = runner.dev
    assert subprocess.run(["lpack", "lock"], cwd=project, env=env).returncode == 0
    first = re.search(r"Commit a first baseline with the workflow \(`(.*?)`\)", README_TEXT, re.S)
    assert first, "README lost the first-baseline command"
    command = " ".join(first.group(1).split())
    done = subprocess.run(
        ["bash", "-e", "-c", command], cwd=project, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project / ".lpack" / "baseline.json").is_file()
    _git("init", "-q", "-b", "main", cwd=project, env=env)
    _git("add", "-A", cwd=project, env=env)
    _git("commit", "-qm", "seed", cwd=project, env=env)
    _git("push", "-q", str(runner.origin), "main", cwd=project, env=env)


README_TEXT = (ROOT / "README.md").read_text()
GROWTH = {
    "data.bin": os.urandom(3 * 1024 * 1024),
    "app.py": "def lambda_handler(e, c):\n    return 2\n",
}


def _failed(done: list[tuple]) -> list[str]:
    return [step.get("name", step.get("run", "")[:40]) for step, proc in done if proc.returncode]


def _log(done: list[tuple]) -> str:
    return "\n".join(f"$ {s.get('run', '')}\n{p.stdout}{p.stderr}" for s, p in done)


def test_github_recipe_gates_comments_and_keeps_the_baseline(
    tmp_path: Path, lpack_env: dict[str, str]
) -> None:
    runner = Runner(tmp_path, lpack_env)
    _seed(runner)

    # A pull request that changes code, not size: every step passes, one comment.
    runner.commit_to("small", {"app.py": "def lambda_handler(e, c):\n    return 3\n"})
    done = runner.run_github("pull_request", "small")
    assert not _failed(done), _log(done)
    assert [c["pr"] for c in runner.comments] == ["7"]
    assert "| distribution |" in runner.comments[0]["body"]
    assert runner.comments[0]["body"] in runner.summary  # the table in the run's summary too

    # A pull request that grows the package by 3 MiB: the gate fails it, the comment is
    # the same one, edited, and shows the added dependency.
    runner.commit_to("grow", {**GROWTH, "requirements.in": "gamma\ndelta\n"}, relock=True)
    dev = tmp_path / "dev"
    done = runner.run_github("pull_request", "grow")
    assert _failed(done) == ["Gate against the baseline on main"], _log(done)
    gate = done[-1][1]
    assert gate.returncode == 1 and "::error" in gate.stdout, gate.stdout + gate.stderr
    assert len(runner.comments) == 1 and runner.comments[0]["edits"] == 1
    assert re.search(r"\| delta \| added \|", runner.comments[0]["body"]), runner.comments[0]

    # Merged: the push to main commits the new baseline, which now passes the same change.
    before = _git("show", "main:.lpack/baseline.json", cwd=runner.origin, env=runner.env)
    _git("push", "-q", "origin", "grow:main", cwd=dev, env=runner.dev)
    done = runner.run_github("push", "main")
    assert not _failed(done), _log(done)
    head = _git("log", "-1", "--format=%an %s", "main", cwd=runner.origin, env=runner.env)
    assert head.startswith("github-actions[bot] lpack: size baseline of ") and "[skip ci]" in head
    after = _git("show", "main:.lpack/baseline.json", cwd=runner.origin, env=runner.env)
    assert json.loads(after) != json.loads(before)
    done = runner.run_github("pull_request", "grow")
    assert not _failed(done), _log(done)
    # lpack's own files in the project (the baseline) are not part of the function.
    for built in tmp_path.glob("gh-*/dist/*.zip"):
        with zipfile.ZipFile(built) as zf:
            assert "app.py" in zf.namelist()
            assert not [n for n in zf.namelist() if n.startswith(".lpack")], built


def test_github_recipe_needs_its_fetch_depth(tmp_path: Path, lpack_env: dict[str, str]) -> None:
    """With checkout's default depth, the same steps fail where they read origin/main: the
    recipe's fetch-depth: 0 is what makes them work."""
    runner = Runner(tmp_path, lpack_env)
    _seed(runner)
    runner.commit_to("small", {"app.py": "def lambda_handler(e, c):\n    return 3\n"})
    done = runner.run_github("pull_request", "small", depth=1)
    assert _failed(done) == [
        "Size change against main, as a comment on the pull request",
        "Gate against the baseline on main",
    ]
    assert "origin/main" in done[-1][1].stderr


def test_gitlab_recipe_gates_merge_requests_and_pushes_the_baseline(
    tmp_path: Path, lpack_env: dict[str, str]
) -> None:
    runner = Runner(tmp_path, lpack_env)
    # The push address of the recipe, sent to the local remote.
    push_url = "https://lpack-ci:token@gitlab.example.invalid/group/fn.git"
    (tmp_path / "gitconfig").write_text(
        f'[url "{runner.origin.as_uri()}"]\n\tinsteadOf = {push_url}\n'
    )
    _seed(runner)
    runner.commit_to("grow", GROWTH)
    merge_request = runner.run_gitlab("merge_request_event", "grow")
    assert merge_request.returncode == 1, merge_request.stdout + merge_request.stderr
    assert "FAIL" in merge_request.stdout or "grew" in merge_request.stdout

    _git("push", "-q", "origin", "grow:main", cwd=tmp_path / "dev", env=runner.dev)
    default_branch = runner.run_gitlab("push", "main")
    assert default_branch.returncode == 0, default_branch.stdout + default_branch.stderr
    head = _git("log", "-1", "--format=%an %s", "main", cwd=runner.origin, env=runner.env)
    assert head.startswith("lpack-ci lpack: size baseline of ") and "[skip ci]" in head
    assert runner.run_gitlab("merge_request_event", "grow").returncode == 0
    # The cache folder the recipe keeps inside the project is never shipped.
    built = next(tmp_path.glob("gl-push-main-*/dist/*.zip"))
    with zipfile.ZipFile(built) as zf:
        assert not [n for n in zf.namelist() if n.startswith(".lpack-cache")]
    assert next(tmp_path.glob("gl-push-main-*/.lpack-cache")).is_dir()


@pytest.mark.network  # builds lpack with hatchling and installs its dependencies
def test_readme_install_line_installs_lpack_from_a_repository(tmp_path: Path) -> None:
    """The README's install command, with the placeholder replaced by a git repository of
    lpack holding the tag, installs a working lpack."""
    lines = [line for line in README_TEXT.splitlines() if line.startswith('pip install "lpack @')]
    assert lines, "README lost its install command"
    env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    dev = env | {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    dev |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    mirror = tmp_path / "lpack"
    _git("clone", "-q", str(ROOT), str(mirror), cwd=tmp_path, env=env)
    tag = re.search(r"@(v[\d.]+)\"", lines[0])
    assert tag
    _git("tag", tag.group(1), cwd=mirror, env=dev)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # file://localhost: the pip that venv bundles wants a host in a VCS URL, as the README's has.
    command = lines[0].replace(PLACEHOLDER, f"file://localhost{mirror}")
    done = subprocess.run(
        ["bash", "-e", "-c", command],
        env=env | {"PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    version = subprocess.run(
        [str(venv / "bin" / "lpack"), "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0 and "0.1.0" in version.stdout + version.stderr
