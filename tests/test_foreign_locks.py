"""Locks other tools wrote (uv.lock, poetry.lock, pylock.toml), read for the target: exactly
the locked versions ship, markers hold for Lambda, dev groups stay out, and nothing is
resolved again. The locks are written here from the generated local index."""

from __future__ import annotations

import hashlib
import sys
from functools import partial
from pathlib import Path

import pytest
from conftest import Index, make_project, run_lpack

HOST = f"python3.{sys.version_info[1]}"


def _file(index: Index, prefix: str) -> tuple[str, str, str]:
    """(filename, sha256, url) of a fixture file."""
    path = index.file(prefix)
    base = index.url.rsplit("/simple", 1)[0]
    return path.name, hashlib.sha256(path.read_bytes()).hexdigest(), f"{base}/files/{path.name}"


def _uv_package(index: Index, name: str, version: str, prefixes: list[str], deps: str = "") -> str:
    wheels = []
    for prefix in prefixes:
        _, sha, url = _file(index, prefix)
        wheels.append(f'    {{ url = "{url}", hash = "sha256:{sha}", size = 1 }},')
    return (
        f'[[package]]\nname = "{name}"\nversion = "{version}"\n'
        f'source = {{ registry = "{index.url}" }}\n{deps}'
        "wheels = [\n" + "\n".join(wheels) + "\n]\n\n"
    )


def uv_lock(index: Index) -> str:
    return (
        'version = 1\nrevision = 3\nrequires-python = ">=3.9"\n\n'
        '[[package]]\nname = "fn"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
        'dependencies = [\n    { name = "alpha" },\n    { name = "nativepkg" },\n'
        '    { name = "delta", marker = "platform_machine == \'aarch64\'" },\n]\n\n'
        '[package.optional-dependencies]\nsix = [\n    { name = "six" },\n]\n\n'
        '[package.dev-dependencies]\ndev = [\n    { name = "needs-six" },\n]\n\n'
        + _uv_package(
            index,
            "alpha",
            "1.0",
            ["alpha-1.0"],
            'dependencies = [\n    { name = "beta" },\n'
            '    { name = "gamma", marker = "python_full_version < \'3.10\'" },\n]\n',
        )
        # beta 1.0, although the index has 2.0 for Python 3.12: the lock's pin ships.
        + _uv_package(index, "beta", "1.0", ["beta-1.0"])
        + _uv_package(index, "delta", "1.0", ["delta-1.0"])
        + _uv_package(index, "gamma", "1.0", ["gamma-1.0"])
        # Two platforms' wheels: the manylinux one is the target's.
        + _uv_package(
            index,
            "nativepkg",
            "1.0",
            ["nativepkg-1.0-cp311-cp311-macosx", "nativepkg-1.0-cp311-cp311-manylinux"],
        )
        + _uv_package(
            index,
            "needs-six",
            "1.0",
            ["needs_six-1.0"],
            'dependencies = [\n    { name = "six" },\n]\n',
        )
        + _uv_package(index, "six", "1.0", ["six-1.0"])
    )


def _pylock_package(index: Index, name: str, prefix: str, marker: str = "") -> str:
    """One [[packages]] entry of a pylock.toml, its wheel from the fixture index."""
    filename, sha, url = _file(index, prefix)
    mark = f"marker = {marker!r}\n" if marker else ""
    return (
        f'[[packages]]\nname = "{name}"\nversion = "1.0"\n{mark}'
        f'wheels = [{{ name = "{filename}", url = "{url}", hashes = {{ sha256 = "{sha}" }} }}]\n\n'
    )


def _shipped(data: dict) -> dict[str, str]:
    return {d["name"]: d["version"] for d in data["distributions"] if d["name"] != "(your source)"}


