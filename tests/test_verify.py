"""lpack verify: imports as Lambda would, and says which module failed and why."""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import isolated_python, make_project, run_lpack

HOST = f"python3.{sys.version_info[1]}"
pytestmark = pytest.mark.skipif(
    isolated_python(sys.version_info[:2]) is None,
    reason="needs a Python of the host's version that an unprivileged user can run",
)


def make_zip(path: Path, files: dict[str, tuple[str, int]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, (text, mode) in files.items():
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, text)
    return path


def verify(*args: str) -> object:
    return run_lpack("verify", *args, "--runtime", HOST, "--format", "json")


def test_imports_and_invokes_the_handler(tmp_path: Path) -> None:
    artifact = make_zip(
        tmp_path / "fn.zip",
        {
            "app.py": (
                "import helper, os\n"
                "def handler(event, context):\n"
                "    return {'got': event, 'user': os.getuid(), 'task': os.environ['LAMBDA_TASK_ROOT'],\n"
                "            'fn': context.function_name, 'left': context.get_remaining_time_in_millis() > 0,\n"
                "            'writable': os.access(os.environ['LAMBDA_TASK_ROOT'], os.W_OK)}\n",
                0o644,
            ),
            "helper/__init__.py": ("X = 1\n", 0o644),
            "vendor/extra_mod.py": ("Y = 2\n", 0o644),
            "extra.pth": ("vendor\n", 0o644),  # processed as Lambda's site.addsitedir does
        },
    )
    event = tmp_path / "event.json"
    event.write_text('{"order": 7}')
    r = run_lpack(
        "verify",
        str(artifact),
        "--runtime",
        HOST,
        "--handler",
        "app.handler",
        "--event",
        str(event),
        "--format",
        "json",
    )
    assert r.rc == 0, r.stdout + r.stderr
    data = r.json
    assert data["ok"] and [i["module"] for i in data["imports"]][:2] == ["app", "helper"]
    result = data["invoke"]["result"]
    assert result["got"] == {"order": 7} and result["left"] and not result["writable"]
    if os.geteuid() == 0:
        assert result["user"] == 65534 and data["user"] == "nobody"
    r2 = run_lpack(
        "verify",
        str(artifact),
        "--runtime",
        HOST,
        "--handler",
        "app.handler",
        "--event",
        str(event),
    )
    assert r2.rc == 0 and "ok    import helper" in r2.stdout


def test_host_site_packages_are_invisible(tmp_path: Path) -> None:
    # The host has requests installed; the zip does not: the import must fail here too.
    artifact = make_zip(tmp_path / "fn.zip", {"app.py": ("import requests\n", 0o644)})
    r = run_lpack("verify", str(artifact), "--runtime", HOST, "--handler", "app.handler")
    assert r.rc == 1
    assert "FAIL  import app: ModuleNotFoundError: No module named 'requests'" in r.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="permission checks need a privilege drop")
def test_file_not_world_readable_fails_as_on_lambda(tmp_path: Path) -> None:
    artifact = make_zip(
        tmp_path / "fn.zip",
        {"app.py": ("import secretmod\n", 0o644), "secretmod.py": ("X = 1\n", 0o600)},
    )
    r = run_lpack(
        "verify", str(artifact), "--runtime", HOST, "--handler", "app.handler", "--format", "json"
    )
    assert r.rc == 1
    (app,) = [i for i in r.json["imports"] if i["module"] == "app"]
    assert not app["ok"] and "PermissionError" in app["detail"]


def test_handler_that_raises(tmp_path: Path) -> None:
    artifact = make_zip(
        tmp_path / "fn.zip",
        {"app.py": ("def handler(event, context):\n    raise ValueError('bad order')\n", 0o644)},
    )
    event = tmp_path / "e.json"
    event.write_text("{}")
    r = run_lpack(
        "verify",
        str(artifact),
        "--runtime",
        HOST,
        "--handler",
        "app.handler",
        "--event",
        str(event),
    )
    assert r.rc == 1
    assert "app.handler raised ValueError: bad order" in r.stdout


def test_event_file_that_is_not_json(tmp_path: Path) -> None:
    artifact = make_zip(tmp_path / "fn.zip", {"app.py": ("", 0o644)})
    event = tmp_path / "e.json"
    event.write_text("{not json")
    r = run_lpack("verify", str(artifact), "--runtime", HOST, "--event", str(event))
    assert r.rc == 2 and f"Event file {event} is not JSON" in r.stderr


