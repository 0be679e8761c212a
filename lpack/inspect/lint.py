"""Runs the registered checks over packages: which rules are on (ruff's selection), which
findings a per-path ignore silences, and in what order they are reported."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lpack.catalog import SEVERITIES, lint_rules
from lpack.inspect import checks  # noqa: F401 - importing the families registers every check
from lpack.inspect.contents import Contents, read_contents
from lpack.inspect.registry import Context, Finding, LintOptions, counts, registry
from lpack.settings import RuleSelection
from lpack.target import Target

# Rules about a function and its layers together; a layer's other findings are its own.
ACROSS_LAYERS = ("LP102", "LP103", "LP208", "LP304")

__all__ = [
    "ACROSS_LAYERS",
    "Finding",
    "LintOptions",
    "RuleCount",
    "counts",
    "enabled_codes",
    "lint",
    "lint_paths",
    "registry",
    "statistics",
]


def enabled_codes(selections: Iterable[RuleSelection]) -> set[str]:
    """The rules left on after each layer of selection, resolved as ruff resolves them.

    Every rule starts on. In each layer (pyproject.toml, then the command line) more specific
    selectors win over less specific ones (LP402 over LP4), and at equal specificity an ignore
    wins over a select. A layer with `select` starts over from what it selects; a layer
    without one changes only what its extend-select and ignore name.
    """
    known = list(lint_rules())
    enabled = set(known)
    for layer in selections:
        selectors = [(p, True) for p in (*(layer.select or ()), *layer.extend_select)]
        selectors += [(p, False) for p in layer.ignore]
        updates: dict[str, bool] = {}
        for prefix, on in sorted(selectors, key=lambda s: (len(s[0]), not s[1])):
            updates.update((code, on) for code in known if code.startswith(prefix))
        if layer.select is not None:
            enabled = {code for code, on in updates.items() if on}
        else:
            enabled |= {code for code, on in updates.items() if on}
            enabled -= {code for code, on in updates.items() if not on}
    return enabled


def lint(packages: list[Contents], target: Target, options: LintOptions) -> list[Finding]:
    enabled = enabled_codes(options.settings.selections) - set(options.reported_elsewhere)
    registered = registry()
    context = Context(packages, target, options)
    findings: list[Finding] = []
    for code in sorted(enabled):
        for finding in registered[code](context):
            # A check may report under a sibling code (LP501's parse cap is LP409).
            if finding.code in enabled and not options.ignored_at(finding.code, finding.path):
                findings.append(finding)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: (order[f.severity], f.code, f.artifact, f.path or ""))


def lint_paths(paths: list[Path], target: Target, options: LintOptions) -> list[Finding]:
    """Read each path (the function first, then its layers) and lint them together."""
    packages = []
    try:
        for path in paths:
            packages.append(read_contents(path))
        return lint(packages, target, options)
    finally:
        for contents in packages:
            contents.close()


@dataclass(frozen=True)
class RuleCount:
    """One line of `lint --statistics`: how often a rule fired, and over how many paths
    (a finding grouped per distribution counts once, its paths all)."""

    code: str
    name: str
    severity: str
    count: int
    paths: int


def statistics(findings: Iterable[Finding]) -> list[RuleCount]:
    """Findings per rule, the most frequent first (ties by code), as ruff's --statistics."""
    by_code: dict[str, list[Finding]] = {}
    for f in findings:
        by_code.setdefault(f.code, []).append(f)
    rows = [
        RuleCount(
            code,
            found[0].name,
            # the gravest: LP209 is a warning where a try/except guards the import
            min((f.severity for f in found), key=SEVERITIES.index),
            len(found),
            sum(len(f.paths) or (1 if f.path else 0) for f in found),
        )
        for code, found in by_code.items()
    ]
    return sorted(rows, key=lambda r: (-r.count, r.code))
