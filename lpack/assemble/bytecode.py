"""The bytecode stage: a .pyc beside each shipped .py, compiled by the target's own Python.

Lambda's /var/task (and /opt) is read-only, so Python can never write the .pyc it compiles
on import: without shipped bytecode every cold start compiles every module it imports.
The .pyc are unchecked-hash ones (PEP 552): Python loads them without reading the source
or its time, and their bytes depend only on the source, its path in the package and the
compiling interpreter's release, so the zip stays reproducible. A file that does not
compile (Python 2 syntax in a template) ships without one; that is counted, never fatal.

Compiled bytecode is cached by (interpreter release and magic, source sha256, path) under
the cache dir's bytecode/ folder: a rebuild compiles only what changed. Each cache file is
the .pyc followed by its sha256, so a damaged one reads as a miss and is compiled again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from lpack.assemble.entries import Entry, EntrySource, Generated, SourceFile, content_sha256
from lpack.assemble.layout import Plan
from lpack.assemble.pycompile import Compiled, Compiler, Interpreter, Source
from lpack.assemble.stages import BytecodeResult, SlimResult, StageContext
from lpack.errors import BuildError
from lpack.files import default_cache_dir, remove_stale_temps, write_atomic
from lpack.pythons import SEARCHED, cpython
from lpack.target import Target

_DIGEST = 32
_HEADER = 16  # magic, flags, source hash (PEP 552)
_UNCHECKED_HASH = (1).to_bytes(4, "little")
_FIX = "drop --bytecode (or set `bytecode = false`)"


@dataclass(frozen=True)
class CachedPyc:
    """A .pyc in lpack's cache: read when the zip is written, never held in memory."""

    path: Path
    size: int
    sha256: str

    @property
    def content_key(self) -> str:
        return "sha256:" + self.sha256

    def read(self) -> bytes:
        body = self.path.read_bytes()[:-_DIGEST]
        if hashlib.sha256(body).hexdigest() != self.sha256:
            raise BuildError(
                f"The cached bytecode {self.path} changed while this build used it.",
                hint="build again: a damaged cache file is compiled anew.",
            )
        return body


