"""Text for people on a terminal or in a log: summaries of build, lock, verify, lint, report,
diff and gate, and errors."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from lpack.errors import LpackError
from lpack.inspect.diff import Diff
from lpack.inspect.gate import GateResult
from lpack.inspect.report import NamedSizes, Report, TreeNode
from lpack.render.build_text import print_build, print_dry_run
from lpack.render.console import bar, count, delta, human_bytes, line
from lpack.render.verify_text import print_verify as print_verify

if TYPE_CHECKING:
    from lpack.build import BuildResult
    from lpack.inspect.verify import VerifyResult
    from lpack.project import ProjectBuild
    from lpack.resolve.locking import LockResult
    from lpack.settings import ArtifactSpec, Project


def print_lock(console: Console, result: LockResult) -> None:
    if result.defers_to:
        console.print(
            f"  [bold]lock[/] {escape(str(result.lockfile.path))} is the project's lock: lpack "
            f"reads it ({len(result.lockfile.pins)} packages for "
            f"{escape(result.lockfile.header.get('target-key', '?'))}) and writes no lpack.lock; "
            f"refresh it with `{escape(result.defers_to)}`",
            highlight=False,
        )
        return
    state = "is current (inputs unchanged)" if result.reused else "written"
    console.print(
        f"  [bold]lock[/] {escape(str(result.lockfile.path))} {state}: "
        f"{len(result.lockfile.pins)} pin{'' if len(result.lockfile.pins) == 1 else 's'} for "
        f"{escape(result.lockfile.header.get('target', '?'))} "
        f"from {escape(result.requirements.label)}"
    )
    for name, old, new in result.changes:
        change = f"{old} → {new}" if old and new else (f"added {new}" if new else f"removed {old}")
        console.print(f"       {escape(name)} {escape(change)}", highlight=False)
    for note in result.notes:
        console.print(f"       [yellow]{escape(note)}[/]", highlight=False)


def print_error(console: Console, error: LpackError) -> None:
    console.print(f"[red bold]error:[/] {escape(error.message)}", highlight=False, soft_wrap=True)
    if error.details:
        console.print(error.details, highlight=False, markup=False, soft_wrap=True)
    if error.hint:
        console.print(f"[bold]fix:[/] {escape(error.hint)}", highlight=False, soft_wrap=True)


def _sizes_table(
    first: str, rows: list[NamedSizes], total: int, width: int, limit: int | None = None
) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column(first, no_wrap=True, overflow="ellipsis", min_width=14)
    for title in ("files", "unzipped", "zipped"):
        table.add_column(title, justify="right", no_wrap=True)
    with_bar = width >= 70  # the bar goes first when the terminal is narrow
    if with_bar:
        table.add_column("", no_wrap=True)
    for row in rows[:limit]:
        s = row.sizes
        cells = [f"  {escape(row.name)}", f"{s.files:,}", human_bytes(s.unzipped)]
        cells.append(human_bytes(s.zipped))
        table.add_row(*cells, *([bar(s.unzipped, total)] if with_bar else []))
    return table


def _distributions_table(report: Report, width: int) -> Table:
    """Name, version, sizes, a bar and what requires it. Narrower than 100 columns the bar
    goes, narrower than 90 the file count: the reason keeps room to be read."""
    total = report.unzipped_size
    with_bar, with_files = width >= 100, width >= 90
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("  distribution", no_wrap=True, overflow="ellipsis", min_width=14)
    table.add_column("version", no_wrap=True, overflow="ellipsis", max_width=14)
    for title in ("files", "unzipped", "zipped") if with_files else ("unzipped", "zipped"):
        table.add_column(title, justify="right", no_wrap=True)
    if with_bar:
        table.add_column("", no_wrap=True)
    table.add_column("required by", ratio=1, min_width=12)
    for d in report.distributions:
        s = d.sizes
        cells = [f"  {escape(d.name)}", escape(d.version)]
        cells += [f"{s.files:,}"] if with_files else []
        cells += [human_bytes(s.unzipped), human_bytes(s.zipped)]
        cells += [bar(s.unzipped, total)] if with_bar else []
        # d.why starts with the distribution itself: the chain after it is the reason.
        table.add_row(*cells, escape(" ← ".join(d.why[1:] or d.why)))
    return table


def _folder_tree(report: Report, depth: int) -> Tree:
    total = report.unzipped_size
    tree = Tree(f"[bold]folders[/] (depth {depth})")

    def add(branch: Tree, node: TreeNode, level: int) -> None:
        for child in node.children[:12]:
            label = (
                f"{bar(child.size, total, 12)} {human_bytes(child.size):>10}  "
                f"{escape(child.name)}{'/' if child.children else ''}"
            )
            sub = branch.add(label)
            if level + 1 < depth and child.children:
                add(sub, child, level + 1)

    add(tree, report.tree, 0)
    return tree


def print_report(console: Console, report: Report, depth: int = 2) -> None:
    total, zipped, target = report.unzipped_size, report.zipped_size, report.target
    line(console, "report", escape(report.artifact))
    totals = f"{count(report.files, 'file')} · {human_bytes(total)} unzipped"
    if zipped is not None:
        totals += f" · {human_bytes(zipped)} zipped"
    if target and target.runtime:
        totals += f" · {target.describe()}"
    line(console, "", totals)
    width = console.width
    console.print(_distributions_table(report, width))
    console.print(_sizes_table("  kind of file", report.kinds, total, width))
    console.print(_sizes_table("  top-level module", report.modules, total, width, limit=15))
    console.print(_folder_tree(report, depth))


def print_diff(console: Console, diff: Diff) -> None:
    old, new = diff.old, diff.new
    line(console, "diff", escape(f"{old.artifact} → {new.artifact}"))
    line(
        console,
        "",
        f"unzipped {human_bytes(old.unzipped_size)} → {human_bytes(new.unzipped_size)} "
        f"({delta(diff.unzipped_delta)})",
    )
    if diff.zipped_delta is not None:
        line(
            console,
            "",
            f"zipped   {human_bytes(old.zipped_size or 0)} → {human_bytes(new.zipped_size or 0)} "
            f"({delta(diff.zipped_delta)})",
        )
    for row in diff.changed:
        if row.old_version != row.new_version:
            versions = f"{row.old_version or '—'} → {row.new_version or '—'}"
        else:
            versions = row.new_version or ""
        line(
            console,
            "",
            f"{row.status:<8} {escape(row.name):<24} {escape(versions):<22} {delta(row.delta):>11}",
        )
    for warning in diff.warnings:
        console.print(f"  [yellow]warning[/] {escape(warning)}", highlight=False)


def print_gate(console: Console, result: GateResult, artifact: str | None = None) -> None:
    who = f"gate {artifact}" if artifact else "gate"
    print_diff(console, result.diff)
    for failure in result.failures:
        console.print(f"{who}: FAIL {failure}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"{who}: {'passed' if result.ok else 'failed'}", highlight=False, markup=False)


def _left_out_line(console: Console, result: BuildResult) -> None:
    if not result.left_out:
        return
    total = sum(o.size for o in result.left_out)
    layers = ", ".join(sorted({o.layer for o in result.left_out}))
    names = ", ".join(o.name for o in result.left_out[:6]) + (
        f" and {len(result.left_out) - 6} more" if len(result.left_out) > 6 else ""
    )
    line(
        console,
        "layers",
        escape(
            f"{count(len(result.left_out), 'distribution')} left to {layers}: "
            f"{names} ({human_bytes(total)} not shipped twice)"
        ),
    )


def print_project_build(
    console: Console, built: ProjectBuild, verified: dict[str, VerifyResult], verbosity: int = 0
) -> None:
    """Each artifact's summary (quiet, verbosity -1: only what failed), then the manifest."""
    for outcome in built.outcomes:
        if verbosity < 0:
            if outcome.result is not None and outcome.result.archive is not None:
                print_build(console, outcome.result, quiet=True)
            continue
        spec = outcome.spec
        uses = f", layers: {', '.join(spec.layers)}" if spec.layers else ""
        console.rule(escape(f"{spec.name} ({spec.kind}{uses})"), align="left", style="dim")
        if outcome.result is None:
            entry = outcome.entry
            assert entry is not None
            line(
                console,
                "unchanged",
                escape(
                    f"{built.manifest.zip_path(entry)}  {human_bytes(entry.zipped_size)} zipped · "
                    f"{human_bytes(entry.unzipped_size)} unzipped · sha256 {entry.sha256}"
                ),
            )
        elif outcome.result.archive is None:
            print_dry_run(console, outcome.result)
        else:
            print_build(console, outcome.result, verbose=verbosity > 0)
            _left_out_line(console, outcome.result)
        if spec.name in verified:
            print_verify(console, verified[spec.name], verbose=verbosity > 0)
    rebuilt = sum(1 for o in built.outcomes if o.rebuilt)
    unchanged = len(built.outcomes) - rebuilt
    if any(o.entry for o in built.outcomes) and verbosity >= 0:
        line(
            console,
            "manifest",
            escape(
                f"{built.manifest.path} ({count(len(built.outcomes), 'artifact')}: "
                f"{rebuilt} rebuilt, {unchanged} unchanged)"
            ),
        )


def print_artifacts(console: Console, project: Project, specs: list[ArtifactSpec]) -> None:
    for spec in specs:
        uses = f" layers: {', '.join(spec.layers)}" if spec.layers else ""
        output = os.path.relpath(spec.output_path, project.root)
        console.print(
            escape(f"{spec.name:<20} {spec.kind:<8} {spec.runtime} {spec.arch:<7} {output}{uses}"),
            highlight=False,
        )
