"""Secrets in the function's own files, found before the zip is written: lint's own rules
(LP402 secret files, LP403 keys in text), run on the source files the build selected."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from lpack.errors import EXIT_FINDINGS, BuildError
from lpack.inspect.contents import Contents, Item
from lpack.inspect.lint import LintOptions, lint
from lpack.inspect.registry import Finding, registry
from lpack.target import Target

# The rules whose findings stop a build: what they flag would be readable by anyone with
# GetFunction the moment the zip is deployed, and the zip is copied everywhere after that.
SECRET_CODES = ("LP402", "LP403")


class SecretInSourceError(BuildError):
    """A source file about to ship holds a secret: the build stops before writing."""

    exit_code = EXIT_FINDINGS


def source_secrets(
    source: Path, files: Sequence[tuple[str, Path]], target: Target, options: LintOptions
) -> list[Finding]:
    """LP402 and LP403 findings in the selected files, with the user's lint selection and
    per-path ignores in force (those are how a file ships on purpose)."""
    items: dict[str, Item] = {}
    for rel, full in files:
        item = _item(source, rel, full)
        if item is not None:
            items.setdefault(item.path, item)
    contents = Contents(source, "folder", list(items.values()), None, [], [""], False)
    others = tuple(code for code in registry() if code not in SECRET_CODES)
    only_secrets = LintOptions(options.settings, reported_elsewhere=others)
    return lint([contents], target, only_secrets)


def _item(source: Path, rel: str, full: Path) -> Item | None:
    """The file as lint reads it. A link inside the source folder ships its target's bytes:
    it is read as its target (Contents never follows a link), so the finding names the file
    that holds the secret."""
    try:
        if full.is_symlink():
            rel = full.resolve().relative_to(source.resolve()).as_posix()
        st = os.stat(source / rel, follow_symlinks=False)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return Item(rel, st.st_size, st.st_size, False, stat.S_IMODE(st.st_mode), rel=rel)


def refuse_secrets(findings: Sequence[Finding], name: str, lock_written: bool = False) -> None:
    """Stop the build when a source file holds a secret, saying how to ship it on purpose.
    lock_written: this run wrote the lock (so "nothing was written" would not be true)."""
    if not findings:
        return
    shown = findings[:10]
    lines = [f"  {f.code} {f.path}: {f.message}" for f in shown]
    if len(findings) > len(shown):
        lines.append(f"  … and {len(findings) - len(shown)} more")
    first = findings[0]
    raise SecretInSourceError(
        f"{name}'s source holds {len(findings)} secret{'s' if len(findings) > 1 else ''} "
        f"that would ship: {first.path} ({first.code}: {first.message}). "
        + ("No zip was written." if lock_written else "Nothing was written."),
        details="\n".join(lines),
        hint="remove the file or the key (and rotate a key that was ever deployed), or leave "
        "it out with `exclude`; to ship it on purpose, silence the rule for that path: "
        f'[tool.lpack.lint.per-path-ignores] "{first.path}" = ["{first.code}"].',
    )
