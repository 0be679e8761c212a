"""verify of a package for another CPU: refused in one line with what to do, or run under
qemu-user with the CPython of an emulation root (lpack/inspect/emulation.py).

Offline, a stand-in emulator (a shell script that checks its arguments and runs this
machine's Python) carries the run through the same sandbox; the `network` test builds real
arm64 wheels and runs them under Debian's qemu-aarch64-static with the root .ci/arm64-python
makes (.ci/run exports it as LPACK_EMULATION_ROOT).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import isolated_python, make_project, run_lpack
from test_json_output import schema_validator

from lpack.errors import ConfigError
from lpack.inspect import emulation, sandbox
from lpack.pythons import find_python, probe
from lpack.target import Target

VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"
HOST = f"python{VERSION}"
HOST_PYTHON = isolated_python(sys.version_info[:2])
# The CPU that is not this machine's, in lpack's and in the ELF header's names.
FOREIGN, FOREIGN_MACHINE, FOREIGN_NUMBER = (
    ("x86_64", "x86_64", 62) if emulation.host_machine() == "aarch64" else ("arm64", "aarch64", 183)
)
OTHER_NUMBER = 62 if FOREIGN_NUMBER == 183 else 183
NATIVE = "arm64" if FOREIGN == "x86_64" else "x86_64"
needs_python = pytest.mark.skipif(
    HOST_PYTHON is None, reason=f"needs a Python {VERSION} an unprivileged user can run"
)
NO_ROOT = {"LPACK_EMULATION_ROOT": ""}


def elf_header(machine: int) -> bytes:
    """The first bytes of a 64-bit little-endian ELF program for that e_machine."""
    return (
        b"\x7fELF\x02\x01\x01"
        + bytes(9)
        + (3).to_bytes(2, "little")
        + machine.to_bytes(2, "little")
        + bytes(44)
    )


def write_zip(path: Path, files: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16  # readable by nobody, as lpack writes them
            zf.writestr(info, data)
    return path


def native_zip(path: Path, app: str = "def handler(event, context):\n    return 1\n") -> Path:
    """A function whose only native code is a shared object nothing imports."""
    return write_zip(path, {"app.py": app, "vendor.libs/libfast.so.1": elf_header(FOREIGN_NUMBER)})


def fake_root(folder: Path, machine: int = FOREIGN_NUMBER, name: str = f"python{VERSION}") -> Path:
    (folder / "usr/bin").mkdir(parents=True)
    (folder / "usr/bin" / name).write_bytes(elf_header(machine))
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755)
    return folder


def fake_emulator(folder: Path) -> Path:
    """qemu-<cpu>-static that insists on `-L ROOT ROOT/usr/bin/python3.X` (the program readable
    where it runs: inside the sandbox too), then runs this machine's Python with the rest."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / f"qemu-{FOREIGN_MACHINE}-static"
    script.write_text(
        "#!/bin/sh\n"
        '[ "$1" = -L ] && [ -d "$2" ] && [ -r "$3" ] || { echo "fake qemu: bad args $*" >&2; exit 97; }\n'
        "shift 3\n"
        "export LPACK_FAKE_EMULATOR=1\n"
        f'exec {HOST_PYTHON} "$@"\n'
    )
    script.chmod(0o755)
    return folder


def test_foreign_native_package_without_a_root_is_refused_in_one_line(tmp_path: Path) -> None:
    artifact = native_zip(tmp_path / "fn.zip")
    r = run_lpack("verify", str(artifact), "--runtime", HOST, "--arch", FOREIGN, env=NO_ROOT)
    assert r.rc == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["error", "fix"], r.stderr
    assert f"fn.zip:vendor.libs/libfast.so.1 is native code for {FOREIGN}" in lines[0]
    assert "Traceback" not in r.stderr and "--emulation-root" in lines[1]
    # The script makes Debian 12's arm64 3.11 only: other roots are described, not scripted.
    made_here = (FOREIGN, VERSION) == ("arm64", "3.11")
    assert (".ci/arm64-python" in lines[1]) == made_here, lines[1]
    assert made_here or f"root file system of an {FOREIGN} image with Python" in lines[1]
    as_json = run_lpack(
        "verify",
        str(artifact),
        "--runtime",
        HOST,
        "--arch",
        FOREIGN,
        "--format",
        "json",
        env=NO_ROOT,
    )
    assert as_json.rc == 2 and as_json.json["error"]["type"] == "ConfigError"


