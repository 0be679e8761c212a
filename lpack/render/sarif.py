"""`lint --format sarif`: SARIF 2.1.0, the format code-scanning dashboards read."""

from __future__ import annotations

from typing import Any

from lpack import __version__
from lpack.catalog import lint_rules
from lpack.inspect.registry import Finding

_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _rule(code: str) -> dict[str, Any]:
    rule = lint_rules()[code]
    return {
        "id": code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why},
        "help": {"text": rule.fix},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
    }


def _result(f: Finding, index: int) -> dict[str, Any]:
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": f.artifact}}}
    # A finding grouped per distribution is fixed only by changing every member it names:
    # one location, all of them as its logical locations.
    members = f.paths or ((f.path,) if f.path else ())
    if members:
        location["logicalLocations"] = [
            {"fullyQualifiedName": path, "kind": "member"} for path in members
        ]
    return {
        "ruleId": f.code,
        "ruleIndex": index,
        "level": _LEVEL[f.severity],
        "message": {"text": f.message},
        "locations": [location],
    }


def findings_sarif(findings: list[Finding]) -> dict[str, Any]:
    used = sorted({f.code for f in findings})
    index = {code: i for i, code in enumerate(used)}
    driver = {
        "name": "lpack",
        "version": __version__,
        "rules": [_rule(code) for code in used],
    }
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {"tool": {"driver": driver}, "results": [_result(f, index[f.code]) for f in findings]}
        ],
    }
