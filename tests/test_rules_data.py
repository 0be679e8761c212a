"""rules/ is data lpack validates when it loads it: a damaged table fails at once, naming the
file, the entry and what is wrong (as auditwheel validates its policies)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lpack import catalog, facts, resources, target
from lpack.errors import RulesError

_CACHED = (
    resources.load_rules_toml,
    catalog.lint_rules,
    catalog.slim_categories,
    facts.facts,
    target._table,
)


@pytest.fixture
def rules_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    copy = tmp_path / "rules"
    shutil.copytree(resources.rules_dir(), copy)
    monkeypatch.setattr(resources, "rules_dir", lambda: copy)
    for loader in _CACHED:
        loader.cache_clear()
    yield copy
    monkeypatch.undo()
    for loader in _CACHED:
        loader.cache_clear()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_shipped_rules_load(rules_copy: Path) -> None:
    assert len(catalog.lint_rules()) >= 26 and len(catalog.slim_categories()) == 8
    assert facts.facts().unzipped_limit == 262_144_000
    assert "python3.12" in target.runtimes()
    # Folder names and runtime-provided packages come from lambda.toml, not slim.toml.
    assert catalog.slim_categories()["LP802"].dirs == facts.facts().test_dirs
    assert catalog.slim_categories()["LP808"].packages == facts.facts().runtime_provided


@pytest.mark.parametrize(
    "file, old, new, message",
    [
        ("slim.toml", 'guard = "imported"', 'guardd = "imported"', "LP802 has unknown keys guardd"),
        ("slim.toml", 'scope = "dist-info"', 'scope = "wheel"', "LP806 `scope` = 'wheel'"),
        ("slim.toml", 'folders = "tests"', 'folders = "specs"', "LP802 `folders` = 'specs'"),
        ("lint.toml", 'severity = "warning"', 'severity = "fatal"', "severity 'fatal'"),
        ("lint.toml", 'name = "large-file"', 'name = "Large File"', "is not kebab-case"),
        ("lambda.toml", "unzipped = 262144000", "unzipped = -1", "unzipped must be a positive"),
        ("lambda.toml", 'tests = ["tests", "test"]', "", "[folders] must hold exactly"),
        ("runtimes.toml", 'os = "al2023"', 'os = "al2025"', "names an unknown os or arch"),
        ("runtimes.toml", 'glibc = "2.26"\n', "", "[os.al2] must hold exactly"),
    ],
)
def test_damaged_rules_fail_when_loaded(
    rules_copy: Path, file: str, old: str, new: str, message: str
) -> None:
    _edit(rules_copy / file, old, new)
    loaders = {
        "slim.toml": catalog.slim_categories,
        "lint.toml": catalog.lint_rules,
        "lambda.toml": facts.facts,
        "runtimes.toml": target.runtimes,
    }
    with pytest.raises(RulesError) as caught:
        loaders[file]()
    assert f"rules/{file}" in caught.value.message and message in caught.value.message