@needs_python
def test_foreign_package_without_native_code_runs_on_this_machine(tmp_path: Path) -> None:
    app = "import platform\ndef handler(e, c):\n    return platform.machine()\n"
    artifact = write_zip(tmp_path / "fn.zip", {"app.py": app})
    event = tmp_path / "e.json"
    event.write_text("{}")
    r = run_lpack(
        "verify", str(artifact), "--runtime", HOST, "--arch", FOREIGN, "--handler", "app.handler",
        "--event", str(event), "--format", "json", env=NO_ROOT,
    )  # fmt: skip
    assert r.rc == 0, r.stderr
    assert r.json["emulator"] is None and r.json["invoke"]["result"] == os.uname().machine


@needs_python
def test_runs_under_the_emulator_with_the_roots_python(world_tmp: Path) -> None:
    root = fake_root(world_tmp / "root")
    tools = fake_emulator(world_tmp / "bin")
    artifact = native_zip(
        world_tmp / "fn.zip",
        "import os\ndef handler(e, c):\n    return [os.environ.get('LPACK_FAKE_EMULATOR'), os.getuid()]\n",
    )
    event = world_tmp / "e.json"
    event.write_text("{}")
    env = {"PATH": f"{tools}:{os.environ['PATH']}", "LPACK_EMULATION_ROOT": str(root)}
    args = [
        "verify",
        str(artifact),
        "--runtime",
        HOST,
        "--arch",
        FOREIGN,
        "--handler",
        "app.handler",
    ]
    r = run_lpack(*args, "--event", str(event), "--format", "json", env=env)
    assert r.rc == 0, r.stdout + r.stderr
    data = r.json
    assert data["python"] == str(root / f"usr/bin/python{VERSION}")
    assert data["emulator"] == str(tools / f"qemu-{FOREIGN_MACHINE}-static")
    schema_validator("lpack-output-v1.json").validate(data)
    ran_through_emulator, uid = data["invoke"]["result"]
    assert ran_through_emulator == "1"
    if os.geteuid() == 0:
        assert uid == 65534 and data["user"] == "nobody"
    text = run_lpack(*args, env=env)
    assert text.rc == 0 and f"-I -S under qemu-{FOREIGN_MACHINE}-static as" in text.stdout
    # --emulation-root, then [tool.lpack]'s emulation-root, then the environment's.
    project = make_project(world_tmp / "project", None, {}, 'emulation-root = "from-project"')
    chosen = {
        (): project / "from-project",
        ("--emulation-root", str(world_tmp / "from-cli")): world_tmp / "from-cli",
    }
    for flag, used in chosen.items():
        refused = run_lpack(*args, "--project", str(project), *flag, env=env)
        assert refused.rc == 2 and f"emulation root {used} " in refused.stderr, refused.stderr
    # Its timings and the host's libraries mean nothing under emulation: refused, exit 2.
    for flag, said in (("--runtime-libraries-only", "emulation root's"), ("--profile", "Lambda's")):
        refused = run_lpack(*args, flag, env=env)
        assert refused.rc == 2 and said in refused.stderr and "fix:" in refused.stderr


def _target(arch: str = FOREIGN) -> Target:
    return Target.from_names(HOST, arch)


