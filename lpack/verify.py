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
from lpack.target import Target

NOBODY = 65534
_EXT_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.(?:cpython-[^.]+|abi3)\.so$")
_NOT_MODULES = {"bin", "include", "share", "__pycache__", "setup", "conftest"}

_HARNESS = r"""
import importlib, json, os, site, sys, time, traceback

task, layers, runtime_dir, version, modules, handler, event_path = json.loads(sys.argv[1])
# Events go to a private copy of stdout; whatever the imported code prints goes to stderr,
# so it can never corrupt or hide a result line.
events = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
stdlib = list(sys.path)
sys.path[:] = []
site.addsitedir(task)  # Lambda's bootstrap: /var/task first, its .pth files processed
for layer in layers:
    for sub in (f"python/lib/python{version}/site-packages", "python"):
        path = os.path.join(layer, sub)
        if os.path.isdir(path):
            site.addsitedir(path)
if runtime_dir:
    sys.path.append(runtime_dir)  # the runtime's own SDK sits after the layers (/var/runtime)
sys.path.extend(stdlib)

def emit(**data):
    events.write(json.dumps(data, default=repr) + "\n")
    events.flush()

def failure(exc):
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return {"type": type(exc).__name__, "message": str(exc), "traceback": "".join(frames)[-4000:]}

for name in modules:
    start = time.perf_counter()
    try:
        module = importlib.import_module(name)
        where = getattr(module, "__file__", None) or str(getattr(module, "__path__", ""))
        emit(kind="import", module=name, ok=True, file=where,
             seconds=round(time.perf_counter() - start, 3))
    except BaseException as exc:  # SystemExit and friends are failures too
        emit(kind="import", module=name, ok=False, **failure(exc))

# importlib.metadata must find every distribution that ships its dist-info.
import importlib.metadata as metadata
for entry in sorted(os.listdir(task)):
    if entry.endswith(".dist-info"):
        name = entry[: -len(".dist-info")].rsplit("-", 1)[0]
        try:
            found = metadata.version(name)
            if not found:
                raise LookupError(f"{entry}/METADATA is missing or has no Version")
            emit(kind="metadata", name=name, ok=True, version=found)
        except BaseException as exc:
            emit(kind="metadata", name=name, ok=False, **failure(exc))

if handler and not event_path:
    module_name, _, function = handler.rpartition(".")
    try:
        target = getattr(importlib.import_module(module_name.replace("/", ".")), function)
        if not callable(target):
            raise TypeError(f"{handler} is not callable")
        emit(kind="handler", handler=handler, ok=True)
    except BaseException as exc:
        emit(kind="handler", handler=handler, ok=False, **failure(exc))

if handler and event_path:
    module_name, _, function = handler.rpartition(".")
    module_name = module_name.replace("/", ".")
    class Context:
        function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        function_version = "$LATEST"
        memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        aws_request_id = "00000000-0000-4000-8000-000000000000"
        log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        _deadline = time.monotonic() + 3.0
        def get_remaining_time_in_millis(self):
            return max(0, int((self._deadline - time.monotonic()) * 1000))
    try:
        with open(event_path, encoding="utf-8") as fh:
            event = json.load(fh)
        function_obj = getattr(importlib.import_module(module_name), function)
        result = function_obj(event, Context())
        emit(kind="invoke", handler=handler, ok=True, result=result)
    except BaseException as exc:
        emit(kind="invoke", handler=handler, ok=False, **failure(exc))

emit(kind="done")
"""


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
    completed: bool = False  # the harness reached its end (no crash, no os._exit)

    @property
    def ok(self) -> bool:
        invoke_ok = self.invoke is None or bool(self.invoke.get("ok"))
        return all(r.ok for r in self.imports + self.metadata) and invoke_ok and bool(self.imports)


RUNTIME_PROVIDED_MODULES = ("boto3", "botocore", "s3transfer", "jmespath")


def _provided_by_runtime(event: dict[str, Any]) -> str | None:
    """The runtime-provided module a failed import was missing, if that was the only cause."""
    if event.get("ok") or event.get("type") != "ModuleNotFoundError":
        return None
    match = re.match(r"No module named '([^'.]+)", event.get("message", ""))
    if match and match.group(1) in RUNTIME_PROVIDED_MODULES:
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