def _build(project: Path, *args: str) -> tuple[int, dict, str]:
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json", *args)
    assert r.rc in (0, 1, 2), r.stderr
    return r.rc, r.json, r.stderr


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the fixture wheels are cp311")
def test_uv_lock_ships_its_pins_for_the_target_without_resolving(
    tmp_path: Path, lpack_env: dict, index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "fn", None)
    (project / "pyproject.toml").write_text('[project]\nname = "fn"\nversion = "0.1.0"\n')
    (project / "uv.lock").write_text(uv_lock(index))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # no index: no resolving
    rc, data, stderr = _build(project)
    assert rc == 0, stderr
    assert _shipped(data) == {"alpha": "1.0", "beta": "1.0", "nativepkg": "1.0"}
    assert not (project / "lpack.lock").exists()
    assert all(r.endswith(".whl") for r in index.faults.requests), index.faults.requests
    assert any("manylinux" in r for r in index.faults.requests)
    assert not any("macosx" in r for r in index.faults.requests)
    # Extras and groups are opt-in.
    rc, data, _ = _build(project, "--extra", "six", "--group", "dev")
    assert rc == 0 and {"six", "needs-six"} <= set(_shipped(data))
    # lock defers to uv, and refuses to upgrade what it does not keep.
    r = run_lpack("lock", str(project), "--runtime", HOST)
    assert r.rc == 0 and "writes no lpack.lock" in r.stdout and "uv lock" in r.stdout
    r = run_lpack("lock", str(project), "--runtime", HOST, "--upgrade")
    assert r.rc == 2 and "uv lock --upgrade" in r.stderr


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the fixture wheels are cp311")
def test_a_lock_with_no_file_for_the_target_names_package_version_and_tags(
    tmp_path: Path, lpack_env: dict, index: Index
) -> None:
    project = make_project(tmp_path / "fn", None)
    text = (
        'version = 1\nrequires-python = ">=3.9"\n\n[[package]]\nname = "fn"\nversion = "0.1.0"\n'
        'source = { virtual = "." }\ndependencies = [{ name = "onlymac" }]\n\n'
        + _uv_package(
            index,
            "onlymac",
            "1.0",
            ["onlymac-1.0-cp311-cp311-macosx", "onlymac-1.0-cp311-cp311-win"],
        )
    )
    (project / "uv.lock").write_text(text)
    rc, data, stderr = _build(project)
    assert rc == 2
    assert "uv.lock pins onlymac 1.0, and none of its files fits" in stderr
    assert "cp311-cp311-macosx_11_0_arm64" in stderr and "win_amd64" in stderr


