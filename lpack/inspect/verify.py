"""lpack verify: import a package the way Lambda would, before Lambda does.

The zip is extracted read-only, with its modes, into a folder any user can traverse
(extract.py); a Python of the target's version (for another CPU's package, that CPU's
under qemu-user: emulation.py) runs with -I -S (nothing of the host's site-packages: -I
alone keeps them), as an unprivileged user when lpack runs as root (Lambda
runs code as sbx_user1051, so a file that is not world-readable fails here too), with
Lambda's sys.path order and environment variables, contained by sandbox.py: its own
namespaces where Linux gives them, resource limits, a deadline and bounded output.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import platformdirs

from lpack.errors import ConfigError
from lpack.files import why_unusable
from lpack.inspect.emulation import (
    ROOT_ENV,
    SETTING,
    Interpreter,
    check_started,
    interpreter_for,
    start_probe,
)
from lpack.inspect.extract import Extraction, extract, seal, unseal
from lpack.inspect.libsandbox import LibraryView, stage
from lpack.inspect.profile import best_profile, read_run
from lpack.inspect.sandbox import (
    DEFAULT_TIMEOUT,
    EMULATED_TIMEOUT,
    EVENTS_CAP,
    Isolation,
    Outcome,
    Plan,
    check_setup,
    isolation_for,
    run,
)
from lpack.inspect.verify_result import NEEDS_RUNTIME, account_for_stop, read_events
from lpack.inspect.verify_result import VerifyResult as VerifyResult
from lpack.pythons import world_reachable
from lpack.target import Target

_EXT_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.(?:cpython-[^.]+|abi3)\.so$")
_NOT_MODULES = {"bin", "include", "share", "__pycache__", "setup", "conftest"}


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
    names: set[str] = set()
    for dist_info in root.glob("*.dist-info"):
        record = dist_info / "RECORD"
        if record.is_file():
            with open(record, encoding="utf-8", errors="replace", newline="") as fh:
                for row in _rows(csv.reader(fh)):
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
        if base.is_dir() and world_reachable(base):
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
    timeout: float | None = None,
    private: Sequence[Path] = (),
    profile_runs: int = 0,
    emulation_root: Path | None = None,
    setting: str = SETTING,
) -> VerifyResult:
    """Import the package (with its layers) as Lambda would; call the handler with the event.

    runtime_sdk: a zip standing in for the SDK the runtime provides (/var/runtime).
    runtime_libraries_only: hide the host's shared libraries that the runtime lacks.
    timeout: seconds the run may take, a step still running then fails (None: the default).
    private: folders the package must not see (with $HOME, lpack's cache, the working one).
    profile_runs: then time the handler's module alone in that many fresh interpreters.
    emulation_root: another CPU's root with the runtime's Python (None: $LPACK_EMULATION_ROOT).
    setting: how the caller's user sets that root (refusals name it)."""
    _check_inputs(artifact, [*(layers or []), *([runtime_sdk] if runtime_sdk else [])])
    _check_request(artifact, event_file, handler, profile_runs)
    packages = [artifact, *(layers or [])]
    interpreter, isolation = _runner(
        target, packages, (emulation_root, setting), runtime_libraries_only, profile_runs
    )
    timeout = timeout or (EMULATED_TIMEOUT if interpreter.emulator else DEFAULT_TIMEOUT)
    python, prelude = interpreter.python, interpreter.prelude
    work = Path(tempfile.mkdtemp(prefix="lpack-verify-", dir=_verify_root()))
    try:
        os.chmod(work, 0o755)
        sandbox = _Sandbox.extract(work, artifact, layers or [], runtime_sdk, event_file)
        modules = [m for m in sandbox.modules(handler) if m not in (skip or [])]
        argv = sandbox.harness(interpreter, target, modules, handler)
        env = lambda_environment(target, sandbox.task, name, handler)
        view = stage(target, python, work) if runtime_libraries_only else None
        plan = Plan(isolation, sandbox.task, [str(work), *interpreter.folders()], timeout=timeout)
        plan.hide = _private_folders([artifact.parent, *private])
        plan.binds = view.binds() if view else []
        if interpreter.emulator:  # the root may be the project's: it runs contained too
            _check_starts(plan, interpreter, target, env, artifact)
        outcome = run(plan.command(prelude, argv), sandbox.task, env, timeout)
        check_setup(outcome, artifact)
        result = _result(artifact, interpreter, plan, view, outcome)
        step = read_events(result, outcome, runtime_sdk is not None)
        if not result.completed:
            account_for_stop(result, outcome, step, modules, python, timeout)
        if profile_runs and handler:
            argv = plan.command(prelude, sandbox.harness(interpreter, target, [], handler, True))
            again = partial(run, argv, sandbox.task, env, timeout, EVENTS_CAP)
            _profile(result, sandbox.modules(handler)[0], again, profile_runs)
        return result
    finally:
        unseal(work)
        shutil.rmtree(work, ignore_errors=True)


def _result(
    artifact: Path, interpreter: Interpreter, plan: Plan, view: LibraryView | None, run: Outcome
) -> VerifyResult:
    """The result of a run, before its events are read."""
    user = plan.isolation.user
    result = VerifyResult(artifact, interpreter.python, user, isolation=plan.describe())
    result.libraries, result.emulator, result.stderr = view, interpreter.emulator, run.stderr
    return result


def _check_starts(
    plan: Plan, interpreter: Interpreter, target: Target, env: dict[str, str], artifact: Path
) -> None:
    """The emulation root's Python starts, tried in the sandbox the package will run in."""
    argv = plan.command(interpreter.prelude, start_probe(interpreter))
    probe = run(argv, plan.cwd, env, 60)
    check_setup(probe, artifact)
    check_started(interpreter, target, probe, plan.isolation.user)


def _runner(
    target: Target,
    packages: list[Path],
    root_setting: tuple[Path | None, str],
    runtime_libraries_only: bool,
    profile_runs: int,
) -> tuple[Interpreter, Isolation]:
    """The interpreter for the package and the isolation its sandbox gets; ConfigError when
    either cannot do what was asked."""
    drop = os.geteuid() == 0 if hasattr(os, "geteuid") else False
    emulation_root, setting = root_setting
    if emulation_root is None and os.environ.get(ROOT_ENV):
        emulation_root = Path(os.environ[ROOT_ENV])
    interpreter = interpreter_for(target, packages, drop, emulation_root, setting)
    if interpreter.emulator:
        _check_emulated_request(runtime_libraries_only, profile_runs)
    isolation = isolation_for(interpreter.prelude)
    if runtime_libraries_only and not isolation.namespaces:
        raise ConfigError(
            f"Cannot show the import only the runtime's shared libraries: {isolation.reason}.",
            hint="run verify without --runtime-libraries-only (lint rule LP209 still checks "
            "every library need), or on Linux with user namespaces enabled.",
        )
    return interpreter, isolation


def _check_emulated_request(runtime_libraries_only: bool, profile_runs: int) -> None:
    if runtime_libraries_only:
        raise ConfigError(
            "--runtime-libraries-only hides this machine's own shared libraries; under "
            "emulation the package sees only the emulation root's.",
            hint="drop --runtime-libraries-only (lint rule LP209 still checks every library "
            "need), or verify on a machine of the package's CPU.",
        )
    if profile_runs:
        raise ConfigError(
            "--profile times the cold import, and under emulation those times say nothing "
            "of Lambda's.",
            hint="drop --profile, or profile on a machine of the package's CPU.",
        )


def _check_request(
    artifact: Path, event_file: Path | None, handler: str | None, profile_runs: int
) -> None:
    if event_file is not None:
        _check_event(event_file)
    if profile_runs and not handler:
        raise ConfigError(
            f"--profile times the import of the handler's module, and {artifact} has no "
            "handler (a layer has none; a function's is its `handler` setting).",
            hint="pass --handler MODULE.FUNCTION (or set `handler` in [tool.lpack]); for a "
            "layer, profile a function that uses it: lpack verify FUNCTION.zip --layer "
            "LAYER.zip --handler MODULE.FUNCTION --profile.",
        )


def _profile(result: VerifyResult, module: str, run_once: Callable[[], Outcome], runs: int) -> None:
    """The handler's cold import, the best of runs fresh interpreters; skipped, with the
    reason, when the verify run did not import the handler's module."""
    verified = next((r for r in result.imports if r.module == module), None)
    if verified is None or not verified.ok:
        why = "was skipped (--skip)" if verified is None else "did not import (see imports)"
        result.profile_skipped = f"{module} {why}"
        return
    if verified.detail.startswith(NEEDS_RUNTIME):
        result.profile_skipped = f"{module} {verified.detail}: verify has no copy of it to time"
        return
    done: list[tuple[dict[str, object], str]] = []
    for _ in range(runs):
        outcome = run_once()
        event = read_run(outcome, module)
        if isinstance(event, str):
            result.profile_skipped = event
            return
        done.append((event, outcome.stderr))
    found = best_profile(done, module)
    if isinstance(found, str):
        result.profile_skipped = found
    else:
        result.profile = found


def _check_inputs(artifact: Path, zips: list[Path]) -> None:
    """Regular files only: a FIFO or a device would block the extraction forever."""
    if not artifact.is_file():
        raise ConfigError(
            f"Artifact {artifact} {why_unusable(artifact)}.",
            hint="pass the zip lpack build wrote (build it first).",
        )
    for path in zips:
        if not path.is_file():
            raise ConfigError(f"{path} {why_unusable(path)}.", hint="pass a layer's zip.")


# Folders that hold what every program needs: never covered, nor is any folder above them.
_SYSTEM = [
    Path(folder)
    for folder in (
        "/bin",
        "/dev",
        "/etc",
        "/lib",
        "/lib64",
        "/proc",
        "/sbin",
        "/tmp",
        "/usr",
        "/var",
    )
]


# Where services listen on Unix sockets (a session bus could start a process outside every
# namespace: `systemd-run --user`) and shared memory: a read-only mount does not stop
# connect(), so they are covered. Lambda has no /dev/shm either.
_SOCKET_FOLDERS = [Path("/run"), Path("/var/run"), Path("/var/tmp"), Path("/dev/shm")]


def _private_folders(extra: Sequence[Path]) -> list[str]:
    """$HOME, lpack's cache, the working folder and extra: what the package must not read
    (credentials, the project's .env), covered where there are namespaces."""
    cache = os.environ.get("LPACK_CACHE_DIR") or platformdirs.user_cache_dir("lpack")
    folders = [Path.home(), Path(cache), *_SOCKET_FOLDERS, *extra]
    try:
        folders.append(Path.cwd())
    except OSError:
        pass  # a working folder that was removed shows nothing
    found: dict[str, None] = {}
    for folder in folders:
        path = folder.resolve()
        if path.is_dir() and not any(path == s or path in s.parents for s in _SYSTEM):
            found.setdefault(str(path))
    return list(found)


def _rows(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """A RECORD's rows until one cannot be read (a field past csv's limit): what a damaged
    or hostile RECORD lists after that is not trusted to name modules."""
    try:
        yield from reader
    except csv.Error:
        return


# Lambda's own limit on a synchronous invocation's payload.
MAX_EVENT = 6 * 1024**2


def _check_event(event_file: Path) -> None:
    if not event_file.is_file():
        raise ConfigError(
            f"Event file {event_file} {why_unusable(event_file)}.",
            hint='pass a file holding one JSON value, e.g. {"key": "value"}.',
        )
    if event_file.stat().st_size > MAX_EVENT:
        raise ConfigError(
            f"Event file {event_file} is {event_file.stat().st_size:,} B; Lambda accepts at "
            f"most {MAX_EVENT:,} B for an invocation's event.",
            hint="pass a smaller event, as Lambda would receive it.",
        )
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
    found: list[str]  # top-level modules of the function, then of each layer

    @classmethod
    def extract(
        cls, work: Path, artifact: Path, layers: list[Path], sdk: Path | None, event: Path | None
    ) -> _Sandbox:
        state = Extraction()  # one budget for the function, its layers and the SDK
        task = work / "task"
        layer_dirs = [work / f"layer{i}" for i in range(len(layers))]
        runtime = work / "runtime" if sdk is not None else None
        pairs = zip([artifact, *layers, sdk], [task, *layer_dirs, runtime], strict=True)
        for source, folder in pairs:
            if source is not None and folder is not None:
                folder.mkdir()
                extract(source, folder, state)
        found: list[str] = []  # read before sealing: lpack reads what the zip lets only it read
        for root in [task, *[d / "python" for d in layer_dirs]]:
            if root.is_dir():
                modules = top_level_modules(root, single_modules=root != task)
                found += [m for m in modules if m not in found]
        for folder in [task, *layer_dirs, *([runtime] if runtime else [])]:
            seal(folder, state)
        event_copy = None
        if event is not None:
            event_copy = work / "event.json"
            shutil.copyfile(event, event_copy)
            os.chmod(event_copy, 0o444)
        return cls(task, layer_dirs, runtime, event_copy, found)

    def harness(
        self,
        interpreter: Interpreter,
        target: Target,
        modules: list[str],
        handler: str | None,
        profile: bool = False,
    ) -> list[str]:
        """The harness's command line: its source and what it is to import and call; or, to
        profile, the handler's module alone with -X importtime and no bytecode written (-B:
        -I ignores PYTHONDONTWRITEBYTECODE)."""
        if profile and handler:
            modules = self.modules(handler)[:1]
        payload = [
            str(self.task),
            [str(d) for d in self.layers],
            str(self.runtime) if self.runtime else None,
            "{}.{}".format(*target.python_version),
            modules,
            handler,
            str(self.event) if self.event else None,
            profile,
        ]
        flags = ["-B", "-X", "importtime"] if profile else []
        command = interpreter.command
        return [*command, "-I", "-S", *flags, "-c", _harness_source(), json.dumps(payload)]

    def modules(self, handler: str | None) -> list[str]:
        """The handler's module, then every top-level module of the function and its layers."""
        first = [handler.rpartition(".")[0].replace("/", ".")] if handler else []
        return first + [m for m in self.found if m not in first]
