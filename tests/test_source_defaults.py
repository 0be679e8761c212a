"""Which of the function's own files ship: defaults that protect, .gitignore and .lpackignore,
and secrets in the source stopping the build before anything is written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import make_project, run_lpack
from test_json_output import schema_validator

from lpack.assemble.ignorefiles import default_rule
from lpack.assemble.sources import ALWAYS_EXCLUDED_FILES, source_files

HOST = f"python3.{sys.version_info[1]}"
APP = "def lambda_handler(event, context):\n    return 1\n"
FAKE_KEY = "AKIA" + "Q" * 16  # not AWS's documentation key, which LP403 lets through


def build(project: Path, *args: str, cwd: Path | None = None) -> dict:
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json", *args, cwd=cwd)
    assert r.rc == 0, r.stderr
    return r.json


def shipped(data: dict) -> set[str]:
    with zipfile.ZipFile(data["output"]["path"]) as zf:
        return {n for n in zf.namelist() if not n.endswith("/")}


def test_defaults_leave_out_secrets_state_and_tool_folders_in_one_note(
    tmp_path: Path, lpack_env: dict
) -> None:
    files = {
        "app.py": APP,
        ".env": f"AWS_ACCESS_KEY_ID={FAKE_KEY}\n",
        ".env.production": "DB_PASSWORD=x\n",
        ".env.example": "DB_PASSWORD=\n",
        ".envrc": "export AWS_PROFILE=prod\n",
        "terraform.tfstate": "{}",
        "terraform.tfstate.backup": "{}",
        ".terraform/providers/aws/provider.bin": "x" * 1000,
        "cdk.out/manifest.json": "{}",
        ".serverless/state.json": "{}",
        ".aws-sam/build/app.py": APP,
        "node_modules/left-pad/index.js": "module.exports = 1\n",
        ".venv/pyvenv.cfg": "home = /usr\n",
        "env/pyvenv.cfg": "home = /usr\n",  # a virtualenv under any name
        ".pytest_cache/v/cache": "{}",
        "serverless.yml": "service: fn\n",
        "samconfig.toml": "version = 0.1\n",
        "template.yaml": "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n",
        "data/template.yaml": "greeting: hello\n",  # the function's own data: ships
        "lib/.env.sample": "KEY=\n",
    }
    project = make_project(tmp_path / "fn", "", files=files)
    data = build(project)
    assert shipped(data) == {"app.py", ".env.example", "data/template.yaml", "lib/.env.sample"}
    notes = [n for n in data["notes"] if n.startswith("left out of the source")]
    assert len(notes) == 1
    note = notes[0]
    for group, what in [
        ("secrets", ".env, .env.production, .envrc"),
        ("IaC state", ".aws-sam/, .serverless/, .terraform/ and 3 more"),
        ("dev folders", ".venv/, env/, node_modules/"),
        ("caches", ".pytest_cache/"),
        ("deploy config", "samconfig.toml, serverless.yml, template.yaml"),
    ]:
        assert f"{what} ({group})" in note, note
    assert "data/template.yaml" not in note
    text = run_lpack("build", str(project), "--runtime", HOST, "--rebuild")
    assert text.rc == 0 and "note left out of the source: .env, .env.production" in " ".join(
        text.stdout.split()
    )


def test_a_root_template_that_is_not_a_deploy_template_ships(tmp_path: Path) -> None:
    """A user's own template.yaml or cdk.json at the root is data: only what the file holds
    makes it a deploy tool's input."""
    (tmp_path / "template.yaml").write_text("subject: Welcome\nbody: hi\n")
    (tmp_path / "cdk.json").write_text('{"colours": ["red"]}\n')
    assert default_rule("template.yaml", False, True, tmp_path / "template.yaml") is None
    assert default_rule("cdk.json", False, True, tmp_path / "cdk.json") is None
    (tmp_path / "cdk.json").write_text('{"app": "python3 app.py"}\n')
    rule = default_rule("cdk.json", False, True, tmp_path / "cdk.json")
    assert rule is not None and rule.group == "deploy config"
    assert default_rule("cdk.json", False, False, tmp_path / "cdk.json") is None  # not at root


