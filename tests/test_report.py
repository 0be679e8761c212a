"""report, diff, gate and check on fixture packages of known sizes, to the byte."""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from browser import chromium
from conftest import ROOT, make_project, run_lpack
from lint_fixtures import dist_info, write_zip

HOST = f"python3.{sys.version_info[1]}"
GOLDEN = ROOT / "fixtures" / "golden"


def package(path: Path, extra: int = 0, version: str = "1.0") -> Path:
    """A package with exact sizes: lib 3,000 + 1,000 B, lib's test 500 B, native 2,000 B,
    app 100 B, plus `extra` bytes of data owned by lib."""
    files = {
        "lib/__init__.py": b"#" * 3000,
        "lib/core.py": b"#" * 1000,
        "lib/tests/test_core.py": b"#" * 500,
        "lib/_fast.so": b"\x7fELF" + b"\0" * 1996,
    }
    if extra:
        files["lib/data.bin"] = b"\1" * extra
    members = {
        "app.py": b"#" * 100,
        **files,
        **dist_info("lib", version, list(files)),
        **dist_info("dep", "2.0", ["dep.py"]),
        "dep.py": b"#" * 50,
    }
    meta = f"lib-{version}.dist-info/METADATA"
    members[meta] = members[meta] + b"Requires-Dist: dep\n"
    return write_zip(path, members)


def report(path: Path, *args: str, cwd: Path | None = None) -> dict:
    r = run_lpack("report", str(path), "--runtime", HOST, "--format", "json", *args, cwd=cwd)
    assert r.rc == 0, r.stderr
    return json.loads(r.stdout)


def test_report_sizes_to_the_byte(tmp_path: Path) -> None:
    path = package(tmp_path / "fn.zip")
    data = report(path)
    with zipfile.ZipFile(path) as zf:
        assert data["unzipped_size"] == sum(i.file_size for i in zf.infolist())
        assert data["files"] == len(zf.infolist())
    assert data["zipped_size"] == path.stat().st_size
    dists = {d["name"]: d for d in data["distributions"]}
    meta = sum(len(v) for k, v in _members(path).items() if k.startswith("lib-1.0.dist-info/"))
    assert dists["lib"]["unzipped"] == 3000 + 1000 + 500 + 2000 + meta
    assert dists["(your source)"]["unzipped"] == 100
    assert dists["lib"]["why"] == ["lib", "your requirements"]
    assert dists["dep"]["why"] == ["dep", "lib", "your requirements"]
    kinds = {k["name"]: k["unzipped"] for k in data["kinds"]}
    assert kinds["tests"] == 500 and kinds["native code"] == 2000
    assert kinds["Python source"] == 3000 + 1000 + 100 + 50
    tree = data["tree"]
    assert tree["size"] == data["unzipped_size"]
    lib = next(c for c in tree["children"] if c["name"] == "lib")
    assert lib["size"] == 6500 and sum(c["size"] for c in lib["children"]) == 6500


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


_EXT = {"text": "txt", "markdown": "md", "json": "json", "html": "html"}


@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "html"])
def test_report_goldens(tmp_path: Path, fmt: str) -> None:
    package(tmp_path / "fn.zip")
    r = run_lpack("report", "fn.zip", "--runtime", "python3.11", "--format", fmt, cwd=tmp_path)
    assert r.rc == 0, r.stderr
    _golden(f"report.{_EXT[fmt]}", r.stdout)


@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "html"])
def test_diff_goldens(tmp_path: Path, fmt: str) -> None:
    package(tmp_path / "old.zip")
    package(tmp_path / "new.zip", extra=4000, version="1.1")
    r = run_lpack(
        "diff", "old.zip", "new.zip", "--runtime", "python3.11", "--format", fmt, cwd=tmp_path
    )
    assert r.rc == 0, r.stderr
    _golden(f"diff.{_EXT[fmt]}", r.stdout)


