"""Coded checks over the Contents model: the catalog (rules/lint.toml) says what and why,
each check here is registered under its code and says where.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from lpack import elf
from lpack.contents import Contents, Item
from lpack.errors import ConfigError
from lpack.handler import defines
from lpack.limits import UNZIPPED_LIMIT, ZIPPED_LIMIT
from lpack.plan import matches_any
from lpack.resources import load_rules_toml
from lpack.target import Target

SEVERITIES = ("error", "warning", "info")
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")
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
_PYC_TAG = re.compile(r"\.cpython-(\d)(\d+)(?:\.opt-\d)?\.pyc$")


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str
    summary: str
    why: str
    example: str
    fix: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    artifact: str  # the zip or folder
    path: str | None  # the member, if the finding is about one
    message: str

    @property
    def name(self) -> str:
        return catalog()[self.code].name


@cache
def catalog() -> dict[str, Rule]:
    table = load_rules_toml("lint.toml")
    return {
        code: Rule(
            code,
            row["name"],
            row["severity"],
            row["summary"],
            row["why"],
            row["example"],
            row["fix"],
            dict(row.get("params", {})),
        )
        for code, row in table.items()
    }


@dataclass
class LintOptions:
    select: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    per_path_ignores: dict[str, list[str]] = field(default_factory=dict)
    upload: str = "direct"
    max_zipped: int | None = None
    max_unzipped: int | None = None
    near_limit: float = 0.8
    large_file: int = 20 * 1024 * 1024
    handler: str | None = None

    def __post_init__(self) -> None:
        # ruff accepts "--ignore LP201,LP105": so do we.
        for name in ("select", "extend_select", "ignore"):
            values = getattr(self, name)
            setattr(
                self, name, [v.strip() for value in values for v in value.split(",") if v.strip()]
            )

    def enabled_codes(self) -> set[str]:
        known = catalog()
        for code in (
            self.select
            + self.extend_select
            + self.ignore
            + [c for codes in self.per_path_ignores.values() for c in codes]
        ):
            if not any(k.startswith(code.upper()) for k in known) or not code.upper().startswith(
                "LP"
            ):
                raise ConfigError(
                    f"Unknown rule code or prefix {code!r}; lint codes are "
                    f"{min(known)}…{max(known)} (`lpack rules` lists them).",
                    hint="use a code (LP203) or a prefix (LP2 for every compatibility rule).",
                )
        selected = self.select or ["LP"]
        chosen = {c for c in known if any(c.startswith(p.upper()) for p in selected)}
        chosen |= {c for c in known if any(c.startswith(p.upper()) for p in self.extend_select)}
        return {c for c in chosen if not any(c.startswith(p.upper()) for p in self.ignore)}

    def ignored_at(self, code: str, path: str | None) -> bool:
        if path is None:
            return False
        # A finding about a folder (pandas/tests, .git) matches "tests/" and "pkg/tests/**".
        candidates = [path, path.rstrip("/") + "/", path.rstrip("/") + "/_"]
        for pattern, codes in self.per_path_ignores.items():
            if any(code.startswith(c.upper()) for c in codes) and any(
                matches_any(p, [pattern]) for p in candidates
            ):
                return True
        return False


@dataclass
class Context:
    """What every check sees: the packages (function first, then layers) and the target."""

    packages: list[Contents]
    target: Target
    options: LintOptions


Check = Callable[[Context], Iterator[Finding]]
_REGISTRY: dict[str, Check] = {}


def check(code: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        if code in _REGISTRY:
            raise RuntimeError(f"two checks registered for {code}")
        _REGISTRY[code] = fn
        return fn

    return register


def registry() -> dict[str, Check]:
    return dict(_REGISTRY)


_VERSIONED_ROOT = re.compile(r"^python/lib/python(\d+\.\d+)/site-packages/$")


def _inert_root(root: str, target: Target) -> bool:
    """A layer's site-packages for another Python: that runtime never looks there."""
    match = _VERSIONED_ROOT.match(root)
    return match is not None and match.group(1) != "{}.{}".format(*target.python_version)


def files(ctx: Context, contents: Contents) -> Iterator[Item]:
    """The files the target runtime would see (other Pythons' layer folders are inert)."""
    for item in contents.files:
        root = item.path[: len(item.path) - len(item.rel)] if item.rel is not None else ""
        if not _inert_root(root, ctx.target):
            yield item


def dists(ctx: Context, contents: Contents) -> list[Any]:
    return [d for d in contents.distributions if not _inert_root(d.root, ctx.target)]


