"""lpack verify: import a package the way Lambda would, before Lambda does.

The zip is extracted read-only into a folder any user can traverse; a Python of the
target's version runs with -I -S (nothing of the host's site-packages: -I alone keeps
them), as an unprivileged user when lpack runs as root (Lambda runs code as
sbx_user1051, so a file that is not world-readable fails here too), with Lambda's
sys.path order and environment variables.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from lpack.errors import ConfigError, LpackError
from lpack.facts import facts
from lpack.inspect.libsandbox import LibraryView, stage, unavailable_reason
from lpack.target import Target

NOBODY = 65534
_EXT_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.(?:cpython-[^.]+|abi3)\.so$")
_NOT_MODULES = {"bin", "include", "share", "__pycache__", "setup", "conftest"}


@dataclass
class ModuleResult:
    module: str
    ok: bool
    detail: str  # file on success; "Type: message" on failure
    traceback: str = ""


@dataclass
class VerifyResult:
    artifact: Path
    python: Path
    user: str
    imports: list[ModuleResult] = field(default_factory=list)
    metadata: list[ModuleResult] = field(default_factory=list)
    invoke: dict[str, Any] | None = None
    stderr: str = ""
    libraries: LibraryView | None = None  # set when only the runtime's libraries were visible
    completed: bool = False  # the harness reached its end (no crash, no os._exit)

    @property
    def ok(self) -> bool:
        invoke_ok = self.invoke is None or bool(self.invoke.get("ok"))
        return all(r.ok for r in self.imports + self.metadata) and invoke_ok and bool(self.imports)


def _provided_by_runtime(event: dict[str, Any]) -> str | None:
    """The runtime-provided module a failed import was missing, if that was the only cause."""
    if event.get("ok") or event.get("type") != "ModuleNotFoundError":
        return None
    match = re.match(r"No module named '([^'.]+)", event.get("message", ""))
    if match and match.group(1) in facts().runtime_provided:
        return match.group(1)
    return None


def _world_reachable(path: Path) -> bool:
    path = path.resolve()
    try:
        if not path.stat().st_mode & stat.S_IXOTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)
    except OSError:
        return False


def _candidates(version: tuple[int, int]) -> list[Path]:
    name = f"python{version[0]}.{version[1]}"
    found: list[Path] = []
    if sys.version_info[:2] == version:
        found += [Path(getattr(sys, "_base_executable", sys.executable)), Path(sys.executable)]
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found += sorted(
        pyenv_root.glob(f"versions/{version[0]}.{version[1]}.*/bin/{name}"), reverse=True
    )
    uv_root = Path(os.environ.get("UV_PYTHON_INSTALL_DIR", Path.home() / ".local/share/uv/python"))
    found += sorted(uv_root.glob(f"cpython-{version[0]}.{version[1]}.*/bin/{name}"), reverse=True)
    found += [Path(f"/usr/bin/{name}"), Path(f"/usr/local/bin/{name}")]
    unique: list[Path] = []
    for path in found:
        if path.exists() and path.resolve() not in [u.resolve() for u in unique]:
            unique.append(path)
    return unique


def find_python(target: Target, drop_privileges: bool) -> Path:
    """A CPython of the target's version the verifying user can run."""
    version = target.python_version
    wanted = f"{version[0]}.{version[1]}"
    unreachable = []
    for candidate in _candidates(version):
        probe = subprocess.run(
            [
                str(candidate),
                "-I",
                "-S",
                "-c",
                "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])",
            ],
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0 or probe.stdout.split() != ["cpython", wanted]:
            continue
        if drop_privileges and not _world_reachable(candidate):
            unreachable.append(str(candidate))
            continue
        return candidate.resolve()
    if unreachable:
        raise ConfigError(
            f"Python {wanted} was found ({', '.join(unreachable)}) but the unprivileged user "
            "lpack verifies as cannot run it: a folder above it is not world-executable.",
            hint=f"install python{wanted} where every user can run it (e.g. the system "
            "package), or run lpack verify as a non-root user.",
        )
    raise ConfigError(
        f"No Python {wanted} found to verify a {target.runtime} package (looked on PATH, in "
        "pyenv and uv installs, /usr/bin and /usr/local/bin).",
        hint=f"install Python {wanted} (`uv python install {wanted}`, `pyenv install "
        f"{wanted}`, or your OS package) and run again.",
    )


def _safe_extract(zip_path: Path, dest: Path) -> None:
    """Extract with the zip's own modes (a 0600 file must fail as it would on Lambda)."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigError(f"{zip_path} is not a readable zip: {exc}.") from exc
    with zf:
        for info in zf.infolist():
            name = PurePosixPath(info.filename)
            if info.filename.startswith("/") or ".." in name.parts:
                raise ConfigError(f"{zip_path} holds the unsafe path {info.filename!r}.")
            target = dest / name
            try:
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
            except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
                raise ConfigError(
                    f"{zip_path}: {info.filename!r} is both a file and a folder (or listed "
                    "twice); no extractor, Lambda's included, can unpack it.",
                    hint="rebuild the zip so each path is either a file or a folder.",
                ) from exc
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(target, mode if mode else 0o644)
    # Read-only like /var/task: no write bits anywhere; folders keep their x bits.
    for folder, dirs, files in os.walk(dest):
        for file_name in files:
            file_path = os.path.join(folder, file_name)
            os.chmod(file_path, os.stat(file_path).st_mode & ~0o222)
        for dir_name in dirs:
            dir_path = os.path.join(folder, dir_name)
            os.chmod(dir_path, (os.stat(dir_path).st_mode | 0o555) & ~0o222)
    os.chmod(dest, 0o555)


def _module_of(first: str, is_file: bool) -> str | None:
    if is_file:
        if first.endswith(".py"):
            name = first[:-3]
        else:
            match = _EXT_RE.match(first)
            name = match.group(1) if match else ""
    else:
        name = first
    return name if name.isidentifier() and name not in _NOT_MODULES else None


def top_level_modules(root: Path, single_modules: bool = False) -> list[str]:
    """What distributions put at the root (read from each RECORD, else top_level.txt),
    plus packages found there: the modules a function may import."""
    import csv

    names: set[str] = set()
    for dist_info in root.glob("*.dist-info"):
        record = dist_info / "RECORD"
        if record.is_file():
            with open(record, encoding="utf-8", errors="replace", newline="") as fh:
                for row in csv.reader(fh):
                    if not row or row[0].startswith(("/", "..")):
                        continue
                    first, _, rest = row[0].partition("/")
                    if first.endswith((".dist-info", ".data")):
                        continue
                    module = _module_of(first, is_file=not rest)
                    if module:
                        names.add(module)
        top = dist_info / "top_level.txt"
        if top.is_file():
            for line in top.read_text(encoding="utf-8", errors="replace").split():
                module = _module_of(line.split("/")[0], is_file=False)
                if module:
                    names.add(module)
    for child in root.iterdir():
        if child.is_dir() and (child / "__init__.py").exists():
            module = _module_of(child.name, is_file=False)
            if module:
                names.add(module)
        elif single_modules and child.is_file():  # a layer's python/*.py are its libraries
            module = _module_of(child.name, is_file=True)
            if module:
                names.add(module)
    present = {
        n
        for n in names
        if (root / n).is_dir() or (root / f"{n}.py").exists() or any(root.glob(f"{n}.*.so"))
    }
    return sorted(present)


def lambda_environment(
    target: Target, task: Path, name: str, handler: str | None
) -> dict[str, str]:
    return {
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{target.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]lpackverify",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(task),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "LD_LIBRARY_PATH": f"/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:"
        f"{task}:{task}/lib:/opt/lib",
        "_HANDLER": handler or "",
    }


def _verify_root() -> Path:
    for base in (Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")):
        if base.is_dir() and _world_reachable(base):
            return base
    raise ConfigError(
        "No temporary folder that every user can traverse (tried $TMPDIR, /tmp, /var/tmp).",
        hint="point TMPDIR at a folder with mode 0755 or more.",
    )


def _harness_source() -> str:
    # Passed with -c: the unprivileged user may not be able to read lpack's own folder.
    return Path(__file__).with_name("verify_harness.py").read_text(encoding="utf-8")


def verify(
    artifact: Path,
    target: Target,
    handler: str | None = None,
    event_file: Path | None = None,
    layers: list[Path] | None = None,
    skip: list[str] | None = None,
    name: str = "function",
    runtime_sdk: Path | None = None,
    runtime_libraries_only: bool = False,
) -> VerifyResult:
    """Import the package (with its layers) as Lambda would; call the handler with the event.

    runtime_sdk: a zip standing in for the SDK the runtime provides (/var/runtime).
    runtime_libraries_only: hide the host's shared libraries that the runtime lacks."""
    if not artifact.is_file():
        raise ConfigError(f"Artifact {artifact} does not exist.", hint="build it first.")
    if event_file is not None:
        _check_event(event_file)
    if runtime_libraries_only and (reason := unavailable_reason()):
        raise ConfigError(
            f"Cannot show the import only the runtime's shared libraries: {reason}.",
            hint="run verify without --runtime-libraries-only (lint rule LP209 still checks "
            "every library need), or on Linux with user namespaces enabled.",
        )
    drop = os.geteuid() == 0 if hasattr(os, "geteuid") else False
    python = find_python(target, drop)
    work = Path(tempfile.mkdtemp(prefix="lpack-verify-", dir=_verify_root()))
    try:
        os.chmod(work, 0o755)
        sandbox = _Sandbox.extract(work, artifact, layers or [], runtime_sdk, event_file)
        modules = [m for m in sandbox.modules(handler) if m not in (skip or [])]
        payload = [
            str(sandbox.task),
            [str(d) for d in sandbox.layers],
            str(sandbox.runtime) if sandbox.runtime else None,
            "{}.{}".format(*target.python_version),
            modules,
            handler,
            str(sandbox.event) if sandbox.event else None,
        ]
        env = lambda_environment(target, sandbox.task, name, handler)
        argv = [str(python), "-I", "-S", "-c", _harness_source(), json.dumps(payload)]
        view = stage(target, python, work) if runtime_libraries_only else None
        proc = _run_harness(argv, sandbox.task, env, drop, view, artifact)
        result = VerifyResult(artifact, python, "nobody" if drop else "current user")
        result.libraries = view
        result.stderr = proc.stderr
        _read_events(result, proc.stdout, runtime_sdk is not None)
        if not result.completed:
            _account_for_crash(result, proc, modules, python)
        return result
    finally:
        for folder, dirs, _ in os.walk(work):
            for d in dirs:
                os.chmod(os.path.join(folder, d), 0o755)
        shutil.rmtree(work, ignore_errors=True)


def _run_harness(
    argv: list[str],
    task: Path,
    env: dict[str, str],
    drop: bool,
    view: LibraryView | None,
    artifact: Path,
) -> subprocess.CompletedProcess[str]:
    unprivileged: dict[str, Any] = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
    if view is not None:  # the namespace drops to nobody itself, after mounting
        argv, unprivileged = view.command(argv, drop), {}
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            cwd=task,
            timeout=600,
            env=env,
            **(unprivileged if drop else {}),
        )
    except subprocess.TimeoutExpired as exc:
        raise LpackError(f"Verifying {artifact} timed out after 600 s.") from exc