def _golden(name: str, output: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("LPACK_UPDATE_GOLDENS"):
        golden.write_text(output)
    assert output == golden.read_text()


def test_report_of_a_project_reads_its_zip_and_never_builds(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = make_project(tmp_path / "fn", "alpha\n", tool=f'runtime = "{HOST}"')
    r = run_lpack("report", str(project), "--format", "json")
    assert r.rc == 2 and "never build" in r.json["error"]["message"]
    assert sorted(p.name for p in project.iterdir()) == [
        "app.py",
        "pyproject.toml",
        "requirements.in",
    ]
    assert run_lpack("build", str(project)).rc == 0
    data = report(project)
    dists = {d["name"]: d for d in data["distributions"]}
    assert dists["beta"]["why"] == ["beta", "alpha", "requirements.in"]


def test_settings_never_make_lpack_write_outside_the_project(
    tmp_path: Path, lpack_env: dict
) -> None:
    victim = tmp_path / "important.txt"
    victim.write_text("keep\n")
    for setting in ('output = "../important.txt"', 'lock = "../important.txt"'):
        project = make_project(tmp_path / "fn", "gamma\n", tool=f'runtime = "{HOST}"\n{setting}')
        for command in ("build", "lock", "report", "check"):
            r = run_lpack(command, str(project))
            assert r.rc == 2 and "points outside the project" in r.stderr, (command, r.stderr)
        assert victim.read_text() == "keep\n"
    # Named on the command line, a path outside the project is the user's choice.
    r = run_lpack("build", str(project), "-o", str(tmp_path / "elsewhere.zip"), "--lock", "l.lock")
    assert r.rc == 0, r.stderr


def test_report_of_a_non_package(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_lpack("report", str(empty), "--runtime", HOST)
    assert r.rc == 2 and "not a Lambda package" in r.stderr
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")
    r = run_lpack("report", str(junk), "--runtime", HOST)
    assert r.rc == 2 and "not a readable zip" in r.stderr


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_html_treemap_in_a_real_browser(tmp_path: Path) -> None:
    """The report's page opens at the package and zooms by address; tests/test_treemap.py
    checks its geometry, colours and toggle."""
    path = package(tmp_path / "fn.zip")
    html = tmp_path / "report.html"
    r = run_lpack("report", str(path), "--runtime", HOST, "--format", "html", "-o", str(html))
    assert r.rc == 0, r.stderr
    text = html.read_text()
    assert "<script src" not in text and "http://" not in text and "https://" not in text

    def dom(url: str) -> str:
        return chromium(tmp_path, url, "--dump-dom", size="1200,900")

    top = dom(html.as_uri())
    # Distributions at the top, the user's code among them; folders and files inside.
    for dist in ("lib", "dep", "(your source)"):
        assert f'data-dist="{dist}"' in top, dist
    assert 'data-path="lib/__init__.py"' in top
    assert 'data-path="lib-1.0.dist-info"' in top  # inside lib, not a tile of its own
    assert 'id="distributions"' in top and 'data-metric="unzipped"' in top
    zoomed = dom(html.as_uri() + "#zoom=lib")
    assert 'data-dist="lib"' in zoomed and 'data-dist="dep"' not in zoomed
    assert 'class="crumb"' in zoomed and 'class="crumb here">lib<' in zoomed
    source = dom(html.as_uri() + "#zoom=(your source)")
    assert 'data-path="app.py"' in source and 'data-path="lib/core.py"' not in source
    folder = dom(html.as_uri() + "#zoom=lib/tests&size=zipped")
    assert (
        'data-path="lib/tests/test_core.py"' in folder and 'data-path="lib/core.py"' not in folder
    )
    assert 'data-metric="zipped"' in folder


def test_diff_of_two_packages(tmp_path: Path) -> None:
    old = package(tmp_path / "old.zip")
    new = package(tmp_path / "new.zip", extra=4000, version="1.1")
    r = run_lpack("diff", str(old), str(new), "--runtime", HOST, "--format", "json")
    assert r.rc == 0, r.stderr
    data = json.loads(r.stdout)
    row = next(d for d in data["distributions"] if d["name"] == "lib")
    assert row["status"] == "changed" and (row["old_version"], row["new_version"]) == ("1.0", "1.1")
    assert data["unzipped_delta"] == sum(d["delta"] for d in data["distributions"])
    assert row["delta"] == 4000 + len(b"Version: 1.1") - len(b"Version: 1.0") + _record_growth(
        old, new
    )
    # Report JSONs diff the same way as the zips they came from.
    (tmp_path / "old.json").write_text(json.dumps(report(old)))
    (tmp_path / "new.json").write_text(json.dumps(report(new)))
    r2 = run_lpack(
        "diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--format", "json"
    )
    assert json.loads(r2.stdout)["distributions"] == data["distributions"]
    md = run_lpack("diff", str(old), str(new), "--runtime", HOST, "--format", "markdown").stdout
    assert "| lib | changed | 1.0 → 1.1 |" in md


def _record_growth(old: Path, new: Path) -> int:
    o = sum(
        len(v)
        for k, v in _members(old).items()
        if k.startswith("lib-1.0.dist-info/") and not k.endswith("METADATA")
    )
    n = sum(
        len(v)
        for k, v in _members(new).items()
        if k.startswith("lib-1.1.dist-info/") and not k.endswith("METADATA")
    )
    return n - o


def test_diff_of_different_runtimes_says_so(tmp_path: Path) -> None:
    path = package(tmp_path / "fn.zip")
    (tmp_path / "a.json").write_text(json.dumps(report(path)))
    r = run_lpack("report", str(path), "--runtime", "python3.12", "--format", "json")
    (tmp_path / "b.json").write_text(r.stdout)
    r = run_lpack("diff", str(tmp_path / "a.json"), str(tmp_path / "b.json"))
    assert r.rc == 0 and "target different runtimes" in r.stdout


def test_gate_thresholds_and_baseline(tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    old = package(tmp_path / "old.zip")
    r = run_lpack("gate", str(old), "--baseline", str(base), "--update-baseline", "--runtime", HOST)
    assert r.rc == 0 and base.is_file()
    saved = json.loads(base.read_text())
    assert list(saved) == sorted(saved) and saved["target"]["runtime"] == HOST
    assert base.read_text() == json.dumps(saved, indent=2, sort_keys=True) + "\n"

    def gate(extra: int, *args: str) -> int:
        new = package(tmp_path / f"new{extra}.zip", extra=extra)
        return run_lpack("gate", str(new), "--baseline", str(base), "--runtime", HOST, *args).rc

    assert gate(0) == 0
    assert gate(50_000, "--min-bytes", "100 KiB") == 0  # +50 KB: under the floor
    assert (
        gate(
            150_000,
            "--min-bytes",
            "100 KiB",
            "--max-growth-bytes",
            "1 MiB",
            "--max-growth-percent",
            "1000000",
        )
        == 0
    )  # above floor, below both limits
    assert (
        gate(
            150_000,
            "--min-bytes",
            "100 KiB",
            "--max-growth-bytes",
            "120 KiB",
            "--max-growth-percent",
            "1000000",
        )
        == 1
    )  # over the bytes threshold
    assert (
        gate(
            150_000,
            "--min-bytes",
            "100 KiB",
            "--max-growth-bytes",
            "10 MiB",
            "--max-growth-percent",
            "5",
        )
        == 1
    )  # over the percent threshold
    budget = tmp_path / "proj"
    budget.mkdir()
    (budget / "pyproject.toml").write_text(
        f'[tool.lpack]\nruntime = "{HOST}"\nmax-unzipped = 1000\n'
    )
    assert gate(0, "--project", str(budget)) == 1  # no growth, but over its budget


def test_gate_bad_baselines(tmp_path: Path) -> None:
    path = package(tmp_path / "fn.zip")
    missing = run_lpack(
        "gate", str(path), "--baseline", str(tmp_path / "none.json"), "--runtime", HOST
    )
    assert (
        missing.rc == 2
        and "does not exist" in missing.stderr
        and "--update-baseline" in missing.stderr
    )
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{not json")
    r = run_lpack("gate", str(path), "--baseline", str(corrupt), "--runtime", HOST)
    assert r.rc == 2 and "is corrupt" in r.stderr
    other = tmp_path / "other.json"
    assert (
        run_lpack(
            "gate",
            str(path),
            "--baseline",
            str(other),
            "--update-baseline",
            "--runtime",
            "python3.12",
        ).rc
        == 0
    )
    r = run_lpack("gate", str(path), "--baseline", str(other), "--runtime", HOST)
    assert r.rc == 2 and "made for python3.12" in r.stderr


def test_gate_in_github_actions(tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    run_lpack(
        "gate",
        str(package(tmp_path / "a.zip")),
        "--baseline",
        str(base),
        "--update-baseline",
        "--runtime",
        HOST,
    )
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    r = run_lpack(
        "gate",
        str(package(tmp_path / "b.zip", extra=500_000)),
        "--baseline",
        str(base),
        "--runtime",
        HOST,
        env=env,
    )
    assert r.rc == 1
    assert r.stdout.startswith("::error file=") and "title=lpack gate::" in r.stdout
    text = summary.read_text()
    assert "### lpack gate: FAILED" in text and "| lib | changed |" in text


def test_check_lock_and_budget(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "alpha\n", tool=f'runtime = "{HOST}"')
    r = run_lpack("check", str(project))
    assert r.rc == 1 and "not current" in r.stdout  # no lock yet
    assert run_lpack("lock", str(project)).rc == 0
    r = run_lpack("check", str(project))
    assert r.rc == 0 and "within every limit and budget" in r.stdout
    (project / "pyproject.toml").write_text(
        f'[tool.lpack]\nruntime = "{HOST}"\nmax-unzipped = 100\n'
    )
    r = run_lpack("check", str(project))
    assert r.rc == 1 and "over budget 100 B unzipped" in r.stdout


def test_gate_explicit_cap_below_the_floor_wins(tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    run_lpack(
        "gate",
        str(package(tmp_path / "a.zip")),
        "--baseline",
        str(base),
        "--update-baseline",
        "--runtime",
        HOST,
    )
    grown = package(tmp_path / "b.zip", extra=90_000)
    r = run_lpack(
        "gate",
        str(grown),
        "--baseline",
        str(base),
        "--runtime",
        HOST,
        "--max-growth-bytes",
        "50 KiB",
        "--max-growth-percent",
        "1000000",
    )
    assert r.rc == 1 and "more than the allowed 50.0 KiB (51,200 B)" in r.stdout


def test_check_ignores_dangling_editor_links(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "gamma\n", tool=f'runtime = "{HOST}"')
    assert run_lpack("lock", str(project)).rc == 0
    os.symlink("user@host.1234:1700000000", project / ".#app.py")
    r = run_lpack("check", str(project))
    assert r.rc == 0 and "internal error" not in r.stderr, r.stderr


def test_partial_report_files_are_read_as_far_as_they_go(tmp_path: Path) -> None:
    """A hand-made report (names and unzipped sizes only) diffs; a null target warns of
    nothing; and `report FILE.json --format json` gives the file back as it was."""
    old = tmp_path / "old.json"
    old.write_text(
        json.dumps(
            {
                "command": "report",
                "artifact": "z",
                "unzipped_size": 5,
                "target": None,
                "distributions": [{"name": "a", "version": "1", "unzipped": 5}],
                "note": "kept",
            }
        )
    )
    new = tmp_path / "new.json"
    new.write_text(
        json.dumps(
            {
                "command": "report",
                "unzipped_size": 9,
                "target": {"runtime": "python3.11", "arch": "x86_64"},
                "distributions": [{"name": "a", "version": "2", "unzipped": 9}],
            }
        )
    )
    r = run_lpack("diff", str(old), str(new), "--format", "json")
    assert r.rc == 0, r.stderr
    assert r.json["unzipped_delta"] == 4 and r.json["warnings"] == []
    assert r.json["distributions"][0]["status"] == "changed"
    r = run_lpack("report", str(old), "--format", "json")
    assert r.rc == 0 and r.json == json.loads(old.read_text())
    assert run_lpack("report", str(old)).rc == 0


def test_markdown_never_passes_a_packages_markup_through(tmp_path: Path) -> None:
    """A distribution named to inject HTML or a table column into a PR comment is escaped."""
    from lint_fixtures import dist_info, write_zip

    name = "evil<img src=x onerror=alert(1)>|x"
    members = {"evil/__init__.py": b"", **dist_info(name, "1.0", ["evil/__init__.py"])}
    path = write_zip(tmp_path / "fn.zip", members)
    r = run_lpack("report", str(path), "--runtime", HOST, "--format", "markdown")
    assert r.rc == 0, r.stderr
    assert "<img" not in r.stdout and "&lt;img" in r.stdout
    row = next(line for line in r.stdout.splitlines() if "&lt;img" in line)
    assert row.count(" | ") == 6  # the name added no column


def test_check_measures_again_when_its_cached_record_is_damaged(
    tmp_path: Path, lpack_env: dict
) -> None:
    """`lpack check` caches the sizes it measured; a record that is not what it writes
    (truncated, wrong types, a negative size, a list) is measured again, never trusted."""
    project = make_project(tmp_path / "fn", "alpha\n", tool=f'runtime = "{HOST}"')
    assert run_lpack("lock", str(project)).rc == 0
    first = run_lpack("check", str(project))
    assert first.rc == 0, first.stdout
    (record,) = (Path(lpack_env["LPACK_CACHE_DIR"]) / "checks").glob("*.json")
    for poison in (
        '{"zipped": "1", "unzipped": 1}',
        '{"zipped": -5, "unzipped": 1}',
        "[1, 2]",
        "{",
    ):
        record.write_text(poison)
        r = run_lpack("check", str(project))
        assert r.rc == 0 and r.stdout == first.stdout, (poison, r.stdout + r.stderr)
