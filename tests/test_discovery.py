"""Finding the project from a folder inside it, and functions that need no packages."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest
from conftest import make_project, run_lpack

from lpack.settings.load import find_project_dir, load_project

HOST = f"python3.{sys.version_info[1]}"
APP = "def lambda_handler(event, context):\n    return 1\n"


def test_the_nearest_project_upwards_is_found(tmp_path: Path) -> None:
    outer = make_project(tmp_path / "repo", None, tool='handler = "app.lambda_handler"')
    deep = outer / "src" / "pkg" / "sub"
    deep.mkdir(parents=True)
    assert find_project_dir(deep) == outer.resolve()
    assert find_project_dir(outer) == outer.resolve()
    # A folder with its own requirements input is a project of its own, as it always was.
    inner = make_project(outer / "functions" / "api", "alpha\n")
    assert find_project_dir(inner) == inner.resolve()
    (inner / "lib").mkdir()
    assert find_project_dir(inner / "lib") == inner.resolve()
    # A repository's root bounds the search: what is above it is not this project.
    (outer / "vendored" / ".git").mkdir(parents=True)
    (outer / "vendored" / "x").mkdir()
    assert find_project_dir(outer / "vendored" / "x") == (outer / "vendored" / "x").resolve()
    # ... and counts itself when it holds the project.
    (outer / ".git").mkdir()
    assert find_project_dir(deep) == outer.resolve()
    assert load_project(deep).root == outer.resolve()


def test_build_from_a_subfolder_builds_the_project(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(
        tmp_path / "proj",
        None,
        files={"app.py": APP, "pkg/__init__.py": "", "pkg/sub/mod.py": ""},
        tool='handler = "app.lambda_handler"',
    )
    here = project / "pkg" / "sub"
    r = run_lpack("build", "--runtime", HOST, cwd=here)
    assert r.rc == 0, r.stderr
    # The text says which project it found, since it is not the current folder.
    assert f"project  {project.resolve()} (found above {here.resolve()})" in r.stdout
    with zipfile.ZipFile(project / "dist" / "proj.zip") as zf:
        assert {"app.py", "pkg/__init__.py", "pkg/sub/mod.py"} <= set(zf.namelist())
    assert not (here / "dist").exists() and not (here / "lpack.lock").exists()
    # --format json stays one JSON document; a path given is searched upwards too.
    j = run_lpack("build", str(here), "--runtime", HOST, "--format", "json", cwd=tmp_path)
    assert j.rc == 0 and j.json["output"]["path"] == str((project / "dist" / "proj.zip").resolve())
    # A path on the command line means what it says from where the command ran.
    o = run_lpack("build", "--runtime", HOST, "-o", "here.zip", "--format", "json", cwd=here)
    assert o.rc == 0 and o.json["output"]["path"] == str(here.resolve() / "here.zip")
    # From the project folder itself, nothing is said about finding it.
    r = run_lpack("build", "--runtime", HOST, "--rebuild", cwd=project)
    assert r.rc == 0 and "found above" not in r.stdout


def test_a_folder_with_requirements_in_and_no_pyproject_is_still_a_project(
    tmp_path: Path, lpack_env: dict
) -> None:
    outer = make_project(tmp_path / "repo", None, tool='handler = "app.lambda_handler"')
    inner = make_project(outer / "functions" / "api", "gamma\n", files={"app.py": APP})
    r = run_lpack("build", str(inner), "--runtime", HOST, "--format", "json", cwd=outer)
    assert r.rc == 0, r.stderr
    assert r.json["output"]["path"] == str(inner.resolve() / "dist" / "api.zip")
    assert r.json["lock"]["input"] == "requirements.in" and r.json["lock"]["pins"] == 1


def test_a_function_without_dependencies_builds_with_a_note(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = make_project(tmp_path / "fn", None, files={"app.py": APP, "helpers.py": "X = 1\n"})
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert r.rc == 0, r.stderr
    (note,) = [n for n in r.json["notes"] if n.startswith("no dependencies")]
    assert str(project.resolve()) in note and "requirements.in" in note
    assert r.json["lock"] == {
        "path": str(project.resolve() / "lpack.lock"),
        "input": "no dependencies",
        "pins": 0,
        "reused": False,
    }
    assert r.json["output"]["files"] == 2
    # The empty lock records that nothing was needed for this target: --locked holds in CI,
    # and a build that changes nothing is confirmed, not run again.
    lock = (project / "lpack.lock").read_text()
    assert "# input: no dependencies" in lock and "==" not in lock
    again = run_lpack("build", str(project), "--runtime", HOST, "--locked", "--format", "json")
    assert again.rc == 0 and again.json["rebuilt"] is False
    text = run_lpack("build", str(project), "--runtime", HOST, "--rebuild")
    assert text.rc == 0 and "note no dependencies:" in " ".join(text.stdout.split())
    assert "No requirements found" not in text.stdout + text.stderr
    # Adding requirements makes that lock stale: --locked says so instead of building.
    (project / "requirements.in").write_text("gamma\n")
    stale = run_lpack("build", str(project), "--runtime", HOST, "--locked")
    assert stale.rc == 2 and "not current" in stale.stderr


def test_a_pyproject_without_dependencies_is_a_function_without_dependencies(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = make_project(tmp_path / "fn", None)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "fn"\nversion = "1"\n\n[tool.lpack]\nhandler = "app.lambda_handler"\n'
    )
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert r.rc == 0, r.stderr
    assert any(n.startswith("no dependencies") for n in r.json["notes"])
    assert r.json["lock"]["pins"] == 0


def test_a_pyproject_that_only_configures_tools_is_not_a_project(tmp_path: Path) -> None:
    """functions/orders/pyproject.toml with only [tool.pytest.ini_options] must not hide the
    repository's requirements: it configures a tool, it makes no project."""
    mono = tmp_path / "mono"
    orders = mono / "functions" / "orders"
    orders.mkdir(parents=True)
    (mono / "requirements.txt").write_text("alpha\n")
    (orders / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-q"\n')
    (orders / "tests").mkdir()
    assert find_project_dir(orders / "tests") == mono.resolve()
    assert find_project_dir(orders) == mono.resolve()
    for table in ("[project]\nname = 'orders'\n", "[tool.lpack.functions.orders]\n"):
        (orders / "pyproject.toml").write_text(f"[tool.black]\nline-length = 99\n\n{table}")
        assert find_project_dir(orders / "tests") == orders.resolve(), table


def test_the_search_never_takes_the_home_folder_for_a_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From ~/code/fn (only app.py) the home folder, with a stray requirements.txt or a
    pyproject.toml beside Documents/, is not the project: fn is, and only fn ships."""
    home = tmp_path / "home"
    fn = home / "code" / "fn"
    fn.mkdir(parents=True)
    (fn / "app.py").write_text(APP)
    (home / "Documents").mkdir()
    (home / "Documents" / "taxes.txt").write_text("private\n")
    (home / "requirements.txt").write_text("alpha\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'above-home'\n")
    monkeypatch.setenv("HOME", str(home))
    assert find_project_dir(fn) == fn.resolve()
    assert find_project_dir(home / "code") == (home / "code").resolve()
    # Started in the home folder itself, it is what was asked for.
    assert find_project_dir(home) == home.resolve()
    # A project inside the home folder is found as before.
    (home / "code" / "requirements.in").write_text("")
    assert find_project_dir(fn) == (home / "code").resolve()
