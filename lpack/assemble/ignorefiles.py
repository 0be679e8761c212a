"""Which of the function's files stay out unless named: lpack's defaults, .gitignore, .lpackignore.

Defaults protect: secrets (.env), infrastructure state and tool folders never belong in a
function, and a deploy template at the source's root is the tool's input, not the code's.
An `include` pattern that *names* a left-out file or folder (see `names`) brings it back.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from lpack.assemble.gitmatch import BadPattern, Line, compile_line

IGNORE_FILES = (".gitignore", ".lpackignore")
# Templates document settings and hold none: they ship.
ENV_TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist")


@dataclass(frozen=True)
class Rule:
    """A default exclusion: a glob on one name, the group the build note shows it under."""

    glob: str
    group: str
    folder: bool  # matches folders only (else files only)
    at_root: bool = False  # only at the source folder's root (where deploy tools keep it)


DEFAULT_RULES = (
    Rule(".env", "secrets", False),
    Rule(".env.*", "secrets", False),
    Rule(".envrc", "secrets", False),  # direnv's: exports for the developer's shell
    Rule("*.env", "secrets", False),  # prod.env: the same, by another name
    Rule(".npmrc", "secrets", False),  # registry tokens
    Rule(".pypirc", "secrets", False),
    Rule("*.tfstate", "IaC state", False),
    Rule("*.tfstate.*", "IaC state", False),
    Rule(".terraform", "IaC state", True),
    Rule(".terragrunt-cache", "IaC state", True),
    Rule("cdk.out", "IaC state", True),
    Rule(".serverless", "IaC state", True),
    Rule(".aws-sam", "IaC state", True),
    Rule("node_modules", "dev folders", True),
    Rule(".venv", "dev folders", True),
    Rule("venv", "dev folders", True, at_root=True),  # deeper: only with a pyvenv.cfg
    Rule(".tox", "dev folders", True),
    Rule(".nox", "dev folders", True),
    Rule(".idea", "dev folders", True),
    Rule(".vscode", "dev folders", True),
    Rule(".pytest_cache", "caches", True),
    Rule(".mypy_cache", "caches", True),
    Rule(".ruff_cache", "caches", True),
    Rule(".hypothesis", "caches", True),
    Rule(".ipynb_checkpoints", "caches", True),
    Rule(".eggs", "caches", True),
    Rule("serverless.*", "deploy config", False, at_root=True),
    Rule("samconfig.*", "deploy config", False, at_root=True),
    Rule("template.yaml", "deploy config", False, at_root=True),
    Rule("template.yml", "deploy config", False, at_root=True),
    Rule("template.json", "deploy config", False, at_root=True),
    Rule("cdk.json", "deploy config", False, at_root=True),
)
DEFAULT_FOLDERS = frozenset(r.glob for r in DEFAULT_RULES if r.folder)
_SERVERLESS_SUFFIXES = (".yml", ".yaml", ".json", ".ts", ".js")
_SAMCONFIG_SUFFIXES = (".toml", ".yaml", ".yml")
# What a CloudFormation/SAM template says about itself: a data file named template.yaml
# says none of these and ships.
_TEMPLATE_MARKERS = (b"AWSTemplateFormatVersion", b"AWS::Serverless", b"\nResources:")


# One pass over a name before the rules one by one: almost every file matches none.
_FILE_GLOBS = re.compile("|".join(fnmatch.translate(r.glob) for r in DEFAULT_RULES if not r.folder))


def default_rule(name: str, is_dir: bool, at_root: bool, full: Path | None = None) -> Rule | None:
    """The default rule that leaves this file or folder out, if one does."""
    if is_dir and name not in DEFAULT_FOLDERS or not is_dir and not _FILE_GLOBS.match(name):
        return None
    for rule in DEFAULT_RULES:
        if rule.folder != is_dir or (rule.at_root and not at_root):
            continue
        if not fnmatch.fnmatchcase(name, rule.glob):
            continue
        if rule.group == "secrets" and name.endswith(ENV_TEMPLATE_SUFFIXES):
            return None
        if rule.group == "deploy config" and not _is_deploy_config(name, full):
            return None
        return rule
    return None


def _is_deploy_config(name: str, full: Path | None) -> bool:
    """serverless.yml and samconfig.toml say what they are by name; template.yaml and cdk.json
    only by what they hold (a user's own data file of that name ships)."""
    if name.startswith("serverless."):
        return name.endswith(_SERVERLESS_SUFFIXES)
    if name.startswith("samconfig."):
        return name.endswith(_SAMCONFIG_SUFFIXES)
    if full is None:
        return False
    try:
        with open(full, "rb") as fh:
            head = b"\n" + fh.read(65536)
    except OSError:
        return False
    if name == "cdk.json":
        return b'"app"' in head
    return any(marker in head for marker in _TEMPLATE_MARKERS)


def names(patterns: Sequence[str], left_out: str, rule: Rule | None = None) -> tuple[str, ...]:
    """The include patterns that name a left-out file or folder: one of their segments is
    that name written out (`.env`, `node_modules/**`, `config/.env.prod`) or the default
    rule's own glob (`*.tfstate`, `.env.*`). `**` or `*.py` alone never bring secrets back."""
    found = []
    for pattern in patterns:
        segments = pattern.strip("/").split("/")
        if left_out in segments or (rule is not None and rule.glob in segments):
            found.append(pattern)
    return tuple(found)


@dataclass(frozen=True)
class _IgnoreFile:
    kind: str  # ".gitignore" or ".lpackignore"
    lead: str  # the source folder's path below the ignore file's folder ("" or "src/")
    strip: str  # the ignore file's folder below the source folder ("" or "pkg/")
    lines: tuple[Line, ...]
    folder: Path  # where the ignore file is

    def decides(self, rel: str, is_dir: bool) -> bool | None:
        """True: ignored, False: re-included (`!`), None: no line matches. As git: the
        last matching line decides; a folder-only line never matches a file."""
        if not rel.startswith(self.strip):
            return None
        path = self.lead + rel[len(self.strip) :]
        for line in reversed(self.lines):
            if (is_dir or not line.dir_only) and line.regex.match(path):
                return not line.negated
        return None


@dataclass(frozen=True)
class IgnoreStack:
    """The ignore files in force in one folder, outermost first: .gitignore files decide,
    then .lpackignore files may change the decision (and re-include with `!`)."""

    files: tuple[_IgnoreFile, ...] = ()

    def ignored_by(self, rel: str, is_dir: bool) -> str | None:
        """The kind of ignore file that leaves rel (below the source folder) out, or None.
        Only rel itself is matched: the walk never enters an ignored folder (as git)."""
        verdict: str | None = None
        for kind in IGNORE_FILES:
            for ignore in self.files:
                if ignore.kind != kind:
                    continue
                decided = ignore.decides(rel, is_dir)
                if decided is not None:
                    verdict = kind if decided else None
        return verdict

    def below(self, folder: Path, rel: str, warnings: list[str]) -> IgnoreStack:
        """This stack and the ignore files of folder (rel below the source, "" for it)."""
        found = _read_ignore_files(folder, "", f"{rel}/" if rel else "", warnings)
        return IgnoreStack(self.files + found) if found else self


def repository_root(project: Path) -> Path:
    """The nearest folder from project upwards that is a repository's root (.git, .hg, .svn,
    .jj), else project: the repository's .gitignore speaks for every project inside it."""
    for folder in (project, *project.parents):
        if any(os.path.lexists(folder / name) for name in VCS_MARKERS):
            return folder
    return project


VCS_MARKERS = (".git", ".hg", ".svn", ".jj")


def ignore_folders(source: Path, root: Path | None) -> list[Path]:
    """The folders whose ignore files apply to the source folder, outermost first: from the
    repository's root (or the project's) down to the source folder, inclusive."""
    folders = [source]
    top = repository_root(root) if root is not None else None
    if top is not None and source != top and source.is_relative_to(top):
        folder = source
        while folder != top:
            folder = folder.parent
            folders.append(folder)
    return folders[::-1]


def stack_for(source: Path, root: Path | None, warnings: list[str]) -> IgnoreStack:
    """The ignore files from the repository root down to the source folder. Only these: the
    user's global excludes and .git/info/exclude describe their machine, not the project,
    and a build must not depend on the machine. The folder `source` names ships: lines that
    would ignore it, or a folder between the root and it, do not apply to it."""
    folders = ignore_folders(source, root)
    files: list[_IgnoreFile] = []
    for folder in folders:
        lead = source.relative_to(folder).as_posix()
        files += _read_ignore_files(folder, "" if lead == "." else lead + "/", "", warnings)
    dropped: list[str] = []
    for folder in folders[1:]:  # each folder below the top, the source folder last
        while (hit := _deciding_line(files, folder)) is not None:
            i, line = hit
            ignore = files[i]
            files[i] = replace(ignore, lines=tuple(x for x in ignore.lines if x is not line))
            where = folder.relative_to(ignore.folder).as_posix()
            dropped.append(f"`{line.text}` in {ignore.folder / ignore.kind} leaves out {where}/")
    if dropped:
        warnings.append(
            f"{'; '.join(dropped)}: the line does not apply to the source folder {source}, "
            "which `source` names, so its files ship."
        )
    return IgnoreStack(tuple(files))


def _deciding_line(files: list[_IgnoreFile], folder: Path) -> tuple[int, Line] | None:
    """The line that leaves folder out, if the ignore files above it leave it out."""
    hit: tuple[int, Line] | None = None
    for kind in IGNORE_FILES:
        for i, ignore in enumerate(files):
            if ignore.kind != kind or folder == ignore.folder:
                continue
            if not folder.is_relative_to(ignore.folder):
                continue
            path = folder.relative_to(ignore.folder).as_posix()
            for line in reversed(ignore.lines):
                if line.regex.match(path):
                    hit = None if line.negated else (i, line)
                    break
    return hit


def _read_ignore_files(
    folder: Path, lead: str, strip: str, warnings: list[str]
) -> tuple[_IgnoreFile, ...]:
    found = []
    for kind in IGNORE_FILES:
        path = folder / kind
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            warnings.append(f"{path} cannot be read ({exc.strerror}); its patterns are ignored.")
            continue
        lines = []
        for number, raw in enumerate(text.splitlines(), 1):
            try:
                line = compile_line(raw)
            except BadPattern:  # git skips such a line too (it matches nothing)
                warnings.append(f"{path}:{number}: `{raw}` is not a valid pattern; skipped.")
                continue
            if line is not None:
                lines.append(line)
        found.append(_IgnoreFile(kind, lead, strip, tuple(lines), folder))
    return tuple(found)


@dataclass
class LeftOut:
    """What the defaults and the ignore files left out, by group, for the build's note."""

    groups: dict[str, list[str]] = field(default_factory=dict)

    def add(self, group: str, rel: str, is_dir: bool) -> None:
        self.groups.setdefault(group, []).append(rel + "/" if is_dir else rel)

    def note(self, shown: int = 3) -> str | None:
        if not self.groups:
            return None
        parts = []
        order = [*dict.fromkeys(r.group for r in DEFAULT_RULES), *IGNORE_FILES]
        for group, paths in sorted(self.groups.items(), key=lambda g: order.index(g[0])):
            paths = sorted(paths)
            listed = ", ".join(paths[:shown])
            more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
            by = f"by {group}" if group in IGNORE_FILES else group
            parts.append(f"{listed}{more} ({by})")
        return (
            "left out of the source: "
            + " · ".join(parts)
            + "; an `include` pattern that names one ships it"
        )


def never_walked(name: str) -> bool:
    """Folders no function ships and no include brings back: version control, lpack's own."""
    return name in _NEVER_FOLDERS or name.endswith(".egg-info")


_NEVER_FOLDERS = frozenset({".git", ".hg", ".svn", ".bzr", "__pycache__", ".lpack"})


def is_virtualenv(folder: Path) -> bool:
    return os.path.isfile(folder / "pyvenv.cfg")
