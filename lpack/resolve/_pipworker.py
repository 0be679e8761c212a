"""Subprocess that drives pip-tools and pip for a Lambda target (the only module touching pip).

pip-compile evaluates markers, Requires-Python and wheel tags against the *host*
interpreter. Here, in a throwaway process so the patches never leak, pip is told the
target's marker environment, Python version and tag set before pip-compile runs.

Protocol: one JSON request on stdin; JSON lines on stdout (events, then a final
"result" or "error"); pip's and pip-tools' own logging goes to stderr. The client side is
lpack/resolve/worker.py.

pip's internals change between releases: the worker checks pip's and pip-tools' versions
against the ranges these patches are tested with before touching anything private.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import sys
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pip
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from pip._internal.commands import create_command
from pip._internal.models.format_control import FormatControl
from pip._internal.models.target_python import TargetPython
from pip._vendor.packaging import markers as pip_markers
from pip._vendor.packaging.tags import Tag as PipTag
from pip._vendor.packaging.utils import canonicalize_name

from lpack.resolve.cache import WheelCache
from lpack.resolve.download import HashMismatch, download
from lpack.resolve.network import (
    FetchFailureLog,
    NetworkFailed,
    NetworkLimits,
    classify,
    network_cause,
    url_of,
)
from lpack.target import Target

# The releases the patches below are tested with; pyproject.toml pins the same ranges.
SUPPORTED_PIP = SpecifierSet(">=25.1,<26.3")
SUPPORTED_PIP_TOOLS = SpecifierSet(">=7.5,<7.7")

_OUT = sys.stdout
_EMITTING = threading.Lock()  # downloads run 4 at a time: one whole line per event


def emit(event: str, **data: Any) -> None:
    line = json.dumps({"event": event, **data}) + "\n"
    with _EMITTING:
        _OUT.write(line)
        _OUT.flush()


class LambdaTargetPython(TargetPython):
    """pip's view of the interpreter, answered with the Lambda runtime's tags."""

    def __init__(self, target: Target) -> None:
        super().__init__(
            platforms=target.platforms,
            py_version_info=target.python_version,
            abis=[target.interpreter],
            implementation="cp",
        )
        self._lambda_tags = [PipTag(t.interpreter, t.abi, t.platform) for t in target.tags]
        self._tag_set = frozenset(self._lambda_tags)

    def get_sorted_tags(self) -> list[PipTag]:
        return list(self._lambda_tags)

    def get_unsorted_tags(self) -> set[PipTag]:
        # pip asks once per link: 15,000 times for pydantic-core's index page. Building the
        # set each time cost 0.8 s of a cold fetch; pip only tests membership in it.
        return self._tag_set  # type: ignore[return-value]


class LambdaFormatControl(FormatControl):
    """Wheels only, except for the sdists the user explicitly allowed (:all: or names)."""

    def __init__(self, allow_sdist: list[str]) -> None:
        super().__init__(set(), {":all:"})
        self.allow_sdist = {canonicalize_name(n) for n in allow_sdist if n != ":all:"}
        self.allow_all_sdists = ":all:" in allow_sdist

    def get_allowed_formats(self, canonical_name: str) -> frozenset[str]:
        if self.allow_all_sdists or canonical_name in self.allow_sdist:
            return frozenset({"binary", "source"})
        return frozenset({"binary"})


_ARCHIVES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar", ".egg")


class SkipLog:
    """Why each file of each project was passed over: the raw material of error messages."""

    def __init__(self) -> None:
        self.by_project: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)
        self.seen_links: dict[str, int] = defaultdict(int)
        # The project being evaluated, per thread: file names cannot tell it reliably
        # (python-dateutil-1.5.tar.gz), and fetch evaluates several projects at once.
        self._current = threading.local()

    def attach(self, finder: Any) -> None:
        original_skip = finder._log_skipped_link
        original_candidate = finder.get_install_candidate

        def log_skip(link: Any, result: Any, detail: str) -> None:
            # find-links folders list every project's files: those are not this project's;
            # and a link that is no distribution file (an index page) proves nothing.
            if result.name != "different_project" and link.filename.endswith(_ARCHIVES):
                project = getattr(self._current, "project", None) or _project_of(link.filename)
                self.by_project[project].append(
                    (link.filename, result.name, detail, link.requires_python or "")
                )
                self.seen_links[project] += 1
            original_skip(link, result, detail)

        def get_install_candidate(link_evaluator: Any, link: Any) -> Any:
            project = canonicalize_name(link_evaluator.project_name)
            self._current.project = project
            candidate = original_candidate(link_evaluator, link)
            if candidate is not None:
                self.seen_links[project] += 1
            return candidate

        finder._log_skipped_link = log_skip
        finder.get_install_candidate = get_install_candidate


def _project_of(filename: str) -> str:
    base = filename.split("-", 1)[0]
    return canonicalize_name(base)


def make_finder(
    target: Target, allow_sdist: list[str], pip_args: list[str]
) -> tuple[Any, Any, Any, Any]:
    """A pip command, session and finder that see the index as the Lambda target would."""
    command: Any = create_command("install")
    options, _ = command.parse_args(pip_args)
    options.format_control = LambdaFormatControl(allow_sdist)
    session = command._build_session(options)
    finder = command._build_package_finder(
        options=options, session=session, target_python=LambdaTargetPython(target)
    )
    return command, options, session, finder


@contextlib.contextmanager
def target_markers(target: Target) -> Iterator[None]:
    """Every marker evaluation in pip (and pip-tools) sees the Lambda runtime."""
    import packaging.markers as markers

    environment = target.marker_environment()

    def target_environment() -> Any:
        return dict(environment)

    modules: list[Any] = [pip_markers, markers]
    saved = [m.default_environment for m in modules]
    for module in modules:
        module.default_environment = target_environment
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.default_environment = original


def run_compile(
    request: dict[str, Any], target: Target, skips: SkipLog, limits: NetworkLimits
) -> None:
    from piptools.repositories import pypi
    from piptools.scripts import compile as pip_compile

    allow_sdist = request["allow_sdist"]

    class LambdaRepository(pypi.PyPIRepository):
        def __init__(self, pip_args: list[str], cache_dir: str) -> None:
            super().__init__(pip_args, cache_dir)
            self._options.format_control = LambdaFormatControl(allow_sdist)
            self._finder = self.command._build_package_finder(
                options=self._options,
                session=self._session,
                target_python=LambdaTargetPython(target),
            )
            skips.attach(self._finder)
            make_resolver = self.command.make_resolver

            def make_target_resolver(*args: Any, **kwargs: Any) -> Any:
                kwargs["py_version_info"] = target.python_version
                return make_resolver(*args, **kwargs)

            self.command.make_resolver = make_target_resolver  # type: ignore[method-assign]

        @contextlib.contextmanager
        def allow_all_wheels(self) -> Iterator[None]:
            # pip-tools hashes every platform's wheels; the lock lists only the files
            # this target can use, which are exactly the files fetch may accept.
            yield

    args = _compile_args(request, limits)
    compile_module: Any = pip_compile  # its PyPIRepository is swapped for ours, then restored
    saved_repo = compile_module.PyPIRepository
    compile_module.PyPIRepository = LambdaRepository
    try:
        with target_markers(target), contextlib.redirect_stdout(sys.stderr):
            pip_compile.cli.main(args=args, prog_name="pip-compile", standalone_mode=False)
    finally:
        compile_module.PyPIRepository = saved_repo


def _compile_args(request: dict[str, Any], limits: NetworkLimits) -> list[str]:
    args = [
        request["src_file"],
        "--output-file",
        request["output_file"],
        "--generate-hashes",
        "--allow-unsafe",
        "--strip-extras",
        "--no-header",
        "--no-emit-index-url",
        "--no-emit-trusted-host",
        "--no-emit-find-links",
        "--no-emit-options",
        "--resolver=backtracking",
        "--cache-dir",
        request["cache_dir"],
        "--pip-args",
        shlex.join(limits.pip_args()),  # pip-tools passes them last: they win
        "--quiet",
    ]
    if request.get("upgrade"):
        args.append("--upgrade")
    for name in request.get("upgrade_packages", []):
        args += ["--upgrade-package", name]
    return args


def _choose(
    pin: dict[str, Any], target: Target, finder: Any, failures: FetchFailureLog
) -> tuple[str, str] | dict[str, Any]:
    """(filename, url) of the pin's file for the target, or a "missing" result."""
    name, version, allowed = pin["name"], pin["version"], set(pin["hashes"])
    if pin.get("url"):  # a foreign lock recorded where its file is
        return pin.get("filename") or pin["url"].rsplit("/", 1)[-1], pin["url"]
    candidates = [c for c in finder.find_all_candidates(name) if str(c.version) == version]
    choices = []
    for cand in candidates:
        link = cand.link
        if link.hash_name == "sha256" and allowed and link.hash not in allowed:
            continue
        if link.is_wheel:
            rank = target.wheel_rank(link.filename)
            if rank is None:
                continue
        else:
            rank = 1 << 30  # an sdist: only when no wheel fits (and it was allowed)
        choices.append((rank, link.filename, link))
    unreachable = failures.unreachable(name)
    if not choices and unreachable:  # the index that failed may hold it: not "stale"
        raise NetworkFailed(f"{name}=={version}", unreachable, "resolve")
    if not choices:
        files = sorted(c.link.filename for c in candidates)
        return {"name": name, "version": version, "status": "missing", "files": files}
    choices.sort(key=lambda item: (item[0], item[1]))
    _, filename, link = choices[0]
    return filename, link.url_without_fragment


