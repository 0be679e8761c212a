"""Lint findings for people: one line per finding (a distribution's files grouped in one),
or with --statistics one line per rule; then the tally."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from lpack.inspect.lint import statistics as rule_counts
from lpack.inspect.registry import Finding, counts
from lpack.render.console import SEVERITY_STYLES, count, tally


def _shown(text: str) -> str:
    """A package's names with their control and bidi characters escaped: a member called
    "x\n::error::…" must not add a line (a workflow command, in GitHub Actions' log)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def print_findings(
    console: Console, findings: list[Finding], statistics: bool = False, verbosity: int = 0
) -> None:
    """verbosity -1: only errors, then the tally; 1: every path of a grouped finding."""
    shown = [f for f in findings if f.severity == "error"] if verbosity < 0 else findings
    if statistics:
        _print_statistics(console, shown)
    else:
        for f in shown:
            where = _shown(f"{f.artifact}" + (f":{f.path}" if f.path else ""))
            console.print(
                f"{escape(where)}: [bold]{f.code}[/] "
                f"[{SEVERITY_STYLES[f.severity]}]{f.severity}[/] "
                f"{escape(_shown(f.message))} [dim]({f.name})[/]",
                highlight=False,
                soft_wrap=True,
            )
            if verbosity > 0 and len(f.paths) > 1:
                for path in f.paths:
                    console.print(f"    {escape(_shown(path))}", highlight=False, soft_wrap=True)
    hint = "  (lpack explain CODE tells why and how to fix)" if findings else ""
    console.print(tally(counts(findings)) + hint, highlight=False)
    if not statistics and verbosity <= 0 and any(len(f.paths) > 1 for f in shown):
        console.print(
            "[dim]A finding about many files shows one of them; -v or --format json lists all.[/]",
            highlight=False,
        )


def _print_statistics(console: Console, findings: list[Finding]) -> None:
    """As ruff's --statistics: count, code, name and severity, the most frequent first."""
    rows = rule_counts(findings)
    width = max((len(f"{r.count:,}") for r in rows), default=1)
    name_width = max((len(r.name) for r in rows), default=0)
    for r in rows:
        # a grouped finding counts once: say how many paths the rule's findings name
        paths = (
            f"{'':<{7 - len(r.severity)}} ({count(r.paths, 'path')})" if r.paths > r.count else ""
        )
        console.print(
            f"{r.count:>{width},}  [bold]{r.code}[/]  {escape(r.name):<{name_width}}  "
            f"[{SEVERITY_STYLES[r.severity]}]{r.severity}[/]{paths}",
            highlight=False,
            soft_wrap=True,
        )
