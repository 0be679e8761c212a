"""lpack lint's output: findings grouped per distribution, --statistics, plurals, and what
lint and build add when they run in GitHub Actions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import make_index
import pytest
from conftest import make_project, run_lpack
from lint_fixtures import PLAIN_C, compile_so, dist_info, write_zip

from lpack.resources import rules_dir

HOST = f"python3.{sys.version_info[1]}"
OUTSIDE_ACTIONS = {"GITHUB_ACTIONS": "", "GITHUB_STEP_SUMMARY": ""}


def lint_json(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
    r = run_lpack("lint", *args, "--format", "json", env={**OUTSIDE_ACTIONS, **(env or {})})
    assert r.rc in (0, 1), r.stderr
    data = json.loads(r.stdout)
    schema = json.loads((rules_dir() / "schema" / "lpack-output-v1.json").read_text())
    jsonschema.validate(data, schema)
    return r.rc, data


def fired(data: dict, code: str) -> list[dict]:
    return [f for f in data["findings"] if f["code"] == code]


@pytest.fixture(scope="module")
def plain_elf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    elf = compile_so(tmp_path_factory.mktemp("elf"), PLAIN_C, "plain")
    if elf is None:
        pytest.skip("needs gcc")
    return elf


def foreign_package(path: Path, elf: bytes, files: int = 40) -> Path:
    """Two distributions installed for CPython 3.12 (extensions and bytecode), a 3.12 .pyc
    of the function's own, and files nobody else may read."""
    members: dict[str, bytes | tuple[bytes, int]] = {"app.py": b"X = 1\n"}
    for dist in ("alpha", "beta"):
        owned = [f"{dist}/__init__.py"]
        for i in range(files):
            owned.append(f"{dist}/__pycache__/m{i}.cpython-312.pyc")
            members[f"{dist}/__pycache__/m{i}.cpython-312.pyc"] = b"\0" * 16
            owned.append(f"{dist}/_e{i}.cpython-312-x86_64-linux-gnu.so")
            members[f"{dist}/_e{i}.cpython-312-x86_64-linux-gnu.so"] = elf
        members[f"{dist}/__init__.py"] = b""
        members.update(dist_info(dist, "1.0", owned))
    # compiled after installation: in no RECORD, yet plainly alpha's
    members["alpha/__pycache__/late.cpython-312.pyc"] = b"\0" * 16
    members["__pycache__/app.cpython-312.pyc"] = b"\0" * 16
    for i in range(5):
        members[f"private/p{i}.py"] = (b"X = 1\n", 0o600)
    for folder in ("", "private/", "private/sub/"):
        members[f"{folder}.DS_Store"] = b"\0"
    members["beta/_mac.cpython-311-darwin.so"] = make_index.MACHO_BYTES
    members["beta/_mac2.cpython-311-darwin.so"] = make_index.MACHO_BYTES
    return write_zip(path, members)


def test_per_file_rules_group_per_distribution(tmp_path: Path, plain_elf: bytes) -> None:
    path = foreign_package(tmp_path / "f.zip", plain_elf)
    rc, data = lint_json(str(path), "--runtime", "python3.11")
    assert rc == 1
    bytecode = {f["path"].split("/")[0]: f for f in fired(data, "LP207")}
    # one finding per distribution (alpha, beta) and one for the function's own .pyc
    assert sorted(bytecode) == ["__pycache__", "alpha", "beta"]
    alpha = bytecode["alpha"]
    assert len(alpha["paths"]) == 41 and "alpha/__pycache__/late.cpython-312.pyc" in alpha["paths"]
    assert alpha["path"] == alpha["paths"][0]
    assert alpha["message"].startswith("41 files of alpha (656 B) like this one: bytecode for")
    assert bytecode["__pycache__"]["paths"] == ["__pycache__/app.cpython-312.pyc"]
    assert "files of" not in bytecode["__pycache__"]["message"]  # a lone file: as before
    abi = fired(data, "LP204")
    assert [len(f["paths"]) for f in abi] == [40, 40]
    assert {p.split("/")[0] for f in abi for p in f["paths"]} == {"alpha", "beta"}
    (mac,) = fired(data, "LP201")
    assert len(mac["paths"]) == 2 and mac["message"].startswith("2 files of beta")
    (closed,) = fired(data, "LP401")
    assert sorted(closed["paths"]) == [f"private/p{i}.py" for i in range(5)]
    assert "outside any distribution" in closed["message"]
    (junk,) = fired(data, "LP404")
    assert sorted(junk["paths"]) == [".DS_Store", "private/.DS_Store", "private/sub/.DS_Store"]
    # A package-level finding names no path.
    assert fired(data, "LP301")[0]["paths"] == []