def test_no_interpreter_of_the_target_version(tmp_path: Path) -> None:
    if any(Path(p).exists() for p in ("/usr/bin/python3.14", "/usr/local/bin/python3.14")):
        pytest.skip("this machine has a system Python 3.14")
    artifact = make_zip(tmp_path / "fn.zip", {"app.py": ("", 0o644)})
    env = {
        "PATH": "/usr/bin:/bin",
        "PYENV_ROOT": str(tmp_path / "none"),
        "UV_PYTHON_INSTALL_DIR": str(tmp_path / "none"),
    }
    r = run_lpack("verify", str(artifact), "--runtime", "python3.14", env=env)
    assert r.rc == 2 and "No Python 3.14 found" in r.stderr and "uv python install 3.14" in r.stderr


def test_not_a_zip(tmp_path: Path) -> None:
    bogus = tmp_path / "fn.zip"
    bogus.write_text("hello")
    r = run_lpack("verify", str(bogus), "--runtime", HOST)
    assert r.rc == 2 and "is not a readable zip" in r.stderr


def test_layers_come_after_the_function(tmp_path: Path) -> None:
    artifact = make_zip(
        tmp_path / "fn.zip",
        {
            "app.py": (
                "import shared, layered\ndef handler(e, c):\n    return shared.WHO\n",
                0o644,
            ),
            "shared.py": ("WHO = 'function'\n", 0o644),
        },
    )
    layer = make_zip(
        tmp_path / "layer.zip",
        {
            "python/shared.py": ("WHO = 'layer'\n", 0o644),
            "python/layered.py": ("OK = True\n", 0o644),
        },
    )
    event = tmp_path / "e.json"
    event.write_text("{}")
    r = run_lpack(
        "verify",
        str(artifact),
        "--runtime",
        HOST,
        "--layer",
        str(layer),
        "--handler",
        "app.handler",
        "--event",
        str(event),
        "--format",
        "json",
    )
    assert r.rc == 0, r.stdout + r.stderr
    assert {"app", "layered", "shared"} <= {i["module"] for i in r.json["imports"]}
    assert r.json["invoke"]["result"] == "function"  # /var/task comes before /opt/python


