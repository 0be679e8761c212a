"""LP2xx: will it load on the target runtime (OS, CPU, glibc, CPython ABI, layer Python)?"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lpack import elf
from lpack.inspect.checks.grouping import per_distribution
from lpack.inspect.contents import Contents, Item
from lpack.inspect.registry import VERSIONED_ROOT, Context, Finding, check, dists, files, finding

_PYC_TAG = re.compile(r"\.cpython-(\d)(\d+)(?:\.opt-\d)?\.pyc$")


@check("LP201")
def foreign_os(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        yield from per_distribution(ctx, "LP201", contents, _foreign_os(ctx, contents))


def _foreign_os(ctx: Context, contents: Contents) -> Iterator[tuple[Item, str]]:
    for item in files(ctx, contents):
        facts = item.binary
        if facts is not None and facts.format in ("macho", "pe"):
            kind = "Mach-O (macOS)" if facts.format == "macho" else "PE (Windows)"
            yield item, f"{kind} binary; Lambda loads only Linux ELF"


@check("LP202")
def foreign_machine(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        yield from per_distribution(ctx, "LP202", contents, _foreign_machine(ctx, contents))


def _foreign_machine(ctx: Context, contents: Contents) -> Iterator[tuple[Item, str]]:
    for item in files(ctx, contents):
        facts = item.binary
        if facts is not None and facts.format == "elf" and facts.machine:
            if facts.machine != ctx.target.machine:
                yield (
                    item,
                    (
                        f"ELF for {facts.machine}; the function runs on "
                        f"{ctx.target.arch} ({ctx.target.machine})"
                    ),
                )
            elif facts.elf_class == 32:
                yield item, "32-bit ELF; Lambda runs 64-bit"


def _bundled_libraries(contents: Contents) -> set[str]:
    return {i.name for i in contents.files if i.binary is not None and i.binary.format == "elf"}


@check("LP203")
def glibc_too_new(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        yield from per_distribution(ctx, "LP203", contents, _glibc_too_new(ctx, contents))


def _glibc_too_new(ctx: Context, contents: Contents) -> Iterator[tuple[Item, str]]:
    t = ctx.target
    limits = {"GLIBC": t.glibc, "GLIBCXX": t.glibcxx, "CXXABI": t.cxxabi}
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
            yield (
                item,
                (
                    f"needs {family}_{'.'.join(map(str, number))}; {t.os_name} "
                    f"({t.runtime}) offers {family} up to {have}"
                ),
            )


@check("LP204")
def wrong_abi(ctx: Context) -> Iterator[Finding]:
    want = ctx.target.python_version
    for contents in ctx.packages:
        hits = (
            (
                item,
                f"built for CPython {abi[0]}.{abi[1]}; {ctx.target.runtime} "
                f"runs {want[0]}.{want[1]}, which will not find it",
            )
            for item in files(ctx, contents)
            if (abi := item.cpython_abi) is not None and abi != want
        )
        yield from per_distribution(ctx, "LP204", contents, hits)


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
                        yield finding(
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
                yield finding(
                    "LP206",
                    contents,
                    dist.path,
                    f"{dist.name} was installed from a musllinux wheel ({musl[0]})",
                )
        linked = (
            (item, "links against musl libc")
            for item in files(ctx, contents)
            if item.binary
            and any(
                lib.startswith("libc.musl") or lib.startswith("ld-musl")
                for lib in item.binary.needed_libraries
            )
        )
        yield from per_distribution(ctx, "LP206", contents, linked)


@check("LP207")
def foreign_bytecode(ctx: Context) -> Iterator[Finding]:
    want = ctx.target.python_version
    for contents in ctx.packages:
        hits = (
            (
                item,
                f"bytecode for CPython {match.group(1)}.{match.group(2)}, "
                f"the runtime is {want[0]}.{want[1]}",
            )
            for item in files(ctx, contents)
            if (match := _PYC_TAG.search(item.name))
            and (int(match.group(1)), int(match.group(2))) != want
        )
        yield from per_distribution(ctx, "LP207", contents, hits)


@check("LP208")
def layer_python_mismatch(ctx: Context) -> Iterator[Finding]:
    want = "{}.{}".format(*ctx.target.python_version)
    for contents in ctx.packages:
        roots = [r for r in contents.roots if r]
        versioned = [m.group(1) for r in roots if (m := VERSIONED_ROOT.match(r))]
        if roots and len(versioned) == len(roots) and want not in versioned:
            yield finding(
                "LP208",
                contents,
                roots[0],
                f"the layer installs only for Python {', '.join(sorted(set(versioned)))}; "
                f"{ctx.target.runtime} looks in python/lib/python{want}/site-packages "
                "and python/",
            )


@check("LP210")
def unloadable_binary(ctx: Context) -> Iterator[Finding]:
    for contents in ctx.packages:
        for item in files(ctx, contents):
            facts = item.binary
            if facts is None or not facts.error:
                continue
            if facts.capped:
                yield finding(
                    "LP409", contents, item.path, f"{item.size:,} B binary: {facts.error}"
                )
            else:
                yield finding("LP210", contents, item.path, f"cannot be loaded: {facts.error}")
