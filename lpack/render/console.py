"""The terminal: consoles that behave on a TTY and in logs, and the small shared formats."""

from __future__ import annotations

import os
import re

from rich.console import Console
from rich.text import Text

from lpack.units import human_bytes as human_bytes


def make_console(stderr: bool = False) -> Console:
    # emoji=False: a path like "c/up" must not turn into an emoji code's picture.
    console = Console(stderr=stderr, highlight=False, emoji=False)
    if not console.is_terminal:  # logs and CI: no wrapping at 80 columns
        console = Console(stderr=stderr, highlight=False, emoji=False, width=160)
    return console


def wants_live_display(console: Console) -> bool:
    """A live progress display only on a real terminal: not in logs or pipes, not on a dumb
    terminal, and not with NO_COLOR set (https://no-color.org: present and not empty), where
    the plain stage lines say as much without redrawing."""
    return console.is_terminal and not console.is_dumb_terminal and not os.environ.get("NO_COLOR")


LABEL_WIDTH = 11  # "  " + an 8-wide label + " "

# A space before a unit, or before a number, never breaks a line: "27.2 s", "20.6 MiB" and
# "pandas −14.7 MiB" stay whole.
_GLUED = re.compile(r" (?=(?:B|KiB|MiB|GiB|s|ms|%)(?:\W|$)|[\d−+])")


def wrap_points(plain: str, width: int) -> list[int]:
    """Where to cut `plain` into lines of at most `width` cells: at a space that does not
    glue a number to its unit or its name, else (a single word longer than a line) anywhere."""
    cuts: list[int] = []
    start = 0
    while len(plain) - start > width:
        window = plain[start : start + width + 1]
        spaces = [
            i
            for i, c in enumerate(window)
            if c == " " and i > 0 and not _GLUED.match(plain, start + i)
        ]
        cut = start + (spaces[-1] + 1 if spaces else width)
        cuts.append(cut)
        start = cut
    return cuts


def line(console: Console, label: str, text: str) -> None:
    """One line of a summary: a bold label in a fixed column, then rich-markup text. On a
    terminal a long text wraps under its own column, between words and never inside a size
    or a time; in a log it stays one line (the log's reader wraps it)."""
    if not console.is_terminal:
        console.print(f"  [bold]{label:<8}[/] {text}", highlight=False, soft_wrap=True)
        return
    body = Text.from_markup(text)
    width = max(20, console.width - LABEL_WIDTH)
    pieces = body.divide(wrap_points(body.plain, width))
    for i, piece in enumerate(pieces):
        piece.rstrip()
        head = Text.from_markup(f"  [bold]{label:<8}[/] " if i == 0 else " " * LABEL_WIDTH)
        console.print(head + piece, highlight=False, soft_wrap=True)


def bar(value: int, total: int, width: int = 20) -> str:
    filled = round(width * value / total) if total else 0
    return "█" * filled + "·" * (width - filled)


def count(n: int, noun: str) -> str:
    """ "1 distribution", "2 distributions"."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def tally(n: dict[str, int]) -> str:
    """ "1 error · 2 warnings · 0 notes" from lint counts by severity."""
    nouns = (("error", "error"), ("warning", "warning"), ("info", "note"))
    return " · ".join(count(n.get(severity, 0), noun) for severity, noun in nouns)


def delta(n: int | None) -> str:
    """A change in size, signed, in binary units: "+3.9 KiB", "−120 B", "0 B"."""
    if n is None:
        return "n/a"
    sign = "+" if n > 0 else "−" if n < 0 else ""
    return sign + human_bytes(abs(n))


SEVERITY_STYLES = {"error": "red", "warning": "yellow", "info": "blue"}
