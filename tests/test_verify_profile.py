"""lpack verify --profile: the handler's cold import, its heaviest imports, and bytecode use."""

from __future__ import annotations

import os
import py_compile
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import Run, isolated_python, run_lpack
from test_json_output import schema_validator
from test_verify import make_zip

from lpack.inspect.profile import heaviest, parse_importtime

HOST = f"python3.{sys.version_info[1]}"
needs_python = pytest.mark.skipif(
    isolated_python(sys.version_info[:2]) is None,
    reason="needs a Python of the host's version that an unprivileged user can run",
)
SLEEP = 0.3  # what slowmod's import costs at least
INNER_SLEEP = 0.1  # and inner's, imported by the package outer

SLOW_FUNCTION = {
    "app.py": ("import outer, slowmod\ndef handler(event, context):\n    return 1\n", 0o644),
    "slowmod.py": (f"import time\ntime.sleep({SLEEP})\n", 0o644),
    "outer/__init__.py": ("import inner\n", 0o644),
    "inner.py": (f"import time\ntime.sleep({INNER_SLEEP})\n", 0o644),
}


def profile(artifact: Path, *args: str, fmt: str = "json") -> Run:
    return run_lpack(
        "verify", str(artifact), "--runtime", HOST, *args, "--format", fmt, cwd=artifact.parent
    )


@needs_python
def test_the_slow_import_is_the_heaviest_and_timed_at_least_its_work(tmp_path: Path) -> None:
    artifact = make_zip(tmp_path / "fn.zip", SLOW_FUNCTION)
    r = profile(artifact, "--handler", "app.handler", "--profile", "--repeat", "2")
    assert r.rc == 0, r.stdout + r.stderr
    schema_validator("lpack-output-v1.json").validate(r.json)
    found = r.json["profile"]
    assert found["module"] == "app" and found["runs"] == 2
    assert found["import_seconds"] >= SLEEP + INNER_SLEEP
    heavy = {h["module"]: h for h in found["heaviest"]}
    assert found["heaviest"][0]["module"] == "slowmod"
    assert heavy["slowmod"]["cumulative_us"] >= SLEEP * 1e6
    assert heavy["slowmod"]["self_us"] >= SLEEP * 1e6  # its own body slept, not an import
    # Tree-aware: inner is listed as outer's, and outer's time includes it.
    assert heavy["inner"]["imported_by"] == "outer" and heavy["outer"]["imported_by"] == "app"
    assert heavy["outer"]["cumulative_us"] >= heavy["inner"]["cumulative_us"] >= INNER_SLEEP * 1e6
    assert heavy["outer"]["self_us"] < INNER_SLEEP * 1e6
    # No .pyc shipped: every module of the package was compiled from source.
    assert (found["from_pyc"], found["from_source"], found["bytecode"]) == (0, 4, 0.0)
    text = profile(artifact, "--handler", "app.handler", "--profile", fmt="text")
    assert text.rc == 0 and "cold import of app:" in text.stdout
    assert "4 compiled from source" in text.stdout
    (row,) = [ln for ln in text.stdout.splitlines() if ln.split()[:1] == ["slowmod"]]
    assert float(row.split()[1]) >= SLEEP * 1000 and row.split()[-1] == "app"


def _with_bytecode(tmp_path: Path, mode: py_compile.PycInvalidationMode, dated: bool) -> Path:
    """The slow function with a .pyc for each module, compiled by this Python (the target's
    version); dated: the zip records the date the .pyc was compiled against."""
    src = tmp_path / f"src-{mode.name}-{dated}"
    files: dict[str, tuple[bytes, tuple[int, ...]]] = {}
    for name, (text, _mode) in SLOW_FUNCTION.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.utime(path, (315532800, 315532800))  # 1980-01-01 UTC, the zip's own date below
        cached = Path(py_compile.compile(str(path), invalidation_mode=mode, doraise=True))
        files[name] = (path.read_bytes(), (1980, 1, 1, 0, 0, 0) if dated else (1999, 1, 1, 0, 0, 0))
        pyc = cached.relative_to(src).as_posix()
        files[pyc] = (cached.read_bytes(), (1980, 1, 1, 0, 0, 0))
    artifact = tmp_path / f"fn-{mode.name}-{dated}.zip"
    with zipfile.ZipFile(artifact, "w") as zf:
        for name, (data, when) in files.items():
            info = zipfile.ZipInfo(name, when)
            info.external_attr = 0o100644 << 16
            zf.writestr(info, data)
    return artifact


@needs_python
@pytest.mark.parametrize(
    ("mode", "dated", "from_pyc", "stale"),
    [
        (py_compile.PycInvalidationMode.CHECKED_HASH, False, 4, 0),
        (py_compile.PycInvalidationMode.TIMESTAMP, True, 4, 0),  # the zip's dates are kept
        (py_compile.PycInvalidationMode.TIMESTAMP, False, 0, 4),  # sources dated otherwise
    ],
)
def test_shipped_bytecode_is_counted_when_python_can_use_it(
    tmp_path: Path, mode: py_compile.PycInvalidationMode, dated: bool, from_pyc: int, stale: int
) -> None:
    artifact = _with_bytecode(tmp_path, mode, dated)
    r = profile(artifact, "--handler", "app.handler", "--profile")
    assert r.rc == 0, r.stdout + r.stderr
    found = r.json["profile"]
    assert (found["from_pyc"], found["from_source"], found["stale_pyc"]) == (
        from_pyc,
        4 - from_pyc,
        stale,
    )
    assert found["bytecode"] == from_pyc / 4