def run_fetch(
    request: dict[str, Any], target: Target, skips: SkipLog, failures: FetchFailureLog
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    cache = WheelCache(Path(request["cache_root"]))
    limits = failures.limits
    pip_args = request["pip_args"] + limits.pip_args()
    _, _, session, finder = make_finder(target, request["allow_sdist"], pip_args)
    skips.attach(finder)

    def on_retry(url: str, attempt: int, error: str) -> None:
        emit("retry", url=url, attempt=attempt, error=error)

    def fetch_one(pin: dict[str, Any]) -> dict[str, Any]:
        name, version = pin["name"], pin["version"]
        allowed = set(pin["hashes"])
        chosen = _choose(pin, target, finder, failures)
        if isinstance(chosen, dict):
            return chosen
        filename, url = chosen
        package = f"{name}=={version}"

        def on_bytes(size: int | None, amount: int) -> None:
            # The live display's byte counts: a size when the body starts, then each chunk.
            emit("downloading", name=name, size=size, amount=amount)

        tmp, digest = download(session, url, package, cache, allowed, limits, on_retry, on_bytes)
        path = cache.store(tmp, digest, filename)
        emit("fetched", name=name, filename=filename, size=path.stat().st_size, sha256=digest)
        return {
            "name": name,
            "version": version,
            "status": "ok",
            "filename": filename,
            "sha256": digest,
            "path": str(path),
        }

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(fetch_one, request["pins"]))
    emit("result", pins=results)


