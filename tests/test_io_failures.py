"""The file system refusing (a full disk, a permission, a symlink loop, a device as input or
output, a malformed JSON input) is said plainly: what, why, how to fix it; exit 2; one JSON
error document on stdout under --format json; the previous outputs untouched; no temp file.

Experiments that need privileges run in a private mount namespace (a tmpfs of their own) or
with the permission-override capabilities dropped, inside pytest's temp folders only.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import Run, make_project, run_lpack
from test_json_output import schema_validator

OUTPUT_SCHEMA = schema_validator("lpack-output-v1.json")
HOST = f"python3.{sys.version_info[1]}"
IS_ROOT = os.geteuid() == 0
LPACK = [sys.executable, "-m", "lpack"]


def failure(r: Run, kind: str, *expected: str) -> dict:
    """The error document, once every guarantee of a clear failure is checked."""
    assert r.rc == 2, (r.stdout, r.stderr)
    document = json.loads(r.stdout)  # stdout holds one JSON document, nothing else
    OUTPUT_SCHEMA.validate(document)
    error = document["error"]
    assert error["type"] == kind, error
    for text in expected:
        assert text in error["message"], (text, error["message"])
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    assert error["hint"]
    return dict(error)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def built(project: Path, output: Path) -> str:
    r = run_lpack("build", str(project), "--runtime", HOST, "-o", str(output))
    assert r.rc == 0, r.stderr
    return digest(output)


def _can_mount_privately() -> bool:
    if not IS_ROOT or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )  # /mnt only inside the new namespace: the machine's own /mnt is never touched
    return probe.returncode == 0


needs_private_tmpfs = pytest.mark.skipif(
    not _can_mount_privately(), reason="a full disk is simulated with a private tmpfs (root)"
)


def run_on_small_tmpfs(mount_point: Path, size: str, command: str, fill: bool = False) -> Run:
    """A shell command in a private mount namespace where mount_point is a tmpfs of that
    size (filled up, when fill). The mount vanishes with the namespace."""
    script = f'mount -t tmpfs -o size={size} tmpfs "{mount_point}" || exit 99\n'
    if fill:
        script += f'dd if=/dev/zero of="{mount_point}/filler" bs=4k 2>/dev/null\n'
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script + command],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 99, proc.stderr
    return Run(proc.returncode, proc.stdout, proc.stderr)


def lpack_command(*args: str | Path) -> str:
    return " ".join(f"'{a}'" for a in [*LPACK, *map(str, args)])


@needs_private_tmpfs
def test_full_disk_leaves_the_previous_zip_and_no_temp_file(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    dist = tmp_path / "dist"
    dist.mkdir()
    previous = built(project, tmp_path / "previous.zip")
    (project / "blob.bin").write_bytes(os.urandom(1 << 20))  # 1 MiB that does not compress
    out = dist / "fn.zip"
    build = lpack_command("build", project, "--runtime", HOST, "-o", out, "--format", "json")
    # Inside the namespace: the previous zip on a 512 KiB disk, a build that cannot fit,
    # then what is left on that disk, recorded outside it.
    r = run_on_small_tmpfs(
        dist,
        "512k",
        f'cp "{tmp_path}/previous.zip" "{out}" && {build}; rc=$?; '
        f'ls -A "{dist}" > "{tmp_path}/left"; sha256sum "{out}" > "{tmp_path}/sum"; exit $rc',
    )
    error = failure(r, "FileSystemError", "No space left", str(out))
    assert "previous zip" in error["hint"]
    assert (tmp_path / "left").read_text() == "fn.zip\n"  # no temp file beside it
    assert (tmp_path / "sum").read_text().split()[0] == previous  # byte for byte


@needs_private_tmpfs
def test_full_disk_in_the_cache_is_not_a_network_failure(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    assert run_lpack("lock", str(project), "--runtime", HOST).rc == 0
    cache = tmp_path / "full-cache"
    cache.mkdir()
    build = lpack_command("build", project, "--runtime", HOST, "-o", tmp_path / "fn.zip")
    r = run_on_small_tmpfs(
        cache,
        "64k",
        f"LPACK_CACHE_DIR='{cache}' {build} --format json; rc=$?; "
        f'find "{cache}/tmp" -type f > "{tmp_path}/parts"; exit $rc',
        fill=True,
    )
    failure(r, "FileSystemError", "No space left", str(cache))
    assert "Network failure" not in r.stdout + r.stderr
    assert (tmp_path / "parts").read_text() == ""  # the partial download was removed
    assert not (tmp_path / "fn.zip").exists()


@needs_private_tmpfs
def test_full_disk_writing_the_lock_keeps_the_previous_lock(
    tmp_path: Path, lpack_env: dict
) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    assert run_lpack("lock", str(project), "--runtime", HOST).rc == 0
    previous = (project / "lpack.lock").read_text()
    (project / "requirements.in").write_text("gamma\nbeta\n")  # the lock must be redone
    # The project moves onto a full disk of its own; the resolver's temp and cache stay off it.
    disk = tmp_path / "disk"
    disk.mkdir()
    lock = lpack_command("lock", disk / "fn", "--runtime", HOST, "--format", "json")
    r = run_on_small_tmpfs(
        disk,
        "256k",
        f'cp -r "{project}" "{disk}/fn" && dd if=/dev/zero of="{disk}/filler" bs=4k '
        f"2>/dev/null; {lock}; rc=$?; "
        f'ls -A "{disk}/fn" > "{tmp_path}/left"; cp "{disk}/fn/lpack.lock" "{tmp_path}/after"; '
        "exit $rc",
    )
    failure(r, "FileSystemError", "No space left", str(disk / "fn" / "lpack.lock"))
    assert (tmp_path / "after").read_text() == previous
    assert (tmp_path / "left").read_text().split() == ["app.py", "lpack.lock", "requirements.in"]


def test_full_disk_is_reported_even_where_no_command_expected_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The safety net in main: an OSError that escapes a command is the file system's."""
    from lpack import cli as cli_module

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cli_module.cli, "main", full)
    monkeypatch.setattr(sys, "argv", ["lpack", "build", "--format", "json"])
    with pytest.raises(SystemExit) as exit_info:
        cli_module.main()
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    error = json.loads(out)["error"]
    assert error["type"] == "FileSystemError" and "No space left" in error["message"]
    assert "internal error" not in err


