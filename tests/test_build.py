"""lpack build end to end on the fixture index: layout, determinism, imports, errors."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import Index, extract_readonly, make_project, run_isolated, run_lpack

from lpack.resolve.cache import WheelCache

HOST = f"python3.{sys.version_info[1]}"
HANDLER = (
    "import nativepkg, meta_reader\n\ndef lambda_handler(event, context):\n"
    "    return {'sum': nativepkg.add(2, 3), 'meta': meta_reader.__version__}\n"
)


def build_ok(project: Path, *args: str) -> dict:
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json", *args)
    assert r.rc == 0, r.stderr
    return r.json


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(
        tmp_path / "fn",
        "nativepkg\nmeta-reader\nscripted\n",
        files={
            "app.py": HANDLER,
            "lib/helpers.py": "X = 1\n",
            "README.md": "# fn\n",
            ".git/config": "secret",
            "__pycache__/app.cpython-311.pyc": "junk",
            ".venv/pyvenv.cfg": "home = /usr",
            "tests/test_app.py": "def test(): pass\n",
        },
        tool='handler = "app.lambda_handler"\nexclude = ["tests", "*.md"]',
    )


def test_build_layout_and_metadata(project: Path, lpack_env: dict) -> None:
    data = build_ok(project, "--no-slim")  # the pip --target layout, nothing removed
    zip_path = Path(data["output"]["path"])
    assert zip_path == project / "dist" / "fn.zip"
    assert subprocess.run(["unzip", "-tq", str(zip_path)], capture_output=True).returncode == 0
    with zipfile.ZipFile(zip_path) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        infos = zf.infolist()
        record = zf.read("scripted-1.0.dist-info/RECORD").decode()
        tool = zf.read("bin/scripted-tool")
        installer = zf.read("meta_reader-1.0.dist-info/INSTALLER")
    assert names == sorted(names)
    files = {n for n in names if not n.endswith("/")}
    assert {
        "app.py",
        "lib/helpers.py",
        "nativepkg/__init__.py",
        "scripted_extra.py",
        "meta_reader-1.0.dist-info/METADATA",
        "bin/scripted-tool",
    } <= files
    # Never shipped: VCS, venvs, bytecode, excluded globs, lpack's own inputs and outputs.
    for banned in (
        ".git/config",
        ".venv/pyvenv.cfg",
        "README.md",
        "tests/test_app.py",
        "requirements.in",
        "pyproject.toml",
        "lpack.lock",
    ):
        assert banned not in files
    assert not any(n.endswith(".pyc") or n.startswith("dist/") for n in names)
    assert not any(".data/" in n or n.endswith(".h") for n in names)  # headers dropped
    assert tool.startswith(b"#!/usr/bin/env python3\n")
    assert installer == b"lpack\n"
    # RECORD lists exactly the distribution's shipped files, with correct hashes.
    rows = {row[0]: row for row in csv.reader(io.StringIO(record))}
    assert set(rows) == {
        "scripted/__init__.py",
        "scripted_extra.py",
        "bin/scripted-tool",
        "scripted-1.0.dist-info/METADATA",
        "scripted-1.0.dist-info/WHEEL",
        "scripted-1.0.dist-info/top_level.txt",
        "scripted-1.0.dist-info/INSTALLER",
        "scripted-1.0.dist-info/RECORD",
    }
    with zipfile.ZipFile(zip_path) as zf:
        for path, row in rows.items():
            if row[1]:
                import base64

                digest = base64.urlsafe_b64encode(hashlib.sha256(zf.read(path)).digest())
                assert row[1] == "sha256=" + digest.rstrip(b"=").decode(), path
    # Normalised metadata: fixed time, 0644/0755, Unix, no extra fields.
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.extra == b""
        mode = info.external_attr >> 16
        if info.is_dir():
            assert stat.S_IMODE(mode) == 0o755 and stat.S_ISDIR(mode)
        else:
            assert stat.S_IMODE(mode) in (0o644, 0o755) and stat.S_ISREG(mode)
    modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in infos}
    assert modes["bin/scripted-tool"] == 0o755 and modes["app.py"] == 0o644
    # The summary's numbers are the zip's.
    assert data["output"]["zipped_size"] == zip_path.stat().st_size
    assert data["output"]["unzipped_size"] == sum(i.file_size for i in infos)
    assert data["output"]["sha256"] == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert data["handler"]["handler"] == "app.lambda_handler"
    assert {d["name"] for d in data["distributions"]} >= {
        "nativepkg",
        "meta-reader",
        "(your source)",
    }


@pytest.mark.skipif(shutil.which("gcc") is None, reason="the ELF fixture needs gcc")
def test_built_package_imports_in_isolated_readonly_copy(
    project: Path, lpack_env: dict, world_tmp: Path
) -> None:
    data = build_ok(project)
    task = extract_readonly(Path(data["output"]["path"]), world_tmp / "task")
    # The host has none of these packages; -I -S keeps its site-packages out anyway.
    proc = run_isolated(
        task,
        "import app; print(app.lambda_handler({}, None))\n"
        "import importlib.metadata as m; print(m.version('scripted'))",
    )
    assert proc.returncode == 0, proc.stderr
    assert "{'sum': 5, 'meta': '1.0'}" in proc.stdout and "1.0" in proc.stdout


def test_unreadable_file_in_source_still_ships_world_readable(
    project: Path, lpack_env: dict, tmp_path: Path
) -> None:
    os.chmod(project / "lib" / "helpers.py", 0o600)
    data = build_ok(project)
    with zipfile.ZipFile(data["output"]["path"]) as zf:
        assert (zf.getinfo("lib/helpers.py").external_attr >> 16) & 0o777 == 0o644


def test_two_builds_in_different_folders_and_umasks_are_identical(
    project: Path, lpack_env: dict, tmp_path: Path
) -> None:
    first = build_ok(project)["output"]["sha256"]
    other = tmp_path / "elsewhere" / "deeper" / "fn"
    shutil.copytree(project, other, ignore=shutil.ignore_patterns("dist", "lpack.lock"))
    for path in other.rglob("*"):
        if path.is_file():
            os.utime(path, (1_700_000_000, 1_700_000_000))
            os.chmod(path, 0o664)
    old = os.umask(0o077)
    try:
        r = run_lpack(
            "build",
            str(other),
            "--runtime",
            HOST,
            "--format",
            "json",
            env={"LPACK_CACHE_DIR": str(tmp_path / "cache2")},
        )
    finally:
        os.umask(old)
    assert r.rc == 0, r.stderr
    assert r.json["output"]["sha256"] == first
    assert r.json["lock"]["reused"] is False  # resolved afresh, same answer


def test_source_date_epoch_sets_timestamps(project: Path, lpack_env: dict) -> None:
    r = run_lpack(
        "build",
        str(project),
        "--runtime",
        HOST,
        "--format",
        "json",
        env={"SOURCE_DATE_EPOCH": "1700000000"},
    )
    assert r.rc == 0, r.stderr
    with zipfile.ZipFile(r.json["output"]["path"]) as zf:
        assert zf.infolist()[0].date_time == (2023, 11, 14, 22, 13, 20)


def test_limits_exceeded_still_write_and_exit_1(project: Path, lpack_env: dict) -> None:
    r = run_lpack("build", str(project), "--runtime", HOST, "--max-zipped", "1000")
    assert r.rc == 1
    assert "OVER by" in r.stdout and "over budget 1000 B zipped" in r.stdout
    assert "Heaviest:" in r.stdout
    assert (project / "dist" / "fn.zip").is_file()
    r = run_lpack(
        "build",
        str(project),
        "--runtime",
        HOST,
        "--format",
        "json",
        "--max-unzipped",
        "10 KiB",
        "--upload",
        "s3",
    )
    assert r.rc == 1
    limits = {(c["name"], c["source"]): c for c in r.json["limits"]}
    assert ("zipped", "lambda") not in limits  # S3 upload: no zipped limit
    assert limits[("unzipped", "budget")]["exceeded"] is True
    assert limits[("unzipped", "budget")]["over_by"] == r.json["output"]["unzipped_size"] - 10240


def test_a_limit_overrun_is_reported_once(project: Path, lpack_env: dict) -> None:
    """The limits section reports budgets and Lambda's limits; the build's lint pass does not
    report the same overrun again as LP101-LP103."""
    r = run_lpack(
        "build", str(project), "--runtime", HOST, "--max-unzipped", "10 KiB", "--format", "json"
    )
    assert r.rc == 1
    assert [c["source"] for c in r.json["limits"] if c["exceeded"]] == ["budget"]
    assert not {"LP101", "LP102", "LP103"} & {f["code"] for f in r.json["lint"]["findings"]}
    r = run_lpack("build", str(project), "--runtime", HOST, "--max-unzipped", "10 KiB")
    assert r.rc == 1
    assert r.stdout.count("OVER by") == 1 and "LP103" not in r.stdout
    # `lpack lint` on the same zip still reports it: there it is the only report.
    zip_path = project / "dist" / "fn.zip"
    r = run_lpack("lint", str(zip_path), "--runtime", HOST, "--max-unzipped", "10 KiB")
    assert r.rc == 1 and "LP103" in r.stdout


def test_text_summary(project: Path, lpack_env: dict) -> None:
    r = run_lpack("build", str(project), "--runtime", HOST)
    assert r.rc == 0, r.stderr
    for expected in (
        f"{HOST} · x86_64 · Amazon Linux",
        "sha256",
        "base64",
        "% of 50 MiB zipped",
        "% of 250 MiB unzipped",
        "nativepkg",
        "app.lambda_handler found",
    ):
        assert expected in r.stdout, expected
    assert "\x1b[" not in r.stdout  # NO_COLOR / no TTY: plain text


def test_handler_detection_and_errors(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "")
    data = build_ok(project)
    assert data["handler"]["handler"] == "app.lambda_handler" and not data["handler"]["configured"]
    bare = make_project(tmp_path / "bare", "", files={"util.py": "X = 1\n"})
    data = build_ok(bare)
    assert data["handler"]["handler"] is None and "no handler" in data["handler"]["note"]
    r = run_lpack("build", str(project), "--runtime", HOST, "--handler", "api.handler")
    assert r.rc == 2 and "module 'api' is not in the package" in r.stderr
    r = run_lpack("build", str(project), "--runtime", HOST, "--handler", "app.missing")
    assert r.rc == 2 and "app.py has no top-level 'missing'" in r.stderr
    nested = make_project(
        tmp_path / "nested", "", files={"pkg/__init__.py": "", "pkg/api.py": "def go(e, c): pass\n"}
    )
    assert build_ok(nested, "--handler", "pkg/api.go")["handler"]["configured"]
    assert build_ok(nested, "--handler", "pkg.api.go")["handler"]["configured"]


def test_output_not_writable(project: Path, lpack_env: dict, tmp_path: Path) -> None:
    locked_dir = tmp_path / "ro"
    locked_dir.mkdir()
    os.chmod(locked_dir, 0o555)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (locked_dir / "fn.zip", blocker / "fn.zip"):
        r = run_lpack("build", str(project), "--runtime", HOST, "-o", str(out))
        if os.geteuid() == 0 and out.parent == locked_dir:
            continue  # root writes anywhere: only the file-in-the-way case is testable
        assert r.rc == 2, r.stdout
        assert f"Cannot write {out}" in r.stderr
        assert not out.exists()


def test_existing_zip_is_kept_when_a_build_fails(project: Path, lpack_env: dict) -> None:
    build_ok(project)
    zip_path = project / "dist" / "fn.zip"
    before = zip_path.read_bytes()
    (project / "requirements.in").write_text("onlymac\n")
    r = run_lpack("build", str(project), "--runtime", HOST)
    assert r.rc == 2
    assert zip_path.read_bytes() == before
    assert sorted(p.name for p in zip_path.parent.iterdir()) == ["fn.zip"]


def test_hash_mismatch_is_refused_and_cache_unchanged(
    tmp_path: Path, lpack_env: dict, index: Index
) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    assert run_lpack("lock", str(project), "--runtime", HOST).rc == 0
    wheel = index.file("gamma-1.0")
    original = wheel.read_bytes()
    try:
        wheel.write_bytes(original + b"tampered")  # the index page still names the old hash
        r = run_lpack("build", str(project), "--runtime", HOST)
    finally:
        wheel.write_bytes(original)
    assert r.rc == 2
    assert "Hash mismatch" in r.stderr and "gamma-1.0-py3-none-any.whl" in r.stderr
    cache = Path(lpack_env["LPACK_CACHE_DIR"])
    assert not [p for p in cache.rglob("*") if p.suffix in (".whl", ".part")]


def test_dropped_connection_is_retried(tmp_path: Path, lpack_env: dict, index: Index) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    assert run_lpack("lock", str(project), "--runtime", HOST).rc == 0
    index.faults.requests.clear()
    index.faults.broken["gamma-1.0-py3-none-any.whl"] = 1
    data = build_ok(project)
    assert data["fetch"]["wheels"] == 1
    assert index.faults.requests.count("gamma-1.0-py3-none-any.whl") == 2


def test_network_failing_mid_download_gives_clear_error_and_clean_cache(
    tmp_path: Path, lpack_env: dict, index: Index
) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    assert run_lpack("lock", str(project), "--runtime", HOST).rc == 0
    index.faults.broken["gamma-1.0-py3-none-any.whl"] = 99
    r = run_lpack("build", str(project), "--runtime", HOST)
    assert r.rc == 2
    assert "gamma-1.0-py3-none-any.whl failed after 3 attempts" in r.stderr
    cache = Path(lpack_env["LPACK_CACHE_DIR"])
    assert not list(cache.rglob("*.part"))
    assert not list(cache.rglob("gamma-1.0*.whl"))
    index.faults.broken.clear()
    assert build_ok(project)["fetch"]["cached"] == 0  # recovers once the network does


def test_damaged_cache_entry_is_refetched(tmp_path: Path, lpack_env: dict, index: Index) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    build_ok(project)
    cache = Path(lpack_env["LPACK_CACHE_DIR"])
    (cached,) = list((cache / "wheels").rglob("gamma-1.0*.whl"))
    cached.write_bytes(b"garbage")
    # Nothing the zip is made from changed, and the zip is intact: it stays as it is.
    assert build_ok(project)["rebuilt"] is False
    data = build_ok(project, "--rebuild")
    assert data["rebuilt"] is True
    assert data["fetch"]["cached"] == 0
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == cached.parent.name


def test_concurrent_builds_share_the_cache(tmp_path: Path, lpack_env: dict) -> None:
    projects = [make_project(tmp_path / f"fn{i}", "alpha\nmeta-reader\n") for i in range(3)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "lpack", "build", str(p), "--runtime", HOST, "--format", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for p in projects
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    import json

    hashes = {json.loads(o[0])["output"]["sha256"] for o in outputs}
    assert len(hashes) == 1
    cache = WheelCache(Path(lpack_env["LPACK_CACHE_DIR"]))
    for wheel in (cache.root / "wheels").rglob("*.whl"):
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == wheel.parent.name


def test_sdist_needs_opt_in_and_must_be_pure(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "puresdist\n")
    r = run_lpack("build", str(project), "--runtime", HOST)
    assert r.rc == 2 and "allow-sdist" in r.stderr and "puresdist" in r.stderr
    data = build_ok(project, "--allow-sdist", "puresdist")
    assert data["fetch"]["built_from_sdist"] == ["puresdist"]
    with zipfile.ZipFile(data["output"]["path"]) as zf:
        assert "puresdist/__init__.py" in zf.namelist()
    compiled = make_project(tmp_path / "c", "csdist\n")
    r = run_lpack("build", str(compiled), "--runtime", HOST, "--allow-sdist", "csdist")
    assert r.rc == 2
    assert "csdist" in r.stderr and "compiled code" in r.stderr
    assert "pin a version of it that publishes manylinux wheels" in r.stderr


def test_empty_requirements_builds_source_only(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "# nothing yet\n")
    data = build_ok(project)
    assert data["lock"]["pins"] == 0 and data["output"]["files"] == 1


def test_tampered_cache_selection_cannot_touch_files_outside_the_cache(
    tmp_path: Path, lpack_env: dict
) -> None:
    import json

    project = make_project(tmp_path / "fn", "gamma\n")
    build_ok(project)
    victim = tmp_path / "victim" / "notes.txt"
    victim.parent.mkdir()
    victim.write_text("keep me")
    cache = Path(lpack_env["LPACK_CACHE_DIR"])
    for selection in (cache / "selections").glob("*.json"):
        selection.write_text(json.dumps({"sha256": "../../../victim", "filename": "notes.txt"}))
    data = build_ok(project, "--rebuild")
    assert victim.read_text() == "keep me"
    assert data["fetch"]["cached"] == 0  # the record was ignored, the wheel fetched again


def test_file_and_folder_with_one_name_is_an_error(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(
        tmp_path / "fn",
        "gamma\n",
        files={"app.py": "def lambda_handler(e, c): pass\n", "gamma": "not a package\n"},
    )
    r = run_lpack("build", str(project), "--runtime", HOST)
    assert r.rc == 2 and "'gamma' is a file" in r.stderr and "also a folder" in r.stderr
    assert not (project / "dist" / "fn.zip").exists()


def test_output_that_is_a_folder(project: Path, lpack_env: dict) -> None:
    (project / "out").mkdir()
    r = run_lpack("build", str(project), "--runtime", HOST, "-o", "out")
    assert (
        r.rc == 2
        and "is a folder; writing the zip there would replace it" in r.stderr
        and "internal error" not in r.stderr
    )
    assert list((project / "out").iterdir()) == []


def test_symlinks_leaving_the_source_and_broken_ones_are_not_shipped(
    tmp_path: Path, lpack_env: dict
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t")
    project = make_project(tmp_path / "fn", "")
    (project / "inside.txt").write_text("ok")
    os.symlink(secret, project / "leak.txt")
    os.symlink(project / "inside.txt", project / "alias.txt")
    os.symlink(project / "gone.txt", project / "broken.txt")
    data = build_ok(project)
    with zipfile.ZipFile(data["output"]["path"]) as zf:
        shipped = set(zf.namelist())
        assert zf.read("alias.txt") == b"ok"
    assert "leak.txt" not in shipped and "broken.txt" not in shipped
    assert any("leak.txt is a symlink" in w for w in data["warnings"])
    assert any("broken.txt is a broken symlink" in w for w in data["warnings"])


def test_exclude_globs_have_gitignore_semantics(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(
        tmp_path / "fn",
        "",
        files={
            "app.py": "def lambda_handler(e, c): pass\n",
            "lib/x.py": "",
            "pkg/lib/y.py": "",
            "data/a.json": "{}",
            "data/deep/b.json": "{}",
        },
    )
    data = build_ok(project, "--exclude", "/lib", "--exclude", "data/*.json")
    with zipfile.ZipFile(data["output"]["path"]) as zf:
        shipped = set(zf.namelist())
    assert "lib/x.py" not in shipped and "pkg/lib/y.py" in shipped
    assert "data/a.json" not in shipped and "data/deep/b.json" in shipped


def test_source_name_that_is_not_utf8(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "")
    with open(os.path.join(os.fsencode(project), b"bad\xff.txt"), "wb") as fh:
        fh.write(b"x")
    r = run_lpack("build", str(project), "--runtime", HOST)
    assert r.rc == 2 and "not valid UTF-8" in r.stderr and "internal error" not in r.stderr


@pytest.mark.parametrize(
    ("output", "what"),
    [
        ("app.py", "a file of the function's source"),
        ("lpack.lock", "one of the build's own inputs"),
        ("requirements.in", "one of the build's own inputs"),
        ("pyproject.toml", "one of the build's own inputs"),
        ("notes.txt", "a file of the function's source"),
        ("../outside.txt", "an existing file that is not a zip"),
        ("somedir", "a folder"),
        ("link.zip", "a symbolic link"),
    ],
)
def test_output_never_replaces_an_input_or_a_stranger(
    output: str, what: str, tmp_path: Path, lpack_env: dict
) -> None:
    project = make_project(tmp_path / "fn", "gamma\n", tool='handler = "app.lambda_handler"')
    (project / "notes.txt").write_text("keep me\n")
    (tmp_path / "outside.txt").write_text("keep me too\n")
    (project / "somedir").mkdir()
    (project / "link.zip").symlink_to(project / "notes.txt")
    assert run_lpack("lock", str(project), "--runtime", HOST).rc == 0
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()}
    r = run_lpack("build", str(project), "--runtime", HOST, "-o", output)
    assert r.rc == 2 and what in r.stderr and "choose another output" in r.stderr, r.stderr
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()}
    assert after == before  # nothing replaced, no stray temp file
    r = run_lpack("build", str(project), "--runtime", HOST, "-o", output, "--force")
    if output == "../outside.txt":  # only a stranger outside the project can be forced
        assert r.rc == 0 and zipfile.is_zipfile(tmp_path / "outside.txt")
    else:
        assert r.rc == 2 and "--force" not in r.stderr


def test_output_replaces_a_zip_it_wrote(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    first = build_ok(project, "-o", "out.zip")
    out = Path(first["output"]["path"])
    before = out.stat().st_ino
    # --rebuild: with nothing changed the build would leave the zip alone and replace nothing.
    again = build_ok(project, "-o", "out.zip", "--rebuild")
    assert again["rebuilt"] is True and again["output"]["sha256"] == first["output"]["sha256"]
    assert out.stat().st_ino != before  # a new file renamed over the one it wrote


def test_a_wheel_built_from_an_sdist_is_verified_when_reused(
    tmp_path: Path, lpack_env: dict
) -> None:
    """A poisoned or truncated wheel in the cache's built wheels is never shipped: it no
    longer hashes to its record, so it is built again and the zip is what it was."""
    project = make_project(tmp_path / "fn", "puresdist\n")
    first = build_ok(project, "--allow-sdist", "puresdist")
    cache = Path(lpack_env["LPACK_CACHE_DIR"])
    (built,) = [w for w in (cache / "wheels").rglob("puresdist-*.whl")]
    again = build_ok(project, "--allow-sdist", "puresdist", "--rebuild")
    assert again["fetch"]["cached"] == 1 and again["output"]["sha256"] == first["output"]["sha256"]
    built.write_bytes(built.read_bytes()[:100])  # truncated, as a killed copy would leave it
    rebuilt = build_ok(project, "--allow-sdist", "puresdist", "--rebuild")
    assert rebuilt["output"]["sha256"] == first["output"]["sha256"]
    # The damaged copy is gone; what the cache holds now hashes to its name.
    wheels = list((cache / "wheels").rglob("puresdist-*.whl"))
    assert wheels and all(
        hashlib.sha256(w.read_bytes()).hexdigest() == w.parent.name for w in wheels
    )