@needs_python
def test_a_handler_that_does_not_import_skips_the_profile(tmp_path: Path) -> None:
    artifact = make_zip(tmp_path / "fn.zip", {"app.py": ("import missing_dependency\n", 0o644)})
    r = profile(artifact, "--handler", "app.handler", "--profile")
    assert r.rc == 1
    (app,) = [i for i in r.json["imports"] if i["module"] == "app"]
    assert not app["ok"] and "missing_dependency" in app["detail"]
    assert r.json["profile"] == {"skipped": "app did not import (see imports)"}
    schema_validator("lpack-output-v1.json").validate(r.json)
    text = profile(artifact, "--handler", "app.handler", "--profile", fmt="text")
    assert text.rc == 1 and "profile  skipped: app did not import" in text.stdout


def test_profile_without_a_handler_is_a_usage_error(tmp_path: Path) -> None:
    """A layer (or a function with no handler set) has no module to time: exit 2, before
    anything is extracted or run, with the fix."""
    layer = make_zip(tmp_path / "layer.zip", {"python/lib.py": ("X = 1\n", 0o644)})
    r = profile(layer, "--profile")
    assert r.rc == 2 and r.json["error"]["exit_code"] == 2
    assert "has no handler" in r.json["error"]["message"]
    assert "--handler" in r.json["error"]["hint"] and "--layer" in r.json["error"]["hint"]


def test_repeat_without_profile_is_a_usage_error(tmp_path: Path) -> None:
    artifact = make_zip(tmp_path / "fn.zip", SLOW_FUNCTION)
    r = profile(artifact, "--handler", "app.handler", "--repeat", "3")
    assert r.rc == 2 and "--profile" in r.json["error"]["message"]


@needs_python
def test_verify_without_profile_reports_none(tmp_path: Path) -> None:
    artifact = make_zip(tmp_path / "fn.zip", SLOW_FUNCTION)
    r = profile(artifact, "--handler", "app.handler")
    assert r.rc == 0 and r.json["profile"] is None
    text = profile(artifact, "--handler", "app.handler", fmt="text")
    assert text.rc == 0 and not [
        ln for ln in text.stdout.splitlines() if ln.split()[:1] == ["profile"]
    ]


# -X importtime's output: children before their parent, two spaces a level.
IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 | json
import time:       200 |        200 |       numpy.core
import time:      5000 |       5200 |     numpy
import time:      1000 |       1000 |     pandas.core
import time:       300 |       6500 |   pandas
import time:        40 |         40 |     app_helpers.sub
import time:        60 |        100 |   app_helpers
noise the package printed import time:       900 |        900 |   sklearn
import time:       700 |        700 |     numpy.linalg
import time:       100 |        800 |   scipy
import time:        50 |       8350 | app
import time:       400 |        400 | importlib.util
"""


def test_importtime_lines_become_the_trees_they_describe() -> None:
    roots = parse_importtime(IMPORTTIME)
    assert [r.name for r in roots] == ["json", "app", "importlib.util"]
    app = roots[1]
    assert [c.name for c in app.children] == ["pandas", "app_helpers", "sklearn", "scipy"]
    pandas = app.children[0]
    assert [c.name for c in pandas.children] == ["numpy", "pandas.core"]
    assert [c.name for c in pandas.children[0].children] == ["numpy.core"]


def test_heaviest_counts_each_package_once_from_its_outermost_imports() -> None:
    app = parse_importtime(IMPORTTIME)[1]
    ranked = heaviest(app)
    by_name = {h.module: h for h in ranked}
    assert [h.module for h in ranked][:2] == ["pandas", "numpy"]
    # numpy comes in twice (itself under pandas, numpy.linalg under scipy): both count, its
    # submodules inside numpy do not count again; its self time is all its modules' bodies.
    assert by_name["numpy"].cumulative_us == 5200 + 700
    assert by_name["numpy"].self_us == 200 + 5000 + 700
    assert by_name["numpy"].imported_by == "pandas"
    assert by_name["pandas"].cumulative_us == 6500 and by_name["pandas"].self_us == 1300
    assert by_name["scipy"].imported_by == "app" and by_name["sklearn"].cumulative_us == 900
    assert "app" not in by_name and "json" not in by_name  # the root; imported before it
    assert len(heaviest(app, limit=2)) == 2


def test_the_handlers_own_package_is_split_by_module() -> None:
    text = """\
import time:      3000 |       3000 |     myapp.models
import time:       100 |       3100 |   myapp.db
import time:        20 |         20 |   boto3
import time:        10 |       3130 | myapp.handler
"""
    (root,) = parse_importtime(text)
    ranked = heaviest(root)
    assert [(h.module, h.cumulative_us, h.imported_by) for h in ranked] == [
        ("myapp.db", 3100, "myapp.handler"),
        ("myapp.models", 3000, "myapp.db"),
        ("boto3", 20, "myapp.handler"),
    ]