def test_text_shows_one_line_per_group(tmp_path: Path, plain_elf: bytes) -> None:
    path = foreign_package(tmp_path / "f.zip", plain_elf, files=150)
    r = run_lpack("lint", str(path), "--runtime", "python3.11", env=OUTSIDE_ACTIONS)
    assert r.rc == 1
    lines = r.stdout.splitlines()
    assert len([line for line in lines if " LP207 " in line]) == 3  # not 301
    assert len([line for line in lines if " LP204 " in line]) == 2
    assert any("151 files of alpha" in line and "LP207" in line for line in lines)
    assert "--format json lists all" in r.stdout


def test_per_path_ignores_shrink_a_group(tmp_path: Path, plain_elf: bytes) -> None:
    path = foreign_package(tmp_path / "f.zip", plain_elf)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.lpack]\nruntime = "python3.11"\n'
        '[tool.lpack.lint.per-path-ignores]\n"alpha/__pycache__/m1*" = ["LP207"]\n'
    )
    _, data = lint_json(str(path), "--project", str(project))
    alpha = next(f for f in fired(data, "LP207") if f["path"].startswith("alpha/"))
    # m1, m10..m19 are ignored: 41 - 11 files stay, still one finding
    assert len(alpha["paths"]) == 30
    assert not any(p.startswith("alpha/__pycache__/m1") for p in alpha["paths"])
    assert alpha["message"].startswith("30 files of alpha")


def test_sarif_names_every_member_of_a_group(tmp_path: Path, plain_elf: bytes) -> None:
    path = foreign_package(tmp_path / "f.zip", plain_elf)
    r = run_lpack("lint", str(path), "--runtime", "python3.11", "--format", "sarif")
    assert r.rc == 1
    (run,) = json.loads(r.stdout)["runs"]
    lp207 = [x for x in run["results"] if x["ruleId"] == "LP207"]
    named = sorted(len(x["locations"][0]["logicalLocations"]) for x in lp207)
    assert named == [1, 40, 41]
    assert "informationUri" not in run["tool"]["driver"]  # the registry name is not ours


def test_statistics(tmp_path: Path, plain_elf: bytes) -> None:
    path = foreign_package(tmp_path / "f.zip", plain_elf)
    plain = run_lpack("lint", str(path), "--runtime", "python3.11", env=OUTSIDE_ACTIONS)
    r = run_lpack("lint", str(path), "--runtime", "python3.11", "--statistics")
    assert r.rc == plain.rc == 1  # --statistics leaves the exit code alone
    rows = [line.split() for line in r.stdout.splitlines()[:-1]]
    _, data = lint_json(str(path), "--runtime", "python3.11")
    expected: dict[str, int] = {}
    for f in data["findings"]:
        expected[f["code"]] = expected.get(f["code"], 0) + 1
    assert {row[1]: int(row[0]) for row in rows} == expected
    counts = [int(row[0]) for row in rows]
    assert counts == sorted(counts, reverse=True)
    lp207 = next(row for row in rows if row[1] == "LP207")
    assert lp207[2:5] == ["foreign-bytecode", "warning", "(82"]  # 3 findings, 82 paths
    assert "LP207" not in r.stdout.splitlines()[-1]  # the tally closes it
    assert "errors" in r.stdout.splitlines()[-1]
    rc, stats = lint_json(str(path), "--runtime", "python3.11", "--statistics")
    assert rc == 1 and stats["findings"] == data["findings"]
    by_code = {s["code"]: s for s in stats["statistics"]}
    assert by_code["LP207"] == {
        "code": "LP207",
        "name": "foreign-bytecode",
        "severity": "warning",
        "count": 3,
        "paths": 82,
    }
    assert [s["code"] for s in stats["statistics"]] == [row[1] for row in rows]
    r = run_lpack("lint", str(path), "--runtime", "python3.11", "--statistics", "--exit-zero")
    assert r.rc == 0
    r = run_lpack("lint", str(path), "--statistics", "--format", "sarif")
    assert r.rc == 2 and "--statistics" in r.stderr and "Traceback" not in r.stderr