def test_an_include_that_names_a_left_out_path_brings_it_back(
    tmp_path: Path, lpack_env: dict
) -> None:
    files = {
        "app.py": APP,
        "terraform.tfstate": "{}",
        "node_modules/left-pad/index.js": "x\n",
        "node_modules/other/index.js": "x\n",
        ".terraform/plugin": "x\n",
        ".env.production": "A=1\n",
    }
    project = make_project(tmp_path / "fn", "", files=files)
    # `**` and `*` alone match every file and name none of them: nothing comes back.
    assert shipped(build(project, "--include", "**")) == {"app.py"}
    data = build(
        project,
        "--include",
        "*",
        "--include",
        "*.tfstate",
        "--include",
        "node_modules/left-pad/**",
        "--rebuild",
    )
    assert shipped(data) == {"app.py", "terraform.tfstate", "node_modules/left-pad/index.js"}
    (note,) = data["notes"]
    assert "terraform.tfstate" not in note and ".terraform/" in note and ".env.production" in note


def test_gitignore_semantics_nested_negation_and_folders(tmp_path: Path, lpack_env: dict) -> None:
    files = {
        "src/app.py": APP,
        "src/cache": "a file named like an ignored folder\n",
        "src/out/gen.py": "",
        "src/debug.log": "",
        "src/keep.log": "",
        "src/top.txt": "",
        "src/pkg/top.txt": "",
        "src/pkg/__init__.py": "",
        "src/pkg/local_settings.py": "",
        "src/pkg/sub/local_x.py": "",
        "src/build/cache/x": "",
        "src/build/cache/keep": "",
        "notes.md": "",
    }
    project = make_project(
        tmp_path / "fn", "", files=files, tool='source = "src"\nhandler = "app.lambda_handler"'
    )
    # The project root's .gitignore applies to the source folder below it.
    (project / ".gitignore").write_text("out/\n*.log\n!keep.log\ncache/\n!build/cache/keep\n")
    (project / "src" / ".gitignore").write_text("/top.txt\n")  # anchored to its own folder
    (project / "src" / "pkg" / ".gitignore").write_text("local_*.py\n")  # nested, relative
    # The user's global excludes describe their machine, not the project: never read.
    config = tmp_path / "xdg"
    (config / "git").mkdir(parents=True)
    (config / "git" / "ignore").write_text("*.py\n")
    env = {"XDG_CONFIG_HOME": str(config), "HOME": str(tmp_path)}
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json", env=env)
    assert r.rc == 0, r.stderr
    assert shipped(r.json) == {
        "app.py",
        "cache",  # `cache/` names folders only
        "keep.log",  # re-included with `!`
        "pkg/top.txt",  # `/top.txt` is anchored to src/
        "pkg/__init__.py",
    }  # build/cache/keep stays out: git cannot re-include a file whose folder is ignored
    (note,) = r.json["notes"]
    assert "build/cache/, debug.log, out/ and 3 more (by .gitignore)" in note


def test_lpackignore_applies_after_gitignore(tmp_path: Path, lpack_env: dict) -> None:
    files = {
        "app.py": APP,
        "config.json": "{}",
        "fixtures.json": "{}",
        "docs/guide.txt": "",
        "scripts/seed.py": "",
    }
    project = make_project(tmp_path / "fn", "", files=files)
    (project / ".gitignore").write_text("*.json\n")
    (project / ".lpackignore").write_text("!config.json\ndocs/\n")
    (project / "scripts" / ".lpackignore").write_text("*\n")
    data = build(project)
    assert shipped(data) == {"app.py", "config.json"}  # and never .lpackignore itself
    (note,) = data["notes"]
    assert "fixtures.json (by .gitignore)" in note
    assert "docs/, scripts/seed.py (by .lpackignore)" in note