def _check_event(event_file: Path) -> None:
    try:
        json.loads(event_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(
            f"Event file {event_file} is not JSON: {exc}.",
            hint='pass a file holding one JSON value, e.g. {"key": "value"}.',
        ) from exc


@dataclass(frozen=True)
class _Sandbox:
    """The package, its layers and the stand-in SDK, extracted read-only like /var/task."""

    task: Path
    layers: list[Path]
    runtime: Path | None
    event: Path | None

    @classmethod
    def extract(
        cls, work: Path, artifact: Path, layers: list[Path], sdk: Path | None, event: Path | None
    ) -> _Sandbox:
        task = work / "task"
        task.mkdir()
        _safe_extract(artifact, task)
        layer_dirs = []
        for i, layer in enumerate(layers):
            layer_dir = work / f"layer{i}"
            layer_dir.mkdir()
            _safe_extract(layer, layer_dir)
            layer_dirs.append(layer_dir)
        runtime = None
        if sdk is not None:
            runtime = work / "runtime"
            runtime.mkdir()
            _safe_extract(sdk, runtime)
        event_copy = None
        if event is not None:
            event_copy = work / "event.json"
            shutil.copyfile(event, event_copy)
            os.chmod(event_copy, 0o444)
        return cls(task, layer_dirs, runtime, event_copy)

    def modules(self, handler: str | None) -> list[str]:
        """The handler's module, then every top-level module of the function and its layers."""
        modules = []
        if handler:
            modules.append(handler.rpartition(".")[0].replace("/", "."))
        for root in [self.task, *[d / "python" for d in self.layers]]:
            if root.is_dir():
                found = top_level_modules(root, single_modules=root != self.task)
                modules += [m for m in found if m not in modules]
        return modules


def _read_events(result: VerifyResult, stdout: str, with_sdk: bool) -> None:
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("kind")
        if kind == "import":
            result.imports.append(_import_result(event, with_sdk))
        elif kind == "metadata":
            detail = (
                event.get("version", "")
                if event["ok"]
                else (f"{event['type']}: {event['message']}")
            )
            result.metadata.append(ModuleResult(event["name"], event["ok"], detail))
        elif kind == "invoke":
            result.invoke = event
        elif kind == "handler" and not event["ok"]:
            if not with_sdk and _provided_by_runtime(event):
                continue  # it needs the runtime's SDK, which Lambda provides
            result.imports.append(
                ModuleResult(
                    f"handler {event['handler']}",
                    False,
                    f"{event['type']}: {event['message']}",
                    event.get("traceback", ""),
                )
            )
        elif kind == "done":
            result.completed = True


def _import_result(event: dict[str, Any], with_sdk: bool) -> ModuleResult:
    provided = None if with_sdk else _provided_by_runtime(event)
    if provided:
        return ModuleResult(
            event["module"],
            True,
            f"needs the runtime's own {provided} (not in the package; Lambda provides it)",
        )
    if event["ok"]:
        return ModuleResult(event["module"], True, event.get("file", ""))
    return ModuleResult(
        event["module"], False, f"{event['type']}: {event['message']}", event.get("traceback", "")
    )


def _account_for_crash(
    result: VerifyResult, proc: subprocess.CompletedProcess[str], modules: list[str], python: Path
) -> None:
    """The interpreter died part-way (a segfault, os._exit): whatever was not reported is a
    failure, and the cause is the exit status."""
    cause = (
        f"killed by signal {-proc.returncode}"
        if proc.returncode < 0
        else f"exited with {proc.returncode} before finishing"
    )
    reported = {r.module for r in result.imports}
    pending = [m for m in modules if m not in reported]
    for module in pending[:1] or ["(interpreter)"]:
        result.imports.append(
            ModuleResult(module, False, f"interpreter {cause}", proc.stderr[-2000:])
        )
    for module in pending[1:]:
        result.imports.append(ModuleResult(module, False, "not reached: " + cause))
    if not any(r.ok for r in result.imports) and not modules:
        raise LpackError(
            f"The verifying interpreter {python} failed to start: {proc.stderr.strip()[-500:]}",
        )
