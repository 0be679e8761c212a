"""The program `lpack verify` runs inside the target's Python, as Lambda's bootstrap would.

verify.py passes this file's text to `python -I -S -c` (an unprivileged user may not be able
to read lpack's install folder), with one JSON argument. It must run on every Python the
runtimes use (3.9 and later) with nothing but the standard library, and it reports on a
private copy of stdout, one JSON event per line, ending with {"kind": "done"}. Before each
step that runs the package's code it says which ({"kind": "begin"}), so a step that hangs or
kills the interpreter can be named. With its last argument set (verify --profile) it imports
only the handler's module, timed, under -X importtime, and says how many of the package's
modules came from bytecode.

It imports as little as it can before the package is on sys.path: a module already imported
cannot be shadowed by the package, so a shipped typing.py must still be found as Lambda would
find it (typing is named for the type checker only).
"""

from __future__ import annotations

import importlib
import json
import os
import site
import sys
import time
import traceback

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO


class Events:
    """Events go to a private copy of stdout; whatever the imported code prints goes to
    stderr, so it can never corrupt or hide a result line."""

    def __init__(self) -> None:
        self.out: TextIO = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)

    def emit(self, **data: Any) -> None:
        self.out.write(json.dumps(data, default=repr) + "\n")
        self.out.flush()


def failure(exc: BaseException) -> dict[str, str]:
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return {"type": type(exc).__name__, "message": str(exc), "traceback": "".join(frames)[-4000:]}


def lambda_sys_path(task: str, layers: list[str], runtime_dir: str | None, version: str) -> None:
    """/var/task first (its .pth files processed), then each layer, then the runtime's SDK,
    then the standard library: the order Lambda's bootstrap gives."""
    stdlib = list(sys.path)
    sys.path[:] = []
    site.addsitedir(task)
    for layer in layers:
        for sub in (f"python/lib/python{version}/site-packages", "python"):
            path = os.path.join(layer, sub)
            if os.path.isdir(path):
                site.addsitedir(path)
    if runtime_dir:
        sys.path.append(runtime_dir)  # the runtime's own SDK sits after the layers (/var/runtime)
    sys.path.extend(stdlib)


def import_all(events: Events, modules: list[str]) -> None:
    for name in modules:
        events.emit(kind="begin", step="import", name=name)
        start = time.perf_counter()
        try:
            module = importlib.import_module(name)
            where = getattr(module, "__file__", None) or str(getattr(module, "__path__", ""))
            seconds = round(time.perf_counter() - start, 3)
            events.emit(kind="import", module=name, ok=True, file=where, seconds=seconds)
        except BaseException as exc:  # SystemExit and friends are failures too
            events.emit(kind="import", module=name, ok=False, **failure(exc))


def check_metadata(events: Events, task: str) -> None:
    """importlib.metadata must find every distribution that ships its dist-info."""
    import importlib.metadata as metadata

    for entry in sorted(os.listdir(task)):
        if not entry.endswith(".dist-info"):
            continue
        name = entry[: -len(".dist-info")].rsplit("-", 1)[0]
        try:
            found = metadata.version(name)
            if not found:
                raise LookupError(f"{entry}/METADATA is missing or has no Version")
            events.emit(kind="metadata", name=name, ok=True, version=found)
        except BaseException as exc:
            events.emit(kind="metadata", name=name, ok=False, **failure(exc))


def _handler_function(handler: str) -> Any:
    module_name, _, function = handler.rpartition(".")
    return getattr(importlib.import_module(module_name.replace("/", ".")), function)


def check_handler(events: Events, handler: str) -> None:
    events.emit(kind="begin", step="handler", name=handler)
    try:
        if not callable(_handler_function(handler)):
            raise TypeError(f"{handler} is not callable")
        events.emit(kind="handler", handler=handler, ok=True)
    except BaseException as exc:
        events.emit(kind="handler", handler=handler, ok=False, **failure(exc))


