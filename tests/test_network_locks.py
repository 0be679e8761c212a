"""Real uv and Poetry projects (fixtures/real-locks: locks the real tools wrote) build for
python3.11 from their locks alone and import in isolation."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from conftest import ROOT, extract_readonly, run_isolated, run_lpack

pytestmark = pytest.mark.network


def _checkout(name: str, dest: Path) -> Path:
    """The fixture project with the default index's address put back."""
    from pip._internal.models.index import PyPI

    shutil.copytree(ROOT / "fixtures" / "real-locks" / name, dest)
    for path in dest.iterdir():
        text = path.read_text()
        text = text.replace("@INDEX@", PyPI.simple_url.rstrip("/"))
        path.write_text(text.replace("@FILES@", f"https://{PyPI.file_storage_domain}"))
    return dest


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="imports need a 3.11 host")
@pytest.mark.parametrize(
    ("name", "locked", "expected"),
    [
        ("uv-orders", "uv.lock", {"urllib3": "1.26.20", "pydantic": "2.14.4"}),
        ("poetry-orders", "poetry.lock", {"attrs": "23.2.0", "pyyaml": "6.0.4"}),
    ],
)
def test_real_lock_builds_and_imports(
    name: str,
    locked: str,
    expected: dict[str, str],
    tmp_path: Path,
    world_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LPACK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    project = _checkout(name, tmp_path / name)
    r = run_lpack("build", str(project), "--format", "json")
    assert r.rc == 0, r.stderr
    data = r.json
    assert data["lock"]["input"] == locked and not (project / "lpack.lock").exists()
    shipped = {d["name"]: d["version"] for d in data["distributions"]}
    assert expected.items() <= shipped.items()  # the lock's versions, older pins included
    assert not {"pytest", "pluggy", "iniconfig"} & set(shipped)  # the dev group stays out
    task = extract_readonly(Path(data["output"]["path"]), world_tmp / "task")
    proc = run_isolated(task, "import app; print(app.lambda_handler({'id': 7}, None))")
    assert proc.returncode == 0, proc.stderr[-2000:]
    print(
        f"\n{name}: {locked} {(project / locked).stat().st_size:,} B, "
        f"{len(shipped) - 1} distributions, zipped {data['output']['zipped_size']:,} B"
    )
