"""Which files a slim category would remove that shipped code reads at run time: those stay.

Some files are never imported but are still read: the stub that `lazy_loader.attach_stub`
parses to learn what to load lazily, a header or JSON file opened beside `__file__`, data read
with `importlib.resources` or `pkgutil.get_data`. The scan is textual, like the import scan:
it looks at the string literals of the modules that ship, and where it errs it keeps more,
never less. A folder listed at run time without naming a file or suffix cannot be seen: keep
it with a keep glob.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from lpack.assemble.entries import Entry
from lpack.assemble.importscan import in_folder_named
from lpack.assemble.layout import InstallLayout
from lpack.assemble.scancache import ScanCache

# lazy_loader.attach_stub(__name__, __file__) reads the .pyi beside the calling module.
_ATTACH_STUB = re.compile(rb"\battach_stub\s*\(")
# A short one-line string literal: what names a file. Prefixes (r, b, f, u) are allowed.
_LITERAL = re.compile(rb"""(?<![\w"'])[rRbBuUfF]{0,2}(["'])([^"'\\\n]{1,240})\1""")
# The module reads files relative to itself, so a bare suffix ("*.pyi") is a file pattern.
_READS_BESIDE = re.compile(
    rb"__file__|importlib[._]resources|\bresources\.files\b|\bget_data\s*\(|__path__"
)
# f"{lang}.json" or "%s.json": a name made at run time, so every .json beside it may be read.
_FORMATTED = re.compile(r"(?:\}|%s|%\(\w+\)s)[\w.-]*?(\.\w+)()$")
# ".pyi", "*.pyi", "/*.pyi", "**/*.pyi": a pattern of files, not one file.
_SUFFIX_PATTERN = re.compile(r"^(?:[*\w./-]*/)?\*(\.\w+)$|^(\.\w+)$")


def read_at_runtime(
    entries: Mapping[str, Entry],
    candidates: Mapping[str, str],
    layout: InstallLayout,
    suite_dirs: tuple[str, ...] = (),
    scans: ScanCache | None = None,
) -> dict[str, str]:
    """candidates: path -> distribution of the files a category would remove.

    Returns path -> why it stays, for the candidates that a shipped module of the same
    distribution reads. suite_dirs: test and docs folder names; a file in one below the
    reader counts only when the reader names its folder ("tests/data/x.json"): a bare
    name or suffix there is a test's own data (scipy's io readers name ".mat").
    """
    by_dist: dict[str, list[str]] = defaultdict(list)
    for path, dist in candidates.items():
        if not path.endswith((".py", ".pyc")):  # modules are imported: the import scan's job
            by_dist[dist].append(path)
    readers: dict[str, list[str]] = defaultdict(list)
    for path, entry in entries.items():
        if entry.dist in by_dist and path.endswith(".py") and path not in candidates:
            readers[entry.dist].append(path)
    kept: dict[str, str] = {}
    for dist, paths in by_dist.items():
        names: dict[str, list[str]] = defaultdict(list)
        for path in paths:
            names[path.rsplit("/", 1)[-1]].append(path)
        endings = _endings(names)
        for reader in sorted(readers[dist]):
            facts = _reader_facts(entries[reader], scans)
            if facts.attach_stub or any(t.strip().endswith(endings) for t in facts.literals):
                _scan(reader, facts, names, layout, _Keep(kept, reader, suite_dirs))
    return kept


def _endings(names: Mapping[str, list[str]]) -> tuple[str, ...]:
    """What a literal naming a candidate ends with: its suffix (or whole name). Most
    modules have no such literal, so only those few are scanned literal by literal."""
    return tuple(sorted({"." + n.rsplit(".", 1)[-1] if "." in n else n for n in names}))


@dataclass(frozen=True)
class _ReaderFacts:
    """What the scan needs of a module, read from its code (doctests and comments aside)."""

    literals: tuple[str, ...]  # the texts of its short one-line string literals
    attach_stub: bool
    reads_beside: bool  # __file__, importlib.resources, get_data: it reads files beside it


def _reader_facts(entry: Entry, scans: ScanCache | None) -> _ReaderFacts:
    def compute() -> list[object]:
        source = _code_only(entry.read())
        literals = [m.group(2).decode("utf-8", "replace") for m in _LITERAL.finditer(source)]
        stub = _ATTACH_STUB.search(source) is not None
        return [literals, stub, _READS_BESIDE.search(source) is not None]

    found = scans.facts("reads", entry, "", compute, _valid) if scans is not None else compute()
    literals, stub, beside = found
    assert isinstance(literals, list)  # _valid checked the shape
    return _ReaderFacts(tuple(str(t) for t in literals), bool(stub), bool(beside))


def _valid(value: object) -> bool:
    """The shape compute() returns: anything else in the cache is a miss."""
    return (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], list)
        and all(isinstance(t, str) for t in value[0])
        and all(isinstance(flag, bool) for flag in value[1:])
    )


# Doctest lines and comments name files that only a reader of the docs opens.
_NOT_CODE = re.compile(rb"^[ \t]*(?:>>>|\.\.\.[ \t]|#).*$", re.M)


def _code_only(source: bytes) -> bytes:
    return _NOT_CODE.sub(b"", source)


class _Keep:
    """Records what one reader keeps, leaving test and docs folders below it alone unless
    the reader names the folder."""

    def __init__(self, kept: dict[str, str], reader: str, suite_dirs: tuple[str, ...]) -> None:
        self.kept, self.suite_dirs = kept, suite_dirs
        self.in_suite = in_folder_named(reader, suite_dirs)

    def setdefault(self, path: str, why: str, named_folder: bool = False) -> None:
        if named_folder or self.in_suite or not in_folder_named(path, self.suite_dirs):
            self.kept.setdefault(path, why)


def _scan(
    reader: str,
    facts: _ReaderFacts,
    names: Mapping[str, list[str]],
    layout: InstallLayout,
    kept: _Keep,
) -> None:
    folder = reader.rpartition("/")[0]
    if facts.attach_stub:
        stub = f"{reader[:-3]}.pyi"
        if stub in names.get(stub.rsplit("/", 1)[-1], ()):
            kept.setdefault(stub, f"lazy_loader.attach_stub in {reader} reads it")
    # A bare file name is looked for below the reader's own folder; a path with folders
    # in it anywhere in the reader's top-level package.
    below = f"{folder}/" if folder else ""
    package = _package_folder(reader, layout)
    for literal in facts.literals:
        text = literal.strip().replace("\\", "/")
        text = text[2:] if text.startswith("./") else text
        suffix = _SUFFIX_PATTERN.match(text) or _FORMATTED.search(text)
        if suffix:
            if facts.reads_beside:
                _keep_suffix(suffix.group(1) or suffix.group(2), folder, names, reader, kept)
            continue
        scope = package if "/" in text else below
        for path in names.get(text.rsplit("/", 1)[-1], ()):
            if path.startswith(scope) and (path == text or path.endswith(f"/{text}")):
                kept.setdefault(path, f"{reader} names it ({text!r})", "/" in text)


def _keep_suffix(
    suffix: str, folder: str, names: Mapping[str, list[str]], reader: str, kept: _Keep
) -> None:
    prefix = f"{folder}/" if folder else ""
    for name, paths in names.items():
        if name.endswith(suffix):
            for path in paths:
                if path.startswith(prefix):
                    kept.setdefault(path, f"{reader} reads *{suffix} files beside it")


def _package_folder(path: str, layout: InstallLayout) -> str:
    """The top-level package folder a module sits in ("pkg/"), as a stored-path prefix; a
    top-level module's scope is its whole import root."""
    rel = layout.relative(path)
    root = path[: len(path) - len(rel)]
    top, sep, _ = rel.partition("/")
    return f"{root}{top}/" if sep else root