def _skip_summary(skips: SkipLog, name: str | None) -> dict[str, Any]:
    if name is None:
        return {}
    key = canonicalize_name(name)
    entries = skips.by_project.get(key, [])
    return {
        "project": key,
        "links_seen": skips.seen_links.get(key, 0),
        # pip checks tags before Requires-Python, so every file's Requires-Python is kept
        # for the explanation, whatever the first reason pip found to skip it.
        "skipped": [{"file": f, "kind": kind, "requires_python": rp} for f, kind, _, rp in entries],
    }


def _skipped_files(skips: SkipLog) -> dict[str, list[list[str]]]:
    """Every file passed over, by project: why a lock holds an older release."""
    return {
        project: [[f, kind, rp] for f, kind, _, rp in entries]
        for project, entries in skips.by_project.items()
    }


def _conflict_lines(exc: BaseException) -> list[str]:
    """pip's "The conflict is caused by" lines, rebuilt from ResolutionImpossible."""
    cause = exc.__cause__
    lines = []
    for info in getattr(cause, "causes", None) or []:
        req = info.requirement.format_for_error()
        parent = info.parent
        if parent is None:
            lines.append(f"The user requested {req}")
        else:
            lines.append(f"{parent.name} {parent.version} depends on {req}")
    return sorted(set(lines))


