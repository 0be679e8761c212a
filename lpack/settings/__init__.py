"""Settings: one typed model, a project as a list of artifact specs (functions and layers); imports only catalog, target and errors.

pyproject.toml and the command line each give a *partial* spec of the same dataclasses (the
fields they set are listed in `given`); `Section.merged` layers one partial over another by
one rule, read from each field's declaration:

- replace (scalars and plain lists): a value that is given replaces the one below it;
- extend (`extend-*`-like lists: slim enable/disable/keep/drop, lint rule selections): the
  lists are concatenated, lower layer first;
- nested (the slim and lint tables): merged field by field with these same rules;
- update (tables keyed by a name: per-distribution, per-path-ignores): merged key by key.

Lint `select`/`extend-select`/`ignore` keep one RuleSelection per layer and are resolved as
ruff resolves them (inspect/lint.py): a later `select` starts over, a later `ignore` or
`extend-select` refines what the layers below chose.
"""

from __future__ import annotations

from lpack.settings.load import cli_spec, load_artifact, load_project, read_pyproject
from lpack.settings.merge import CLI_ORIGIN, Section, Where
from lpack.settings.model import (
    DEFAULT_ARCH,
    DEFAULT_RUNTIME,
    KINDS,
    ArtifactSpec,
    DistributionSlim,
    LintSettings,
    Project,
    RuleSelection,
    SlimRules,
    SlimSettings,
)
from lpack.settings.values import UPLOAD_MODES, parse_size

__all__ = [
    "CLI_ORIGIN",
    "DEFAULT_ARCH",
    "DEFAULT_RUNTIME",
    "KINDS",
    "UPLOAD_MODES",
    "ArtifactSpec",
    "DistributionSlim",
    "LintSettings",
    "Project",
    "RuleSelection",
    "Section",
    "SlimRules",
    "SlimSettings",
    "Where",
    "cli_spec",
    "load_artifact",
    "load_project",
    "parse_size",
    "read_pyproject",
]
