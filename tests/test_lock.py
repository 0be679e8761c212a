"""Locking for the target, not the host, against the fixture index."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest
from conftest import Index, make_project, run_lpack

from lpack.resolve.lockfile import read_lock

HOST = f"python3.{sys.version_info[1]}"


def pins(project: Path, target: str | None = None) -> dict[str, str]:
    """The pins of the project's lock, or of the lock kept for another target."""
    name = f"lpack.{target}.lock" if target else "lpack.lock"
    return {p.name: p.version for p in read_lock(project / name).pins}


def test_markers_and_requires_python_follow_the_target(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "alpha\n")
    r = run_lpack("lock", str(project), "--runtime", "python3.9", "--arch", "arm64")
    assert r.rc == 0, r.stderr
    # python_version < "3.10" and platform_machine == "aarch64" hold for the target only.
    assert pins(project) == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0", "delta": "1.0"}
    r = run_lpack("lock", str(project), "--runtime", "python3.12", "--arch", "x86_64")
    assert r.rc == 0, r.stderr
    # beta 2.0 needs Python >= 3.12: chosen for 3.12 whatever the host runs (in a lock of its
    # own: the python3.9 arm64 one stays).
    other = read_lock(project / "lpack.python3.12-x86_64.lock").pins
    assert {p.name: p.version for p in other} == {"alpha": "1.0", "beta": "2.0"}
    assert pins(project)["delta"] == "1.0"


def test_pin_excluded_by_requires_python_names_it(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "beta==2.0\n")
    r = run_lpack("lock", str(project), "--runtime", "python3.11")
    assert r.rc == 2
    assert "Requires-Python" in r.stderr and "beta 2.0 requires Python >=3.12" in r.stderr
    assert not (project / "lpack.lock").exists()


def test_newest_without_fitting_wheel_falls_back(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "newglibc\n")
    assert run_lpack("lock", str(project), "--runtime", "python3.11").rc == 0
    assert pins(project) == {"newglibc": "1.0"}  # 2.0 is manylinux_2_28 only: too new for AL2
    assert run_lpack("lock", str(project), "--runtime", "python3.12").rc == 0
    assert pins(project, "python3.12-x86_64") == {"newglibc": "2.0"}


def test_manylinux_2_24_only_wheel_is_seen_for_al2(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "glibc-two-24\n")
    r = run_lpack("lock", str(project), "--runtime", HOST)
    assert r.rc == 0, r.stderr
    assert pins(project) == {"glibc-two-24": "1.0"}


def test_no_compatible_wheel_names_tags_and_wheels(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "onlymac\n")
    r = run_lpack("lock", str(project), "--runtime", HOST)
    assert r.rc == 2
    assert "onlymac" in r.stderr
    assert "macosx_11_0_arm64.whl" in r.stderr and "win_amd64.whl" in r.stderr
    assert "tags tried" in r.stderr and "manylinux_2_26_x86_64" in r.stderr


def test_conflict_shows_pip_tools_explanation(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "beta==2.0\nneeds-old-beta\n")
    r = run_lpack("lock", str(project), "--runtime", "python3.12")
    assert r.rc == 2
    assert "conflict" in r.stderr
    assert "needs-old-beta 1.0 depends on beta<2" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_package(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "no-such-package-here\n")
    r = run_lpack("lock", str(project), "--format", "json")
    assert r.rc == 2
    assert "'no-such-package-here'" in r.json["error"]["message"]
    assert "not found on the package index" in r.json["error"]["message"]


def test_missing_requirements_input(tmp_path: Path, lpack_env: dict) -> None:
    # No input at all is a function without dependencies (tests/test_discovery.py); an
    # input that is named must exist.
    project = make_project(tmp_path / "fn", None)
    r = run_lpack("build", str(project), "-r", "reqs/prod.in")
    assert r.rc == 2 and "does not exist" in r.stderr


def test_lock_file_format_and_reuse_without_network(
    tmp_path: Path, lpack_env: dict, index: Index
) -> None:
    project = make_project(tmp_path / "fn", "alpha\n")
    assert run_lpack("lock", str(project), "--runtime", HOST).rc == 0
    text = (project / "lpack.lock").read_text()
    assert f"# target: {HOST} x86_64" in text and "# input-digest: sha256:" in text
    assert "--hash=sha256:" in text and "# via -r requirements.in" in text
    assert "127.0.0.1" not in text and "index-url" not in text  # no index URLs in the lock
    index.faults.requests.clear()
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert r.rc == 0, r.stderr
    assert r.json["lock"]["reused"] is True
    assert sorted(n for n in index.faults.requests if n) == [
        "alpha-1.0-py3-none-any.whl",
        "beta-1.0-py3-none-any.whl",
    ]
    index.faults.requests.clear()
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json", "--rebuild")
    assert r.rc == 0 and r.json["fetch"]["cached"] == r.json["fetch"]["wheels"] == 2
    assert index.faults.requests == []  # everything cached: no network at all
    # Changing the input invalidates the lock.
    (project / "requirements.in").write_text("alpha\nmeta-reader\n")
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert r.rc == 0 and r.json["lock"]["reused"] is False and r.json["lock"]["pins"] == 3


