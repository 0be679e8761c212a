"""GitHub Actions workflow commands: annotations for lint findings and gate failures."""

from __future__ import annotations

from pathlib import Path

from lpack.inspect.gate import GateResult
from lpack.inspect.registry import Finding

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


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
