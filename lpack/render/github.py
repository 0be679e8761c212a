"""GitHub Actions: annotations for lint findings and gate failures, and the job summary
that `build` and `lint` add to when they run in a workflow (as `gate` does)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lpack.inspect.gate import GateResult
from lpack.inspect.registry import Finding, counts
from lpack.render.console import tally
from lpack.render.markdown import _md

if TYPE_CHECKING:
    from lpack.build import BuildResult

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}
# The job summary shows this many findings; `lpack lint --format json` has them all.
_SUMMARY_ROWS = 50


def escape(text: str, prop: bool = False) -> str:
    """Workflow-command escaping: data loses %, CR and LF; properties also : and ,."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def findings_github(findings: list[Finding]) -> str:
    """One annotation per finding."""
    lines = []
    for f in findings:
        title = f"{f.code} {f.name}"
        where = f.path or ""
        message = (where + ": " if where else "") + f.message
        lines.append(
            f"::{_LEVEL[f.severity]} file={escape(f.artifact, True)},"
            f"title={escape(title, True)}::{escape(message)}"
        )
    return "\n".join(lines) + ("\n" if lines else "")


def gate_github(result: GateResult, path: Path, baseline: Path, artifact: str | None = None) -> str:
    """An error annotation per failure and a notice with the growth."""
    title = escape(f"lpack gate {artifact}" if artifact else "lpack gate", True)
    lines = [
        f"::error file={escape(str(path), True)},title={title}::{escape(failure)}"
        for failure in result.failures
    ]
    delta = result.diff.unzipped_delta
    lines.append(f"::notice title={title}::unzipped {delta:+,} B against {baseline}")
    return "\n".join(lines) + "\n"


def findings_markdown(findings: list[Finding], title: str) -> str:
    """The job summary's section: the tally, then a table of the findings."""
    out = [f"### {_md(title)}: {tally(counts(findings))}"]
    if findings:
        out += ["", "| rule | severity | where | message |", "| --- | --- | --- | --- |"]
    for f in findings[:_SUMMARY_ROWS]:
        where = f.artifact.rsplit("/", 1)[-1] + (f":{f.path}" if f.path else "")
        out.append(f"| {f.code} {f.name} | {f.severity} | {_md(where)} | {_md(f.message)} |")
    if len(findings) > _SUMMARY_ROWS:
        out.append(f"\n{len(findings) - _SUMMARY_ROWS:,} more: `lpack lint --format json`")
    return "\n".join(out) + "\n"


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def announce(findings: list[Finding], title: str, annotate: bool = True) -> None:
    """In a GitHub Actions job (GITHUB_ACTIONS=true), besides the normal output: an
    annotation per finding and a section in $GITHUB_STEP_SUMMARY; elsewhere nothing.

    Annotations go to standard error, which the runner reads for workflow commands as it
    reads standard output, so `--format json` on standard output stays parseable.
    """
    if not in_actions():
        return
    if annotate:
        sys.stderr.write(findings_github(findings))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return
    try:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(findings_markdown(findings, title) + "\n")
    except OSError as exc:  # the summary is a courtesy: the verdict stands without it
        why = escape(f"cannot add to the job summary {summary}: {exc.strerror or exc}")
        sys.stderr.write(f"::warning title=lpack::{why}\n")


def announce_build(result: BuildResult) -> None:
    """A build's findings and the limits it broke (which its text reports in their own
    section, not as findings), announced as `announce` does."""
    if result.archive is None:
        return  # a dry run: nothing was checked
    artifact = str(result.archive.path)
    limits = [Finding(c.code, "error", artifact, None, c.message()) for c in result.exceeded]
    announce(limits + result.findings, f"lpack build {result.spec.name}")