def test_build_with_verify(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(
        tmp_path / "fn",
        "meta-reader\nscripted\n",
        files={
            "app.py": "import meta_reader\ndef lambda_handler(e, c):\n    return meta_reader.__version__\n"
        },
    )
    r = run_lpack("build", str(project), "--runtime", HOST, "--verify", "--format", "json")
    assert r.rc == 0, r.stdout + r.stderr
    modules = {i["module"] for i in r.json["verify"]["imports"]}
    assert {"app", "meta_reader", "scripted", "scripted_extra"} <= modules
    (project / "app.py").write_text("import not_shipped_anywhere\ndef lambda_handler(e, c): pass\n")
    r = run_lpack("build", str(project), "--runtime", HOST, "--verify")
    assert r.rc == 1 and "No module named 'not_shipped_anywhere'" in r.stdout
    assert "Traceback" not in r.stdout and "lpack verify -v" in r.stdout
    # -v reaches build --verify's report too: each failed import's traceback.
    (project / "app.py").write_text("import not_shipped_either\ndef lambda_handler(e, c): pass\n")
    r = run_lpack("build", str(project), "--runtime", HOST, "--verify", "-v")
    assert r.rc == 1 and "Traceback (most recent call last)" in r.stdout, r.stdout


def test_failure_reasons_keep_what_says_what_failed() -> None:
    from lpack.render.verify_text import reason

    # numpy's ImportError: a banner that opens with a blank line, the cause last.
    numpy = "ImportError: \n\nIMPORTANT: PLEASE READ THIS FOR ADVICE\n\nlong advice\n\nNo module named 'x'"
    assert reason(numpy) == "ImportError: No module named 'x'"
    # Any other message keeps all its lines: pydantic's ends with a link, not the cause.
    pydantic = (
        "ValidationError: 1 validation error for Settings\nregion\n  Field required "
        "[type=missing]\n    For further information visit https://errors.example/missing"
    )
    said = reason(pydantic)
    assert said.startswith("ValidationError: 1 validation error for Settings region Field")
    assert (
        reason("ValueError: expected one of:\n a\n b\n c") == "ValueError: expected one of: a b c"
    )
    long = reason("RuntimeError: " + "word " * 100)
    assert len(long) == 160 and long.endswith("…")


def test_dist_info_without_metadata_fails(tmp_path: Path) -> None:
    artifact = make_zip(
        tmp_path / "fn.zip",
        {
            "app.py": ("", 0o644),
            "lib/__init__.py": ("", 0o644),
            "lib-1.0.dist-info/RECORD": ("lib/__init__.py,,\n", 0o644),
        },
    )
    r = run_lpack("verify", str(artifact), "--runtime", HOST, "--format", "json")
    assert r.rc == 1
    (meta,) = r.json["metadata"]
    assert meta["name"] == "lib" and not meta["ok"] and "METADATA" in meta["detail"]


def test_interpreter_crash_and_exit_are_failures(tmp_path: Path) -> None:
    artifact = make_zip(
        tmp_path / "fn.zip",
        {
            "aaa/__init__.py": ("", 0o644),
            "bbb/__init__.py": ("import sys\nsys.stdout.write('loading...')\n", 0o644),
            "zzz/__init__.py": ("import ctypes\nctypes.string_at(0)\n", 0o644),
        },
    )
    r = run_lpack("verify", str(artifact), "--runtime", HOST, "--format", "json")
    assert r.rc == 1
    results = {i["module"]: i for i in r.json["imports"]}
    assert results["aaa"]["ok"] and results["bbb"]["ok"]  # stray output breaks nothing
    assert not results["zzz"]["ok"] and "signal" in results["zzz"]["detail"]
    exiting = make_zip(
        tmp_path / "exit.zip",
        {
            "bbb/__init__.py": ("import os\nos._exit(0)\n", 0o644),
            "ccc/__init__.py": ("raise ImportError('never seen')\n", 0o644),
        },
    )
    r = run_lpack("verify", str(exiting), "--runtime", HOST, "--format", "json")
    assert r.rc == 1 and not r.json["ok"]
    assert {i["module"] for i in r.json["imports"] if not i["ok"]} == {"bbb", "ccc"}


def test_missing_handler_function_fails_without_event(tmp_path: Path) -> None:
    artifact = make_zip(tmp_path / "fn.zip", {"app.py": ("X = 1\n", 0o644)})
    r = run_lpack("verify", str(artifact), "--runtime", HOST, "--handler", "app.handler")
    assert r.rc == 1 and "handler app.handler" in r.stdout and "AttributeError" in r.stdout


def test_zip_with_file_folder_clash(tmp_path: Path) -> None:
    artifact = make_zip(tmp_path / "fn.zip", {"a": ("x", 0o644), "a/b.py": ("", 0o644)})
    r = run_lpack("verify", str(artifact), "--runtime", HOST)
    assert r.rc == 2 and "is both a file and a folder" in r.stderr
    assert "internal error" not in r.stderr


def test_dry_run_with_verify_is_a_usage_error(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "")
    r = run_lpack("build", str(project), "--dry-run", "--verify")
    assert r.rc == 2 and "nothing to --verify" in r.stderr


def test_a_shipped_module_shadows_the_standard_library_as_it_does_on_lambda(tmp_path: Path) -> None:
    """The harness imports nothing the package could shadow (typing, dataclasses ...) before
    the package is on sys.path: on Lambda a shipped typing.py wins, so here too."""
    artifact = make_zip(
        tmp_path / "fn.zip",
        {
            "app.py": ("import typing\ndef handler(event, context):\n    return 1\n", 0o644),
            "typing.py": (
                "raise ImportError('the old typing backport shadows the stdlib')\n",
                0o644,
            ),
        },
    )
    r = verify(str(artifact), "--handler", "app.handler")
    assert r.rc == 1, r.stdout + r.stderr
    failed = {i["module"]: i["detail"] for i in r.json["imports"] if not i["ok"]}
    assert "the old typing backport shadows the stdlib" in failed["app"]


def test_failed_imports_read_in_one_line_and_tracebacks_need_verbose(tmp_path: Path) -> None:
    artifact = make_zip(
        tmp_path / "fn.zip",
        {
            "app.py": ("import helper\n", 0o644),
            "helper.py": (
                # numpy's way: a banner opening with a blank line, what failed last.
                "raise RuntimeError('\\n\\na paragraph of advice\\nwhat failed: libx.so')\n",
                0o644,
            ),
        },
    )
    args = ["verify", str(artifact), "--runtime", HOST, "--handler", "app.handler"]
    r = run_lpack(*args)
    assert r.rc == 1
    assert "FAIL  import app: RuntimeError: what failed: libx.so" in r.stdout
    assert "Traceback" not in r.stdout and "a paragraph" not in r.stdout
    assert "lpack verify -v prints each failure's traceback" in r.stdout
    verbose = run_lpack(*args, "-v")
    assert verbose.rc == 1 and "Traceback (most recent call last)" in verbose.stdout
    assert 'helper.py", line 1' in verbose.stdout
    as_json = run_lpack(*args, "--format", "json")  # machines keep the whole message
    (app,) = [i for i in as_json.json["imports"] if i["module"] == "app"]
    assert "a paragraph of advice" in app["detail"] and "Traceback" in app["traceback"]
