"""The pip-tools worker: the only code that touches pip's internals, and only the pip it knows."""

from __future__ import annotations

import sys

from conftest import ROOT
from packaging.requirements import Requirement

from lpack.resolve import _pipworker
from lpack.resolve.diagnose import fetch_error, lock_error
from lpack.resolve.inputs import RequirementsInput
from lpack.settings import ArtifactSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_worker_supports_exactly_the_versions_lpack_installs() -> None:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        dependencies = tomllib.load(fh)["project"]["dependencies"]
    pins = {Requirement(d).name: Requirement(d).specifier for d in dependencies}
    assert pins["pip"] == _pipworker.SUPPORTED_PIP
    assert pins["pip-tools"] == _pipworker.SUPPORTED_PIP_TOOLS
    assert _pipworker.unsupported_versions() is None  # what this environment installed


def test_an_unsupported_pip_is_a_clear_error_not_a_traceback(tmp_path) -> None:
    refusal = {
        "event": "error",
        "kind": "unsupported-pip",
        "message": "pip 27.0 (lpack needs >=25.1,<26.3)",
    }
    req = RequirementsInput("requirements.in", tmp_path / "requirements.in", "")
    for error in (lock_error(refusal, "", ArtifactSpec(), req), fetch_error(refusal, "")):
        assert "this environment has pip 27.0 (lpack needs >=25.1,<26.3)" in error.message
        assert error.hint and "reinstall lpack" in error.hint and error.exit_code == 2