def test_counts_are_plural_only_when_they_should_be(tmp_path: Path) -> None:
    one_each = write_zip(
        tmp_path / "one.zip",
        {
            "app.py": (b"X = 1\n", 0o600),  # LP401: one error
            ".DS_Store": b"\0",  # LP404: one warning
            "__pycache__/app.cpython-311.pyc": b"\0" * 16,  # LP301: one note
        },
    )
    r = run_lpack("lint", str(one_each), "--runtime", "python3.11", env=OUTSIDE_ACTIONS)
    assert "1 error · 1 warning · 1 note " in r.stdout
    assert "1 bytecode file," in r.stdout
    two = write_zip(tmp_path / "two.zip", {"a.py": (b"", 0o600), "b/c.py": (b"", 0o640)})
    r = run_lpack("lint", str(two), "--runtime", "python3.11", env=OUTSIDE_ACTIONS)
    assert "2 errors · 0 warnings · 0 notes" in r.stdout


def test_lint_in_github_actions(tmp_path: Path, plain_elf: bytes) -> None:
    path = foreign_package(tmp_path / "f.zip", plain_elf)
    args = ("lint", str(path), "--runtime", "python3.11")
    outside = run_lpack(*args, env=OUTSIDE_ACTIONS)
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    inside = run_lpack(*args, env=env)
    assert inside.rc == outside.rc == 1
    assert inside.stdout == outside.stdout and "::" not in outside.stderr
    annotations = inside.stderr.splitlines()
    _, data = lint_json(str(path), "--runtime", "python3.11")
    assert len(annotations) == len(data["findings"])  # one per (grouped) finding
    assert sum(a.startswith("::error file=") for a in annotations) == data["counts"]["error"]
    assert any(
        a.startswith("::warning ") and "title=LP207 foreign-bytecode::" in a for a in annotations
    )
    text = summary.read_text()
    assert text.startswith("### lpack lint: ")
    assert "| LP207 foreign-bytecode | warning | f.zip:alpha/" in text
    # JSON on standard output stays parseable; the annotations are on standard error.
    r = run_lpack(*args, "--format", "json", env=env)
    assert json.loads(r.stdout)["command"] == "lint" and "::error" in r.stderr
    # --format github is the annotations already: not twice.
    r = run_lpack(*args, "--format", "github", env=env)
    assert "::error" in r.stdout and "::" not in r.stderr
    assert summary.read_text().count("### lpack lint: ") == 3


def test_summary_that_cannot_be_written_is_a_warning(tmp_path: Path, plain_elf: bytes) -> None:
    path = foreign_package(tmp_path / "f.zip", plain_elf)
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "summary.md")}
    r = run_lpack("lint", str(path), "--runtime", "python3.11", env=env)
    assert r.rc == 1 and "cannot add to the job summary" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.usefixtures("lpack_env")
