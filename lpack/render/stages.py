"""The lines a build's stages end with, in text: printed as each stage ends (StageDisplay),
or all at once in a summary (text.print_build) from the same functions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
)
from rich.text import Text

from lpack.catalog import slim_categories
from lpack.render.console import count, human_bytes, line

if TYPE_CHECKING:
    from lpack.build import BuildResult
    from lpack.resolve.fetch import FetchedWheel
    from lpack.resolve.locking import LockResult

Lines = list[tuple[str, str]]  # (label, rich markup)


def _seconds(seconds: float | None) -> str:
    return "" if seconds is None else f" [dim]in {seconds:.1f} s[/]"


def lock_lines(lock: LockResult, seconds: float | None = None) -> Lines:
    pins = len(lock.lockfile.pins)
    if lock.defers_to:
        text = (
            f"{lock.requirements.label} read ({count(pins, 'package')}; "
            f"`{lock.defers_to}` keeps it)"
        )
    else:
        state = "reused" if lock.reused else "resolved"
        text = (
            f"{lock.requirements.label} → {lock.lockfile.path.name} ({count(pins, 'pin')}, {state})"
        )
    return [("lock", escape(text) + _seconds(seconds))]


def fetch_lines(wheels: list[FetchedWheel], seconds: float | None = None) -> Lines:
    cached = sum(1 for w in wheels if w.cached)
    fetched = [w for w in wheels if not w.cached]
    text = f"{count(len(wheels), 'wheel')} ({cached} cached"
    if fetched:
        size = 0
        for wheel in fetched:
            try:
                size += wheel.path.stat().st_size
            except OSError:
                pass  # a cache cleaned meanwhile: the count still says what was fetched
        text += f", {human_bytes(size)} downloaded"
    return [("fetch", text + ")" + _seconds(seconds))]


def slim_text(result: BuildResult) -> str:
    known = slim_categories()
    saved = result.slim.saved_by_category()
    if not result.slim.enabled:
        return "off"
    if not saved:
        return "nothing to remove"
    parts = " · ".join(
        f"{known[c].name if c in known else 'drop globs'} {human_bytes(n)}"
        for c, n in saved.items()
    )
    return f"−{human_bytes(result.slim.total_saved)}: {parts}"


def slim_lines(result: BuildResult, seconds: float | None = None) -> Lines:
    lines = [("slim", escape(slim_text(result)) + _seconds(seconds))]
    by_dist = list(result.slim.saved_by_distribution().items())[:5]
    if by_dist:
        lines.append(("", escape(" · ".join(f"{n} −{human_bytes(b)}" for n, b in by_dist))))
    kept = result.slim.kept_imported + sorted(result.slim.kept_read)
    if kept:
        shown = ", ".join(kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
        lines.append(("", escape(f"kept, as shipped code loads them: {shown} (--dry-run: why)")))
    return lines


def bytecode_text(result: BuildResult) -> str | None:
    """What the shipped bytecode costs; None when the build ships none of its own."""
    done = result.slim.bytecode
    if done is None:
        return None
    cost = f"+{human_bytes(done.unzipped)} unzipped"
    if result.archive is not None:
        cost += f" / +{human_bytes(done.zipped(result.archive.entries))} zipped"
    made = f"{done.compiled:,} compiled, {done.cached:,} from cache"
    failed = sorted(done.failed)
    if failed:
        named = ", ".join(failed[:2]) + (f" and {len(failed) - 2} more" if len(failed) > 2 else "")
        made += f"; no .pyc for what does not compile: {named}"
    return f"{count(done.files, 'file')} ({done.cache_tag}, CPython {done.python}): {cost} ({made})"


def written_lines(result: BuildResult, seconds: float | None = None) -> Lines:
    """After the write: the bytecode's cost (it needs the zipped sizes) and the handler."""
    lines = []
    bytecode = bytecode_text(result)
    if bytecode is not None:
        lines.append(("bytecode", escape(bytecode)))
    lines.append(("handler", escape(result.handler.note)))
    if result.archive is not None:
        size = human_bytes(result.archive.zipped_size)
        text = f"{escape(_shown_path(result.archive.path))} ({size}){_seconds(seconds)}"
        lines.append(("write", text))
    return lines


def _shown_path(path: Path) -> str:
    """The zip as the user can use it: relative to the current folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def stage_lines(stage: str, outcome: object, seconds: float | None = None) -> Lines:
    """The lines a stage ends with, from what lpack.build hands over (build.Progress says
    which outcome each stage has)."""
    if isinstance(outcome, str):
        return [(stage, escape(outcome) + _seconds(seconds))]
    if stage == "lock":
        return lock_lines(cast("LockResult", outcome), seconds)
    if stage == "fetch":
        return fetch_lines(cast("list[FetchedWheel]", outcome), seconds)
    if stage == "slim":
        return slim_lines(cast("BuildResult", outcome), seconds)
    if stage == "write":
        return written_lines(cast("BuildResult", outcome), seconds)
    return []


class _AmountColumn(ProgressColumn):
    """Bytes (and speed, in binary units as everywhere in lpack) for downloads and the
    write, "n/m" for counted stages."""

    def __init__(self) -> None:
        super().__init__()
        self.count = MofNCompleteColumn()

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit")
        if unit == "bytes" and task.total:
            done = f"{human_bytes(task.completed)} / {human_bytes(task.total)}"
            speed = f"  {human_bytes(task.speed)}/s" if task.speed else ""
            return Text(done + speed, style="progress.download")
        if unit == "items" and task.total:
            return self.count.render(task)
        return Text("")


class StageDisplay:
    """Follows lpack.build.Progress: each stage's lines printed as it ends (as uv does) when
    `stream`, and when `live` a line for the stage that is running, removed when it ends."""

    def __init__(self, console: Console, live: bool, stream: bool = True) -> None:
        self.console = console
        self.stream = stream
        self.progress = (
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                _AmountColumn(),
                console=console,
                transient=True,
            )
            if live
            else None
        )
        self.task: TaskID | None = None
        self.total = 0
        self.started = time.monotonic()

    def __enter__(self) -> StageDisplay:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def start(
        self, stage: str, description: str, total: int | None = None, unit: str = "items"
    ) -> None:
        self._end_task()
        self.started = time.monotonic()
        self.total = total or 0
        if self.progress is not None:
            self.task = self.progress.add_task(description, total=total, unit=unit)

    def advance(self, amount: int = 1) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task, amount)

    def expect(self, amount: int) -> None:
        self.total += amount
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, total=self.total)

    def done(self, stage: str, outcome: object) -> None:
        self._end_task()
        if self.stream:
            for label, text in stage_lines(stage, outcome, time.monotonic() - self.started):
                line(self.console, label, text)

    def _end_task(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
