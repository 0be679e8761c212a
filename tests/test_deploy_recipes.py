"""The README's deploy recipes, run against a built project with the tools themselves where
they run offline: cfn-lint (SAM), `serverless print`, a CDK synth; Terraform is parsed."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest
from conftest import ROOT, run_lpack

NODE_MODULES = Path(os.environ.get("LPACK_NODE_MODULES", ROOT / ".ci" / "node" / "node_modules"))


def recipe(name: str) -> str:
    """The code block under <!-- recipe:NAME --> in the README."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- recipe:{name} -->\n```\w+\n(.*?)```", readme, re.S)
    assert match, f"README lost its {name} recipe"
    return match.group(1)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, index) -> Path:  # noqa: ANN001 - conftest's
    """The recipes' project, data (a layer) and ingest (a function using it), built."""
    project = tmp_path_factory.mktemp("orders")
    files = {
        "pyproject.toml": (
            '[tool.lpack]\nruntime = "python3.12"\nupload = "s3"\n\n'
            '[tool.lpack.layers.data]\nrequirements = "layers/data/requirements.in"\n\n'
            '[tool.lpack.functions.ingest]\nsource = "functions/ingest"\nhandler = "app.handler"\n'
            'requirements = "functions/ingest/requirements.in"\nlayers = ["data"]\n'
        ),
        "layers/data/requirements.in": "alpha\n",
        "functions/ingest/requirements.in": "alpha\n",
        "functions/ingest/app.py": "import alpha\n\ndef handler(event, context):\n    return 1\n",
    }
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    env = {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": index.url,
        "LPACK_CACHE_DIR": str(project.parent / "cache"),
        "NO_COLOR": "1",
    }
    r = run_lpack("build", str(project), env=env)
    assert r.rc == 0, r.stdout + r.stderr
    return project


def manifest(project: Path) -> dict[str, dict]:
    data = json.loads((project / "dist" / "lpack-manifest.json").read_text())
    return {a["name"]: a for a in data["artifacts"]}


def test_sam_template_passes_cfn_lint(built: Path) -> None:
    template = built / "template.yaml"
    template.write_text(recipe("sam"))
    for uri in re.findall(r"(?:CodeUri|ContentUri): (\S+)", template.read_text()):
        assert (built / uri).is_file(), uri
    proc = subprocess.run(["cfn-lint", str(template)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(
    not (NODE_MODULES / ".bin" / "serverless").exists(),
    reason="needs serverless@3 from npm (.ci/run installs it)",
)
def test_serverless_config_resolves_to_the_zips(built: Path) -> None:
    (built / "serverless.yml").write_text(recipe("serverless"))
    env = {**os.environ, "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off"}
    proc = subprocess.run(
        [str(NODE_MODULES / ".bin" / "serverless"), "print", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=built,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = json.loads(proc.stdout[proc.stdout.index("{") :])
    entries = manifest(built)
    artifacts = {
        "data": config["layers"]["data"]["package"]["artifact"],
        "ingest": config["functions"]["ingest"]["package"]["artifact"],
    }
    assert artifacts == {name: f"dist/{entries[name]['path']}" for name in artifacts}


def test_terraform_reads_what_the_manifest_holds(built: Path) -> None:
    text = recipe("terraform")
    parsed = hcl2.loads(text)
    assert len(parsed["resource"]) == 2
    entries = manifest(built)
    used = set(re.findall(r'local\.lpack\["([\w-]+)"\]\.(\w+)', text))
    assert used and all(name in entries and field in entries[name] for name, field in used)
    assert {field for _, field in used} >= {"path", "sha256_base64", "runtime", "arch"}
    assert entries["ingest"]["arch"] in ("x86_64", "arm64")  # Terraform's own names


@pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_MODULES / "aws-cdk-lib").is_dir(),
    reason="needs node and aws-cdk-lib from npm (.ci/run installs them)",
)
def test_cdk_synth_ships_exactly_the_zips(built: Path, tmp_path: Path) -> None:
    (built / "app.js").write_text(recipe("cdk"))
    out = tmp_path / "cdk.out"
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES), "CDK_OUTDIR": str(out)}
    proc = subprocess.run(
        ["node", "app.js"], capture_output=True, text=True, cwd=built, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shipped = {hashlib.sha256(p.read_bytes()).hexdigest() for p in out.glob("asset.*.zip")}
    assert shipped == {e["sha256"] for e in manifest(built).values()}