def _refusal(target: Target, root: Path, drop: bool = False) -> ConfigError:
    packages = [native_zip(root.parent / "fn.zip")]
    with pytest.raises(ConfigError) as caught:
        emulation.interpreter_for(target, packages, drop, root)
    assert caught.value.hint, "every refusal says what to do"
    return caught.value


def test_refusals_name_the_missing_piece(world_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools = fake_emulator(world_tmp / "bin")
    monkeypatch.setenv("PATH", str(tools))
    missing = _refusal(_target(), world_tmp / "nothing")
    assert "is not a folder" in missing.message and ".ci/arm64-python" in str(missing.hint)
    other_version = "python3.99"
    no_python = _refusal(_target(), fake_root(world_tmp / "v", name=other_version))
    assert f"has no python{VERSION}" in no_python.message and other_version in no_python.message
    wrong_cpu = _refusal(_target(), fake_root(world_tmp / "w", machine=OTHER_NUMBER))
    assert f"is built for {emulation.MACHINES[OTHER_NUMBER]}" in wrong_cpu.message
    monkeypatch.setenv("PATH", str(world_tmp / "empty"))
    no_qemu = _refusal(_target(), fake_root(world_tmp / "q"))
    assert f"qemu-{FOREIGN_MACHINE}-static" in no_qemu.message
    assert "apt-get install qemu-user-static" in str(no_qemu.hint)


def test_non_linux_hosts_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulation.platform, "system", lambda: "Darwin")
    refused = _refusal(_target(NATIVE), tmp_path / "root")
    assert "needs Linux" in refused.message and "Darwin" in refused.message
    assert "lpack lint" in str(refused.hint)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root drops to nobody")
@needs_python
def test_a_root_nobody_cannot_read_is_refused(
    world_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(fake_emulator(world_tmp / "bin")))
    closed = world_tmp / "closed"
    root = fake_root(closed / "root")
    closed.chmod(0o700)
    refused = _refusal(_target(), root, drop=True)
    assert "nobody" in refused.message and str(closed) in refused.message
    assert f"chmod -R o+rX {root}" in str(refused.hint)
    # root itself reads it: the same root is taken (the stand-in emulator runs it).
    packages = [native_zip(world_tmp / "fn.zip")]
    assert emulation.interpreter_for(_target(), packages, False, root).root == root


