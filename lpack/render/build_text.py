"""The text a build ends with: its stages (when they were not printed as they ended), the
zip and its hashes, the limits, the largest distributions, lint, and a one-line result."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lpack.catalog import slim_categories
from lpack.inspect.limits import upload_note
from lpack.inspect.registry import counts
from lpack.render.console import SEVERITY_STYLES, count, human_bytes, line, tally
from lpack.render.stages import fetch_lines, lock_lines, slim_lines, slim_text, written_lines
from lpack.units import exact_bytes

if TYPE_CHECKING:
    from lpack.build import BuildResult
    from lpack.inspect.limits import LimitCheck


def print_dry_run(console: Console, result: BuildResult) -> None:
    known = slim_categories()
    slim = result.slim
    line(console, "target", escape(result.spec.target.describe()))
    line(console, "slim", escape(slim_text(result)) + "  (dry run: nothing written)")
    by_code: dict[str, list[str]] = {}
    for removal in slim.removals:
        by_code.setdefault(removal.code, []).append(f"{removal.path} ({removal.size:,} B)")
    for stripped in slim.stripped:
        by_code.setdefault(stripped.code, []).append(
            f"{stripped.path}: {stripped.before:,} → {stripped.after:,} B "
            f"(drops {', '.join(stripped.removed_sections)})"
        )
    for code in sorted(by_code):
        why = known[code].why if code in known else "matched your slim drop globs"
        title = known[code].name if code in known else "drop globs"
        console.print(f"\n[bold]{code} {title}[/] — {escape(why)}", highlight=False)
        for item in by_code[code]:
            console.print(f"  - {escape(item)}", highlight=False)
    if slim.kept_imported:
        kept = escape(", ".join(slim.kept_imported))
        console.print(
            f"\n[bold]kept[/] test/docs modules that shipped code imports: {kept}", highlight=False
        )
    if slim.kept_read:
        console.print("\n[bold]kept[/] files that shipped code reads at run time:", highlight=False)
        for path, why in sorted(slim.kept_read.items()):
            console.print(f"  - {escape(path)}: {escape(why)}", highlight=False)
    for note in slim.untouched_binaries:
        console.print(f"  [yellow]left untouched[/] {escape(note)}", highlight=False)
    for warning in slim.warnings:
        console.print(f"  [yellow]warning[/] {escape(warning)}", highlight=False)
    for note in result.notes:
        line(console, "note", escape(note))


def _print_stages(console: Console, result: BuildResult) -> None:
    """What went in, stage by stage: the lines a live build printed as each stage ended."""
    say = partial(line, console)
    say("target", escape(result.spec.target.describe()))
    seconds = result.timings.get
    lines = [
        *lock_lines(result.lock, seconds("lock")),
        *fetch_lines(result.wheels, seconds("fetch")),
        *slim_lines(result, seconds("slim")),
        *written_lines(result, seconds("write")),
    ]
    for label, text in lines:
        say(label, text)


def _over(check: LimitCheck) -> str:
    """Over by how much, in binary units, with the bytes where a limit is a byte count."""
    return exact_bytes(check.over_by)


def _print_output(console: Console, result: BuildResult) -> None:
    """What came out: its hashes and how it measures against each limit."""
    say = partial(line, console)
    archive = result.archive
    assert archive is not None
    say(
        "",
        f"{count(archive.file_count, 'file')}: {result.plan.source_files:,} from source, "
        f"{count(len(result.plan.distributions), 'distribution')}",
    )
    say("sha256", archive.sha256)
    say("base64", f"{archive.sha256_base64}  (source_code_hash)")
    say("limits", escape(upload_note(result.spec.upload)))
    for check in result.limits:
        style = "red" if check.exceeded else "green"
        status = f"OVER by {_over(check)}" if check.exceeded else "ok"
        say(
            "",
            f"{check.name:<8} {human_bytes(check.actual):>10} [{style}]{check.share:6.1%}[/] "
            f"of {escape(check.label)}  [{style}]{status}[/]",
        )
    if result.remedy:
        say("remedy", escape(result.remedy))


def _largest_table(result: BuildResult, verbose: bool) -> Table:
    table = Table(title=None, box=None, pad_edge=False, show_header=True, header_style="bold")
    # The name never wraps; on a narrow terminal the version goes first.
    table.add_column("  largest", no_wrap=True, overflow="ellipsis")
    table.add_column("version", no_wrap=True, overflow="ellipsis", max_width=16)
    for title in ("files", "unzipped", "zipped"):
        table.add_column(title, justify="right", no_wrap=True)
    sizes = result.sizes_by_distribution
    for dist in sizes if verbose else sizes[:10]:
        table.add_row(
            f"  {escape(dist.name)}",
            escape(dist.version),
            f"{dist.files:,}",
            human_bytes(dist.unzipped),
            human_bytes(dist.zipped),
        )
    return table


def _lint_counts(result: BuildResult) -> str:
    return tally(counts(result.findings))


def _print_lint(console: Console, result: BuildResult, verbose: bool) -> None:
    hint = "  (lpack explain CODE)" if result.findings else ""
    line(console, "lint", _lint_counts(result) + hint)
    shown = result.findings if verbose else result.findings[:10]
    for f in shown:
        where = f" {f.path}:" if f.path else ""
        style = SEVERITY_STYLES[f.severity]
        line(console, "", f"[{style}]{f.code}[/]{escape(where)} {escape(f.message)}")
    if len(result.findings) > len(shown):
        assert result.archive is not None
        more = len(result.findings) - len(shown)
        line(console, "", f"… {more} more: lpack lint {escape(str(result.archive.path))}")


def _print_errors(console: Console, result: BuildResult) -> None:
    sizes = result.sizes_by_distribution
    heaviest = ", ".join(f"{d.name} {human_bytes(d.unzipped)}" for d in sizes[:5])
    for check in result.exceeded:
        what = "the function with its layers is" if check.layered else "the package is"
        console.print(
            f"[red bold]error[/] {what} {_over(check)} over {escape(check.label)} "
            f"({human_bytes(check.actual)} of {human_bytes(check.limit)}). "
            f"Heaviest: {escape(heaviest)}.",
            highlight=False,
        )


def _lint_brief(result: BuildResult) -> str:
    n = counts(result.findings)
    found = [
        count(n[severity], noun)
        for severity, noun in (("error", "error"), ("warning", "warning"), ("info", "note"))
        if n[severity]
    ]
    return ", ".join(found) if found else "lint clean"


def result_line(result: BuildResult) -> str:
    """The build in one line: ok or failed, the zip's sizes, lint, and the time it took."""
    archive = result.archive
    assert archive is not None
    seconds = sum(result.timings.values())
    parts = [
        escape(archive.path.name),
        f"{human_bytes(archive.zipped_size)} zipped",
        f"{human_bytes(archive.unzipped_size)} unzipped",
    ]
    if result.exceeded:
        parts += [escape(f"{human_bytes(c.over_by)} over {c.label}") for c in result.exceeded]
    parts += [_lint_brief(result), f"{seconds:.1f} s"]
    verdict = "[green bold]ok[/]" if result.ok else "[red bold]failed[/]"
    return f"{verdict} " + " · ".join(parts)


def print_build(
    console: Console,
    result: BuildResult,
    streamed: bool = False,
    quiet: bool = False,
    verbose: bool = False,
) -> None:
    """The build's summary. streamed: its stages' lines were printed as they ended; quiet:
    only what failed and the result; verbose: every finding and distribution."""
    if not quiet:
        if not streamed:
            _print_stages(console, result)
        _print_output(console, result)
        console.print(_largest_table(result, verbose))
        _print_lint(console, result, verbose)
        for warning in result.warnings:
            console.print(f"  [yellow]warning[/] {escape(warning)}", highlight=False)
        for note in result.notes:
            line(console, "note", escape(note))
    elif result.lint_errors:
        _print_lint(console, result, verbose)
    _print_errors(console, result)
    if not quiet or not result.ok:
        line(console, "result", result_line(result))