def test_source_files_walk_reports_what_it_left_out(tmp_path: Path) -> None:
    """The selection's own record, without a build: what the note is made from."""
    (tmp_path / "src" / "node_modules").mkdir(parents=True)
    (tmp_path / "src" / "app.py").write_text(APP)
    (tmp_path / "src" / ".env").write_text("X=1\n")
    (tmp_path / ".gitignore").write_text("app.py\n")
    warnings: list[str] = []
    above = source_files(tmp_path / "src", (), (), set(), warnings, tmp_path)
    assert above.files == [] and above.left_out.groups == {
        "secrets": [".env"],
        "dev folders": ["node_modules/"],
        ".gitignore": ["app.py"],
    }
    alone = source_files(tmp_path / "src", (), (), set(), warnings)  # no project root given
    assert [rel for rel, _ in alone.files] == ["app.py"]


def test_a_secret_in_the_source_stops_the_build_before_writing(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = make_project(
        tmp_path / "fn", "", files={"app.py": APP, "config.py": f'KEY = "{FAKE_KEY}"\n'}
    )
    r = run_lpack("build", str(project), "--runtime", HOST)
    assert r.rc == 1, r.stderr
    assert "config.py" in r.stderr and "LP403" in r.stderr
    # This run wrote lpack.lock, so "nothing was written" would not be true; the next one
    # reuses the lock and writes nothing at all.
    assert "No zip was written" in r.stderr and (project / "lpack.lock").is_file()
    again = run_lpack("build", str(project), "--runtime", HOST)
    assert again.rc == 1 and "Nothing was written" in again.stderr
    assert '[tool.lpack.lint.per-path-ignores] "config.py" = ["LP403"]' in r.stderr
    assert not (project / "dist").exists()
    assert not [p for p in project.rglob("*") if p.suffix == ".zip" or ".tmp" in p.name]
    j = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert j.rc == 1 and j.json["error"]["exit_code"] == 1
    assert "LP403 config.py" in j.json["error"]["details"]
    schema_validator("lpack-output-v1.json").validate(j.json)
    # Shipping it on purpose: the lint setting that silences the rule for that path.
    (project / "pyproject.toml").write_text(
        '[tool.lpack.lint.per-path-ignores]\n"config.py" = ["LP403"]\n'
    )
    assert "config.py" in shipped(build(project))


def test_an_included_env_file_is_a_secret_file(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "", files={"app.py": APP, ".env": "A=1\n"})
    first = build(project)  # .env left out by default: the build passes
    zip_path = Path(first["output"]["path"])
    before = zip_path.read_bytes()
    r = run_lpack("build", str(project), "--runtime", HOST, "--include", "*", "--include", ".env")
    assert r.rc == 1 and "LP402" in r.stderr and ".env" in r.stderr
    assert zip_path.read_bytes() == before  # the last good zip is left as it was
    assert sorted(os.listdir(zip_path.parent)) == [zip_path.name]  # and no temp beside it


def test_editing_an_ignore_file_is_noticed_by_the_no_change_path(
    tmp_path: Path, lpack_env: dict
) -> None:
    files = {"src/app.py": APP, "src/a.txt": "", "src/b.txt": ""}
    project = make_project(
        tmp_path / "fn", "", files=files, tool='source = "src"\nhandler = "app.lambda_handler"'
    )
    (project / ".gitignore").write_text("a.txt\n")  # above the source folder
    first = build(project)
    assert first["rebuilt"] and shipped(first) == {"app.py", "b.txt"}
    assert build(project)["rebuilt"] is False
    (project / ".gitignore").write_text("b.txt\n")
    second = build(project)
    assert second["rebuilt"] and shipped(second) == {"app.py", "a.txt"}
    assert build(project)["rebuilt"] is False
    (project / "src" / ".lpackignore").write_text("a.txt\n")  # inside it
    third = build(project)
    assert third["rebuilt"] and shipped(third) == {"app.py"}
    (project / ".lpackignore").write_text("!b.txt\n")  # a new ignore file above it
    fourth = build(project)
    assert fourth["rebuilt"] and shipped(fourth) == {"app.py", "b.txt"}


def test_the_stamp_reads_every_folder_that_ships_and_skips_those_that_never_do(
    tmp_path: Path,
) -> None:
    """The no-change path skips folders no build ships from (a .venv would cost it its
    speed), and only those: a package folder that happens to be called `venv` ships."""
    from lpack.assemble.sources import tree_stamp

    files = {
        "app.py": APP,
        "lib/venv/mod.py": "A = 1\n",
        ".venv/lib/x.py": "",
        "node_modules/a.js": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    selected = {rel for rel, _ in source_files(tmp_path, (), (), set(), []).files}
    assert selected == {"app.py", "lib/venv/mod.py"}
    before = tree_stamp(tmp_path)
    (tmp_path / ".venv" / "lib" / "x.py").write_text("changed, and never shipped\n")
    (tmp_path / "node_modules" / "a.js").write_text("changed, and never shipped\n")
    assert tree_stamp(tmp_path) == before
    # ... unless `include` names the folder: then its files ship, and count.
    named = tree_stamp(tmp_path, include=("*", "node_modules/**"))
    (tmp_path / "node_modules" / "a.js").write_text("changed again\n")
    assert tree_stamp(tmp_path, include=("*", "node_modules/**")) != named
    (tmp_path / "lib" / "venv" / "mod.py").write_text("A = 22\n")
    assert tree_stamp(tmp_path) != before


# Each case: the ignore files (path -> text) and the files of the tree. Names stay clear of
# lpack's defaults so that only the ignore files decide.
GIT_CASES: list[tuple[dict[str, str], list[str]]] = [
    (  # a whitelist: every folder walked, only .py files kept
        {".gitignore": "*\n!*/\n!*.py\n"},
        [
            "app.py",
            "orders/__init__.py",
            "orders/core.py",
            "orders/data.csv",
            "README.md",
            "deep/a/b/c.py",
            "deep/a/b/c.txt",
        ],
    ),
    (  # `dir/**` leaves dir itself walked, so a file in it can come back
        {".gitignore": "dir/**\n!dir/keep.txt\n"},
        ["dir/keep.txt", "dir/drop.txt", "dir/sub/x.txt", "other.txt"],
    ),
    (  # nested files, negation, anchoring, folder-only lines
        {
            ".gitignore": "*.log\n!important.log\nlogs/\n",
            "sub/.gitignore": "!debug.log\n/local.txt\n",
        },
        [
            "a.log",
            "important.log",
            "sub/debug.log",
            "sub/x.log",
            "logs/a.txt",
            "sub/logs/b.txt",
            "sub/local.txt",
            "local.txt",
            "sub/deeper/local.txt",
        ],
    ),
    (
        {
            ".gitignore": "/top.txt\n**/gen/\nfoo/**/bar.txt\n[abc].dat\nfile[!0-9].txt\n\\#hash\n"
            "\\!bang\n?.tmp\ndoc/*.md\n# comment\ncache\nbuild/\n  \nsp\\ \n"
        },
        [
            "top.txt",
            "sub/top.txt",
            "gen/a.py",
            "x/gen/b.py",
            "foo/bar.txt",
            "foo/a/b/bar.txt",
            "a.dat",
            "d.dat",
            "filex.txt",
            "file1.txt",
            "#hash",
            "!bang",
            "1.tmp",
            "12.tmp",
            "doc/a.md",
            "doc/sub/b.md",
            "cache/a.py",
            "sub/cache",
            "build/x.py",
            "sub/build",
            "sp ",
            "sp",
        ],
    ),
    (  # lines git accepts but that match nothing: skipped, the others still apply
        {".gitignore": "[z-a]\nfoo\\\n!\nout.txt\n[abc\n[[:alpha:]]1.txt\n"},
        ["z.txt", "a.txt", "out.txt", "[abc", "b1.txt", "11.txt"],
    ),
    (
        {".gitignore": "a/**/b\n**/x/*.txt\n"},
        ["a/b", "a/x/b", "a/x/y/b", "a/b2", "ab", "q/x/1.txt", "x/2.txt", "x/y/3.txt"],
    ),
]


def _git_untracked(tree: Path) -> set[str]:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "XDG_CONFIG_HOME": str(tree / ".git"),
    }  # no user excludes file
    subprocess.run(["git", "init", "-q", str(tree)], check=True, env=env)
    out = subprocess.run(
        ["git", "-c", "core.quotePath=false", "ls-files", "-z", "-o", "--exclude-standard"],
        cwd=tree,
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    return {p for p in out.split("\0") if p and Path(p).name not in ALWAYS_EXCLUDED_FILES}


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_ignore_files_select_what_git_ls_files_selects(tmp_path: Path) -> None:
    for number, (ignores, files) in enumerate(GIT_CASES):
        tree = tmp_path / str(number)
        for rel in files:
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            (tree / rel).write_text("x\n")
        for rel, text in ignores.items():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            (tree / rel).write_text(text)
        expected = _git_untracked(tree)
        warnings: list[str] = []
        got = {rel for rel, _ in source_files(tree, (), (), set(), warnings, tree).files}
        assert got == expected, (number, ignores)
        assert 0 < len(expected) < len(files), number  # each case leaves some out, not all


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_the_source_folder_ships_though_an_ignore_file_leaves_out_a_folder_above_it(
    tmp_path: Path,
) -> None:
    """`source = "build/function"` with `build/` gitignored: the folder `source` names ships,
    said once; the lines still leave out what they match inside it that is not above."""
    _tree(
        tmp_path,
        {
            ".gitignore": "build/\n*.log\n",
            "build/function/app.py": APP,
            "build/function/pkg/mod.py": "",
            "build/function/debug.log": "",
            "build/other.py": "",
        },
    )
    (tmp_path / ".git").mkdir()
    warnings: list[str] = []
    got = source_files(tmp_path / "build" / "function", (), (), set(), warnings, tmp_path)
    assert [rel for rel, _ in got.files] == ["app.py", "pkg/mod.py"]
    (said,) = [w for w in warnings if "which `source` names" in w]
    assert f"`build/` in {tmp_path / '.gitignore'} leaves out build/" in said
    for line in ("build/**\n", "/build\n", "*\n!*.py\n!*/\n", "function/\n"):
        (tmp_path / ".gitignore").write_text(line)
        again = source_files(tmp_path / "build" / "function", (), (), set(), [], tmp_path)
        assert {rel for rel, _ in again.files} >= {"app.py", "pkg/mod.py"}, line


def test_the_repository_ignore_file_above_the_project_applies(tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    _tree(
        repo,
        {
            ".gitignore": "secrets.json\ndata/\n*.sqlite\n",
            "services/orders/requirements.in": "",
            "services/orders/app.py": APP,
            "services/orders/secrets.json": "{}",
            "services/orders/data/big.csv": "",
            "services/orders/db.sqlite": "",
        },
    )
    (repo / ".git").mkdir()
    project = repo / "services" / "orders"
    warnings: list[str] = []
    got = source_files(project, (), (), set(), warnings, project)
    assert [rel for rel, _ in got.files] == ["app.py", "requirements.in"]
    assert got.left_out.groups[".gitignore"] == ["data/", "db.sqlite", "secrets.json"]
    # Without a repository around it, the project's own folder is the top.
    (repo / ".git").rmdir()
    alone = source_files(project, (), (), set(), [], project)
    assert "secrets.json" in {rel for rel, _ in alone.files}


def test_a_line_git_skips_is_skipped_with_a_warning(tmp_path: Path) -> None:
    _tree(tmp_path, {".gitignore": "[z-a]\nfoo\\\n!\nout.txt\n", "app.py": APP, "out.txt": ""})
    warnings: list[str] = []
    got = source_files(tmp_path, (), (), set(), warnings, tmp_path)
    assert [rel for rel, _ in got.files] == ["app.py"]
    bad = [w for w in warnings if "not a valid pattern" in w]
    assert len(bad) == 2 and f"{tmp_path / '.gitignore'}:1:" in bad[0]
    assert f"{tmp_path / '.gitignore'}:2:" in bad[1]


def test_the_stamp_reads_only_the_folders_the_build_reads(tmp_path: Path) -> None:
    """A gitignored folder, a nested virtualenv and node_modules/ beside the one package an
    include names are not read; what would make them ship (the ignore file, pyvenv.cfg,
    the named package) still counts."""
    from lpack.assemble.sources import tree_stamp

    _tree(
        tmp_path,
        {
            ".gitignore": "coverage_html/\n",
            "app.py": APP,
            "coverage_html/index.html": "",
            "tools/env/pyvenv.cfg": "home = /usr\n",
            "tools/env/lib/x.py": "",
            "node_modules/left-pad/index.js": "",
            "node_modules/other/index.js": "",
        },
    )
    include = ("*.py", "node_modules/left-pad/**")
    before = tree_stamp(tmp_path, include=include, root=tmp_path)
    (tmp_path / "coverage_html" / "index.html").write_text("changed\n")
    (tmp_path / "coverage_html" / "new.html").write_text("")
    (tmp_path / "tools" / "env" / "lib" / "x.py").write_text("changed\n")
    (tmp_path / "node_modules" / "other" / "index.js").write_text("changed\n")
    assert tree_stamp(tmp_path, include=include, root=tmp_path) == before
    (tmp_path / "node_modules" / "left-pad" / "index.js").write_text("changed\n")
    after_pad = tree_stamp(tmp_path, include=include, root=tmp_path)
    assert after_pad != before
    (tmp_path / "tools" / "env" / "pyvenv.cfg").unlink()  # now a folder that ships
    assert tree_stamp(tmp_path, include=include, root=tmp_path) != after_pad
    shipped_now = {rel for rel, _ in source_files(tmp_path, include, (), set(), [], tmp_path).files}
    assert shipped_now == {"app.py", "tools/env/lib/x.py", "node_modules/left-pad/index.js"}


def test_a_linked_virtualenv_is_left_out_quietly_and_secret_files_by_default(
    tmp_path: Path,
) -> None:
    _tree(
        tmp_path / "real",
        {"venv/pyvenv.cfg": "", "venv/lib/x.py": "", "nm/a.js": ""},
    )
    src = tmp_path / "src"
    _tree(src, {"app.py": APP, ".npmrc": "//r/:_authToken=x\n", ".pypirc": "", "prod.env": ""})
    (src / ".venv").symlink_to(tmp_path / "real" / "venv")
    (src / "node_modules").symlink_to(tmp_path / "real" / "nm")
    (src / "tools").mkdir()
    (src / "linked_build").symlink_to(tmp_path / "real" / "nm")  # gitignored: quiet too
    (src / ".gitignore").write_text("linked_build/\n")
    (src / "tools" / "env").symlink_to(tmp_path / "real" / "venv")  # found by pyvenv.cfg
    warnings: list[str] = []
    got = source_files(src, (), (), set(), warnings, src)
    assert [rel for rel, _ in got.files] == ["app.py"]
    assert warnings == []
    assert got.left_out.groups["dev folders"] == [".venv/", "node_modules/", "tools/env/"]
    assert got.left_out.groups[".gitignore"] == ["linked_build/"]
    (src / "other").symlink_to(tmp_path / "real" / "nm")  # a link that would ship is said
    source_files(src, (), (), set(), warnings, src)
    assert warnings == [f"{src / 'other'} is a symlink to a folder; lpack does not follow it."]
    assert sorted(got.left_out.groups["secrets"]) == [".npmrc", ".pypirc", "prod.env"]


def test_an_included_pypirc_is_a_secret_file(tmp_path: Path, lpack_env: dict) -> None:
    """Left out by default as a secret, and flagged by LP402 when an include brings it back
    (the default and the rule agree on what a secret file is)."""
    project = make_project(tmp_path / "fn", "", files={"app.py": APP, ".pypirc": "[pypi]\n"})
    assert shipped(build(project)) == {"app.py"}
    r = run_lpack(
        "build", str(project), "--runtime", HOST, "--include", "*", "--include", ".pypirc"
    )
    assert r.rc == 1 and "LP402" in r.stderr and ".pypirc" in r.stderr
