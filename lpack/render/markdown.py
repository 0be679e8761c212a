"""Markdown for $GITHUB_STEP_SUMMARY and pull-request comments: reports, diffs, gate results."""

from __future__ import annotations

from lpack.inspect.diff import Diff
from lpack.inspect.gate import GateResult
from lpack.inspect.report import Report
from lpack.render.console import delta, human_bytes


def _md(text: object) -> str:
    """A name from a package, safe in a table cell: a package cannot add HTML, links or
    columns to a pull-request comment."""
    value = str(text)
    for raw, safe in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("`", "'")):
        value = value.replace(raw, safe)
    return " ".join(value.split())  # no newlines: one row stays one row


def report_markdown(report: Report) -> str:
    total = report.unzipped_size
    zipped = report.zipped_size
    totals = f"{report.files:,} files · **{human_bytes(total)} unzipped**"
    if zipped is not None:
        totals += f" · **{human_bytes(zipped)} zipped**"
    out = [
        f"### lpack report: `{_md(report.artifact.rsplit('/', 1)[-1])}`",
        "",
        totals,
        "",
        "| distribution | version | files | unzipped | zipped | share | why |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for d in report.distributions:
        s = d.sizes
        share = s.unzipped / total if total else 0
        out.append(
            f"| {_md(d.name)} | {_md(d.version)} | {s.files:,} | {human_bytes(s.unzipped)} | "
            f"{human_bytes(s.zipped)} | "
            f"{share:.1%} | {_md(' ← '.join(d.why))} |"
        )
    out += ["", "| kind of file | files | unzipped | zipped |", "| --- | ---: | ---: | ---: |"]
    for k in report.kinds:
        sizes = k.sizes
        out.append(
            f"| {_md(k.name)} | {sizes.files:,} | {human_bytes(sizes.unzipped)} | "
            f"{human_bytes(sizes.zipped)} |"
        )
    return "\n".join(out) + "\n"


def diff_markdown(diff: Diff, title: str = "lpack diff") -> str:
    old, new = diff.old, diff.new
    out = [
        f"### {title}",
        "",
        f"unzipped: {human_bytes(old.unzipped_size)} → {human_bytes(new.unzipped_size)} "
        f"(**{delta(diff.unzipped_delta)}**)",
    ]
    if diff.zipped_delta is not None:
        out.append(
            f"zipped: {human_bytes(old.zipped_size or 0)} → {human_bytes(new.zipped_size or 0)} "
            f"(**{delta(diff.zipped_delta)}**)"
        )
    out += [
        "",
        "| distribution | change | version | unzipped | delta |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for row in diff.changed:
        if row.old_version in (None, row.new_version):
            version = row.new_version
        else:
            version = f"{row.old_version} → {row.new_version or '—'}"
        out.append(
            f"| {_md(row.name)} | {row.status} | {_md(version or row.old_version)} | "
            f"{human_bytes(row.new_unzipped)} | {delta(row.delta)} |"
        )
    for warning in diff.warnings:
        out.append(f"\n> warning: {_md(warning)}")
    return "\n".join(out) + "\n"


def gate_markdown(result: GateResult, artifact: str | None = None) -> str:
    title = f"lpack gate{f' {_md(artifact)}' if artifact else ''}: {'passed' if result.ok else 'FAILED'}"
    failures = "".join(f"\n- **{_md(failure)}**" for failure in result.failures)
    return diff_markdown(result.diff, title) + failures