class Context:
    """The context object Lambda passes a handler, with this invocation's names."""

    def __init__(self) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"
        )
        self.aws_request_id = "00000000-0000-4000-8000-000000000000"
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self._deadline = time.monotonic() + 3.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def invoke(events: Events, handler: str, event_path: str) -> None:
    events.emit(kind="begin", step="invoke", name=handler)
    try:
        with open(event_path, encoding="utf-8") as fh:
            event = json.load(fh)
        result = _handler_function(handler)(event, Context())
        events.emit(kind="invoke", handler=handler, ok=True, result=result)
    except BaseException as exc:
        events.emit(kind="invoke", handler=handler, ok=False, **failure(exc))


def pyc_is_valid(source: str, cached: str) -> bool:
    """What the source loader checks before it uses a cached .pyc (PEP 552)."""
    import importlib.util

    try:
        with open(cached, "rb") as fh:
            header = fh.read(16)
        if header[:4] != importlib.util.MAGIC_NUMBER:
            return False
        flags = int.from_bytes(header[4:8], "little")
        if flags & 1:  # hash-based: unchecked ones are used as they are
            if not flags & 2:
                return True
            with open(source, "rb") as fh:
                return importlib.util.source_hash(fh.read()) == header[8:16]
        st = os.stat(source)
        recorded = (int(st.st_mtime) & 0xFFFFFFFF, st.st_size & 0xFFFFFFFF)
        return recorded == (
            int.from_bytes(header[8:12], "little"),
            int.from_bytes(header[12:16], "little"),
        )
    except OSError:
        return False


def loaded_from(module: Any, prefixes: tuple[str, ...]) -> str:
    """ "pyc", "source", "stale" (compiled from source past a .pyc that did not match it),
    or "" for what the package did not ship (the standard library, the SDK, extensions)."""
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None)
    if not isinstance(origin, str) or not origin.startswith(prefixes):
        return ""
    if origin.endswith(".pyc"):
        return "pyc"
    if not origin.endswith(".py"):
        return ""
    cached = getattr(spec, "cached", None)
    if not isinstance(cached, str) or not os.path.isfile(cached):
        return "source"
    return "pyc" if pyc_is_valid(origin, cached) else "stale"


def bytecode_use(names: list[str], roots: list[str]) -> dict[str, int]:
    """How the package's own Python modules among these were loaded, counted."""
    prefixes = tuple(os.path.join(root, "") for root in roots)
    counts = {"pyc": 0, "source": 0, "stale": 0}
    for name in names:
        try:
            kind = loaded_from(sys.modules.get(name), prefixes)
        except Exception:  # a module object of the package's own making
            continue
        if kind:
            counts[kind] += 1
    return counts


def profile_import(events: Events, module: str, roots: list[str]) -> None:
    """Import the handler's module alone, timed; verify runs this with -X importtime."""
    events.emit(kind="begin", step="profile", name=module)
    before = set(sys.modules)
    start = time.perf_counter()
    try:
        __import__(module)  # importlib.import_module's path is not timed by -X importtime
    except BaseException as exc:
        events.emit(kind="profile", module=module, ok=False, **failure(exc))
        return
    seconds = time.perf_counter() - start
    counts = bytecode_use([n for n in list(sys.modules) if n not in before], roots)
    events.emit(
        kind="profile",
        module=module,
        ok=True,
        seconds=round(seconds, 6),
        from_pyc=counts["pyc"],
        from_source=counts["source"] + counts["stale"],
        stale_pyc=counts["stale"],
    )


def main(argv: list[str]) -> None:
    task, layers, runtime_dir, version, modules, handler, event_path, profile = json.loads(argv[0])
    events = Events()
    events.emit(kind="begin", step="path", name="sys.path (its .pth files)")
    lambda_sys_path(task, layers, runtime_dir, version)
    if profile:
        profile_import(events, modules[0], [task, *layers])
        events.emit(kind="done")
        return
    import_all(events, modules)
    check_metadata(events, task)
    if handler and not event_path:
        check_handler(events, handler)
    if handler and event_path:
        invoke(events, handler, event_path)
    events.emit(kind="done")


if __name__ == "__main__":
    main(sys.argv[1:])
