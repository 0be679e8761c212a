"""The target's interpreter compiling many sources in one process (see _pycworker.py).

Sources stream in on a writer thread while the answers are read, so the process is never
idle and memory holds one source and one .pyc at a time, whatever the package's size. A
worker that dies (a compiler crash on one hostile file) costs that file its .pyc: a new
worker takes the rest, a few times at most.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lpack.errors import BuildError

WORKER = Path(__file__).with_name("_pycworker.py")
_REQUEST_SIZE = 8  # ">II": name length, source length
_RESPONSE_SIZE = 5  # ">BI": status, payload length
_MAX_CRASHES = 3


@dataclass(frozen=True)
class Interpreter:
    """The Python that compiles, as it describes itself."""

    path: Path
    implementation: str
    cache_tag: str
    magic: str  # hex of importlib.util.MAGIC_NUMBER
    version: str  # "3.11.7"
    release: str

    @property
    def key(self) -> str:
        """What the compiled bytes depend on besides the source: its release and magic."""
        return f"{self.implementation}-{self.version}-{self.release}-{self.magic}"


@dataclass(frozen=True)
class Source:
    name: str  # the file name compiled into the code objects (the path in the package)
    read: Callable[[], bytes]


@dataclass(frozen=True)
class Compiled:
    source: Source
    pyc: bytes | None  # None: it does not compile
    error: str | None = None


_COMPILER_ENV = {"PYTHONHASHSEED": "0", "PATH": os.defpath, "LC_ALL": "C.UTF-8"}


class Compiler:
    """One worker process of `python`; a context manager that ends it."""

    def __init__(self, python: Path) -> None:
        self.python = python
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self.interpreter = self._start()

    def __enter__(self) -> Compiler:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _start(self) -> Interpreter:
        self._stderr = tempfile.TemporaryFile()
        try:
            # Not -I: it ignores PYTHONHASHSEED, and marshal writes frozensets in hash order,
            # so 3.9 and 3.10 compile one source to different bytes from run to run. -s -S
            # and an environment of our own keep user site-packages and PYTHON* out instead.
            self._proc = subprocess.Popen(
                [str(self.python), "-s", "-S", "-B", str(WORKER)],
                env=_COMPILER_ENV,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
            )
        except OSError as exc:
            self._stop()
            raise BuildError(
                f"{self.python} could not be started to compile bytecode: {exc}.",
                hint="check that interpreter runs, or drop --bytecode (`bytecode = false`).",
            ) from exc
        answer = self._answer()
        if answer is None or answer[0] != 0:
            why = self._why_stopped()
            self._stop()
            raise BuildError(
                f"{self.python} did not start lpack's bytecode compiler: {why}.",
                hint="check that interpreter runs, or drop --bytecode (`bytecode = false`).",
            )
        hello: dict[str, Any] = json.loads(answer[1])
        return Interpreter(
            self.python,
            str(hello["implementation"]),
            str(hello["cache_tag"]),
            str(hello["magic"]),
            str(hello["version"]),
            str(hello["release"]),
        )

    def _stop(self, kill: bool = True) -> None:
        """End the worker: kill it, or (once it has answered everything) let it finish."""
        proc, self._proc = self._proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass  # a pipe the dead worker left unflushed
            try:
                proc.wait(timeout=None if not kill else 0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _answer(self) -> tuple[int, bytes] | None:
        """The worker's next response, or None when it has ended."""
        assert self._proc is not None and self._proc.stdout is not None
        head = self._proc.stdout.read(_RESPONSE_SIZE)
        if len(head) < _RESPONSE_SIZE:
            return None
        status, size = head[0], int.from_bytes(head[1:], "big")
        payload = self._proc.stdout.read(size)
        return (status, payload) if len(payload) == size else None

    def _why_stopped(self) -> str:
        """Its exit status and the end of what it wrote on stderr."""
        assert self._proc is not None and self._stderr is not None
        try:
            code = self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # it answered nonsense and runs on
            self._proc.kill()
            code = self._proc.wait()
        self._stderr.seek(0)
        tail = self._stderr.read()[-500:].decode("utf-8", "replace").strip()
        return f"exit status {code}" + (f"; it said: {tail}" if tail else "")

    def compile(self, sources: Sequence[Source]) -> Iterator[Compiled]:
        """One answer per source, in order."""
        start, crashes = 0, 0
        while start < len(sources):
            if self._proc is None:
                self._start()
            answered = 0
            for compiled in self._session(sources[start:]):
                answered += 1
                yield compiled
            start += answered
            if start == len(sources):
                self._stop(kill=False)  # it has answered all and read the end of its input
                break
            crashes += 1
            why = self._why_stopped()
            self._stop()
            if crashes > _MAX_CRASHES:
                raise BuildError(
                    f"{self.python} crashed {crashes} times compiling bytecode, last on "
                    f"{sources[start].name} ({why}).",
                    hint="drop --bytecode (`bytecode = false`), and report the crash with "
                    "the file it names to the interpreter's maintainers.",
                )
            yield Compiled(sources[start], None, f"the compiler crashed on it ({why})")
            start += 1

    def _session(self, batch: Sequence[Source]) -> Iterator[Compiled]:
        """Feeds the batch on a thread and reads the answers until the worker ends; then
        the worker is gone, having answered all or crashed on the first unanswered."""
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        failures: list[BaseException] = []
        feeder = threading.Thread(target=_feed, args=(proc.stdin, batch, failures), daemon=True)
        feeder.start()
        try:
            for source in batch:
                answer = self._answer()
                if answer is None:
                    break
                status, payload = answer
                if status == 0:
                    yield Compiled(source, payload)
                else:
                    yield Compiled(source, None, payload.decode("utf-8", "replace"))
        finally:
            if failures or feeder.is_alive():
                proc.kill()  # the caller stopped early, or a source could not be read
            feeder.join()
        if failures:
            raise failures[0]


def _feed(stdin: IO[bytes], batch: Sequence[Source], failures: list[BaseException]) -> None:
    try:
        for source in batch:
            name = source.name.encode("utf-8")
            data = source.read()
            stdin.write(len(name).to_bytes(4, "big") + len(data).to_bytes(4, "big") + name)
            stdin.write(data)
        stdin.close()
    except (BrokenPipeError, ValueError):
        pass  # the worker ended (a crash): the reader sees it and says so
    except BaseException as exc:  # noqa: BLE001 - reading a source failed: the build reports it
        failures.append(exc)
        try:
            stdin.close()
        except OSError:
            pass
