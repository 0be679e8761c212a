"""A rebuild that changes nothing is confirmed from digests and leaves the zip as it is;
anything the zip is made from, changed, builds again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from conftest import ROOT, make_project, run_lpack

HOST = f"python3.{sys.version_info[1]}"
SCHEMA = json.loads((ROOT / "rules" / "schema" / "lpack-output-v1.json").read_text())


def build(project: Path, *args: str) -> dict:
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json", *args)
    assert r.rc == 0, r.stderr
    jsonschema.validate(r.json, SCHEMA)
    return r.json


@pytest.fixture
def project(tmp_path: Path, lpack_env: dict) -> Path:
    return make_project(tmp_path / "fn", "alpha\n")


def _zip(project: Path) -> Path:
    return project / "dist" / "fn.zip"


def test_nothing_changed_leaves_the_zip_and_reports_the_last_build(project: Path) -> None:
    first = build(project)
    assert first["rebuilt"] is True
    before = os.stat(_zip(project))
    again = build(project)
    after = os.stat(_zip(project))
    assert again["rebuilt"] is False
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert again["output"] == first["output"] and again["distributions"] == first["distributions"]
    assert set(again["timings"]) == {"unchanged"}
    text = run_lpack("build", str(project), "--runtime", HOST)
    assert text.rc == 0 and "not needed" in text.stdout and "is unchanged" in text.stdout
    assert first["output"]["sha256"] in text.stdout


@pytest.mark.parametrize(
    "change",
    ["source edit", "new source file", "requirements", "lock", "setting", "zip damaged", "epoch"],
)
def test_a_change_builds_again(project: Path, change: str, monkeypatch: pytest.MonkeyPatch) -> None:
    build(project)
    args: list[str] = []
    if change == "source edit":
        time.sleep(0.01)  # a new mtime even on coarse clocks
        (project / "app.py").write_text("def lambda_handler(event, context):\n    return 2\n")
    elif change == "new source file":
        (project / "helpers.py").write_text("X = 1\n")
    elif change == "requirements":
        (project / "requirements.in").write_text("alpha\nbeta\n")
    elif change == "lock":
        lock = project / "lpack.lock"
        lock.write_text(lock.read_text() + "\n# edited by hand\n")
    elif change == "setting":
        args = ["--compression", "fast"]
    elif change == "zip damaged":
        data = bytearray(_zip(project).read_bytes())
        data[100] ^= 0xFF
        _zip(project).write_bytes(bytes(data))
    elif change == "epoch":
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    again = build(project, *args)
    assert again["rebuilt"] is True
    assert build(project, *args)["rebuilt"] is False  # and the build after it is confirmed


def test_a_pyproject_edit_outside_tool_lpack_builds_again(tmp_path: Path, lpack_env: dict) -> None:
    """[project] dependencies (and a uv or Poetry project's tables, or the version of the
    project's own package) are in pyproject.toml, beside the [tool.lpack] settings."""
    project = make_project(tmp_path / "fn", None)
    pyproject = project / "pyproject.toml"
    pyproject.write_text('[project]\nname = "fn"\nversion = "1"\ndependencies = ["alpha"]\n')
    first = build(project)
    assert "alpha" in {d["name"] for d in first["distributions"]}
    assert "gamma" not in {d["name"] for d in first["distributions"]}
    pyproject.write_text(pyproject.read_text().replace('["alpha"]', '["alpha", "gamma"]'))
    again = build(project)
    assert again["rebuilt"] is True
    assert "gamma" in {d["name"] for d in again["distributions"]}


def test_a_failed_build_is_never_confirmed(project: Path) -> None:
    build(project)
    r = run_lpack(
        "build", str(project), "--runtime", HOST, "--format", "json", "--max-zipped", "10 B"
    )
    assert r.rc == 1 and r.json["rebuilt"] is True
    again = run_lpack(
        "build", str(project), "--runtime", HOST, "--format", "json", "--max-zipped", "10 B"
    )
    assert again.rc == 1 and again.json["rebuilt"] is True  # still reported as a failure
    assert build(project)["rebuilt"] is True  # the failed build left no record to trust


def test_rebuild_flag_and_dry_run_always_run(project: Path) -> None:
    build(project)
    assert build(project, "--rebuild")["rebuilt"] is True
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json", "--dry-run")
    assert r.rc == 0 and r.json["command"] == "build --dry-run"


def test_a_tampered_record_is_ignored(project: Path, lpack_env: dict) -> None:
    build(project)
    (record,) = (Path(lpack_env["LPACK_CACHE_DIR"]) / "builds").rglob("*.json")
    data = json.loads(record.read_text())
    data["zip"]["sha256"] = "0" * 64  # no longer the zip's bytes
    record.write_text(json.dumps(data))
    assert build(project)["rebuilt"] is True
    record.write_text("{not json")
    assert build(project)["rebuilt"] is True


def test_inputs_edited_while_the_build_runs_are_not_recorded_as_built(project: Path) -> None:
    """requirements.in edited after the lock was read: the zip holds the old pins, so the
    next build must not confirm it against the new file."""
    build(project)
    driver = (
        "import sys, lpack.build as b\n"
        "real = b._fetch\n"
        "def fetch(spec, *args, **kwargs):\n"
        "    (spec.project_dir / 'requirements.in').write_text('alpha\\ngamma\\n')\n"
        "    return real(spec, *args, **kwargs)\n"
        "b._fetch = fetch\n"
        "from lpack.cli import main\n"
        f"sys.argv = ['lpack', 'build', {str(project)!r}, '--runtime', {HOST!r}, '--rebuild']\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    again = build(project)
    assert again["rebuilt"] is True
    assert "gamma" in {d["name"] for d in again["distributions"]}
