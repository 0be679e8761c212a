"""A project whose code is an installable package (src layout, a build backend): built into
a wheel with `build` and shipped like any dependency, so the handler imports from it; and
PEP 735 dependency groups, opt-in."""

from __future__ import annotations

import zipfile
from pathlib import Path

from conftest import extract_readonly, make_project, run_isolated, run_lpack

BACKEND = """
import base64, hashlib, os, zipfile

NAME, VERSION = "orders", "0.1.0"


def _hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "sha256=" + digest


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {}
    for root, _, names in os.walk("src"):
        for name in names:
            full = os.path.join(root, name)
            with open(full, "rb") as fh:
                files[os.path.relpath(full, "src").replace(os.sep, "/")] = fh.read()
    info = f"{NAME}-{VERSION}.dist-info"
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\nRequires-Dist: gamma\\n"
    ).encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    record = "".join(f"{p},{_hash(d)},{len(d)}\\n" for p, d in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\\n").encode()
    wheel = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel
"""

PYPROJECT = """
[build-system]
requires = []
build-backend = "backend"
backend-path = ["_backend"]

[project]
name = "orders"
version = "0.1.0"
dependencies = ["gamma"]

[dependency-groups]
dev = ["six"]
lambda = ["meta-reader", {include-group = "extra"}]
extra = ["delta"]

[tool.lpack]
handler = "orders.handler.lambda_handler"
"""


def src_project(path: Path) -> Path:
    project = make_project(
        path,
        None,
        files={
            "src/orders/__init__.py": "",
            "src/orders/handler.py": "import gamma\n"
            "def lambda_handler(event, context):\n    return 'orders ' + gamma.VERSION\n",
            "_backend/backend.py": BACKEND,
            "tests/test_orders.py": "def test(): pass\n",
        },
    )
    (project / "pyproject.toml").write_text(PYPROJECT)
    return project


def test_src_layout_package_is_built_and_its_handler_imports(
    tmp_path: Path, lpack_env: dict, world_tmp: Path
) -> None:
    project = src_project(tmp_path / "orders")
    r = run_lpack("build", str(project), "--format", "json")
    assert r.rc == 0, r.stderr
    with zipfile.ZipFile(r.json["output"]["path"]) as zf:
        names = set(zf.namelist())
    assert {"orders/handler.py", "orders-0.1.0.dist-info/METADATA", "gamma/__init__.py"} <= names
    assert not any(n.startswith(("src/", "_backend/", "tests/")) for n in names), names
    assert "pyproject.toml" not in names
    assert "orders.handler.lambda_handler found in orders/handler.py" in r.json["handler"]["note"]
    shipped = {d["name"] for d in r.json["distributions"]}
    assert {"orders", "gamma"} <= shipped and "six" not in shipped  # dev never ships
    task = extract_readonly(Path(r.json["output"]["path"]), world_tmp / "task")
    proc = run_isolated(
        task,
        "import importlib.metadata as m, orders.handler\n"
        "print(orders.handler.lambda_handler({}, None), m.version('orders'))",
    )
    assert proc.returncode == 0, proc.stderr
    assert "orders 1.0 0.1.0" in proc.stdout


def test_dependency_groups_are_opt_in_and_include_each_other(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = src_project(tmp_path / "orders")
    r = run_lpack("build", str(project), "--group", "lambda", "--format", "json")
    assert r.rc == 0, r.stderr
    shipped = {d["name"] for d in r.json["distributions"]}
    assert {"meta-reader", "delta", "gamma"} <= shipped and "six" not in shipped
    assert r.json["lock"]["input"] == "pyproject.toml [project] + lambda"
    r = run_lpack("build", str(project), "--group", "docs")
    assert r.rc == 2 and "Dependency group 'docs'" in r.stderr and "lambda" in r.stderr


def test_a_broken_build_backend_is_a_clear_error(tmp_path: Path, lpack_env: dict) -> None:
    project = src_project(tmp_path / "orders")
    (project / "_backend/backend.py").write_text("raise RuntimeError('backend broken')\n")
    r = run_lpack("build", str(project))
    assert r.rc == 2
    assert "Building the project's own package (orders, src layout)" in r.stderr
    assert "backend broken" in r.stderr and "python -m build --wheel" in r.stderr


def test_a_flat_project_its_backend_cannot_build_ships_its_files(
    tmp_path: Path, lpack_env: dict
) -> None:
    """Two top-level packages beside pyproject.toml (setuptools refuses to guess): the folder's
    files ship as they did before lpack built projects, with a warning saying why."""
    project = make_project(
        tmp_path / "flat",
        "gamma\n",
        files={
            "orders/__init__.py": "",
            "orders/handler.py": "def lambda_handler(event, context):\n    return 1\n",
            "infra/__init__.py": "",
            "_backend/backend.py": "raise RuntimeError('two packages, which one?')\n",
        },
    )
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_backend"]\n'
        '[project]\nname = "flat"\nversion = "1"\n'
        '[tool.lpack]\nhandler = "orders.handler.lambda_handler"\n'
    )
    r = run_lpack("build", str(project), "--format", "json")
    assert r.rc == 0, r.stderr
    with zipfile.ZipFile(r.json["output"]["path"]) as zf:
        names = set(zf.namelist())
    assert {"orders/handler.py", "infra/__init__.py"} <= names
    assert any("The folder's files ship instead" in w for w in r.json["warnings"])