def test_upgrade_package_and_locked(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "newglibc\n")
    (project / "lpack.lock").write_text("newglibc==1.0\n")
    assert run_lpack("lock", str(project), "--runtime", "python3.12").rc == 0
    assert pins(project) == {"newglibc": "1.0"}  # existing pins are kept
    assert run_lpack("lock", str(project), "--runtime", "python3.12", "-P", "newglibc").rc == 0
    assert pins(project) == {"newglibc": "2.0"}
    (project / "requirements.in").write_text("newglibc\nalpha\n")
    r = run_lpack("build", str(project), "--runtime", "python3.12", "--locked")
    assert r.rc == 2 and "not current" in r.stderr
    r = run_lpack("build", str(project), "--runtime", "python3.12", "--locked", "--format", "json")
    assert r.rc == 2 and r.json["error"]["type"] == "LockError"  # the family machines see


def test_pyproject_dependencies_and_extras(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", None)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "fn"\nversion = "1"\ndependencies = ["gamma"]\n'
        '[project.optional-dependencies]\nmeta = ["meta-reader"]\n'
    )
    r = run_lpack("lock", str(project), "--runtime", HOST, "--extra", "meta")
    assert r.rc == 0, r.stderr
    assert pins(project) == {"gamma": "1.0", "meta-reader": "1.0"}
    text = (project / "lpack.lock").read_text()
    assert "# via -r pyproject.toml" in text
    r = run_lpack("lock", str(project), "--extra", "nope")
    assert r.rc == 2 and "'nope'" in r.stderr


@pytest.mark.parametrize("pip_conf_key", ["index-url", "extra-index-url"])
def test_honours_pip_configuration_file(
    tmp_path: Path,
    lpack_env: dict,
    index: Index,
    pip_conf_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\n{pip_conf_key} = {index.url}\n")
    monkeypatch.delenv("PIP_INDEX_URL")
    if pip_conf_key == "extra-index-url":
        monkeypatch.setenv("PIP_INDEX_URL", index.url + "/../nothing-here/")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    project = make_project(tmp_path / "fn", "gamma\n")
    r = run_lpack("lock", str(project), "--runtime", HOST)
    assert r.rc == 0, r.stderr
    assert pins(project) == {"gamma": "1.0"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("requests >>> 2\n", "holds a line pip cannot parse"),
        ("-r other.in\n", "includes a file that does not exist"),
    ],
)
def test_unparsable_requirements(tmp_path: Path, lpack_env: dict, text: str, message: str) -> None:
    project = make_project(tmp_path / "fn", text)
    r = run_lpack("lock", str(project))
    assert r.rc == 2 and message in r.stderr and "requirements.in" in r.stderr
    assert not (project / "lpack.lock").exists()


def test_included_requirement_files_are_part_of_the_digest(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "-r base.in\n")
    (project / "base.in").write_text("gamma\n")
    assert run_lpack("lock", str(project), "--runtime", HOST).rc == 0
    assert pins(project) == {"gamma": "1.0"}
    (project / "base.in").write_text("gamma\ndelta\n")
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert r.rc == 0 and r.json["lock"]["reused"] is False
    assert pins(project) == {"gamma": "1.0", "delta": "1.0"}


