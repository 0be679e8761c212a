"""A project of many functions and layers: layers first, shared pins, incremental, a manifest."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import isolated_python, run_lpack
from test_json_output import schema_validator

HOST = f"python3.{sys.version_info[1]}"


def make_split_project(root: Path, runtime: str = HOST, extra: str = "") -> Path:
    """Two functions and a layer: `shared` (alpha, which needs beta) is used by `ingest`;
    `notify` stands alone."""
    files = {
        "pyproject.toml": (
            f'[tool.lpack]\nruntime = "{runtime}"\nupload = "s3"\n\n'
            '[tool.lpack.layers.shared]\nrequirements = "layers/shared/requirements.in"\n\n'
            '[tool.lpack.functions.ingest]\nsource = "functions/ingest"\nhandler = "app.handler"\n'
            'layers = ["shared"]\n\n'
            '[tool.lpack.functions.notify]\nsource = "functions/notify"\nhandler = "app.handler"\n'
            + extra
        ),
        "layers/shared/requirements.in": "alpha\n",
        "functions/ingest/requirements.in": "alpha\nmeta-reader\n",
        "functions/ingest/app.py": (
            "import alpha, meta_reader\n\ndef handler(event, context):\n"
            "    return {'alpha': alpha.VERSION, 'meta': meta_reader.__version__}\n"
        ),
        "functions/notify/requirements.in": "gamma\n",
        "functions/notify/app.py": "def handler(event, context):\n    return 2\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def build(project: Path, *args: str) -> dict:
    r = run_lpack("build", str(project), *args, "--format", "json")
    assert r.rc == 0, r.stdout[-3000:] + r.stderr
    return r.json


def names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.namelist()


def by_name(data: dict) -> dict[str, dict]:
    return {a["name"]: a for a in data["artifacts"]}


def test_layers_are_shared_not_shipped_twice(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    data = build(project)
    schema_validator("lpack-output-v1.json").validate(data)
    assert [a["name"] for a in data["artifacts"]] == ["shared", "ingest", "notify"]
    dist = project / "dist"
    layer = names(dist / "shared.zip")
    assert layer and all(n.startswith("python/") for n in layer)
    assert "python/alpha/__init__.py" in layer and "python/beta/__init__.py" in layer
    ingest = names(dist / "ingest.zip")
    assert "app.py" in ingest and "meta_reader/__init__.py" in ingest
    assert not any(n.startswith(("alpha", "beta")) for n in ingest)  # the layer provides them
    artifacts = by_name(data)
    layer_sizes = artifacts["shared"]["manifest"]["distributions"]
    left_out = {o["name"]: o for o in artifacts["ingest"]["left_out"]}
    assert set(left_out) == {"alpha", "beta"}
    assert {n: o["size"] for n, o in left_out.items()} == {n: layer_sizes[n] for n in left_out}
    assert artifacts["notify"]["left_out"] == []
    # The function's lock pins what its layer pins: alpha came through the layer's constraints.
    lock = (project / f"functions/ingest/lpack-ingest-{HOST}-x86_64.lock").read_text()
    assert "alpha==1.0" in lock and "-c layer-shared.txt" in lock
    # Lambda counts a function with its layers: so does its limit check.
    unzipped = {c["name"]: c for c in artifacts["ingest"]["build"]["limits"]}["unzipped"]
    ingest_size = artifacts["ingest"]["manifest"]["unzipped_size"]
    assert unzipped["actual"] == ingest_size + artifacts["shared"]["manifest"]["unzipped_size"]


def test_manifest_describes_the_zips_exactly(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    build(project)
    manifest_path = project / "dist" / "lpack-manifest.json"
    manifest = json.loads(manifest_path.read_text())
    schema_validator("lpack-manifest-v1.json").validate(manifest)
    assert manifest_path.stat().st_mode & 0o044 == 0o044  # deploy tools under any uid read it
    for entry in manifest["artifacts"]:
        zip_path = manifest_path.parent / entry["path"]
        data = zip_path.read_bytes()
        digest = hashlib.sha256(data).digest()
        assert entry["sha256"] == digest.hex() and len(data) == entry["zipped_size"]
        assert entry["sha256_base64"] == base64.b64encode(digest).decode()
        with zipfile.ZipFile(zip_path) as zf:
            assert sum(i.file_size for i in zf.infolist()) == entry["unzipped_size"]
    assert {e["name"]: e["layers"] for e in manifest["artifacts"]} == {
        "ingest": ["shared"],
        "notify": [],
        "shared": [],
    }


def test_only_what_changed_is_rebuilt(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    build(project)
    dist = project / "dist"
    before = {p.name: p.stat().st_mtime_ns for p in dist.glob("*.zip")}
    again = build(project)
    assert {a["name"]: a["rebuilt"] for a in again["artifacts"]} == {
        "shared": False,
        "ingest": False,
        "notify": False,
    }
    (project / "functions/notify/app.py").write_text("def handler(event, context):\n    return 3\n")
    changed = build(project)
    assert {a["name"]: a["rebuilt"] for a in changed["artifacts"]} == {
        "shared": False,
        "ingest": False,
        "notify": True,
    }
    after = {p.name: p.stat().st_mtime_ns for p in dist.glob("*.zip")}
    assert (
        after["shared.zip"] == before["shared.zip"] and after["ingest.zip"] == before["ingest.zip"]
    )
    assert after["notify.zip"] != before["notify.zip"]
    # A layer that changes rebuilds the functions that use it, and only those.
    (project / "layers/shared/requirements.in").write_text("alpha\ngamma\n")
    relayered = by_name(build(project))
    assert relayered["shared"]["rebuilt"] and relayered["ingest"]["rebuilt"]
    assert not relayered["notify"]["rebuilt"]
    # A zip edited behind lpack's back is rebuilt, not trusted.
    (dist / "notify.zip").write_bytes(b"tampered")
    assert by_name(build(project, "notify"))["notify"]["rebuilt"]
    text = run_lpack("build", str(project))
    assert text.rc == 0 and "unchanged" in text.stdout


def test_names_select_artifacts_and_the_layers_they_use(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    data = build(project, "ingest")
    assert [a["name"] for a in data["artifacts"]] == ["shared", "ingest"]
    assert not (project / "dist" / "notify.zip").exists()
    listed = run_lpack("build", str(project), "--list", "--format", "json")
    assert listed.rc == 0
    schema_validator("lpack-output-v1.json").validate(listed.json)
    assert [(a["name"], a["kind"], a["layers"]) for a in listed.json["artifacts"]] == [
        ("shared", "layer", []),
        ("ingest", "function", ["shared"]),
        ("notify", "function", []),
    ]
    assert not (project / "dist" / "notify.zip").exists()  # --list builds nothing
    # From inside the project, a name that is also a folder name is still the artifact.
    (project / "notify").mkdir()
    r = run_lpack("build", "notify", "--format", "json", cwd=project)
    assert r.rc == 0, r.stderr
    assert [a["name"] for a in r.json["artifacts"]] == ["notify"]
    r = run_lpack("build", str(project), "nope")
    assert r.rc == 2 and "no artifact named 'nope'" in r.stderr


def test_parallel_builds_give_the_bytes_a_serial_build_gives(
    tmp_path: Path, lpack_env: dict
) -> None:
    from lpack.project import build_project
    from lpack.settings import load_project

    first = make_split_project(tmp_path / "a")
    second = make_split_project(tmp_path / "b")
    parallel = build_project(load_project(first), workers=4)
    serial = build_project(load_project(second), workers=1)
    shas = {o.spec.name: o.entry.sha256 for o in parallel.outcomes if o.entry}
    assert shas == {o.spec.name: o.entry.sha256 for o in serial.outcomes if o.entry}


def test_combined_budget_counts_the_layers_to_the_byte(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    sizes = {a["name"]: a["manifest"]["unzipped_size"] for a in build(project)["artifacts"]}
    combined = sizes["ingest"] + sizes["shared"]
    ok = build(project, "ingest", "--max-unzipped", str(combined))
    assert by_name(ok)["ingest"]["build"]["ok"]
    r = run_lpack(
        "build", str(project), "ingest", "--max-unzipped", str(combined - 1), "--format", "json"
    )
    assert r.rc == 1
    limits = by_name(r.json)["ingest"]["build"]["limits"]
    budget = next(c for c in limits if c["source"] == "budget" and c["name"] == "unzipped")
    assert budget["exceeded"] and budget["over_by"] == 1 and budget["actual"] == combined


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            '[tool.lpack.functions.bad]\nsource = "functions/notify"\nlayers = ["nope"]\n',
            "uses layer 'nope', which the project does not declare",
        ),
        (
            '[tool.lpack.layers.notify]\nrequirements = "functions/notify/requirements.in"\n',
            "'notify' is both a function and a layer",
        ),
        (
            '[tool.lpack.functions.twin]\nsource = "functions/notify"\noutput = "dist/notify.zip"\n',
            "would both write the zip",
        ),
        (
            '[tool.lpack.functions.old]\nsource = "functions/notify"\nruntime = "python3.10"\n'
            'layers = ["shared"]\n',
            "Layer shared is built for",
        ),
        (
            "".join(
                f'[tool.lpack.layers.l{i}]\nrequirements = "layers/shared/requirements.in"\n'
                for i in range(6)
            )
            + '[tool.lpack.functions.many]\nsource = "functions/notify"\n'
            + f"layers = {[f'l{i}' for i in range(6)]}\n".replace("'", '"'),
            "uses 6 layers; Lambda allows at most 5",
        ),
        (
            '[tool.lpack.layers.deep]\nrequirements = "layers/shared/requirements.in"\n'
            'layers = ["shared"]\n',
            "a layer cannot use other layers",
        ),
        (
            '[tool.lpack.functions."bad/name"]\nsource = "functions/notify"\n',
            "is not a usable artifact name",
        ),
    ],
)
def test_bad_projects_are_refused_before_anything_is_written(
    tmp_path: Path, lpack_env: dict, extra: str, message: str
) -> None:
    project = make_split_project(tmp_path / "proj", extra=extra)
    r = run_lpack("build", str(project))
    assert r.rc == 2 and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not (project / "dist").exists() and not list(project.rglob("*.lock"))


def test_pins_that_conflict_with_a_layer_name_both(tmp_path: Path, lpack_env: dict) -> None:
    # For python3.12 the layer pins beta 2.0; needs-old-beta wants beta<2.
    project = make_split_project(tmp_path / "proj", runtime="python3.12")
    (project / "layers/shared/requirements.in").write_text("beta\n")
    (project / "functions/ingest/requirements.in").write_text("needs-old-beta\n")
    r = run_lpack("build", str(project))
    assert r.rc == 2, r.stdout + r.stderr
    assert "Function ingest cannot be locked with the pins of its layers (shared)" in r.stderr
    assert "beta" in r.stderr and not (project / "dist").exists()


def test_check_and_lock_work_per_artifact(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    r = run_lpack("lock", str(project), "--format", "json")
    assert r.rc == 0, r.stderr
    schema_validator("lpack-output-v1.json").validate(r.json)
    assert len(r.json["artifacts"]) == 3
    r = run_lpack("check", str(project))
    assert r.rc == 0, r.stdout + r.stderr
    assert [line.split(":")[1].strip() for line in r.stdout.splitlines()] == [
        "shared",
        "ingest",
        "notify",
    ]
    with open(project / "pyproject.toml", "a") as fh:
        fh.write("max-unzipped = 10\n")  # into [tool.lpack.functions.notify], the last table
    r = run_lpack("check", str(project), "--artifact", "notify")
    assert r.rc == 1 and "notify: FAIL" in r.stdout and "shared" not in r.stdout
    (project / "functions/notify/requirements.in").write_text("gamma\nbeta\n")
    r = run_lpack("check", str(project))
    assert r.rc == 1 and "not current" in r.stdout


@pytest.mark.skipif(
    isolated_python(sys.version_info[:2]) is None, reason="needs an isolated Python"
)
def test_a_function_imports_with_its_layer_on_lambdas_path(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    data = build(project, "--verify")
    verified = by_name(data)["ingest"]["verify"]
    assert verified["ok"], verified
    assert {i["module"] for i in verified["imports"]} >= {"app", "meta_reader", "alpha", "beta"}
    dist = project / "dist"
    alone = run_lpack(
        "verify",
        str(dist / "ingest.zip"),
        "--runtime",
        HOST,
        "--handler",
        "app.handler",
        "--format",
        "json",
    )
    assert alone.rc == 1  # without its layer, `import alpha` fails: the layer really provides it


def test_report_gate_and_lint_work_per_artifact(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    # Inspecting reads what was built; it never builds (nor writes a lock) itself.
    r = run_lpack("report", str(project), "--format", "json")
    assert r.rc == 2 and "never build" in r.json["error"]["message"]
    assert not (project / "dist").exists() and not list(project.rglob("*.lock"))
    assert run_lpack("build", str(project)).rc == 0
    r = run_lpack("report", str(project), "--format", "json")
    assert r.rc == 0, r.stderr
    assert [a["name"] for a in r.json["artifacts"]] == ["shared", "ingest", "notify"]
    r = run_lpack("report", str(project), "--artifact", "notify", "--format", "json")
    assert [a["name"] for a in r.json["artifacts"]] == ["notify"]
    assert {d["name"] for d in r.json["artifacts"][0]["distributions"]} >= {"gamma"}
    r = run_lpack("report", str(project), "--format", "html")
    assert r.rc == 2 and "--artifact" in r.stderr
    baseline = tmp_path / "baseline.json"
    r = run_lpack("gate", str(project), "--baseline", str(baseline), "--update-baseline")
    assert r.rc == 0 and "in 3 artifacts" in r.stdout
    assert set(json.loads(baseline.read_text())["artifacts"]) == {"shared", "ingest", "notify"}
    r = run_lpack("gate", str(project), "--baseline", str(baseline), "--format", "json")
    assert (
        r.rc == 0
        and r.json["ok"]
        and [a["name"] for a in r.json["artifacts"]] == ["shared", "ingest", "notify"]
    )
    # The layer grows past the thresholds: its gate fails, and says which artifact it is.
    (project / "layers/shared/requirements.in").write_text("alpha\ngamma\n")
    assert run_lpack("build", str(project)).rc == 0
    r = run_lpack(
        "gate",
        str(project),
        "--baseline",
        str(baseline),
        "--max-growth-bytes",
        "10",
        "--min-bytes",
        "1",
    )
    assert r.rc == 1, r.stdout + r.stderr
    assert (
        "gate shared: FAIL unzipped size grew by" in r.stdout and "gate shared: failed" in r.stdout
    )
    assert "gate ingest: passed" in r.stdout and "gate notify: passed" in r.stdout
    r = run_lpack("lint", "--project", str(project), "--format", "json")
    assert r.rc == 0, r.stdout + r.stderr
    assert r.json["findings"] == []


def test_a_failed_artifact_is_built_and_reported_again(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    with open(project / "pyproject.toml", "a") as fh:
        fh.write("max-unzipped = 10\n")  # notify's budget: it cannot pass
    for _ in range(2):
        r = run_lpack("build", str(project), "--format", "json")
        assert r.rc == 1 and not r.json["ok"]
        assert (
            by_name(r.json)["notify"]["rebuilt"] and not by_name(r.json)["notify"]["manifest"]["ok"]
        )
    assert not by_name(r.json)["ingest"]["rebuilt"]  # what passed stays unchanged


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(tmp_path: Path, lpack_env: dict) -> None:
    import os

    project = make_split_project(tmp_path / "proj")
    build(project)
    app = project / "functions/notify/app.py"
    before = app.stat()
    app.write_text(app.read_text().replace("return 2", "return 3"))  # same size
    os.utime(app, ns=(before.st_atime_ns, before.st_mtime_ns))  # as cp -p or rsync -a leave it
    assert by_name(build(project))["notify"]["rebuilt"]
    with zipfile.ZipFile(project / "dist" / "notify.zip") as zf:
        assert b"return 3" in zf.read("app.py")


def test_lpacks_own_files_never_ship(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    (project / "functions/notify/requirements.txt").write_text("gamma==1.0\n")
    build(project)
    # Another target's lock beside the requirements, and a lock of another artifact.
    (project / "functions/notify/lpack-notify-python3.9-arm64.lock").write_text("# old\n")
    (project / "functions/notify/lpack.lock").write_text("# a single project's\n")
    data = build(project, "notify")
    assert by_name(data)["notify"]["rebuilt"]
    shipped = names(project / "dist" / "notify.zip")
    assert not [n for n in shipped if n.endswith(".lock") or n.startswith("requirements")]


@pytest.mark.parametrize(
    "edit, message",
    [
        (('source = "functions/notify"\n', ""), "has no `source`"),
        (('source = "functions/notify"\n', 'source = "functions/nope"\n'), "does not exist"),
        (('source = "functions/notify"\n', 'source = "functions/notify/app.py"\n'), "it is a file"),
        (('layers = ["shared"]\n', 'layers = ["shared", "shared"]\n'), "names a layer twice"),
        (('requirements = "layers/shared/requirements.in"\n', ""), "the layer would be empty"),
    ],
)
def test_incomplete_tables_are_refused(
    tmp_path: Path, lpack_env: dict, edit: tuple[str, str], message: str
) -> None:
    project = make_split_project(tmp_path / "proj")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    old, new = edit
    # The last occurrence: notify's source is the last `source` line of the file.
    index = text.rindex(old)
    pyproject.write_text(text[:index] + new + text[index + len(old) :])
    r = run_lpack("build", str(project))
    assert r.rc == 2 and message in r.stderr, r.stderr
    assert not (project / "dist").exists() and not list(project.rglob("*.lock"))


def test_a_conflict_leaves_every_lock_unwritten(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj", runtime="python3.12")
    (project / "layers/shared/requirements.in").write_text("beta\n")
    (project / "functions/ingest/requirements.in").write_text("needs-old-beta\n")
    r = run_lpack("build", str(project))
    assert r.rc == 2 and not list(project.rglob("*.lock")) and not (project / "dist").exists()


def test_verify_of_a_project_counts_the_runtimes_sdk_as_provided(
    tmp_path: Path, lpack_env: dict
) -> None:
    if isolated_python(sys.version_info[:2]) is None:
        pytest.skip("needs an isolated Python")
    project = make_split_project(tmp_path / "proj")
    (project / "functions/notify/requirements.in").write_text("boto3\n")
    (project / "functions/notify/app.py").write_text(
        "import boto3\n\ndef handler(event, context):\n    return 2\n"
    )
    with open(project / "pyproject.toml", "a") as fh:
        fh.write('[tool.lpack.functions.notify.slim]\nenable = ["LP808"]\n')
    data = build(project, "notify", "--verify")
    assert by_name(data)["notify"]["verify"]["ok"], by_name(data)["notify"]["verify"]
    assert not any(n.startswith("boto3/") for n in names(project / "dist" / "notify.zip"))


def test_single_artifact_commands_read_a_zip_with_its_own_settings(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = make_split_project(tmp_path / "proj")
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        text.replace('layers = ["shared"]\n', 'layers = ["shared"]\nmax-unzipped = 10\n')
    )  # a budget ingest cannot meet
    r = run_lpack("build", str(project))
    assert r.rc == 1
    notify = str(project / "dist" / "notify.zip")
    baseline = tmp_path / "b.json"
    r = run_lpack(
        "gate", notify, "--project", str(project), "--baseline", str(baseline), "--update-baseline"
    )
    assert r.rc == 0, r.stderr
    r = run_lpack("gate", notify, "--project", str(project), "--baseline", str(baseline))
    assert r.rc == 0 and "budget" not in r.stdout, r.stdout  # notify's settings, not ingest's
    r = run_lpack("report", str(project), "--artifact", "ingest", "--format", "json")
    assert [a["name"] for a in r.json["artifacts"]] == ["ingest"]  # its layer is not reported
    r = run_lpack("report", str(project), "--artifact", "ingest", "--format", "html")
    assert r.rc == 0 and "<html" in r.stdout


def test_updating_one_artifacts_baseline_keeps_the_others(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    assert run_lpack("build", str(project)).rc == 0
    baseline = tmp_path / "b.json"
    assert run_lpack("gate", str(project), "--baseline", str(baseline), "--update-baseline").rc == 0
    r = run_lpack(
        "gate",
        str(project),
        "--baseline",
        str(baseline),
        "--update-baseline",
        "--artifact",
        "notify",
    )
    assert r.rc == 0
    assert set(json.loads(baseline.read_text())["artifacts"]) == {"shared", "ingest", "notify"}
    assert run_lpack("gate", str(project), "--baseline", str(baseline)).rc == 0


def test_the_manifest_is_derived_not_copied(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    build(project)
    path = project / "dist" / "lpack-manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["artifacts"]:
        entry["runtime"], entry["sha256_base64"] = "python3.9", "AAAA"
    path.write_text(json.dumps(manifest))
    build(project, "notify")
    again = {e["name"]: e for e in json.loads(path.read_text())["artifacts"]}
    assert again["notify"]["runtime"] == HOST and again["notify"]["sha256_base64"] != "AAAA"
    assert not again["shared"]["rebuilt"] and not again["notify"]["rebuilt"]


def test_names_are_found_from_a_subfolder(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    r = run_lpack("build", "notify", "--format", "json", cwd=project / "functions")
    assert r.rc == 0, r.stderr
    assert [a["name"] for a in r.json["artifacts"]] == ["notify"]
    assert (project / "dist" / "notify.zip").is_file()
    assert not (project / "functions" / "notify" / "dist").exists()


def test_one_artifact_flags_are_refused_for_a_project_of_many(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = make_split_project(tmp_path / "proj")
    r = run_lpack("build", str(project), "notify", "-o", "x.zip")
    assert (
        r.rc == 2
        and "--output describes one artifact" in r.stderr
        and "(ingest, notify, shared)" in r.stderr
    )
    assert not (project / "dist").exists()


def test_a_stale_lock_names_the_artifact_and_its_layers(tmp_path: Path, lpack_env: dict) -> None:
    project = make_split_project(tmp_path / "proj")
    build(project)
    (project / "layers/shared/requirements.in").write_text("alpha\ngamma\n")
    r = run_lpack("build", str(project), "--locked")
    assert r.rc == 2
    assert "The lock of layer shared" in r.stderr and "is not current" in r.stderr