def _finding(code: str, contents: Contents, path: str | None, message: str) -> Finding:
    return Finding(code, catalog()[code].severity, str(contents.source), path, message)


def _mib(n: int) -> str:
    return f"{n:,} B ({n / 1024 / 1024:.1f} MiB)"


# -- size -------------------------------------------------------------------------------


@check("LP101")
def zipped_limit(ctx: Context) -> Iterator[Finding]:
    if ctx.options.upload != "direct":
        return
    for contents in ctx.packages:
        if contents.zipped_size is not None and contents.zipped_size > ZIPPED_LIMIT:
            yield _finding(
                "LP101",
                contents,
                None,
                f"zip is {_mib(contents.zipped_size)}, {contents.zipped_size - ZIPPED_LIMIT:,} B "
                f"over the 52,428,800 B direct-upload limit",
            )


@check("LP102")
def unzipped_limit(ctx: Context) -> Iterator[Finding]:
    total = sum(c.unzipped_size for c in ctx.packages)
    if total > UNZIPPED_LIMIT:
        what = "function and layers unzip" if len(ctx.packages) > 1 else "package unzips"
        yield _finding(
            "LP102",
            ctx.packages[0],
            None,
            f"{what} to {_mib(total)}, {total - UNZIPPED_LIMIT:,} B over 262,144,000 B",
        )


@check("LP103")
def budgets(ctx: Context) -> Iterator[Finding]:
    first = ctx.packages[0]
    zipped = first.zipped_size
    if (
        ctx.options.max_zipped is not None
        and zipped is not None
        and zipped > ctx.options.max_zipped
    ):
        yield _finding(
            "LP103",
            first,
            None,
            f"zip is {zipped:,} B, over the budget of "
            f"{ctx.options.max_zipped:,} B by {zipped - ctx.options.max_zipped:,} B",
        )
    total = sum(c.unzipped_size for c in ctx.packages)
    if ctx.options.max_unzipped is not None and total > ctx.options.max_unzipped:
        yield _finding(
            "LP103",
            first,
            None,
            f"unzipped size is {total:,} B, over the budget of "
            f"{ctx.options.max_unzipped:,} B by {total - ctx.options.max_unzipped:,} B",
        )


@check("LP104")
def near_limit(ctx: Context) -> Iterator[Finding]:
    share = ctx.options.near_limit
    first = ctx.packages[0]
    total = sum(c.unzipped_size for c in ctx.packages)
    if share * UNZIPPED_LIMIT < total <= UNZIPPED_LIMIT:
        yield _finding(
            "LP104",
            first,
            None,
            f"unzipped size {total:,} B is {total / UNZIPPED_LIMIT:.0%} of the 250 MiB limit",
        )
    zipped = first.zipped_size
    if (
        ctx.options.upload == "direct"
        and zipped is not None
        and share * ZIPPED_LIMIT < zipped <= ZIPPED_LIMIT
    ):
        yield _finding(
            "LP104",
            first,
            None,
            f"zip is {zipped:,} B, {zipped / ZIPPED_LIMIT:.0%} of the 50 MiB direct-upload limit",
        )


