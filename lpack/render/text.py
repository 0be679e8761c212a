"""Text for people on a terminal or in a log: summaries of build, lock, verify, lint, report,
diff and gate, and errors."""

from __future__ import annotations

import os
from functools import partial
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from lpack.catalog import slim_categories
from lpack.errors import LpackError
from lpack.inspect.diff import Diff
from lpack.inspect.gate import GateResult
from lpack.inspect.limits import upload_note
from lpack.inspect.registry import Finding, counts
from lpack.inspect.report import NamedSizes, Report, TreeNode
from lpack.render.console import SEVERITY_STYLES, bar, count, delta, human_bytes, line
from lpack.render.verify_text import print_verify as print_verify

if TYPE_CHECKING:
    from lpack.build import BuildResult
    from lpack.inspect.verify import VerifyResult
    from lpack.project import ProjectBuild
    from lpack.resolve.locking import LockResult
    from lpack.settings import ArtifactSpec, Project


def _slim_line(result: BuildResult) -> str:
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


def _bytecode_line(result: BuildResult) -> str | None:
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


def print_dry_run(console: Console, result: BuildResult) -> None:
    known = slim_categories()
    slim = result.slim
    line(console, "target", escape(result.spec.target.describe()))
    line(console, "slim", escape(_slim_line(result)) + "  (dry run: nothing written)")
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


