"""Sizes in words: binary units (KiB, MiB, GiB) everywhere lpack talks to people, as Lambda's
own limits are binary (50 MiB, 250 MiB); exact bytes stay in JSON and in parentheses where
a limit is compared to the byte."""

from __future__ import annotations


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def exact_bytes(n: int) -> str:
    """257.5 MiB (270,000,000 B): for a size measured against a limit."""
    return human_bytes(n) if n < 1024 else f"{human_bytes(n)} ({n:,} B)"