def verify(
    artifact: Path,
    target: Target,
    handler: str | None = None,
    event_file: Path | None = None,
    layers: list[Path] | None = None,
    skip: list[str] | None = None,
    name: str = "function",
    runtime_sdk: Path | None = None,
) -> VerifyResult:
    """runtime_sdk: a zip standing in for the SDK the runtime provides (/var/runtime)."""
    if not artifact.is_file():
        raise ConfigError(f"Artifact {artifact} does not exist.", hint="build it first.")
    if event_file is not None:
        try:
            json.loads(event_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(
                f"Event file {event_file} is not JSON: {exc}.",
                hint='pass a file holding one JSON value, e.g. {"key": "value"}.',
            ) from exc
    drop = os.geteuid() == 0 if hasattr(os, "geteuid") else False
    python = find_python(target, drop)
    work = Path(tempfile.mkdtemp(prefix="lpack-verify-", dir=_verify_root()))
    try:
        os.chmod(work, 0o755)
        task = work / "task"
        task.mkdir()
        _safe_extract(artifact, task)
        layer_dirs = []
        for i, layer in enumerate(layers or []):
            layer_dir = work / f"layer{i}"
            layer_dir.mkdir()
            _safe_extract(layer, layer_dir)
            layer_dirs.append(layer_dir)
        runtime_dir = None
        if runtime_sdk is not None:
            runtime_dir = work / "runtime"
            runtime_dir.mkdir()
            _safe_extract(runtime_sdk, runtime_dir)
        modules = []
        if handler:
            modules.append(handler.rpartition(".")[0].replace("/", "."))
        for root in [task, *[d / "python" for d in layer_dirs]]:
            if root.is_dir():
                found = top_level_modules(root, single_modules=root != task)
                modules += [m for m in found if m not in modules]
        modules = [m for m in modules if m not in (skip or [])]
        event_copy = None
        if event_file is not None:
            event_copy = work / "event.json"
            shutil.copyfile(event_file, event_copy)
            os.chmod(event_copy, 0o444)
        version = "{}.{}".format(*target.python_version)
        payload = json.dumps(
            [
                str(task),
                [str(d) for d in layer_dirs],
                str(runtime_dir) if runtime_dir else None,
                version,
                modules,
                handler,
                str(event_copy) if event_copy else None,
            ]
        )
        extra: dict[str, Any] = {}
        if drop:
            extra = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
        try:
            proc = subprocess.run(
                [str(python), "-I", "-S", "-c", _HARNESS, payload],
                capture_output=True,
                text=True,
                cwd=task,
                timeout=600,
                env=lambda_environment(target, task, name, handler),
                **extra,
            )
        except subprocess.TimeoutExpired as exc:
            raise LpackError(f"Verifying {artifact} timed out after 600 s.") from exc
        result = VerifyResult(artifact, python, "nobody" if drop else "current user")
        result.stderr = proc.stderr
        for line in proc.stdout.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            if event.get("kind") == "import":
                provided = _provided_by_runtime(event) if runtime_sdk is None else None
                if provided:
                    result.imports.append(
                        ModuleResult(
                            event["module"],
                            True,
                            f"needs the runtime's own {provided} "
                            "(not in the package; Lambda provides it)",
                        )
                    )
                elif event["ok"]:
                    result.imports.append(
                        ModuleResult(event["module"], True, event.get("file", ""))
                    )
                else:
                    result.imports.append(
                        ModuleResult(
                            event["module"],
                            False,
                            f"{event['type']}: {event['message']}",
                            event.get("traceback", ""),
                        )
                    )
            elif event.get("kind") == "metadata":
                detail = (
                    event.get("version", "")
                    if event["ok"]
                    else (f"{event['type']}: {event['message']}")
                )
                result.metadata.append(ModuleResult(event["name"], event["ok"], detail))
            elif event.get("kind") == "invoke":
                result.invoke = event
            elif event.get("kind") == "handler" and not event["ok"]:
                result.imports.append(
                    ModuleResult(
                        f"handler {event['handler']}",
                        False,
                        f"{event['type']}: {event['message']}",
                        event.get("traceback", ""),
                    )
                )
            elif event.get("kind") == "done":
                result.completed = True
        if not result.completed:
            # The interpreter died part-way (a segfault, os._exit): whatever was not
            # reported is a failure, and the cause is the exit status.
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
        if not result.completed and not any(r.ok for r in result.imports) and not modules:
            raise LpackError(
                f"The verifying interpreter {python} failed to start: {proc.stderr.strip()[-500:]}",
            )
        return result
    finally:
        for folder, dirs, _ in os.walk(work):
            for d in dirs:
                os.chmod(os.path.join(folder, d), 0o755)
        shutil.rmtree(work, ignore_errors=True)
