"""All terminal and machine output: the only module that imports rich."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from rich.console import Console
from rich.markup import escape
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
from rich.table import Table
from rich.text import Text

from lpack.build import BuildResult
from lpack.errors import LpackError
from lpack.lint import Finding
from lpack.lock import LockResult
from lpack.target import Target
from lpack.verify import VerifyResult

JSON_VERSION = 1


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


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
    """Live stage display on a terminal; prints one line per finished stage."""

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


def _line(console: Console, label: str, text: str) -> None:
    console.print(f"  [bold]{label:<8}[/] {text}", highlight=False)


def short_upload_note(upload: str) -> str:
    if upload == "direct":
        return "direct upload: 50 MiB zipped and 250 MiB unzipped apply"
    return "S3 upload: 250 MiB unzipped applies, 50 MiB zipped does not"


def slim_json(result: BuildResult) -> dict[str, Any]:
    from lpack.slim import categories

    known = categories()
    slim = result.slim
    files: dict[str, int] = {}
    for removal in slim.removals:
        files[removal.code] = files.get(removal.code, 0) + 1
    files["LP807"] = files.get("LP807", 0) + len(slim.stripped)
    return {
        "enabled": bool(result.config.slim.get("enabled", True)),
        "saved": slim.total_saved,
        "by_category": [
            {
                "code": code,
                "name": known[code].name if code in known else "user drop globs",
                "bytes": saved,
                "files": files.get(code, 0),
            }
            for code, saved in slim.saved_by_category().items()
        ],
        "by_distribution": [
            {"name": name, "bytes": saved} for name, saved in slim.saved_by_distribution().items()
        ],
        "kept_imported": slim.kept_imported,
        "untouched_binaries": slim.untouched_binaries,
    }


def dry_run_json(result: BuildResult) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "command": "build --dry-run",
        "slim": slim_json(result),
        "removals": [
            {"path": r.path, "distribution": r.dist, "code": r.code, "size": r.size}
            for r in result.slim.removals
        ],
        "stripped": [
            {
                "path": s.path,
                "distribution": s.dist,
                "before": s.before,
                "after": s.after,
                "removed_sections": list(s.removed_sections),
            }
            for s in result.slim.stripped
        ],
        "warnings": result.plan.warnings + result.slim.warnings,
    }


def build_json(result: BuildResult) -> dict[str, Any]:
    target = result.config.target
    archive = result.archive
    assert archive is not None
    return {
        "version": JSON_VERSION,
        "command": "build",
        "ok": not result.exceeded and not result.lint_errors,
        "target": {
            "runtime": target.runtime,
            "arch": target.arch,
            "python": "{}.{}".format(*target.python_version),
            "os": target.os_name,
            "glibc": target.glibc_text,
        },
        "lock": {
            "path": str(result.config.lock_path),
            "input": result.lock.requirements.label,
            "pins": len(result.lock.lockfile.pins),
            "reused": result.lock.reused,
        },
        "fetch": {
            "wheels": len(result.wheels),
            "cached": sum(1 for w in result.wheels if w.cached),
            "built_from_sdist": sorted(w.name for w in result.wheels if w.built_from_sdist),
        },
        "handler": {
            "handler": result.handler.handler,
            "configured": result.handler.configured,
            "note": result.handler.note,
        },
        "output": {
            "path": str(archive.path),
            "files": archive.file_count,
            "source_files": result.plan.source_files,
            "zipped_size": archive.zipped_size,
            "unzipped_size": archive.unzipped_size,
            "sha256": archive.sha256,
            "sha256_base64": archive.sha256_base64,
        },
        "upload": result.config.upload,
        "limits": [
            {
                "name": c.name,
                "label": c.label,
                "source": c.source,
                "limit": c.limit,
                "actual": c.actual,
                "share": round(c.share, 4),
                "exceeded": c.exceeded,
                "over_by": c.over_by,
            }
            for c in result.limits
        ],
        "distributions": [
            {
                "name": d.name,
                "version": d.version,
                "files": d.files,
                "unzipped_size": d.unzipped,
                "zipped_size": d.zipped,
            }
            for d in result.sizes_by_distribution
        ],
        "slim": slim_json(result),
        "lint": findings_json(result.findings, target),
        "warnings": result.plan.warnings + result.slim.warnings,
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
    }


def print_json(console: Console, data: dict[str, Any]) -> None:
    console.print_json(json.dumps(data), highlight=False) if console.is_terminal else print(
        json.dumps(data, indent=2)
    )


def _slim_line(result: BuildResult) -> str:
    from lpack.slim import categories

    known = categories()
    saved = result.slim.saved_by_category()
    if not result.config.slim.get("enabled", True):
        return "off"
    if not saved:
        return "nothing to remove"
    parts = " · ".join(
        f"{known[c].name if c in known else 'drop globs'} {human_bytes(n)}"
        for c, n in saved.items()
    )
    return f"−{human_bytes(result.slim.total_saved)}: {parts}"


def print_dry_run(console: Console, result: BuildResult) -> None:
    from lpack.slim import categories

    known = categories()
    slim = result.slim
    line = partial(_line, console)
    line("target", escape(result.config.target.describe()))
    line("slim", escape(_slim_line(result)) + "  (dry run: nothing written)")
    by_code: dict[str, list[str]] = {}
    for removal in slim.removals:
        by_code.setdefault(removal.code, []).append(f"{removal.path} ({removal.size:,} B)")
    for stripped in slim.stripped:
        by_code.setdefault("LP807", []).append(
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
        console.print(
            "\n[bold]kept[/] test/docs modules that shipped code imports: "
            + escape(", ".join(slim.kept_imported)),
            highlight=False,
        )
    for note in slim.untouched_binaries:
        console.print(f"  [yellow]left untouched[/] {escape(note)}", highlight=False)
    for warning in slim.warnings:
        console.print(f"  [yellow]warning[/] {escape(warning)}", highlight=False)


def print_build(console: Console, result: BuildResult) -> None:
    target = result.config.target
    archive = result.archive
    assert archive is not None
    line = partial(_line, console)
    line("target", escape(target.describe()))
    lock = result.lock
    line(
        "lock",
        escape(
            f"{lock.requirements.label} → {result.config.lock_path.name} "
            f"({len(lock.lockfile.pins)} pins, "
            f"{'reused' if lock.reused else 'resolved'}) "
            f"{result.timings.get('lock', 0):.1f} s"
        ),
    )
    cached = sum(1 for w in result.wheels if w.cached)
    line(
        "fetch",
        f"{len(result.wheels)} wheels ({cached} cached) {result.timings.get('fetch', 0):.1f} s",
    )
    line("slim", escape(_slim_line(result)))
    by_dist = list(result.slim.saved_by_distribution().items())[:5]
    if by_dist:
        line("", escape(" · ".join(f"{name} −{human_bytes(n)}" for name, n in by_dist)))
    line("handler", escape(result.handler.note))
    line("output", escape(str(archive.path)))
    line(
        "",
        f"{archive.file_count:,} files: {result.plan.source_files:,} from source, "
        f"{len(result.plan.distributions)} distributions",
    )
    line("sha256", archive.sha256)
    line("base64", f"{archive.sha256_base64}  (source_code_hash)")
    line("limits", escape(short_upload_note(result.config.upload)))
    for check in result.limits:
        style = "red" if check.exceeded else "green"
        status = f"OVER by {check.over_by:,} B" if check.exceeded else "ok"
        line(
            "",
            f"{check.name:<8} {check.actual:>13,} B [{style}]{check.share:6.1%}[/] of "
            f"{check.label}  [{style}]{status}[/]",
        )
    sizes = result.sizes_by_distribution
    table = Table(title=None, box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("  largest", no_wrap=True)
    table.add_column("version")
    table.add_column("files", justify="right")
    table.add_column("unzipped", justify="right")
    table.add_column("zipped", justify="right")
    for dist in sizes[:10]:
        table.add_row(
            f"  {dist.name}",
            dist.version,
            f"{dist.files:,}",
            human_bytes(dist.unzipped),
            human_bytes(dist.zipped),
        )
    console.print(table)
    from lpack.lint import counts

    n = counts(result.findings)
    line(
        "lint",
        f"{n['error']} errors · {n['warning']} warnings · {n['info']} notes"
        + ("  (lpack explain CODE)" if result.findings else ""),
    )
    styles = {"error": "red", "warning": "yellow", "info": "blue"}
    for f in result.findings[:10]:
        where = f" {f.path}:" if f.path else ""
        line("", f"[{styles[f.severity]}]{f.code}[/]{escape(where)} {escape(f.message)}")
    if len(result.findings) > 10:
        line("", f"… {len(result.findings) - 10} more: lpack lint {escape(str(archive.path))}")
    for warning in result.plan.warnings + result.slim.warnings:
        console.print(f"  [yellow]warning[/] {escape(warning)}")
    if result.exceeded:
        heaviest = ", ".join(f"{d.name} {human_bytes(d.unzipped)}" for d in sizes[:5])
        for check in result.exceeded:
            console.print(
                f"[red bold]error[/] the package is {check.over_by:,} B over {check.label} "
                f"({check.actual:,} B of {check.limit:,} B). Heaviest: {heaviest}."
            )


def lock_json(result: LockResult) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "command": "lock",
        "path": str(result.lockfile.path),
        "input": result.requirements.label,
        "target": result.lockfile.header.get("target", ""),
        "reused": result.reused,
        "pins": [
            {"name": p.name, "version": p.version, "hashes": len(p.hashes)}
            for p in result.lockfile.pins
        ],
    }


def print_lock(console: Console, result: LockResult) -> None:
    state = "is current (inputs unchanged)" if result.reused else "written"
    console.print(
        f"  [bold]lock[/] {escape(str(result.lockfile.path))} {state}: "
        f"{len(result.lockfile.pins)} pins for {escape(result.lockfile.header.get('target', '?'))} "
        f"from {escape(result.requirements.label)}"
    )


def error_json(error: LpackError) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "ok": False,
        "error": {
            "type": type(error).__name__,
            "message": error.message,
            "details": error.details,
            "hint": error.hint,
            "exit_code": error.exit_code,
        },
    }


def print_error(console: Console, error: LpackError) -> None:
    console.print(f"[red bold]error:[/] {escape(error.message)}", highlight=False, soft_wrap=True)
    if error.details:
        console.print(error.details, highlight=False, markup=False, soft_wrap=True)
    if error.hint:
        console.print(f"[bold]fix:[/] {escape(error.hint)}", highlight=False, soft_wrap=True)


def verify_json(result: VerifyResult) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "command": "verify",
        "ok": result.ok,
        "artifact": str(result.artifact),
        "python": str(result.python),
        "user": result.user,
        "imports": [
            {"module": r.module, "ok": r.ok, "detail": r.detail, "traceback": r.traceback}
            for r in result.imports
        ],
        "metadata": [{"name": r.module, "ok": r.ok, "detail": r.detail} for r in result.metadata],
        "invoke": result.invoke,
    }


def print_verify(console: Console, result: VerifyResult) -> None:
    line = partial(_line, console)
    line(
        "verify",
        escape(
            f"{result.artifact} with {result.python} -I -S as {result.user}, "
            "read-only, Lambda's sys.path and environment"
        ),
    )
    for item in result.imports:
        if item.ok:
            line("", f"[green]ok[/]    import {escape(item.module)}")
        else:
            line("", f"[red]FAIL[/]  import {escape(item.module)}: {escape(item.detail)}")
    if not result.imports:
        line("", "[red]FAIL[/]  nothing was imported")
    found = [m for m in result.metadata if m.ok]
    if found:
        line("", f"[green]ok[/]    importlib.metadata finds {len(found)} distributions")
    for item in result.metadata:
        if not item.ok:
            line(
                "", f"[red]FAIL[/]  importlib.metadata {escape(item.module)}: {escape(item.detail)}"
            )
    if result.invoke is not None:
        if result.invoke.get("ok"):
            line("invoke", escape(json.dumps(result.invoke.get("result"), default=str)))
        else:
            line(
                "invoke",
                f"[red]FAIL[/] {escape(result.invoke['handler'])} raised "
                f"{escape(result.invoke['type'])}: {escape(result.invoke['message'])}",
            )
            console.print(escape(result.invoke.get("traceback", "").rstrip()), highlight=False)
    failed = [i for i in result.imports if not i.ok]
    for item in failed:
        console.print(escape(item.traceback.rstrip()), highlight=False)


def findings_json(findings: list[Finding], target: Target) -> dict[str, Any]:
    from lpack.lint import counts

    return {
        "version": JSON_VERSION,
        "command": "lint",
        "target": {"runtime": target.runtime, "arch": target.arch},
        "counts": counts(findings),
        "findings": [
            {
                "code": f.code,
                "name": f.name,
                "severity": f.severity,
                "artifact": f.artifact,
                "path": f.path,
                "message": f.message,
            }
            for f in findings
        ],
    }


def print_findings_text(console: Console, findings: list[Finding]) -> None:
    from lpack.lint import counts

    styles = {"error": "red", "warning": "yellow", "info": "blue"}
    for f in findings:
        where = f"{f.artifact}" + (f":{f.path}" if f.path else "")
        console.print(
            f"{escape(where)}: [bold]{f.code}[/] [{styles[f.severity]}]{f.severity}[/] "
            f"{escape(f.message)} [dim]({f.name})[/]",
            highlight=False,
            soft_wrap=True,
        )
    n = counts(findings)
    console.print(
        f"{n['error']} errors · {n['warning']} warnings · {n['info']} notes"
        + ("  (lpack explain CODE tells why and how to fix)" if findings else ""),
        highlight=False,
    )


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def findings_github(findings: list[Finding]) -> str:
    """GitHub Actions workflow commands: one annotation per finding."""
    level = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for f in findings:
        title = f"{f.code} {f.name}"
        where = f.path or ""
        lines.append(
            f"::{level[f.severity]} file={_gh_escape(f.artifact, True)},"
            f"title={_gh_escape(title, True)}::{_gh_escape((where + ': ' if where else '') + f.message)}"
        )
    return "\n".join(lines) + ("\n" if lines else "")


def findings_sarif(findings: list[Finding]) -> dict[str, Any]:
    """SARIF 2.1.0, the format code-scanning dashboards read."""
    from lpack import __version__
    from lpack.lint import catalog

    rules = catalog()
    used = sorted({f.code for f in findings})
    index = {code: i for i, code in enumerate(used)}
    level = {"error": "error", "warning": "warning", "info": "note"}
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lpack",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/lpack/",
                        "rules": [
                            {
                                "id": code,
                                "name": rules[code].name,
                                "shortDescription": {"text": rules[code].summary},
                                "fullDescription": {"text": rules[code].why},
                                "help": {"text": rules[code].fix},
                                "defaultConfiguration": {"level": level[rules[code].severity]},
                            }
                            for code in used
                        ],
                    }
                },
                "results": [
                    {
                        "ruleId": f.code,
                        "ruleIndex": index[f.code],
                        "level": level[f.severity],
                        "message": {"text": f.message},
                        "locations": [
                            {
                                "physicalLocation": {"artifactLocation": {"uri": f.artifact}},
                                **(
                                    {
                                        "logicalLocations": [
                                            {"fullyQualifiedName": f.path, "kind": "member"}
                                        ]
                                    }
                                    if f.path
                                    else {}
                                ),
                            }
                        ],
                    }
                    for f in findings
                ],
            }
        ],
    }


def _bar(value: int, total: int, width: int = 20) -> str:
    filled = round(width * value / total) if total else 0
    return "█" * filled + "·" * (width - filled)


def print_report(console: Console, report: dict[str, Any], depth: int = 2) -> None:
    from rich.tree import Tree

    total = report["unzipped_size"]
    zipped = report.get("zipped_size")
    target = report.get("target") or {}
    line = partial(_line, console)
    line("report", escape(report["artifact"]))
    line(
        "",
        f"{report['files']:,} files · {total:,} B unzipped"
        + (f" · {zipped:,} B zipped" if zipped is not None else "")
        + (f" · {target['runtime']} {target['arch']}" if target.get("runtime") else ""),
    )
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
    for d in report["distributions"]:
        table.add_row(
            f"  {d['name']}",
            d["version"],
            f"{d['files']:,}",
            human_bytes(d["unzipped"]),
            human_bytes(d["zipped"]),
            _bar(d["unzipped"], total),
            escape(" ← ".join(d["why"])),
        )
    console.print(table)
    kinds = Table(box=None, pad_edge=False, header_style="bold")
    for title in ("  kind of file", "files", "unzipped", "zipped", ""):
        kinds.add_column(title, justify="left" if title in ("  kind of file", "") else "right")
    for k in report["kinds"]:
        kinds.add_row(
            f"  {k['name']}",
            f"{k['files']:,}",
            human_bytes(k["unzipped"]),
            human_bytes(k["zipped"]),
            _bar(k["unzipped"], total),
        )
    console.print(kinds)
    modules = Table(box=None, pad_edge=False, header_style="bold")
    for title in ("  top-level module", "files", "unzipped", "zipped", ""):
        modules.add_column(
            title, justify="left" if title in ("  top-level module", "") else "right"
        )
    for m in report["modules"][:15]:
        modules.add_row(
            f"  {escape(m['name'])}",
            f"{m['files']:,}",
            human_bytes(m["unzipped"]),
            human_bytes(m["zipped"]),
            _bar(m["unzipped"], total),
        )
    console.print(modules)
    tree = Tree(f"[bold]folders[/] (depth {depth})")

    def add(branch: Any, node: dict[str, Any], level: int) -> None:
        for child in node.get("children", [])[:12]:
            label = (
                f"{_bar(child['size'], total, 12)} {human_bytes(child['size']):>10}  "
                f"{escape(child['name'])}{'/' if child.get('children') else ''}"
            )
            sub = branch.add(label)
            if level + 1 < depth and child.get("children"):
                add(sub, child, level + 1)

    add(tree, report["tree"], 0)
    console.print(tree)


def report_markdown(report: dict[str, Any]) -> str:
    total = report["unzipped_size"]
    zipped = report.get("zipped_size")
    out = [
        f"### lpack report: `{report['artifact'].rsplit('/', 1)[-1]}`",
        "",
        f"{report['files']:,} files · **{total:,} B unzipped**"
        + (f" · **{zipped:,} B zipped**" if zipped is not None else ""),
        "",
        "| distribution | version | files | unzipped | zipped | share | why |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for d in report["distributions"]:
        share = d["unzipped"] / total if total else 0
        out.append(
            f"| {d['name']} | {d['version']} | {d['files']:,} | {d['unzipped']:,} | "
            f"{d['zipped']:,} | {share:.1%} | {' ← '.join(d['why'])} |"
        )
    out += ["", "| kind of file | files | unzipped | zipped |", "| --- | ---: | ---: | ---: |"]
    for k in report["kinds"]:
        out.append(f"| {k['name']} | {k['files']:,} | {k['unzipped']:,} | {k['zipped']:,} |")
    return "\n".join(out) + "\n"


def _delta(n: int | None) -> str:
    return "n/a" if n is None else f"{n:+,} B"


def diff_markdown(diff: dict[str, Any], title: str = "lpack diff") -> str:
    old, new = diff["old"], diff["new"]
    out = [
        f"### {title}",
        "",
        f"unzipped: {old['unzipped_size']:,} → {new['unzipped_size']:,} B "
        f"(**{_delta(diff['unzipped_delta'])}**)",
    ]
    if diff["zipped_delta"] is not None:
        out.append(
            f"zipped: {old['zipped_size']:,} → {new['zipped_size']:,} B "
            f"(**{_delta(diff['zipped_delta'])}**)"
        )
    out += [
        "",
        "| distribution | change | version | unzipped | delta |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for row in diff["distributions"]:
        if row["status"] == "same":
            continue
        version = (
            row["new_version"]
            if row["old_version"] in (None, row["new_version"])
            else f"{row['old_version']} → {row['new_version'] or '—'}"
        )
        out.append(
            f"| {row['name']} | {row['status']} | {version or row['old_version']} | "
            f"{row['new_unzipped']:,} | {_delta(row['delta'])} |"
        )
    for warning in diff["warnings"]:
        out.append(f"\n> warning: {warning}")
    return "\n".join(out) + "\n"


def print_diff(console: Console, diff: dict[str, Any]) -> None:
    line = partial(_line, console)
    old, new = diff["old"], diff["new"]
    line("diff", escape(f"{old['artifact']} → {new['artifact']}"))
    line(
        "",
        f"unzipped {old['unzipped_size']:,} → {new['unzipped_size']:,} B "
        f"({_delta(diff['unzipped_delta'])})",
    )
    if diff["zipped_delta"] is not None:
        line(
            "",
            f"zipped   {old['zipped_size']:,} → {new['zipped_size']:,} B "
            f"({_delta(diff['zipped_delta'])})",
        )
    for row in diff["distributions"]:
        if row["status"] == "same":
            continue
        versions = (
            f"{row['old_version'] or '—'} → {row['new_version'] or '—'}"
            if row["old_version"] != row["new_version"]
            else row["new_version"]
        )
        line(
            "",
            f"{row['status']:<8} {escape(row['name']):<24} {escape(versions or ''):<22} "
            f"{_delta(row['delta']):>16}",
        )
    for warning in diff["warnings"]:
        console.print(f"  [yellow]warning[/] {escape(warning)}", highlight=False)
