"""The live display of a build on a terminal: one line for the stage that is running."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
)
from rich.text import Text


class _AmountColumn(ProgressColumn):
    """Bytes for the write stage, "n/m" for counted stages, nothing while resolving."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes = DownloadColumn()
        self.count = MofNCompleteColumn()

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit")
        if unit == "bytes":
            return self.bytes.render(task)
        if unit == "items":
            return self.count.render(task)
        return Text("")


class RichProgress:
    """Follows lpack.build.Progress: a live stage line, removed when the stage is done."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            _AmountColumn(),
            console=console,
            transient=True,
        )
        self.task: Any = None
        self.stage = ""

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def start(self, stage: str, description: str, total: int | None = None) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.stage = stage
        unit = None if total is None else ("bytes" if stage == "write" else "items")
        self.task = self.progress.add_task(description, total=total, unit=unit)

    def advance(self, amount: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, amount)

    def done(self, stage: str, summary: str) -> None:
        # The summary printed after the build repeats every stage's outcome, so the
        # live display only has to show what is happening now.
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
