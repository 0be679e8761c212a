"""LP4xx and LP5xx: what must not ship (secrets, junk, unsafe names, escaping links, unreadable
files) and whether the handler Lambda will call exists."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import replace

from lpack.inspect.checks.grouping import per_distribution
from lpack.inspect.contents import Contents, Item
from lpack.inspect.handler import MAX_PARSED_SOURCE, defines
from lpack.inspect.registry import Context, Finding, check, files, finding

_AWS_KEY = re.compile(rb"(?<![A-Z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Z0-9])")
# AWS's documentation key, found in every SDK's tests and docs.
_EXAMPLE_KEYS = {b"AKIAIOSFODNN7EXAMPLE", b"AKIAI44QH8DHBEXAMPLE"}
_TEXT_SUFFIXES = (
    ".py",
    ".txt",
    ".json",
    ".yaml",
    ".yml",
    ".cfg",
    ".ini",
    ".toml",
    ".conf",
    ".env",
    ".sh",
    ".js",
    ".ts",
    ".properties",
    ".csv",
    ".xml",
    ".md",
    ".rst",
)
_PRIVATE_KEY = b"-----BEGIN"
_SECRET_NAMES = {
    ".env",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "credentials",
    ".netrc",
    ".pgpass",
    ".htpasswd",
    ".pypirc",  # upload tokens
    ".npmrc",  # registry tokens (lpack leaves it out of the source by default too)
}
_SECRET_SUFFIXES = (".pem", ".key")
_KEYSTORE_SUFFIXES = (".p12", ".pfx", ".jks", ".keystore")
_TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist")
_JUNK_DIRS = {
    ".git",
    ".hg",
    ".svn",
    "__MACOSX",
    ".idea",
    ".vscode",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
    "node_modules",
}
_JUNK_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}
# Characters that reorder how a name is displayed (trojan-source style tricks).
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@check("LP401")
def permissions(ctx: Context) -> Iterator[Finding]:
    # A zip made by a tool that keeps 0600 modes trips this on every entry.
    for contents in ctx.packages:
        yield from per_distribution(ctx, "LP401", contents, _closed(contents))


def _closed(contents: Contents) -> Iterator[tuple[Item, str]]:
    for item in contents.items:
        if item.mode is None or item.symlink_target is not None:
            continue
        if item.is_dir and item.mode & 0o005 != 0o005:
            yield item, f"folder mode {item.mode:04o}: others cannot list and enter it"
        elif not item.is_dir and not item.mode & 0o004:
            yield item, f"file mode {item.mode:04o}: others cannot read it"


@check("LP402")
def secret_files(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in files(ctx, contents):
            if item.dist is not None or item.symlink_target is not None:
                continue
            name = item.name
            if name.endswith(_TEMPLATE_SUFFIXES):
                continue  # .env.example and friends document settings, they hold none
            if (
                name in _SECRET_NAMES
                or name.startswith(".env.")
                or (name == "credentials" and "/.aws/" in f"/{item.path}")
            ):
                yield finding("LP402", contents, item.path, f"{name} usually holds secrets")
            elif name.endswith(_KEYSTORE_SUFFIXES):  # binary key stores: the name says it all
                yield finding("LP402", contents, item.path, "a key store file")
            elif name.endswith(_SECRET_SUFFIXES) and item.size < 1_000_000:
                data = contents.read_intact(item, 1_000_000) or b""
                # PEM says so in words; a DER key (.key) is binary.
                if b"PRIVATE KEY" in data or (name.endswith(".key") and not data.isascii()):
                    yield finding("LP402", contents, item.path, "holds a private key")


@check("LP403")
def aws_keys(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in files(ctx, contents):
            if item.dist is not None or item.symlink_target is not None:
                continue
            if not 20 <= item.size <= 2_000_000:  # a key ID alone is 20 characters
                continue
            if not (item.name.endswith(_TEXT_SUFFIXES) or "." not in item.name):
                continue
            data = contents.read_intact(item, 2_000_000) or b""
            keys: set[bytes] = set()
            if b"AKIA" in data or b"ASIA" in data:  # substring search first: the regex is slower
                keys = {m for m in _AWS_KEY.findall(data) if m not in _EXAMPLE_KEYS}
            if keys:
                shown = ", ".join(k.decode()[:8] + "…" for k in sorted(keys))
                yield finding("LP403", contents, item.path, f"AWS access key ID {shown}")
            elif (
                _PRIVATE_KEY in data
                and b"PRIVATE KEY-----" in data
                and item.name.endswith(
                    (".py", ".json", ".yaml", ".yml", ".txt", ".cfg", ".ini", ".toml", ".env")
                )
            ):
                yield finding("LP403", contents, item.path, "embeds a private key")


@check("LP404")
def local_junk(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        reported: set[str] = set()
        # Finder leaves a .DS_Store in every folder it opened: one finding for them all.
        junk_files: list[tuple[Item, str]] = []
        for item in contents.items:
            parts = item.path.split("/")
            for i, part in enumerate(parts):
                folder = "/".join(parts[: i + 1])
                if part in _JUNK_DIRS and (i < len(parts) - 1 or item.is_dir):
                    if folder not in reported:
                        reported.add(folder)
                        yield finding("LP404", contents, folder, f"{part}/ folder")
                    break
            else:
                if item.name in _JUNK_FILES and not item.is_dir:
                    junk_files.append((item, f"{item.name} file"))
                elif item.name == "pyvenv.cfg":
                    folder = posixpath.dirname(item.path) or "."
                    yield finding("LP404", contents, folder, "a virtualenv")
        yield from per_distribution(ctx, "LP404", contents, junk_files)


@check("LP405")
def unsafe_paths(ctx: Context) -> Iterator[Finding]:
    # A zip written on Windows with "\\" separators trips this on every entry.
    for contents in ctx.packages:
        hits = (
            # Shown escaped: a name must not add lines or reorder text in the output.
            (replace(item, path=repr(item.path)[1:-1]), "unsafe entry name")
            for item in contents.items
            if _unsafe(item.path)
        )
        yield from per_distribution(ctx, "LP405", contents, hits)


def _unsafe(path: str) -> bool:
    return (
        path.startswith("/")
        or "\\" in path
        or ".." in path.split("/")
        or re.match(r"^[A-Za-z]:", path) is not None
        or any(ord(c) < 32 or c in _BIDI for c in path)
    )


@check("LP406")
def symlink_escape(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in contents.items:
            target = item.symlink_target
            if target is None:
                continue
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(item.path), target))
            if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
                yield finding("LP406", contents, item.path, f"symlink to {target}")


@check("LP501")
def handler_found(ctx: Context) -> Iterator[Finding]:
    handler = ctx.options.handler
    if not handler:
        return
    contents = ctx.packages[0]
    module, _, function = handler.rpartition(".")
    base = module.replace(".", "/")
    by_path = {i.path: i for i in contents.files}
    candidates = [p for p in (f"{base}.py", f"{base}/__init__.py") if p in by_path]
    if not module or not candidates:
        yield finding(
            "LP501",
            contents,
            None,
            f"handler {handler!r}: no {base}.py or {base}/__init__.py at the zip's root",
        )
        return
    module_file = by_path[candidates[0]]
    source = contents.read_intact(module_file, 16_000_000)
    if source is None:
        return  # damaged: LP408 says so
    try:
        found = defines(source, function)
    except (ValueError, SyntaxError, RecursionError):
        found = None
    if found is None and module_file.size > MAX_PARSED_SOURCE:
        yield finding(
            "LP409",
            contents,
            module_file.path,
            f"{module_file.size:,} B: larger than the {MAX_PARSED_SOURCE // 1024} KiB the "
            f"handler check parses, and no top-level {function!r} was seen by a line scan",
        )
    if found is False:
        yield finding(
            "LP501",
            contents,
            candidates[0],
            f"handler {handler!r}: {candidates[0]} has no top-level {function!r}",
        )


@check("LP407")
def ambiguous_archive(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for path, what in contents.defects:
            yield finding("LP407", contents, path, what)


@check("LP408")
def damaged_member(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for path, what in contents.damaged():
            yield finding("LP408", contents, path or None, what)


@check("LP409")
def not_inspected(ctx: Context) -> Iterator[Finding]:
    # Emitted by the check that hit its cap (LP501's parse, above); this registration keeps
    # the catalog and the registry one to one.
    return iter(())
