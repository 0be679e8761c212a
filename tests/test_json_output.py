"""--format json: every document lpack prints validates against the shipped schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import make_project, run_lpack
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from lpack.resources import rules_dir

HOST = f"python3.{sys.version_info[1]}"


def schema_validator(name: str) -> jsonschema.Draft202012Validator:
    """A validator for one shipped schema, resolving references to the others."""
    schemas = {p.name: json.loads(p.read_text()) for p in (rules_dir() / "schema").glob("*.json")}
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s, DRAFT202012)) for s in schemas.values()
    )
    return jsonschema.Draft202012Validator(schemas[name], registry=registry)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return schema_validator("lpack-output-v1.json")


def test_build_lock_and_error_documents_validate(
    tmp_path: Path, lpack_env: dict, validator: jsonschema.Draft202012Validator
) -> None:
    project = make_project(tmp_path / "fn", "alpha\nscripted\n")
    lock = run_lpack("lock", str(project), "--runtime", HOST, "--format", "json")
    build = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    over = run_lpack(
        "build", str(project), "--runtime", HOST, "--format", "json", "--max-zipped", "100"
    )
    error = run_lpack("build", str(project), "--format", "json", "--handler", "nope.x")
    dry = run_lpack("build", str(project), "--runtime", HOST, "--format", "json", "--dry-run")
    verified = run_lpack("build", str(project), "--runtime", HOST, "--format", "json", "--verify")
    unchanged = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert (lock.rc, build.rc, over.rc, error.rc, dry.rc) == (0, 0, 1, 2, 0)
    assert verified.rc in (0, 1) and "verify" in verified.json
    # --verify always builds (its import test needs what the build left to the runtime);
    # the build after it, with nothing changed, re-emits that build's report.
    assert verified.json["rebuilt"] is True and unchanged.json["rebuilt"] is False
    assert "verify" not in unchanged.json
    for document in (
        lock.json,
        build.json,
        over.json,
        error.json,
        dry.json,
        verified.json,
        verified.json["verify"],
        unchanged.json,
    ):
        validator.validate(document)
    assert over.json["ok"] is False and build.json["ok"] is True
    assert error.json["error"]["message"].startswith("Handler 'nope.x'")


def test_schema_rejects_a_wrong_document(validator: jsonschema.Draft202012Validator) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"version": 2, "command": "build"})


def test_an_internal_error_still_prints_one_json_document(tmp_path: Path) -> None:
    """A bug in lpack exits 2 with a short message; with --format json, stdout stays JSON."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import lpack.inspect.contents as c\n"
        "def boom(path):\n    raise RuntimeError('boom')\n"
        "c.read_contents = boom\n"
        "import lpack.inspect.lint as l\n"
        "l.read_contents = boom\n"
        f"sys.argv = ['lpack', 'lint', {str(tmp_path)!r}, '--format', 'json']\n"
        "from lpack.cli import main\nmain()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2 and "internal error: RuntimeError: boom" in proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is False and "RuntimeError: boom" in data["error"]["message"]