def test_an_empty_or_foreign_file_named_as_a_lock_is_an_error(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = make_project(tmp_path / "fn", None)
    (project / "uv.lock").write_text("")
    rc, _, stderr = _build(project, "-r", "uv.lock")
    assert rc == 2 and "is not a uv lock" in stderr and "empty" in stderr
    (project / "uv.lock").write_text("alpha==1.0\n")
    rc, _, stderr = _build(project, "-r", "uv.lock")
    assert rc == 2 and "not valid TOML" in stderr


def poetry_lock(index: Index) -> str:
    def package(name: str, version: str, prefix: str, deps: str = "") -> str:
        filename, sha, _ = _file(index, prefix)
        return (
            f'[[package]]\nname = "{name}"\nversion = "{version}"\ndescription = ""\n'
            f'optional = false\npython-versions = "*"\n'
            f'files = [\n    {{file = "{filename}", hash = "sha256:{sha}"}},\n]\n{deps}\n'
        )

    return (
        package(
            "alpha",
            "1.0",
            "alpha-1.0",
            '\n[package.dependencies]\nbeta = ">=1.0"\n'
            'gamma = {version = "*", markers = "python_version < \\"3.10\\""}\n',
        )
        + package("beta", "1.0", "beta-1.0")
        + package("gamma", "1.0", "gamma-1.0")
        + package("needs-six", "1.0", "needs_six-1.0", '\n[package.dependencies]\nsix = "*"\n')
        + package("six", "1.0", "six-1.0")
        + '[metadata]\nlock-version = "2.0"\npython-versions = "^3.9"\ncontent-hash = "x"\n'
    )


def test_poetry_lock_ships_the_main_group_from_the_index(
    tmp_path: Path, lpack_env: dict, index: Index
) -> None:
    project = make_project(tmp_path / "fn", None)
    (project / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "fn"\nversion = "0.1.0"\n\n[tool.poetry.dependencies]\n'
        'python = "^3.9"\nalpha = "^1.0"\n\n[tool.poetry.group.dev.dependencies]\n'
        'needs-six = "*"\n'
    )
    (project / "poetry.lock").write_text(poetry_lock(index))
    rc, data, stderr = _build(project)
    assert rc == 0, stderr
    assert _shipped(data) == {"alpha": "1.0", "beta": "1.0"}  # beta 2.0 exists: not shipped
    assert not (project / "lpack.lock").exists()  # nothing was resolved
    rc, data, _ = _build(project, "--group", "dev")
    assert rc == 0 and _shipped(data) == {
        "alpha": "1.0",
        "beta": "1.0",
        "needs-six": "1.0",
        "six": "1.0",
    }
    rc, _, stderr = _build(project, "--group", "docs")
    assert rc == 2 and "Dependency group 'docs'" in stderr and "dev" in stderr


def test_pylock_evaluates_markers_for_the_target(
    tmp_path: Path, lpack_env: dict, index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = partial(_pylock_package, index)

    project = make_project(tmp_path / "fn", None)
    (project / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "test"\nrequires-python = ">=3.9"\n'
        'dependency-groups = ["dev"]\ndefault-groups = ["dev"]\n\n'
        + package("alpha", "alpha-1.0")
        + package("beta", "beta-1.0")
        + package("gamma", "gamma-1.0", "python_version < '3.10'")
        + package("delta", "delta-1.0", "platform_machine == 'aarch64'")
        + package("six", "six-1.0", "'dev' in dependency_groups")
    )
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    rc, data, stderr = _build(project)
    assert rc == 0, stderr
    assert _shipped(data) == {"alpha": "1.0", "beta": "1.0"}  # dev is a default group: not shipped
    rc, data, _ = _build(project, "--group", "dev")
    assert rc == 0 and "six" in _shipped(data)
    rc, data, _ = _build(project, "--arch", "arm64")
    assert rc == 0 and "delta" in _shipped(data)


def _poetry_package(
    index: Index, name: str, version: str, prefix: str, extra: str = "", tables: str = ""
) -> str:
    """extra: more keys of the package; tables: its [package.*] tables, which come last."""
    filename, sha, _ = _file(index, prefix)
    return (
        f'[[package]]\nname = "{name}"\nversion = "{version}"\ndescription = ""\n'
        f'optional = false\npython-versions = "*"\n{extra}'
        f'files = [\n    {{file = "{filename}", hash = "sha256:{sha}"}},\n]\n{tables}\n'
    )


def test_poetry_extras_forks_and_package_markers(
    tmp_path: Path, lpack_env: dict, index: Index
) -> None:
    """An extra's optional dependency (its marker tests `extra`) ships when the extra is asked
    for; of two locked versions, the one whose lock-2.1 `markers` hold for the target ships."""
    project = make_project(tmp_path / "fn", None)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "fn"\nversion = "1"\nrequires-python = ">=3.9"\n'
        'dependencies = ["withextra[sixy]", "alpha"]\n'
    )
    withextra = (
        '\n[package.dependencies]\nsix = {version = "*", optional = true, markers = '
        '"extra == \\"sixy\\""}\n\n[package.extras]\nsixy = ["six"]\n'
    )
    (project / "poetry.lock").write_text(
        _poetry_package(
            index, "alpha", "1.0", "alpha-1.0", tables='\n[package.dependencies]\nforked = "*"\n'
        )
        + _poetry_package(
            index, "forked", "1.0", "forked-1.0", 'markers = "python_version < \\"3.11\\""\n'
        )
        + _poetry_package(
            index, "forked", "2.0", "forked-2.0", 'markers = "python_version >= \\"3.11\\""\n'
        )
        + _poetry_package(index, "six", "1.0", "six-1.0")
        + _poetry_package(index, "withextra", "1.0", "withextra-1.0", tables=withextra)
        + '[metadata]\nlock-version = "2.1"\npython-versions = ">=3.9"\ncontent-hash = "x"\n'
    )
    rc, data, stderr = _build(project, "--runtime", "python3.11")
    assert rc == 0, stderr
    assert _shipped(data) == {"alpha": "1.0", "forked": "2.0", "six": "1.0", "withextra": "1.0"}
    rc, data, stderr = _build(project, "--runtime", "python3.10")
    assert rc == 0 and _shipped(data)["forked"] == "1.0", stderr


def test_a_uv_lock_behind_pyproject_is_refused(tmp_path: Path, lpack_env: dict) -> None:
    """uv records what pyproject asked for when it locked; a dependency added since would be
    missing from the zip, so the lock is refused as `uv sync --locked` would."""
    import shutil

    from conftest import ROOT

    project = tmp_path / "uv-orders"
    shutil.copytree(ROOT / "fixtures" / "real-locks" / "uv-orders", project)
    pyproject = project / "pyproject.toml"
    for old, new in (('"urllib3<2"]', '"urllib3<2", "six"]'), ('"pydantic>=2"', '"pydantic>=3"')):
        original = pyproject.read_text()
        pyproject.write_text(original.replace(old, new))
        rc, _, stderr = _build(project)
        assert rc == 2 and "uv.lock is not current for pyproject.toml" in stderr, stderr
        assert "run `uv lock`" in stderr
        pyproject.write_text(original)


def test_pylock_default_groups_are_synthetic_and_groups_add_to_them(
    tmp_path: Path, lpack_env: dict, index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = partial(_pylock_package, index)

    project = make_project(tmp_path / "fn", None)
    (project / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "test"\n'
        'dependency-groups = ["dev", "lambda"]\ndefault-groups = ["default"]\n\n'
        + package("alpha", "alpha-1.0", "'default' in dependency_groups")
        + package("beta", "beta-1.0", "'default' in dependency_groups")
        + package("six", "six-1.0", "'dev' in dependency_groups")
        + package("gamma", "gamma-1.0", "'lambda' in dependency_groups")
    )
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    rc, data, stderr = _build(project)
    assert rc == 0 and _shipped(data) == {"alpha": "1.0", "beta": "1.0"}, stderr
    rc, data, stderr = _build(project, "--group", "lambda")
    assert rc == 0 and _shipped(data) == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0"}, stderr


def test_uv_conflict_markers_follow_the_chosen_extra(
    tmp_path: Path, lpack_env: dict, index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With [tool.uv] conflicts, uv writes the extra into markers as 'extra-<len>-<project>-<name>'."""
    project = make_project(tmp_path / "fn", None)
    (project / "uv.lock").write_text(
        'version = 1\nrequires-python = ">=3.9"\nconflicts = [[{ package = "fn", extra = "cpu" }, '
        '{ package = "fn", extra = "gpu" }]]\n\n'
        '[[package]]\nname = "fn"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
        'dependencies = [{ name = "alpha" }]\n\n'
        '[package.optional-dependencies]\ncpu = [{ name = "gamma" }]\ngpu = [{ name = "delta" }]\n\n'
        + _uv_package(
            index,
            "alpha",
            "1.0",
            ["alpha-1.0"],
            'dependencies = [\n    { name = "beta", marker = "extra == \'extra-2-fn-gpu\'" },\n]\n',
        )
        + _uv_package(index, "beta", "1.0", ["beta-1.0"])
        + _uv_package(index, "gamma", "1.0", ["gamma-1.0"])
        + _uv_package(index, "delta", "1.0", ["delta-1.0"])
    )
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    rc, data, stderr = _build(project, "--extra", "gpu")
    assert rc == 0 and _shipped(data) == {"alpha": "1.0", "beta": "1.0", "delta": "1.0"}, stderr
    rc, data, stderr = _build(project, "--extra", "cpu")
    assert rc == 0 and _shipped(data) == {"alpha": "1.0", "gamma": "1.0"}, stderr