def test_find_links_folder_from_pip_configuration(
    tmp_path: Path, lpack_env: dict, index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    import make_index

    links = tmp_path / "wheelhouse"
    make_index.make_wheel(links, "private-lib", "3.1", files={"private_lib.py": b"X = 3\n"})
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    project = make_project(tmp_path / "fn", "private-lib\ngamma\n")
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert r.rc == 0, r.stderr
    assert pins(project) == {"private-lib": "3.1", "gamma": "1.0"}
    lock_text = (project / "lpack.lock").read_text()
    assert str(links) not in lock_text and "--hash=sha256:" in lock_text


def test_direct_reference_is_explained_and_not_locked(
    tmp_path: Path, lpack_env: dict, index: Index
) -> None:
    wheel = index.file("gamma-1.0")
    project = make_project(tmp_path / "fn", f"gamma @ {wheel.as_uri()}\n")
    r = run_lpack("lock", str(project), "--runtime", HOST)
    assert r.rc == 2 and "direct reference" in r.stderr and "find-links" in r.stderr
    assert not (project / "lpack.lock").exists()


def test_damaged_lock_is_regenerated_unless_locked(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    assert run_lpack("lock", str(project), "--runtime", HOST).rc == 0
    lock = project / "lpack.lock"
    lock.write_text(lock.read_text() + "delta>=1\n")  # not pinned: hand-edited
    r = run_lpack("build", str(project), "--runtime", HOST, "--locked")
    assert r.rc == 2 and "is not pinned to one version" in r.stderr
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert r.rc == 0, r.stderr
    assert pins(project) == {"gamma": "1.0"}
    # ... and says so, instead of replacing it without a word.
    assert any(
        "lpack.lock could not be read" in w and "was resolved again" in w
        for w in r.json["warnings"]
    ), r.json["warnings"]


def test_editable_requirement_is_refused_not_dropped(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "-e ./mylib\n")
    lib = project / "mylib"
    lib.mkdir()
    (lib / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "b"\nbackend-path = ["."]\n'
        '[project]\nname = "mylib"\nversion = "1"\ndependencies = ["gamma"]\n'
    )
    (lib / "b.py").write_text(
        "def prepare_metadata_for_build_wheel(d, c=None):\n"
        "    import os; di = os.path.join(d, 'mylib-1.dist-info'); os.makedirs(di)\n"
        "    open(os.path.join(di, 'METADATA'), 'w').write("
        "'Metadata-Version: 2.1\\nName: mylib\\nVersion: 1\\nRequires-Dist: gamma\\n')\n"
        "    return 'mylib-1.dist-info'\n"
        "def get_requires_for_build_wheel(c=None): return []\n"
        "def get_requires_for_build_editable(c=None): return []\n"
        "prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel\n"
        "def build_editable(*a, **k): raise NotImplementedError\n"
        "def build_wheel(*a, **k): raise NotImplementedError\n"
    )
    r = run_lpack("lock", str(project), "--runtime", HOST)
    assert r.rc == 2, r.stdout
    assert "editable requirement" in r.stderr and "find-links" in r.stderr
    assert not (project / "lpack.lock").exists()


def test_nested_includes_invalidate_the_lock(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "-rb.txt\n")
    (project / "b.txt").write_text("-r sub/c.txt\n")
    (project / "sub").mkdir()
    (project / "sub" / "c.txt").write_text("gamma\n")
    assert run_lpack("lock", str(project), "--runtime", HOST).rc == 0
    (project / "sub" / "c.txt").write_text("gamma\ndelta\n")
    r = run_lpack("build", str(project), "--runtime", HOST, "--locked")
    assert r.rc == 2 and "not current" in r.stderr
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert r.rc == 0 and r.json["lock"]["reused"] is False
    assert pins(project) == {"gamma": "1.0", "delta": "1.0"}


def test_requirements_option_reads_the_named_pyproject(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", None)
    (project / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["gamma"]\n')
    (project / "sub").mkdir()
    (project / "sub" / "pyproject.toml").write_text(
        '[project]\nname = "y"\ndependencies = ["delta"]\n'
    )
    r = run_lpack("lock", str(project), "--runtime", HOST, "-r", "sub/pyproject.toml")
    assert r.rc == 0, r.stderr
    assert pins(project) == {"delta": "1.0"}


@pytest.mark.parametrize(
    "pyproject, message",
    [
        ("tool = 1\n", "[tool.lpack] must be a table"),
        ('project = "x"\n', "[project] must be a table"),
        ('[project]\nname = "x"\ndependencies = "gamma"\n', "must be a list of requirement"),
        ('[project]\nname = "x"\ndependencies = [1]\n', "must be a list of requirement"),
        ('[project]\nname = "x"\noptional-dependencies = 3\n', "must be a table of lists"),
    ],
)
def test_malformed_pyproject_tables(
    tmp_path: Path, lpack_env: dict, pyproject: str, message: str
) -> None:
    project = make_project(tmp_path / "fn", None)
    (project / "pyproject.toml").write_text(pyproject)
    r = run_lpack("lock", str(project), "--runtime", HOST)
    assert r.rc == 2 and message in r.stderr, r.stderr
    assert "internal error" not in r.stderr


def test_lock_output_with_brackets_in_path(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "a[/x]b" / "fn", None)
    (project / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["gamma"]\n')
    r = run_lpack("lock", str(project), "--runtime", HOST)
    assert r.rc == 0, r.stderr
    assert "a[/x]b" in r.stdout and "pyproject.toml [project]" in r.stdout


def test_each_target_keeps_its_own_lock(tmp_path: Path, lpack_env: dict) -> None:
    """Locking for arm64 after x86_64 never overwrites the x86_64 lock; --locked holds for both."""
    project = make_project(tmp_path / "fn", "alpha\n")
    for arch in ("x86_64", "arm64"):
        r = run_lpack("lock", str(project), "--runtime", "python3.11", "--arch", arch)
        assert r.rc == 0, r.stderr
    first = read_lock(project / "lpack.lock")
    second = read_lock(project / "lpack.python3.11-arm64.lock")
    assert first.header["target-key"] == "python3.11-x86_64"
    assert second.header["target-key"] == "python3.11-arm64"
    assert "delta" in {p.key for p in second.pins} and "delta" not in {p.key for p in first.pins}
    for arch in ("x86_64", "arm64"):
        r = run_lpack(
            "build",
            str(project),
            "--runtime",
            "python3.11",
            "--arch",
            arch,
            "--locked",
            "--format",
            "json",
        )
        assert r.rc == 0, r.stderr
        assert r.json["lock"]["path"].endswith(
            "lpack.lock" if arch == "x86_64" else "lpack.python3.11-arm64.lock"
        )
        with zipfile.ZipFile(r.json["output"]["path"]) as zf:
            assert not any(n.endswith(".lock") for n in zf.namelist())


def test_lock_explains_older_versions_and_lists_upgrades(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "newglibc\n")
    r = run_lpack("lock", str(project), "--runtime", "python3.11", "--format", "json")
    assert r.rc == 0, r.stderr
    assert r.json["notes"] == [
        "newglibc 2.0 skipped: needs manylinux_2_28, python3.11 has glibc 2.26 (locked 1.0)"
    ]
    text = run_lpack("lock", str(project), "--runtime", "python3.11")
    assert "newglibc 2.0 skipped: needs manylinux_2_28" in text.stdout
    # An upgrade lists what changed; a name the lock does not pin is an error.
    (project / "requirements.in").write_text("newglibc\nneeds-old-beta\n")
    r = run_lpack("lock", str(project), "--runtime", "python3.11", "--format", "json")
    assert r.rc == 0 and r.json["changes"] == [
        {"name": "beta", "old": None, "new": "1.0"},
        {"name": "needs-old-beta", "old": None, "new": "1.0"},
    ]
    r = run_lpack("lock", str(project), "--runtime", "python3.11", "-P", "numpy")
    assert r.rc == 2
    assert "--upgrade-package numpy: numpy is not in" in r.stderr and "newglibc" in r.stderr


@pytest.mark.parametrize("line", ["./evil", "-e ./evil", "evil @ file:./evil", "-r more.in"])
def test_local_requirements_are_refused_before_any_code_runs(
    line: str, tmp_path: Path, lpack_env: dict
) -> None:
    """pip-tools would build a local path to read its metadata, running its setup.py: lpack
    refuses it by the text, so the setup.py never runs (its marker file never appears)."""
    project = make_project(tmp_path / "fn", f"gamma\n{line}\n")
    (project / "more.in").write_text("-e ./evil\n")
    evil = project / "evil"
    evil.mkdir()
    marker = tmp_path / "setup-py-ran"
    (evil / "setup.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from setuptools import setup\nsetup(name='evil', version='1')\n"
    )
    r = run_lpack("build", str(project), "--runtime", HOST)
    assert r.rc == 2 and "Resolving it would build it" in r.stderr, r.stderr
    assert ("more.in: line 1" if line.startswith("-r") else "requirements.in: line 2") in r.stderr
    assert not marker.exists() and not (project / "lpack.lock").exists()


def test_an_index_named_in_the_requirements_is_used_to_fetch_too(
    tmp_path: Path, lpack_env: dict, index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip-compile reads --index-url from requirements.in; fetch looks in the same place
    (the configured index here answers nothing)."""
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    project = make_project(tmp_path / "fn", f"--index-url {index.url}\ngamma\n")
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert r.rc == 0, r.stderr
    assert {d["name"] for d in r.json["distributions"]} >= {"gamma"}
    assert index.url not in (project / "lpack.lock").read_text()  # never written into the lock