@pytest.mark.skipif(os.geteuid() != 0, reason="only root drops to nobody")
@needs_python
def test_a_python_nobody_cannot_run_is_refused(
    world_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The launcher is open to all; what it runs sits in a folder only root can enter, so
    # only a run as nobody shows it.
    closed = world_tmp / "closed"
    closed.mkdir(mode=0o700)
    (closed / "python").symlink_to(HOST_PYTHON)
    launcher = world_tmp / f"python{VERSION}"
    launcher.write_text(f'#!/bin/sh\nexec {closed / "python"} "$@"\n')
    launcher.chmod(0o755)
    assert probe([str(launcher)], VERSION) is None
    assert probe([str(launcher)], VERSION, as_nobody=True) is not None
    monkeypatch.setattr("lpack.pythons.candidates", lambda version: [launcher])
    with pytest.raises(ConfigError) as caught:
        find_python(_target(NATIVE), drop_privileges=True)
    assert "nobody" in caught.value.message and str(launcher) in caught.value.message
    assert "o+rX" in str(caught.value.hint)


# -- the real thing: arm64 code under Debian's qemu-aarch64-static ---------------------------

ROOT = os.environ.get("LPACK_EMULATION_ROOT", "")
needs_qemu = [
    pytest.mark.skipif(emulation.host_machine() != "x86_64", reason="emulates arm64 on x86_64"),
    pytest.mark.skipif(
        shutil.which("qemu-aarch64-static") is None, reason="needs qemu-user-static"
    ),
    pytest.mark.skipif(
        not (ROOT and Path(ROOT, "usr/bin/python3.11").is_file()),
        reason="needs LPACK_EMULATION_ROOT: an arm64 root with python3.11 (.ci/arm64-python)",
    ),
]


def with_qemu(test: Any) -> Any:
    for mark in needs_qemu:
        test = mark(test)
    return test


@with_qemu
def test_the_sandbox_holds_under_emulation(world_tmp: Path) -> None:
    project = make_project(world_tmp / "project", None, {"secret.env": "KEY=1\n"})
    app = (
        "import os, platform\n"
        "def handler(event, context):\n"
        "    try:\n"
        "        open(os.path.join(os.environ['LAMBDA_TASK_ROOT'], 'new'), 'w')\n"
        "        wrote = True\n"
        "    except OSError:\n"
        "        wrote = False\n"
        "    with open('/tmp/scratch', 'w') as fh:\n"
        "        fh.write('Lambda gives a writable /tmp')\n"
        "    try:\n"
        "        seen = os.listdir(event['project'])\n"
        "    except OSError:\n"
        "        seen = None\n"
        "    return [platform.machine(), os.getuid(), wrote, seen]\n"
    )
    artifact = native_zip(world_tmp / "fn.zip", app)
    event = world_tmp / "event.json"
    event.write_text(json.dumps({"project": str(project)}))
    r = run_lpack(
        "verify", str(artifact), "--runtime", "python3.11", "--arch", "arm64", "--handler",
        "app.handler", "--event", str(event), "--project", str(project), "--format", "json",
    )  # fmt: skip
    assert r.rc == 0, r.stdout + r.stderr
    machine, uid, wrote, seen = r.json["invoke"]["result"]
    assert machine == "aarch64" and not wrote
    if os.geteuid() == 0:
        assert uid == 65534
    if r.json["isolation"].startswith("own PID and mount namespaces"):
        assert seen in ([], None)  # the project is covered, or under the private /tmp


@pytest.mark.network
@with_qemu
def test_arm64_numpy_and_pydantic_core_import_under_qemu(
    world_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LPACK_CACHE_DIR", str(world_tmp / "cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    handler = (
        "import platform, numpy, pydantic_core\n"
        "def handler(event, context):\n"
        "    validator = pydantic_core.SchemaValidator({'type': 'int'})\n"
        "    return [platform.machine(), int(numpy.arange(event['n']).sum()),\n"
        "            validator.validate_python('41') + 1]\n"
    )
    project = make_project(
        world_tmp / "fn",
        "numpy\npydantic-core\n",
        {"app.py": handler},
        'runtime = "python3.11"\narch = "arm64"\nhandler = "app.handler"\n'
        f'emulation-root = "{ROOT}"\n',
    )
    # The setting in [tool.lpack] reaches build --verify and verify (not the environment's).
    built = run_lpack("build", str(project), "--verify", "--format", "json", env=NO_ROOT)
    assert built.rc == 0, built.stdout + built.stderr
    assert built.json["verify"]["ok"] and built.json["verify"]["emulator"].endswith(
        "qemu-aarch64-static"
    )
    event = world_tmp / "event.json"
    event.write_text('{"n": 5}')
    zip_path = project / "dist" / "fn.zip"
    os.chmod(project, 0o755)
    r = run_lpack(
        "verify", str(zip_path), "--project", str(project), "--event", str(event),
        "--format", "json", env=NO_ROOT,
    )  # fmt: skip
    assert r.rc == 0, r.stdout + r.stderr
    assert r.json["invoke"]["result"] == ["aarch64", 10, 42]
    imported = {i["module"] for i in r.json["imports"] if i["ok"]}
    assert {"app", "numpy", "pydantic_core"} <= imported
    assert stat.S_IMODE(Path(ROOT).stat().st_mode) & 0o005  # what nobody ran was open to it


# -- nothing of the root runs outside the sandbox; refusals say which zip and what to do ------


def broken_start() -> str:
    """What a CPython that cannot find its standard library prints: a dump ending in sys.path."""
    import subprocess

    env = {**os.environ, "PYTHONHOME": "/nonexistent"}
    done = subprocess.run([str(HOST_PYTHON), "-c", "pass"], capture_output=True, text=True, env=env)
    assert done.returncode != 0 and "sys.path" in done.stderr
    return done.stderr


def spying_emulator(folder: Path, marker: Path, broken: bool = False) -> Path:
    """fake_emulator that first tries to leave a file behind, as a tampered root's Python
    could; broken: then fails as a root's Python without its standard library does."""
    fake_emulator(folder)
    script = folder / f"qemu-{FOREIGN_MACHINE}-static"
    lines = script.read_text().splitlines()
    lines.insert(2, f"touch {marker} 2>/dev/null || true")
    if broken:
        (folder / "dump").write_text(broken_start())
        lines.insert(3, f"cat {folder / 'dump'} >&2; exit 1")
    script.write_text("\n".join(lines) + "\n")
    return folder


@needs_python
def test_nothing_of_the_root_runs_outside_the_sandbox(
    world_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = world_tmp / "outside"  # under /tmp, which the sandbox replaces; closed to nobody
    outside.mkdir(mode=0o755)
    marker = outside / "ran-outside"
    root = fake_root(world_tmp / "root")
    tools = spying_emulator(world_tmp / "bin", marker)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    packages = [native_zip(world_tmp / "fn.zip")]
    # Choosing the interpreter runs none of it (the root may be the project's).
    assert emulation.interpreter_for(_target(), packages, False, root).root == root
    assert not marker.exists()
    isolation = sandbox.isolation_for(sys.executable)
    if not isolation.namespaces and os.geteuid() != 0:
        pytest.skip("without namespaces or a drop to nobody, the package may write anywhere")
    env = {"PATH": os.environ["PATH"], "LPACK_EMULATION_ROOT": str(root)}
    args = ["--runtime", HOST, "--arch", FOREIGN, "--handler", "app.handler"]
    r = run_lpack("verify", str(packages[0]), *args, env=env)
    assert r.rc == 0, r.stdout + r.stderr
    assert not marker.exists(), "the root's Python ran outside the sandbox"


@needs_python
def test_a_root_that_does_not_start_says_why_in_one_line(world_tmp: Path) -> None:
    root = fake_root(world_tmp / "root")
    tools = spying_emulator(world_tmp / "bin", world_tmp / "unused", broken=True)
    artifact = native_zip(world_tmp / "fn.zip")
    env = {"PATH": f"{tools}:{os.environ['PATH']}", "LPACK_EMULATION_ROOT": str(root)}
    r = run_lpack("verify", str(artifact), "--runtime", HOST, "--arch", FOREIGN, env=env)
    assert r.rc == 2 and r.stdout == "", r.stdout + r.stderr
    first = r.stderr.splitlines()[0]
    assert f"does not start under qemu-{FOREIGN_MACHINE}-static as " in first
    assert first.endswith("ModuleNotFoundError: No module named 'encodings'."), first
    assert "python3" not in first.rpartition(":")[0].rpartition(" as ")[2]  # not sys.path's dump


@needs_python
def test_a_failed_start_is_told_by_its_cause_not_the_tail_of_its_dump() -> None:
    from lpack.errors import LpackError
    from lpack.inspect.sandbox import Outcome
    from lpack.inspect.verify_result import VerifyResult, account_for_stop
    from lpack.pythons import meaningful_line

    dump = broken_start()
    assert meaningful_line(dump) == "ModuleNotFoundError: No module named 'encodings'"
    result = VerifyResult(Path("fn.zip"), Path(str(HOST_PYTHON)), "nobody")
    with pytest.raises(LpackError) as caught:
        account_for_stop(result, Outcome(1, b"", dump), {}, [], Path("python"), 30)
    assert caught.value.message.endswith("failed to start: " + meaningful_line(dump))
    assert meaningful_line("") == "" and meaningful_line("  just this\n") == "just this"


def test_native_code_for_another_cpu_than_the_target_is_refused(tmp_path: Path) -> None:
    member = f"fastpkg/_core.cpython-311-{FOREIGN_MACHINE}-linux-gnu.so"
    artifact = write_zip(
        tmp_path / "fn.zip", {"fastpkg/__init__.py": "", member: elf_header(FOREIGN_NUMBER)}
    )
    arch = [] if NATIVE == "x86_64" else ["--arch", NATIVE]  # x86_64: the default outside a project
    r = run_lpack("verify", str(artifact), "--runtime", HOST, *arch, env=NO_ROOT)
    assert r.rc == 2 and r.stdout == "" and "Traceback" not in r.stderr, r.stdout + r.stderr
    error, fix = r.stderr.strip().splitlines()
    assert f"fn.zip:{member} is {FOREIGN_MACHINE} code and verify runs it as {NATIVE}" in error
    assert f"pass --arch {FOREIGN}" in fix
    # Native code in a layer: the layer and its member are named, not the function's zip.
    pure = write_zip(tmp_path / "pure.zip", {"app.py": "X = 1\n"})
    layer = write_zip(
        tmp_path / "layer_native.zip", {f"python/{member}": elf_header(FOREIGN_NUMBER)}
    )
    r = run_lpack(
        "verify",
        str(pure),
        "--layer",
        str(layer),
        "--runtime",
        HOST,
        "--arch",
        FOREIGN,
        env=NO_ROOT,
    )
    assert r.rc == 2 and f"layer_native.zip:python/{member} is native code for" in r.stderr
    assert "pure.zip" not in r.stderr
    # A .so that is not ELF says nothing of a CPU.
    assert emulation.native_code([write_zip(tmp_path / "t.zip", {"x.so": "text"})]) == {}


def test_hints_fit_the_command_and_the_root_the_script_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lpack.inspect.verify import verify

    monkeypatch.delenv("LPACK_EMULATION_ROOT", raising=False)
    artifact = native_zip(tmp_path / "fn.zip")
    # lpack build --verify calls verify with its default wording: build has no such option.
    with pytest.raises(ConfigError) as caught:
        verify(artifact, _target())
    assert "emulation-root` in [tool.lpack]" in str(caught.value.hint)
    assert "--emulation-root" not in str(caught.value.hint)
    for version, scripted in (("3.11", True), ("3.12", False)):
        target = Target.from_names(f"python{version}", "arm64")
        if emulation.host_machine() == "aarch64":
            break  # arm64 code runs here: nothing to refuse
        with pytest.raises(ConfigError) as caught:
            emulation.interpreter_for(target, [native_zip(tmp_path / "a.zip")], False, None)
        hint = str(caught.value.hint)
        assert (".ci/arm64-python" in hint) == scripted, hint
        assert scripted or f"a root file system of an arm64 image with Python {version}" in hint


# -- .ci/arm64-python: what it trusts, where it runs, how it calls apt -------------------------

SCRIPT = Path(__file__).resolve().parents[1] / ".ci/arm64-python"


def run_script(folder: Path, tmp: Path, codename: str = "bookworm") -> tuple[int, str, Path]:
    """The script with a stand-in apt-get that records how it was called and fails (nothing
    is fetched, nothing system-wide runs); returns its exit status, stderr and the record."""
    import subprocess

    tools = tmp / "tools"
    tools.mkdir(exist_ok=True)
    record = tmp / "apt-get.args"
    fake = tools / "apt-get"
    fake.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$@\" >> {record}\n"
        'prev=; for a; do [ "$prev" = -c ] && cat "$a" > ' + f"{record}.conf" + "; prev=$a; done\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    release = tmp / "os-release"
    release.write_text(f"ID=debian\nVERSION_CODENAME={codename}\n")
    env = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}", "LPACK_OS_RELEASE": str(release)}
    done = subprocess.run(
        [str(SCRIPT), str(folder)], capture_output=True, text=True, env=env, timeout=120
    )
    return done.returncode, done.stderr, record


def test_the_script_refuses_a_folder_others_could_have_filled(tmp_path: Path) -> None:
    folder = tmp_path / "root"
    (folder / "usr/lib").mkdir(parents=True)
    (folder / ".lpack-arm64-python").touch()  # the marker of a root it made: not enough
    planted = folder / "usr/lib/planted.py"
    planted.write_text("x = 1\n")
    planted.chmod(0o664)  # another user of the group may have written it
    rc, stderr, record = run_script(folder, tmp_path)
    assert rc == 2 and "not only yours" in stderr and not record.exists(), stderr
    assert planted.exists()  # nothing of it was replaced either
    link = tmp_path / "link"
    link.symlink_to(folder)
    planted.chmod(0o644)
    rc, stderr, _ = run_script(link, tmp_path)
    assert rc == 2 and "not only yours" in stderr
    if os.geteuid() == 0:  # a folder nobody made in /tmp, run by root in CI
        os.chown(folder, 65534, 65534)
        rc, stderr, record = run_script(folder, tmp_path)
        assert rc == 2 and "not only yours" in stderr and not record.exists()


def test_the_script_runs_on_debian_12_only(tmp_path: Path) -> None:
    rc, stderr, record = run_script(tmp_path / "new", tmp_path, codename="jammy")
    assert rc == 1 and len(stderr.strip().splitlines()) == 1 and "Debian 12" in stderr
    assert "jammy" in stderr and not record.exists()


@pytest.mark.skipif(
    shutil.which("qemu-aarch64-static") is None, reason="it installs qemu first (as root)"
)
def test_the_scripts_private_apt_runs_no_system_hooks(tmp_path: Path) -> None:
    rc, stderr, record = run_script(tmp_path / "new", tmp_path)
    assert rc != 0 and record.exists(), stderr  # the stand-in apt-get failed the update
    args = record.read_text().splitlines()
    assert "update" in args and "-c" in args
    assert {"Acquire::Retries=0", "Acquire::http::Timeout=20"} <= set(args)
    conf = Path(f"{record}.conf").read_text()
    assert "#clear APT::Update::Post-Invoke-Success;" in conf
    assert "#clear APT::Update::Post-Invoke;" in conf
    assert not (tmp_path / "new").exists()


@with_qemu
def test_a_projects_tampered_root_runs_only_inside_the_sandbox(world_tmp: Path) -> None:
    # The root can come from the project ([tool.lpack] emulation-root): its Python is the
    # project's code. A copy whose standard library tries to write into the project.
    root = world_tmp / "root"
    shutil.copytree(ROOT, root, symlinks=True)
    project = make_project(world_tmp / "project", None, {}, f'emulation-root = "{root}"')
    os.chmod(project, 0o777)  # even nobody could write here, were it not contained
    marker = project / "written-by-the-root"
    encodings = root / "usr/lib/python3.11/encodings/__init__.py"
    with open(encodings, "a", encoding="utf-8") as fh:
        fh.write(  # open() is not there yet while encodings loads
            f"\nimport posix\ntry:\n    posix.close(posix.open({str(marker)!r}, "
            "posix.O_WRONLY | posix.O_CREAT, 0o644))\nexcept OSError:\n    pass\n"
        )
    artifact = native_zip(world_tmp / "fn.zip")
    r = run_lpack(
        "verify", str(artifact), "--project", str(project), "--runtime", "python3.11",
        "--arch", "arm64", "--handler", "app.handler", env=NO_ROOT,
    )  # fmt: skip
    assert r.rc == 0, r.stdout + r.stderr
    assert "under qemu-aarch64-static" in r.stdout
    assert not marker.exists(), "the root's Python ran outside the sandbox"