@pytest.mark.parametrize(
    "code, words",
    [
        (errno.EACCES, "Permission denied"),
        (errno.EROFS, "read-only file system"),
        (errno.EMFILE, "Too many open files"),
        (errno.ELOOP, "symlink loop"),
    ],
)
def test_file_system_errors_say_what_and_how(code: int, words: str) -> None:
    from lpack.files import file_system_error

    error = file_system_error(OSError(code, os.strerror(code), "/some/file"))
    assert words in error.message and "/some/file" in error.message
    assert error.hint and error.exit_code == 2


def test_symlink_loop_in_the_source_folder(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "")
    output = tmp_path / "fn.zip"
    previous = built(project, output)
    os.symlink("loop-b", project / "loop-a")
    os.symlink("loop-a", project / "loop-b")
    r = run_lpack("build", str(project), "--runtime", HOST, "-o", str(output), "--format", "json")
    failure(r, "FileSystemError", "symlink loop", str(project / "loop-"))
    assert digest(output) == previous
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == ["fn", "fn.zip"]


def test_symlink_loop_as_input(tmp_path: Path) -> None:
    loop = tmp_path / "loop.zip"
    os.symlink(loop.name, loop)
    for command, kind in (("lint", "FileSystemError"), ("verify", "FileSystemError")):
        r = run_lpack(command, str(loop), "--format", "json")
        error = failure(r, kind, str(loop))
        assert "symlink loop" in error["message"]  # not "does not exist"


@pytest.mark.parametrize("command", ["lint", "report", "diff", "gate", "verify"])
def test_dev_zero_as_input_is_refused_at_once(tmp_path: Path, command: str) -> None:
    args = {
        "diff": ["diff", "/dev/zero", "/dev/zero"],
        "gate": ["gate", "/dev/zero", "--baseline", str(tmp_path / "b.json")],
        "verify": ["verify", "/dev/zero", "--runtime", HOST],
    }.get(command, [command, "/dev/zero"])
    started = time.monotonic()
    r = run_lpack(*args, "--format", "json")
    assert time.monotonic() - started < 30  # not read forever
    kind = "ConfigError" if command == "verify" else "ContentsError"
    error = failure(r, kind, "/dev/zero")
    assert "is a character device, not a file or a folder" in error["message"]