@check("LP105")
def large_files(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in files(ctx, contents):
            if item.size > ctx.options.large_file:
                yield _finding(
                    "LP105",
                    contents,
                    item.path,
                    f"{_mib(item.size)}, above large-file = {ctx.options.large_file:,} B",
                )


# -- compatibility ----------------------------------------------------------------------


@check("LP201")
def foreign_os(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in files(ctx, contents):
            facts = item.binary
            if facts is not None and facts.format in ("macho", "pe"):
                kind = "Mach-O (macOS)" if facts.format == "macho" else "PE (Windows)"
                yield _finding(
                    "LP201", contents, item.path, f"{kind} binary; Lambda loads only Linux ELF"
                )


@check("LP202")
def foreign_machine(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in files(ctx, contents):
            facts = item.binary
            if facts is not None and facts.format == "elf" and facts.machine:
                if facts.machine != ctx.target.machine:
                    yield _finding(
                        "LP202",
                        contents,
                        item.path,
                        f"ELF for {facts.machine}; the function runs on "
                        f"{ctx.target.arch} ({ctx.target.machine})",
                    )
                elif facts.elf_class == 32:
                    yield _finding("LP202", contents, item.path, "32-bit ELF; Lambda runs 64-bit")


def _bundled_libraries(contents: Contents) -> set[str]:
    return {i.name for i in contents.files if i.binary is not None and i.binary.format == "elf"}


@check("LP203")
def glibc_too_new(ctx: Context) -> Iterator[Finding]:
    t = ctx.target
    limits = {"GLIBC": t.glibc, "GLIBCXX": t.glibcxx, "CXXABI": t.cxxabi}
    for contents in ctx.packages:
        bundled = _bundled_libraries(contents)
        for item in files(ctx, contents):
            facts = item.binary
            if facts is None or facts.format != "elf" or facts.machine != t.machine:
                continue
            worst: dict[str, tuple[int, ...]] = {}
            for library, versions in facts.needed_versions.items():
                # auditwheel-repaired wheels bring their own libstdc++: its versions are theirs.
                if library in bundled:
                    continue
                for symbol in versions:
                    family = symbol.partition("_")[0]
                    number = elf.version_tuple(symbol)
                    if family in limits and number and number > limits[family]:
                        worst[family] = max(worst.get(family, number), number)
            for family, number in sorted(worst.items()):
                have = ".".join(map(str, limits[family]))
                yield _finding(
                    "LP203",
                    contents,
                    item.path,
                    f"needs {family}_{'.'.join(map(str, number))}; {t.os_name} "
                    f"({t.runtime}) offers {family} up to {have}",
                )


@check("LP204")
def wrong_abi(ctx: Context) -> Iterator[Finding]:
    want = ctx.target.python_version
    for contents in ctx.packages:
        for item in files(ctx, contents):
            abi = item.cpython_abi
            if abi is not None and abi != want:
                yield _finding(
                    "LP204",
                    contents,
                    item.path,
                    f"built for CPython {abi[0]}.{abi[1]}; {ctx.target.runtime} "
                    f"runs {want[0]}.{want[1]}, which will not find it",
                )


@check("LP205")
def abi3_too_new(ctx: Context) -> Iterator[Finding]:
    want = ctx.target.python_version
    for contents in ctx.packages:
        for dist in dists(ctx, contents):
            for tag in dist.tags:
                interpreter, _, rest = tag.partition("-")
                if (
                    rest.startswith("abi3-")
                    and interpreter.startswith("cp3")
                    and (interpreter[3:].isdigit())
                ):
                    minimum = (3, int(interpreter[3:]))
                    if minimum > want:
                        yield _finding(
                            "LP205",
                            contents,
                            dist.path,
                            f"{dist.name} is an abi3 build for CPython ≥ "
                            f"{minimum[0]}.{minimum[1]} (tag {tag}); "
                            f"{ctx.target.runtime} is {want[0]}.{want[1]}",
                        )
                        break


@check("LP206")
def musllinux(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for dist in dists(ctx, contents):
            musl = [t for t in dist.tags if "musllinux" in t]
            if musl and not any("manylinux" in t for t in dist.tags):
                yield _finding(
                    "LP206",
                    contents,
                    dist.path,
                    f"{dist.name} was installed from a musllinux wheel ({musl[0]})",
                )
        for item in files(ctx, contents):
            facts = item.binary
            if facts and any(
                lib.startswith("libc.musl") or lib.startswith("ld-musl")
                for lib in facts.needed_libraries
            ):
                yield _finding("LP206", contents, item.path, "links against musl libc")


@check("LP207")
def foreign_bytecode(ctx: Context) -> Iterator[Finding]:
    want = ctx.target.python_version
    for contents in ctx.packages:
        for item in files(ctx, contents):
            match = _PYC_TAG.search(item.name)
            if match and (int(match.group(1)), int(match.group(2))) != want:
                yield _finding(
                    "LP207",
                    contents,
                    item.path,
                    f"bytecode for CPython {match.group(1)}.{match.group(2)}, "
                    f"the runtime is {want[0]}.{want[1]}",
                )


# -- hygiene ------------------------------------------------------------------------------


@check("LP208")
def layer_python_mismatch(ctx: Context) -> Iterator[Finding]:
    want = "{}.{}".format(*ctx.target.python_version)
    for contents in ctx.packages:
        roots = [r for r in contents.roots if r]
        versioned = [m.group(1) for r in roots if (m := _VERSIONED_ROOT.match(r))]
        if roots and len(versioned) == len(roots) and want not in versioned:
            yield _finding(
                "LP208",
                contents,
                roots[0],
                f"the layer installs only for Python {', '.join(sorted(set(versioned)))}; "
                f"{ctx.target.runtime} looks in python/lib/python{want}/site-packages "
                "and python/",
            )


@check("LP301")
def bytecode_shipped(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        pyc = [i for i in contents.files if i.name.endswith((".pyc", ".pyo"))]
        if pyc:
            size = sum(i.size for i in pyc)
            yield _finding(
                "LP301", contents, None, f"{len(pyc):,} bytecode files, {size:,} B unzipped"
            )


@check("LP302")
def test_suites(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        suites: dict[str, int] = defaultdict(int)
        for item in files(ctx, contents):
            if item.dist is None or item.rel is None:
                continue
            parts = item.rel.split("/")
            for i, part in enumerate(parts[:-1]):
                if part in ("tests", "test") and i >= 1:
                    suites["/".join(parts[: i + 1])] += item.size
                    break
        for suite, size in sorted(suites.items(), key=lambda kv: -kv[1]):
            if size >= 10_000:
                yield _finding("LP302", contents, suite, f"test suite of {size:,} B unzipped")


@check("LP303")
def unstripped(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in files(ctx, contents):
            facts = item.binary
            if facts and facts.format == "elf" and facts.has_debug_info:
                yield _finding(
                    "LP303", contents, item.path, f"carries debug sections ({item.size:,} B in all)"
                )


@check("LP304")
def duplicates(ctx: Context) -> Iterator[Finding]:
    seen: dict[str, tuple[Contents, str]] = {}
    for contents in ctx.packages:
        local: dict[str, list[str]] = defaultdict(list)
        for dist in dists(ctx, contents):
            local[dist.name].append(dist.path)
        for name, paths in local.items():
            if len(paths) > 1:
                yield _finding(
                    "LP304",
                    contents,
                    paths[0],
                    f"{name} is installed {len(paths)} times: {', '.join(paths)}",
                )
            if name in seen and seen[name][0] is not contents:
                yield _finding(
                    "LP304",
                    contents,
                    paths[0],
                    f"{name} is also in {seen[name][0].source} ({seen[name][1]}); "
                    "only the function's copy is imported",
                )
            seen.setdefault(name, (contents, paths[0]))


@check("LP305")
def missing_dist_info(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        owned_tops = {i.rel.split("/")[0] for i in contents.files if i.dist and i.rel}
        tops: dict[str, list[Item]] = defaultdict(list)
        for item in files(ctx, contents):
            if item.rel and "/" in item.rel and item.dist is None:
                tops[item.rel.split("/")[0]].append(item)
        for top, items in sorted(tops.items()):
            if top in owned_tops or not top.isidentifier():
                continue
            names = {i.name for i in items}
            looks_installed = (
                "py.typed" in names
                or any(i.binary is not None for i in items)
                or _declares_version(contents, items, top)
            )
            if looks_installed and len(items) >= 3:
                yield _finding(
                    "LP305",
                    contents,
                    top,
                    f"package {top!r} looks installed (version marker or binaries) but "
                    "no *.dist-info describes it",
                )


def _declares_version(contents: Contents, items: list[Item], top: str) -> bool:
    init = next((i for i in items if i.rel == f"{top}/__init__.py"), None)
    if init is None or init.size > 2_000_000:
        return False
    return b"__version__" in contents.read(init, 2_000_000)


@check("LP306")
def runtime_provided(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        names = {d.name for d in contents.distributions}
        for name in RUNTIME_PROVIDED:
            if name in names:
                yield _finding(
                    "LP306", contents, None, f"{name} is shipped; the runtime has its own"
                )


# -- safety -------------------------------------------------------------------------------


@check("LP401")
def permissions(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in contents.items:
            if item.mode is None or item.symlink_target is not None:
                continue
            if item.is_dir and item.mode & 0o005 != 0o005:
                yield _finding(
                    "LP401",
                    contents,
                    item.path,
                    f"folder mode {item.mode:04o}: others cannot list and enter it",
                )
            elif not item.is_dir and not item.mode & 0o004:
                yield _finding(
                    "LP401",
                    contents,
                    item.path,
                    f"file mode {item.mode:04o}: others cannot read it",
                )


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
                yield _finding("LP402", contents, item.path, f"{name} usually holds secrets")
            elif name.endswith(_KEYSTORE_SUFFIXES):  # binary key stores: the name says it all
                yield _finding("LP402", contents, item.path, "a key store file")
            elif name.endswith(_SECRET_SUFFIXES) and item.size < 1_000_000:
                data = contents.read(item, 1_000_000)
                # PEM says so in words; a DER key (.key) is binary.
                if b"PRIVATE KEY" in data or (name.endswith(".key") and not data.isascii()):
                    yield _finding("LP402", contents, item.path, "holds a private key")


@check("LP403")
def aws_keys(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in files(ctx, contents):
            if item.dist is not None or item.symlink_target is not None or item.size > 2_000_000:
                continue
            if not (item.name.endswith(_TEXT_SUFFIXES) or "." not in item.name):
                continue
            data = contents.read(item, 2_000_000)
            keys: set[bytes] = set()
            if b"AKIA" in data or b"ASIA" in data:  # substring search first: the regex is slower
                keys = {m for m in _AWS_KEY.findall(data) if m not in _EXAMPLE_KEYS}
            if keys:
                shown = ", ".join(k.decode()[:8] + "…" for k in sorted(keys))
                yield _finding("LP403", contents, item.path, f"AWS access key ID {shown}")
            elif (
                _PRIVATE_KEY in data
                and b"PRIVATE KEY-----" in data
                and item.name.endswith(
                    (".py", ".json", ".yaml", ".yml", ".txt", ".cfg", ".ini", ".toml", ".env")
                )
            ):
                yield _finding("LP403", contents, item.path, "embeds a private key")


@check("LP404")
def local_junk(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        reported: set[str] = set()
        for item in contents.items:
            parts = item.path.split("/")
            for i, part in enumerate(parts):
                folder = "/".join(parts[: i + 1])
                if part in _JUNK_DIRS and (i < len(parts) - 1 or item.is_dir):
                    if folder not in reported:
                        reported.add(folder)
                        yield _finding("LP404", contents, folder, f"{part}/ folder")
                    break
            else:
                if item.name in _JUNK_FILES and not item.is_dir:
                    yield _finding("LP404", contents, item.path, f"{item.name} file")
                elif item.name == "pyvenv.cfg":
                    folder = posixpath.dirname(item.path) or "."
                    yield _finding("LP404", contents, folder, "a virtualenv")


@check("LP405")
def unsafe_paths(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in contents.items:
            path = item.path
            if (
                path.startswith("/")
                or "\\" in path
                or ".." in path.split("/")
                or re.match(r"^[A-Za-z]:", path)
                or any(ord(c) < 32 or c in _BIDI for c in path)
            ):
                yield _finding("LP405", contents, repr(path)[1:-1], "unsafe entry name")


@check("LP406")
def symlink_escape(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in contents.items:
            target = item.symlink_target
            if target is None:
                continue
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(item.path), target))
            if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
                yield _finding("LP406", contents, item.path, f"symlink to {target}")


# -- handler ------------------------------------------------------------------------------


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
        yield _finding(
            "LP501",
            contents,
            None,
            f"handler {handler!r}: no {base}.py or {base}/__init__.py at the zip's root",
        )
        return
    try:
        found = defines(contents.read(by_path[candidates[0]], 16_000_000), function)
    except (ValueError, SyntaxError, RecursionError):
        found = None
    if found is False:
        yield _finding(
            "LP501",
            contents,
            candidates[0],
            f"handler {handler!r}: {candidates[0]} has no top-level {function!r}",
        )


# -- running ------------------------------------------------------------------------------


def lint(packages: list[Contents], target: Target, options: LintOptions) -> list[Finding]:
    enabled = options.enabled_codes()
    findings: list[Finding] = []
    for code in sorted(enabled):
        for finding in _REGISTRY[code](Context(packages, target, options)):
            if not options.ignored_at(finding.code, finding.path):
                findings.append(finding)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: (order[f.severity], f.code, f.artifact, f.path or ""))


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    result = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        result[finding.severity] += 1
    return result


def options_from_config(config: Any, handler: str | None = None) -> LintOptions:
    """[tool.lpack] (upload, budgets, handler) and [tool.lpack.lint] into LintOptions."""
    table = config.lint or {}
    return LintOptions(
        select=list(table.get("select", [])),
        extend_select=list(table.get("extend-select", [])),
        ignore=list(table.get("ignore", [])),
        per_path_ignores=dict(table.get("per-path-ignores", {})),
        upload=config.upload,
        max_zipped=config.max_zipped,
        max_unzipped=config.max_unzipped,
        near_limit=table.get("near-limit", catalog()["LP104"].params["near-limit"]),
        large_file=table.get("large-file", catalog()["LP105"].params["large-file"]),
        handler=handler if handler is not None else config.handler,
    )


def lint_paths(paths: list[Any], target: Target, options: LintOptions) -> list[Finding]:
    """Read each path (the function first, then its layers) and lint them together."""
    from lpack.contents import read_contents

    packages = []
    try:
        for path in paths:
            packages.append(read_contents(path))
        return lint(packages, target, options)
    finally:
        for contents in packages:
            contents.close()