_NOT_FOUND = re.compile(r"No matching distribution found for ([^\s;]+)")


def unsupported_versions() -> str | None:
    """Why this pip or pip-tools cannot be driven safely, or None when both fit."""
    from importlib.metadata import version

    found = {
        "pip": (pip.__version__, SUPPORTED_PIP),
        "pip-tools": (version("pip-tools"), SUPPORTED_PIP_TOOLS),
    }
    wrong = [
        f"{name} {have} (lpack needs {wanted})"
        for name, (have, wanted) in found.items()
        if Version(have) not in wanted
    ]
    return "; ".join(wrong) or None


def _exit_with_parent() -> None:
    """End when lpack does: a SIGKILLed lpack cannot stop its worker, and an orphan would
    go on resolving or downloading for nobody (the parent's death reparents us)."""
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(143)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main() -> int:
    _exit_with_parent()
    request = json.load(sys.stdin)
    wrong = unsupported_versions()
    if wrong:
        emit("error", kind="unsupported-pip", message=wrong)
        return 1
    target = Target.from_names(request["runtime"], request["arch"])
    skips = SkipLog()
    failures = FetchFailureLog(NetworkLimits(**request.get("network", {})))
    failures.install()
    os.environ.setdefault("PIP_NO_INPUT", "1")
    try:
        if request["mode"] == "compile":
            run_compile(request, target, skips, failures.limits)
            emit("result", skipped=_skipped_files(skips))
        elif request["mode"] == "fetch":
            run_fetch(request, target, skips, failures)
        else:
            raise ValueError(f"unknown mode {request['mode']!r}")
    except SystemExit as exc:  # pip-compile reports its own errors then exits
        if exc.code in (0, None):
            emit("result", skipped=_skipped_files(skips))
            return 0
        unreachable = failures.unreachable()
        if unreachable:
            emit(
                "error",
                **NetworkFailed(None, unreachable, "resolve").event(),
            )
            return 1
        emit("error", kind="pip-compile", message=f"pip-compile exited with {exc.code}")
        return 1
    except HashMismatch as exc:
        emit("error", kind="hash-mismatch", url=exc.url, got=exc.got, expected=sorted(exc.expected))
        return 1
    except NetworkFailed as exc:
        emit("error", **exc.event())
        return 1
    except Exception as exc:
        emit("error", **_error_event(exc, skips, failures))
        return 1
    return 0


def _error_event(exc: Exception, skips: SkipLog, failures: FetchFailureLog) -> dict[str, Any]:
    """What failed, in the protocol's terms: the index (network), the disk, or the inputs."""
    message = str(exc)
    match = _NOT_FOUND.search(message)
    requirement = match.group(1) if match else None
    name = re.split(r"[<>=!~\[ ]", requirement, maxsplit=1)[0] if requirement else None
    if name and failures.unreachable(name):  # no files because the index failed to answer
        return NetworkFailed(requirement, failures.unreachable(name), "resolve").event()
    cause = network_cause(exc)
    if cause is not None:  # a metadata or hash download failed mid-resolution
        failed = [classify(url_of(cause) or "", cause, failures.limits), *failures.unreachable()]
        return NetworkFailed(None, failed, "resolve").event()
    if isinstance(exc, OSError) and exc.errno is not None:  # pip's cache or the lock's temp
        return {"kind": "os-error", "errno": exc.errno, "filename": exc.filename}
    if requirement:
        kind = "not-found"
    elif type(exc.__cause__).__name__ == "ResolutionImpossible":
        kind = "conflict"
    else:
        kind = type(exc).__name__
    return {
        "kind": kind,
        "message": message,
        "requirement": requirement,
        "diagnosis": _skip_summary(skips, name),
        "conflict": _conflict_lines(exc),
        "not_found_at": [f.url for f in failures.not_found()],
    }


if __name__ == "__main__":
    sys.exit(main())
