"""LP209: every shared library a shipped binary needs is found where Lambda's loader looks.

The loader takes a binary's needs from its RPATH/RUNPATH folders, Lambda's library path
(/var/task, /var/task/lib, /opt/lib), libraries already loaded under that soname, and the
runtime's own (rules/runtime-libs.toml). A need met by none of them fails at import on
Lambda, unless shipped code imports the extension only inside a try/except that expects it
to fail (numba's optional threading layers): then it is a warning.
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from lpack.inspect.contents import Contents, Item
from lpack.inspect.handler import MAX_PARSED_SOURCE
from lpack.inspect.registry import Context, Finding, check, files, finding
from lpack.runtime_libs import library_remedy, provided_libraries


@dataclass
class _Shipped:
    """The libraries the function and its layers ship, as the loader would look for them."""

    by_folder: dict[tuple[int, str], set[str]] = field(default_factory=dict)  # (package, dir)
    sonames: set[str] = field(default_factory=set)  # of libraries some search reaches

    @classmethod
    def of(cls, ctx: Context) -> _Shipped:
        shipped = cls()
        holders: list[tuple[int, str, str]] = []
        searched: set[tuple[int, str]] = set()
        for index, contents in enumerate(ctx.packages):
            for item in files(ctx, contents):
                folder = item.path.rpartition("/")[0]
                shipped.by_folder.setdefault((index, folder), set()).add(item.name)
                if item.binary is not None and item.binary.format == "elf":
                    searched.update(_search_folders(ctx, index, item))
                    if item.binary.soname:
                        holders.append((index, folder, item.binary.soname))
        # A library one binary's search loads is then found by its soname for every other.
        shipped.sonames = {soname for i, f, soname in holders if (i, f) in searched}
        return shipped

    def has(self, package: int, folder: str, name: str) -> bool:
        return name in self.by_folder.get((package, folder), ())


def _search_folders(ctx: Context, index: int, item: Item) -> list[tuple[int, str]]:
    """Where the loader looks for this ELF's needs, as (package, folder) pairs: its own
    RPATH/RUNPATH ($ORIGIN-relative, or absolute into /var/task or /opt), then Lambda's
    library path (/var/task, /var/task/lib, /opt/lib)."""
    assert item.binary is not None
    origin = item.path.rpartition("/")[0]
    # The function comes first, then its layers; a layer linted alone is only a layer.
    function = [] if ctx.packages[0].is_layer else [0]
    layers = [i for i in range(len(ctx.packages)) if i not in function]
    found: list[tuple[int, str]] = []
    for raw in item.binary.search_paths:
        text = raw.replace("${ORIGIN}", "$ORIGIN")
        if text.startswith("$ORIGIN"):
            folder = posixpath.normpath(origin + "/" + text[len("$ORIGIN") :].lstrip("/"))
            found.append((index, "" if folder == "." else folder.lstrip("/")))
        elif text.startswith("/var/task"):
            found += [(i, text[len("/var/task") :].strip("/")) for i in function]
        elif text.startswith("/opt/"):
            found += [(i, text[len("/opt/") :].strip("/")) for i in layers]
    found += [(i, f) for i in function for f in ("", "lib")]
    found += [(i, "lib") for i in layers]
    return found


@check("LP209")
def unshipped_library(ctx: Context) -> Iterator[Finding]:
    t = ctx.target
    provided = provided_libraries(t)
    shipped = _Shipped.of(ctx)
    for index, contents in enumerate(ctx.packages):
        for item in files(ctx, contents):
            facts = item.binary
            if facts is None or facts.format != "elf" or facts.machine != t.machine:
                continue
            missing = [
                lib
                for lib in dict.fromkeys(facts.needed_libraries)
                if lib not in provided
                and "/" not in lib
                # already loaded under that name by another shipped library (auditwheel's
                # hashed copies are found through the first extension's RUNPATH)
                and lib not in shipped.sonames
                and not any(shipped.has(i, f, lib) for i, f in _search_folders(ctx, index, item))
            ]
            if not missing:
                continue
            owner = f"{item.dist}'s " if item.dist else ""
            guard = _guarded_by(contents, item)
            for lib in missing:
                text = (
                    f"{owner}{item.name} needs {lib}, which neither the package nor "
                    f"{t.os_name}'s Lambda runtime ({t.runtime}, {t.arch}) provides; "
                )
                if guard is None:
                    text += (
                        f'the import fails on Lambda with "{lib}: cannot open shared object file"'
                    )
                else:  # the package imports; only what needs this extension fails
                    text += (
                        f"{guard} imports it only inside a try/except, so the package imports "
                        "but what needs this module fails (or falls back)"
                    )
                found = finding(
                    "LP209", contents, item.path, f"{text}. Fix: {library_remedy(lib)}."
                )
                yield found if guard is None else replace(found, severity="warning")


_CATCHES = {"ImportError", "ModuleNotFoundError", "OSError", "Exception", "BaseException"}


def _module_of(item: Item) -> str | None:
    """ "pkg.sub.mod" for pkg/sub/mod.cpython-311-x86_64-linux-gnu.so (None for a library)."""
    rel = item.rel if item.rel is not None else item.path
    folder, _, name = rel.rpartition("/")
    stem = name.split(".", 1)[0]
    parts = [*folder.split("/"), stem] if folder else [stem]
    if (
        not name.endswith(".so")
        or name.startswith("lib")
        or not all(p.isidentifier() for p in parts)
    ):
        return None
    return ".".join(parts)


def _guarded_by(contents: Contents, item: Item) -> str | None:
    """The module that imports this extension, when every import of it that shipped code
    makes sits in a try whose handler catches ImportError; None otherwise."""
    module = _module_of(item)
    if module is None:
        return None
    parent, _, last = module.rpartition(".")
    top = module.split(".", 1)[0]
    imports: list[tuple[str, bool]] = []
    for other in contents.files:
        rel = other.rel if other.rel is not None else other.path
        if not rel.endswith(".py") or not rel.startswith(f"{top}/"):
            continue
        if other.size > MAX_PARSED_SOURCE:
            return None  # too large to parse safely: cannot tell, keep it an error
        source = contents.read_intact(other)
        if source is None:
            return None
        if last.encode() not in source:
            continue
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return None  # cannot tell: keep it an error
        imports += [(other.path, g) for g in _imports_of(tree, module, parent, last)]
    if imports and all(guarded for _, guarded in imports):
        return imports[0][0]
    return None


def _imports_of(tree: ast.AST, module: str, parent: str, last: str) -> Iterator[bool]:
    """For each import of the module in the tree: whether a try/except guards it."""

    def walk(node: ast.AST, guarded: bool) -> Iterator[bool]:
        if isinstance(node, ast.Import) and any(a.name == module for a in node.names):
            yield guarded
        elif isinstance(node, ast.ImportFrom) and (
            (node.module == parent and any(a.name == last for a in node.names))
            or node.module == module
            or (node.level and node.module is None and any(a.name == last for a in node.names))
        ):
            yield guarded
        if isinstance(node, ast.Try):
            catches = any(_catches_import_error(h) for h in node.handlers)
            for stmt in node.body:
                yield from walk(stmt, guarded or catches)
            rest: list[ast.AST] = [*node.handlers, *node.orelse, *node.finalbody]
            for other in rest:
                yield from walk(other, guarded)
            return
        for child in ast.iter_child_nodes(node):
            yield from walk(child, guarded)

    return walk(tree, False)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (isinstance(n, ast.Name) and n.id in _CATCHES)
        or (isinstance(n, ast.Attribute) and n.attr in _CATCHES)
        for n in names
    )
