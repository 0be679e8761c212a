"""The terminal: consoles that behave on a TTY and in logs, and the small shared formats."""

from __future__ import annotations

from rich.console import Console


def make_console(stderr: bool = False) -> Console:
    # emoji=False: a path like "c/up" must not turn into an emoji code's picture.
    console = Console(stderr=stderr, highlight=False, emoji=False)
    if not console.is_terminal:  # logs and CI: no wrapping at 80 columns
        console = Console(stderr=stderr, highlight=False, emoji=False, width=160)
    return console


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def line(console: Console, label: str, text: str) -> None:
    """One line of a summary: a bold label in a fixed column, then rich-markup text."""
    console.print(f"  [bold]{label:<8}[/] {text}", highlight=False)


def bar(value: int, total: int, width: int = 20) -> str:
    filled = round(width * value / total) if total else 0
    return "█" * filled + "·" * (width - filled)


def count(n: int, noun: str) -> str:
    """ "1 distribution", "2 distributions"."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def delta(n: int | None) -> str:
    return "n/a" if n is None else f"{n:+,} B"


SEVERITY_STYLES = {"error": "red", "warning": "yellow", "info": "blue"}