def _print_inputs(console: Console, result: BuildResult) -> None:
    """What went in: target, lock, fetch, slimming and the handler."""
    say = partial(line, console)
    say("target", escape(result.spec.target.describe()))
    lock = result.lock
    state = "reused" if lock.reused else "resolved"
    say(
        "lock",
        escape(
            f"{lock.requirements.label} → {lock.lockfile.path.name} "
            f"({len(lock.lockfile.pins)} pins, {state}) "
            f"{result.timings.get('lock', 0):.1f} s"
        ),
    )
    cached = sum(1 for w in result.wheels if w.cached)
    say(
        "fetch",
        f"{len(result.wheels)} wheels ({cached} cached) {result.timings.get('fetch', 0):.1f} s",
    )
    say("slim", escape(_slim_line(result)))
    by_dist = list(result.slim.saved_by_distribution().items())[:5]
    if by_dist:
        say("", escape(" · ".join(f"{name} −{human_bytes(n)}" for name, n in by_dist)))
    kept = result.slim.kept_imported + sorted(result.slim.kept_read)
    if kept:
        shown = ", ".join(kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
        say("", escape(f"kept, as shipped code loads them: {shown} (lpack build --dry-run: why)"))
    bytecode = _bytecode_line(result)
    if bytecode is not None:
        say("bytecode", escape(bytecode))
    say("handler", escape(result.handler.note))


def _print_output(console: Console, result: BuildResult) -> None:
    """What came out: the zip, its hashes and how it measures against each limit."""
    say = partial(line, console)
    archive = result.archive
    assert archive is not None
    say("output", escape(str(archive.path)))
    say(
        "",
        f"{archive.file_count:,} files: {result.plan.source_files:,} from source, "
        f"{len(result.plan.distributions)} distributions",
    )
    say("sha256", archive.sha256)
    say("base64", f"{archive.sha256_base64}  (source_code_hash)")
    say("limits", escape(upload_note(result.spec.upload)))
    for check in result.limits:
        style = "red" if check.exceeded else "green"
        status = f"OVER by {check.over_by:,} B" if check.exceeded else "ok"
        say(
            "",
            f"{check.name:<8} {check.actual:>13,} B [{style}]{check.share:6.1%}[/] of "
            f"{check.label}  [{style}]{status}[/]",
        )
    if result.remedy:
        say("remedy", escape(result.remedy))


def _largest_table(result: BuildResult) -> Table:
    table = Table(title=None, box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("  largest", no_wrap=True)
    table.add_column("version")
    table.add_column("files", justify="right")
    table.add_column("unzipped", justify="right")
    table.add_column("zipped", justify="right")
    for dist in result.sizes_by_distribution[:10]:
        table.add_row(
            f"  {dist.name}",
            dist.version,
            f"{dist.files:,}",
            human_bytes(dist.unzipped),
            human_bytes(dist.zipped),
        )
    return table


def _print_lint(console: Console, result: BuildResult) -> None:
    n = counts(result.findings)
    hint = "  (lpack explain CODE)" if result.findings else ""
    line(
        console, "lint", f"{n['error']} errors · {n['warning']} warnings · {n['info']} notes{hint}"
    )
    for f in result.findings[:10]:
        where = f" {f.path}:" if f.path else ""
        style = SEVERITY_STYLES[f.severity]
        line(console, "", f"[{style}]{f.code}[/]{escape(where)} {escape(f.message)}")
    if len(result.findings) > 10:
        assert result.archive is not None
        more = len(result.findings) - 10
        line(console, "", f"… {more} more: lpack lint {escape(str(result.archive.path))}")


def print_build(console: Console, result: BuildResult) -> None:
    _print_inputs(console, result)
    _print_output(console, result)
    console.print(_largest_table(result))
    _print_lint(console, result)
    for warning in result.warnings:
        console.print(f"  [yellow]warning[/] {escape(warning)}")
    if result.exceeded:
        sizes = result.sizes_by_distribution
        heaviest = ", ".join(f"{d.name} {human_bytes(d.unzipped)}" for d in sizes[:5])
        for check in result.exceeded:
            what = "the function with its layers is" if check.layered else "the package is"
            console.print(
                f"[red bold]error[/] {what} {check.over_by:,} B over {check.label} "
                f"({check.actual:,} B of {check.limit:,} B). Heaviest: {heaviest}."
            )


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


def print_findings(console: Console, findings: list[Finding]) -> None:
    for f in findings:
        where = f"{f.artifact}" + (f":{f.path}" if f.path else "")
        console.print(
            f"{escape(where)}: [bold]{f.code}[/] [{SEVERITY_STYLES[f.severity]}]{f.severity}[/] "
            f"{escape(f.message)} [dim]({f.name})[/]",
            highlight=False,
            soft_wrap=True,
        )
    n = counts(findings)
    hint = "  (lpack explain CODE tells why and how to fix)" if findings else ""
    console.print(
        f"{n['error']} errors · {n['warning']} warnings · {n['info']} notes{hint}", highlight=False
    )


def _sizes_table(first: str, rows: list[NamedSizes], total: int, limit: int | None = None) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for title in (first, "files", "unzipped", "zipped", ""):
        table.add_column(title, justify="left" if title in (first, "") else "right")
    for row in rows[:limit]:
        s = row.sizes
        table.add_row(
            f"  {escape(row.name)}",
            f"{s.files:,}",
            human_bytes(s.unzipped),
            human_bytes(s.zipped),
            bar(s.unzipped, total),
        )
    return table


def _distributions_table(report: Report) -> Table:
    total = report.unzipped_size
    table = Table(box=None, pad_edge=False, header_style="bold")
    for title, justify in (
        ("  distribution", "left"),
        ("version", "left"),
        ("files", "right"),
        ("unzipped", "right"),
        ("zipped", "right"),
        ("", "left"),
        ("why", "left"),
    ):
        table.add_column(title, justify=justify, no_wrap=title != "why")  # type: ignore[arg-type]
    for d in report.distributions:
        s = d.sizes
        table.add_row(
            f"  {d.name}",
            d.version,
            f"{s.files:,}",
            human_bytes(s.unzipped),
            human_bytes(s.zipped),
            bar(s.unzipped, total),
            escape(" ← ".join(d.why)),
        )
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
    totals = f"{report.files:,} files · {total:,} B unzipped"
    if zipped is not None:
        totals += f" · {zipped:,} B zipped"
    if target and target.runtime:
        totals += f" · {target.describe()}"
    line(console, "", totals)
    console.print(_distributions_table(report))
    console.print(_sizes_table("  kind of file", report.kinds, total))
    console.print(_sizes_table("  top-level module", report.modules, total, limit=15))
    console.print(_folder_tree(report, depth))


def print_diff(console: Console, diff: Diff) -> None:
    old, new = diff.old, diff.new
    line(console, "diff", escape(f"{old.artifact} → {new.artifact}"))
    line(
        console,
        "",
        f"unzipped {old.unzipped_size:,} → {new.unzipped_size:,} B ({delta(diff.unzipped_delta)})",
    )
    if diff.zipped_delta is not None:
        line(
            console,
            "",
            f"zipped   {old.zipped_size:,} → {new.zipped_size:,} B ({delta(diff.zipped_delta)})",
        )
    for row in diff.changed:
        if row.old_version != row.new_version:
            versions = f"{row.old_version or '—'} → {row.new_version or '—'}"
        else:
            versions = row.new_version or ""
        line(
            console,
            "",
            f"{row.status:<8} {escape(row.name):<24} {escape(versions):<22} {delta(row.delta):>16}",
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
    console: Console, built: ProjectBuild, verified: dict[str, VerifyResult]
) -> None:
    for outcome in built.outcomes:
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
                    f"{built.manifest.zip_path(entry)}  {entry.zipped_size:,} B zipped · "
                    f"{entry.unzipped_size:,} B unzipped · sha256 {entry.sha256}"
                ),
            )
        elif outcome.result.archive is None:
            print_dry_run(console, outcome.result)
        else:
            print_build(console, outcome.result)
            _left_out_line(console, outcome.result)
        if spec.name in verified:
            print_verify(console, verified[spec.name])
    rebuilt = sum(1 for o in built.outcomes if o.rebuilt)
    unchanged = len(built.outcomes) - rebuilt
    if any(o.entry for o in built.outcomes):
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
