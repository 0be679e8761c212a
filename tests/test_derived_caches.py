"""The caches of what depends only on a file's bytes (stripped binaries, scans, lint's binary
facts): used when whole, made again when damaged, and never changing the zip."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import extract_readonly, make_project, run_isolated, run_lpack

HOST = f"python3.{sys.version_info[1]}"
HANDLER = (
    "import nativepkg\n\ndef lambda_handler(event, context):\n    return nativepkg.add(2, 3)\n"
)


def build(project: Path, *args: str) -> dict:
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json", "--rebuild", *args)
    assert r.rc == 0, r.stderr
    return r.json


@pytest.fixture
def project(tmp_path: Path, lpack_env: dict) -> Path:
    return make_project(tmp_path / "fn", "nativepkg\nnpstyle\n", {"app.py": HANDLER})


def _cache(lpack_env: dict) -> Path:
    return Path(lpack_env["LPACK_CACHE_DIR"])


def test_a_stripped_binary_is_stripped_once_and_made_again_when_its_bytes_are_damaged(
    project: Path, lpack_env: dict, world_tmp: Path
) -> None:
    first = build(project)
    codes = {c["code"] for c in first["slim"]["by_category"]}
    assert "LP801" in codes or any("elf" in c["name"] for c in first["slim"]["by_category"])
    cache = _cache(lpack_env)
    (outcome,) = (cache / "stripped" / "outcomes").rglob("*.json")
    recorded = json.loads(outcome.read_text())
    assert recorded["sha256"] and recorded["removed_sections"]
    (blob,) = [p for p in (cache / "stripped" / "blobs").rglob("*") if p.is_file()]
    assert blob.name == recorded["sha256"]
    # Damaged stripped bytes (and no compressed copy to fall back on) are stripped again.
    blob.write_bytes(b"\x7fELF" + b"\0" * (blob.stat().st_size - 4))
    for deflated in (cache / "deflated").rglob("*"):
        if deflated.is_file():
            deflated.unlink()
    again = build(project)
    assert again["output"]["sha256"] == first["output"]["sha256"]
    task = extract_readonly(Path(again["output"]["path"]), world_tmp / "task")
    proc = run_isolated(task, "import app; assert app.lambda_handler(None, None) == 5")
    assert proc.returncode == 0, proc.stderr


def test_a_strip_record_naming_other_bytes_is_a_miss(project: Path, lpack_env: dict) -> None:
    first = build(project)
    cache = _cache(lpack_env)
    (outcome,) = (cache / "stripped" / "outcomes").rglob("*.json")
    recorded = json.loads(outcome.read_text())
    recorded["sha256"] = "0" * 64  # names bytes stripping cannot give
    outcome.write_text(json.dumps(recorded))
    for deflated in (cache / "deflated").rglob("*"):
        if deflated.is_file():
            deflated.unlink()
    # No blob of its size under that name: a miss, stripped afresh and recorded again.
    assert build(project)["output"]["sha256"] == first["output"]["sha256"]
    assert json.loads(outcome.read_text())["sha256"] != "0" * 64


def test_damaged_scan_and_facts_records_are_read_again(project: Path, lpack_env: dict) -> None:
    first = build(project)
    cache = _cache(lpack_env)
    scans = list((cache / "scans").rglob("*.json"))
    facts = list((cache / "binary-facts").rglob("*.json"))
    assert scans and facts
    for record in scans + facts:
        record.write_text("{not json")
    again = build(project)
    assert again["output"]["sha256"] == first["output"]["sha256"]
    assert again["lint"] == first["lint"] and again["slim"] == first["slim"]
    # and they were written whole again
    assert all(json.loads(p.read_text()) for p in scans + facts)


def test_lint_of_any_zip_gives_the_same_findings_from_its_cache(
    project: Path, lpack_env: dict
) -> None:
    data = build(project, "--no-slim")  # debug info left in: LP findings about binaries
    zip_path = data["output"]["path"]
    runs = [run_lpack("lint", zip_path, "--runtime", HOST, "--format", "json") for _ in range(2)]
    assert runs[0].stdout == runs[1].stdout
    assert list((_cache(lpack_env) / "binary-facts").rglob("*.json"))


def test_facts_that_depend_on_a_files_name_are_not_shared_through_the_cache(
    tmp_path: Path,
) -> None:
    """The same bytes are "PE" as a .dll and "not an ELF file" as a .so: lint of the one
    never changes what lint says of the other."""
    data = b"not a binary at all\n" * 200
    zips = {}
    for name in ("vendor/libhelper.so", "vendor/helper.dll"):
        path = tmp_path / (name.rsplit("/", 1)[-1] + ".zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("app.py", "def lambda_handler(e, c):\n    return 1\n")
            zf.writestr(name, data)
        zips[name] = path

    def codes(path: Path, cache: Path) -> set[str]:
        r = run_lpack(
            "lint", str(path), "--runtime", HOST, "--format", "json",
            env={"LPACK_CACHE_DIR": str(cache)},
        )  # fmt: skip
        return {f["code"] for f in r.json["findings"]}

    fresh = codes(zips["vendor/libhelper.so"], tmp_path / "fresh")
    assert "LP210" in fresh
    shared = tmp_path / "shared"
    codes(zips["vendor/helper.dll"], shared)
    assert codes(zips["vendor/libhelper.so"], shared) == fresh