def test_dev_zero_as_the_event_is_refused_at_once(tmp_path: Path) -> None:
    artifact = tmp_path / "fn.zip"
    with zipfile.ZipFile(artifact, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return 1\n")
    big = tmp_path / "big.json"
    big.write_text('"' + "x" * (7 * 1024**2) + '"')
    for event, said in (("/dev/zero", "is a character device"), (str(big), "Lambda accepts")):
        started = time.monotonic()
        r = run_lpack("verify", str(artifact), "--event", event, "--format", "json")
        assert time.monotonic() - started < 30
        assert said in failure(r, "ConfigError", event)["message"]


def test_dev_zero_as_baseline_or_requirements_is_refused(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "")
    zip_path = tmp_path / "fn.zip"
    built(project, zip_path)
    r = run_lpack("gate", str(zip_path), "--baseline", "/dev/zero", "--format", "json")
    failure(r, "ConfigError", "Baseline /dev/zero is a character device")
    r = run_lpack("lock", str(project), "-r", "/dev/zero", "--format", "json")
    failure(r, "ConfigError", "/dev/zero is a character device")


def test_a_device_is_never_replaced_by_an_output(tmp_path: Path, lpack_env: dict) -> None:
    """`--lock /dev/null` as root would rename the lock over the system's /dev/null: a pipe
    in a temp folder stands in for the device (the same refusal, and harmless to test)."""
    project = make_project(tmp_path / "fn", "")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    r = run_lpack("build", str(project), "--runtime", HOST, "-o", str(pipe), "--format", "json")
    failure(r, "BuildError", "not a regular file", "would replace it")  # the build's own check
    r = run_lpack("lock", str(project), "--lock", str(pipe), "--format", "json")
    error = failure(r, "FileSystemError", f"{pipe} is a named pipe", "will not replace it")
    assert "--lock" in error["hint"]
    assert pipe.is_fifo()  # still the pipe
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file


def test_malformed_baseline_and_report_json(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "")
    zip_path = tmp_path / "fn.zip"
    built(project, zip_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "unzipped": ')
    r = run_lpack("gate", str(zip_path), "--baseline", str(bad), "--format", "json")
    failure(r, "ConfigError", f"Baseline {bad} is corrupt")
    r = run_lpack("diff", str(bad), str(zip_path), "--format", "json")
    failure(r, "ConfigError", f"{bad} is not a readable report JSON")
    bad.write_text('{"command": "report", "distributions": [{}]}')
    r = run_lpack("diff", str(bad), str(zip_path), "--format", "json")
    failure(r, "ConfigError", f"{bad} is an lpack report with a missing or malformed field")


def _without_permission_override(*args: str, env: dict[str, str] | None = None) -> Run:
    """lpack as this user, but unable to read what its mode bits forbid (root too: the
    capabilities that override them are dropped for the child)."""
    prefix: list[str] = []
    if IS_ROOT:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv is needed to drop root's permission override")
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    proc = subprocess.run(
        [*prefix, *LPACK, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def test_unreadable_source_file(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "")
    output = tmp_path / "dist" / "fn.zip"
    previous = built(project, output)
    secret = project / "settings.py"
    secret.write_text("KEY = 1\n")
    secret.chmod(0)
    try:
        r = _without_permission_override(
            "build", str(project), "--runtime", HOST, "-o", str(output), "--format", "json"
        )
    finally:
        secret.chmod(0o644)
    error = failure(r, "FileSystemError", "Permission denied", str(secret))
    assert "exclude" in error["hint"]
    assert digest(output) == previous and [p.name for p in output.parent.iterdir()] == ["fn.zip"]


def test_unreadable_pyenv_root_is_not_a_crash(tmp_path: Path) -> None:
    if any(Path(p).exists() for p in ("/usr/bin/python3.14", "/usr/local/bin/python3.14")):
        pytest.skip("this machine has a system Python 3.14")
    artifact = tmp_path / "fn.zip"
    import zipfile

    with zipfile.ZipFile(artifact, "w") as zf:
        zf.writestr("app.py", "def handler(e, c):\n    return 1\n")
    pyenv_root = tmp_path / "pyenv"
    (pyenv_root / "versions").mkdir(parents=True)
    pyenv_root.chmod(0)
    env = {"PATH": "/usr/bin:/bin", "PYENV_ROOT": str(pyenv_root)}
    env["UV_PYTHON_INSTALL_DIR"] = str(tmp_path / "none")
    try:
        r = _without_permission_override(
            "verify", str(artifact), "--runtime", "python3.14", "--format", "json", env=env
        )
    finally:
        pyenv_root.chmod(0o755)
    failure(r, "ConfigError", "No Python 3.14 found")


def test_usage_error_under_json_is_a_json_document() -> None:
    r = run_lpack("lint", "--format", "json", "--no-such-option")
    assert r.rc == 2
    error = json.loads(r.stdout)["error"]
    assert "--no-such-option" in error["message"] and error["exit_code"] == 2
    assert "No such option" in r.stderr  # click's own words stay on stderr


def test_a_folder_where_a_file_belongs_is_named_a_folder(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "")
    folder = tmp_path / "reqs"
    folder.mkdir()
    r = run_lpack("lock", str(project), "-r", str(folder), "--format", "json")
    said = failure(r, "ConfigError", str(folder))["message"]
    assert "is a folder, where a file was expected" in said