def test_build_in_github_actions(tmp_path: Path) -> None:
    project = make_project(tmp_path / "fn", "", tool=f'runtime = "{HOST}"\nmax-unzipped = 10')
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    r = run_lpack("build", str(project), "--format", "json", env=env)
    assert r.rc == 1, r.stderr
    assert json.loads(r.stdout)["output"]["path"]  # stdout is still the JSON document
    # The budget the build reports in its limits section is annotated too.
    errors = [a for a in r.stderr.splitlines() if a.startswith("::error ")]
    assert len(errors) == 1 and "title=LP103 " in errors[0] and "over the budget" in errors[0]
    assert summary.read_text().startswith("### lpack build fn: 1 error · ")
    quiet = run_lpack("build", str(project), "--rebuild", env=OUTSIDE_ACTIONS)
    assert quiet.rc == 1 and "::error" not in quiet.stderr + quiet.stdout


def test_names_cannot_add_lines_to_the_text(tmp_path: Path) -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": ""}
    for name, shown in (
        ("pkg/x\n::error::spoofed.cpython-312.pyc", "pkg/x\\n::error::spoofed"),
        ("pkg/y\u202e.cpython-312.pyc", "pkg/y\\u202e.cpython-312.pyc"),
    ):
        path = write_zip(tmp_path / "odd.zip", {"pkg/__init__.py": b"", name: b"\0" * 16})
        r = run_lpack("lint", str(path), "--runtime", "python3.11", env=env)
        assert r.rc == 1
        assert not any(line.startswith("::") for line in r.stdout.splitlines())
        assert shown in r.stdout and name not in r.stdout
        # the annotations on standard error carry the names escaped as workflow data
        assert all(line.startswith("::") for line in r.stderr.splitlines())


@pytest.mark.usefixtures("lpack_env")
def test_project_build_in_github_actions(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "proj",
        None,
        files={
            "functions/good/app.py": "def handler(event, context):\n    return 1\n",
            "functions/bad/app.py": "def handler(event, context):\n    return 2\n",
        },
    )
    (project / "pyproject.toml").write_text(
        f'[tool.lpack]\nruntime = "{HOST}"\n'
        '[tool.lpack.functions.good]\nsource = "functions/good"\nhandler = "app.handler"\n'
        '[tool.lpack.functions.bad]\nsource = "functions/bad"\nhandler = "app.handler"\n'
        "max-unzipped = 10\n"
    )
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    r = run_lpack("build", str(project), env=env)
    assert r.rc == 1, r.stderr
    errors = [a for a in r.stderr.splitlines() if a.startswith("::error ")]
    assert len(errors) == 1 and "title=LP103 " in errors[0]
    assert "bad.zip" in errors[0]
    text = summary.read_text()
    assert "### lpack build bad: 1 error · " in text and "### lpack build good: 0 errors · " in text


def test_quiet_shows_only_errors_and_verbose_every_file(tmp_path: Path, plain_elf: bytes) -> None:
    path = foreign_package(tmp_path / "f.zip", plain_elf, files=20)
    args = ("lint", str(path), "--runtime", "python3.11")
    normal = run_lpack(*args, env=OUTSIDE_ACTIONS)
    quiet = run_lpack(*args, "-q", env=OUTSIDE_ACTIONS)
    verbose = run_lpack(*args, "--verbose", env=OUTSIDE_ACTIONS)
    assert normal.rc == quiet.rc == verbose.rc == 1  # what is printed never changes the verdict
    finding_lines = [t for t in normal.stdout.splitlines() if " LP" in t]
    assert any(" warning " in t for t in finding_lines)  # the package has more than errors
    quiet_lines = [t for t in quiet.stdout.splitlines() if " LP" in t]
    assert quiet_lines and all(" error " in t for t in quiet_lines)
    tally = next(t for t in normal.stdout.splitlines() if t.endswith("why and how to fix)"))
    assert tally in quiet.stdout.splitlines()  # the same tally: quiet hides, never drops
    # -v lists every file of the LP207 group under its line (21 .pyc of alpha).
    listed = [t for t in verbose.stdout.splitlines() if t.startswith("    ")]
    assert len([t for t in listed if t.endswith(".pyc")]) >= 21
    assert "-v or --format json lists all" not in verbose.stdout