class PycCache:
    """bytecode/<interpreter>/<key[:2]>/<key>: the .pyc bytes, then their sha256."""

    def __init__(self, root: Path, interpreter: Interpreter) -> None:
        self.interpreter = interpreter
        self.root = root / "bytecode" / interpreter.key
        self._made: set[Path] = set()

    @staticmethod
    def key(source_sha256: str, name: str) -> str:
        return hashlib.sha256(f"{source_sha256}\0{name}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str) -> CachedPyc | None:
        """The cached .pyc, or None (absent, damaged, or not this interpreter's)."""
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        body, digest = blob[:-_DIGEST], blob[-_DIGEST:]
        magic = bytes.fromhex(self.interpreter.magic)
        if (
            len(body) <= _HEADER
            or body[:4] != magic
            or body[4:8] != _UNCHECKED_HASH
            or hashlib.sha256(body).digest() != digest
        ):
            return None
        return CachedPyc(path, len(body), digest.hex())

    def put(self, key: str, pyc: bytes) -> EntrySource:
        """Store the .pyc and return it as an entry's source (from memory when the cache
        cannot be written: a full or read-only cache costs the next build a compile)."""
        path = self._path(key)
        digest = hashlib.sha256(pyc).digest()
        try:
            if path.parent not in self._made:
                path.parent.mkdir(parents=True, exist_ok=True)
                remove_stale_temps(path.parent, min_age=600)  # what a killed build left
                self._made.add(path.parent)
            write_atomic(path, pyc + digest)
        except OSError:
            return Generated(pyc)
        return CachedPyc(path, len(pyc), digest.hex())


@dataclass(frozen=True)
class _Job:
    py: str  # the .py's path in the package
    pyc: str  # where its .pyc goes
    entry: Entry
    source: Source  # the name compiled into it and how to read it


def pyc_path(py: str, cache_tag: str) -> str:
    """Where Python looks for a module's bytecode (importlib.util.cache_from_source)."""
    folder, _, name = py.rpartition("/")
    prefix = folder + "/" if folder else ""
    return f"{prefix}__pycache__/{name[: -len('.py')]}.{cache_tag}.pyc"


def _jobs(plan: Plan, cache_tag: str) -> list[_Job]:
    jobs = []
    for path, entry in sorted(plan.entries.items()):
        name = path.rsplit("/", 1)[-1]
        if not name.endswith(".py") or name == ".py":
            continue
        pyc = pyc_path(path, cache_tag)
        if pyc.rsplit("/", 1)[0] in plan.entries:  # a file named __pycache__: no folder there
            continue
        if isinstance(entry.source, SourceFile):
            # Read once: the .py shipped and the .pyc compiled are the same bytes even when
            # the file is edited while the build runs.
            entry.source = Generated(entry.read())
        jobs.append(_Job(path, pyc, entry, Source(plan.layout.relative(path), entry.read)))
    return jobs


def _interpreter_missing(target: Target) -> BuildError:
    major, minor = target.python_version
    return BuildError(
        f"--bytecode compiles with the target's own Python, and no CPython {major}.{minor} "
        f"for {target.runtime} was found (looked {SEARCHED}); bytecode of another version "
        "would be ignored by Lambda.",
        hint=f"install python{major}.{minor} (`uv python install {major}.{minor}`, `pyenv "
        f"install {major}.{minor}` or your OS package), or {_FIX}.",
    )


def _check(interpreter: Interpreter, target: Target) -> None:
    version = "{}.{}".format(*target.python_version)
    found = interpreter.version.rsplit(".", 1)[0]
    if interpreter.implementation != "cpython" or found != version:
        raise BuildError(
            f"{interpreter.path} is {interpreter.implementation} {interpreter.version}, not "
            f"the CPython {version} of {target.runtime}: its bytecode would not load there.",
            hint=f"install python{version}, or {_FIX}.",
        )


class Bytecode:
    """Adds __pycache__/NAME.TAG.pyc for every shipped .py (after prune and strip, so
    nothing removed is compiled; before RECORD, so each distribution's RECORD lists them)."""

    name = "bytecode"

    def run(self, plan: Plan, context: StageContext, result: SlimResult) -> None:
        if not context.bytecode:
            return
        python = cpython(context.target.python_version)
        if python is None:
            raise _interpreter_missing(context.target)
        folders = {path.rsplit("/", 1)[0] + "/" for path in plan.entries if "/" in path}
        with Compiler(python) as compiler:
            interpreter = compiler.interpreter
            _check(interpreter, context.target)
            done = BytecodeResult(interpreter.version, str(python), interpreter.cache_tag)
            cache = PycCache(default_cache_dir(), interpreter)
            jobs = _jobs(plan, interpreter.cache_tag)
            keys = {job.py: cache.key(content_sha256(job.entry), job.source.name) for job in jobs}
            missing: list[_Job] = []
            for job in jobs:
                hit = cache.get(keys[job.py])
                if hit is None:
                    missing.append(job)
                else:
                    _add(plan, done, job, hit)
            compiled = compiler.compile([job.source for job in missing])  # one answer each
            for job, answer in zip(missing, compiled, strict=True):
                _store(plan, done, job, answer, cache, keys[job.py])
        added = {path.rsplit("/", 1)[0] + "/" for path in done.added}
        done.folders = sorted(added - folders)  # what the zip holds only for the .pyc
        result.bytecode = done


def _store(
    plan: Plan, done: BytecodeResult, job: _Job, compiled: Compiled, cache: PycCache, key: str
) -> None:
    if compiled.pyc is None:
        done.failed[job.py] = compiled.error or "it does not compile"
        return
    _add(plan, done, job, cache.put(key, compiled.pyc))
    done.compiled += 1


def _add(plan: Plan, done: BytecodeResult, job: _Job, source: EntrySource) -> None:
    plan.entries[job.pyc] = Entry(job.pyc, 0o644, job.entry.dist, source)
    done.added[job.pyc] = source.size
