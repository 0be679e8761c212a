"""Finds the Lambda handler in the package and checks that its module and function exist."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from lpack.errors import ConfigError


class PackageFile(Protocol):
    """A file of a package being built: who owns it and its bytes (assemble's Entry)."""

    @property
    def dist(self) -> str | None: ...

    def read(self) -> bytes: ...


# Where people put handlers when nobody configured one (console, SAM and Chalice defaults).
USUAL_HANDLERS = (
    ("lambda_function.py", "lambda_handler"),
    ("app.py", "lambda_handler"),
    ("app.py", "handler"),
    ("handler.py", "handler"),
    ("handler.py", "lambda_handler"),
    ("main.py", "handler"),
)


@dataclass(frozen=True)
class HandlerCheck:
    handler: str | None
    configured: bool
    note: str


def _module_files(module: str) -> tuple[str, str]:
    # Lambda accepts "pkg/mod.func" and "pkg.mod.func"; both name pkg/mod.py.
    base = module.replace(".", "/")
    return f"{base}.py", f"{base}/__init__.py"


def _binds(target: ast.expr, name: str) -> bool:
    """Whether an assignment target (a, b = ...; *rest; x[0]) binds `name`."""
    if isinstance(target, ast.Name):
        return target.id == name
    if isinstance(target, (ast.Tuple, ast.List)):
        return any(_binds(t, name) for t in target.elts)
    if isinstance(target, ast.Starred):
        return _binds(target.value, name)
    return False


# Python's parser needs about 400 B of memory per byte of dense source (a 15.6 MB module
# cost 6.3 GB): above this, a line scan stands in for the parse.
MAX_PARSED_SOURCE = 256 * 1024


def _top_level_binding(name: str) -> re.Pattern[bytes]:
    word = re.escape(name.encode())
    return re.compile(
        rb"^(?:(?:async\s+)?def\s+|class\s+)" + word + rb"\b|^" + word + rb"\s*(?::|=(?!=))",
        re.MULTILINE,
    )


def defines(source: bytes, name: str) -> bool | None:
    """Whether the module binds `name` at top level; None when that cannot be known
    statically (unparsable source, `from x import *`, names made at run time)."""
    if len(source) > MAX_PARSED_SOURCE:
        # Too large to parse safely: an unindented def or assignment still shows it.
        return True if _top_level_binding(name).search(source) else None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    unknown = False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == name:
                return True
        elif isinstance(node, ast.Assign):
            if any(_binds(t, name) for t in node.targets):
                return True
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            if _binds(node.target, name):
                return True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(alias.name == "*" for alias in node.names):
                unknown = True  # a star import may bring it
            elif any((alias.asname or alias.name.split(".")[0]) == name for alias in node.names):
                return True
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
            targets = (
                [node.target]
                if isinstance(node, (ast.For, ast.AsyncFor))
                else [item.optional_vars for item in node.items if item.optional_vars is not None]
            )
            if any(_binds(t, name) for t in targets) or name in ast.unparse(node):
                return True
        elif isinstance(node, (ast.If, ast.Try, ast.Expr)):
            # Conservative: a name bound under a condition, or by a walrus, may exist.
            if name in ast.unparse(node):
                return True
    if unknown or "globals()" in source.decode("utf-8", "replace"):
        return None
    return False


def check_handler(entries: Mapping[str, PackageFile], handler: str | None) -> HandlerCheck:
    """The configured handler, checked to exist; or the one found where people usually put it."""
    if handler:
        module, _, function = handler.rpartition(".")
        if not module or not function:
            raise ConfigError(
                f"Handler {handler!r} is not of the form module.function.",
                hint="write it as Lambda does, e.g. `app.lambda_handler` or `pkg/api.handler`.",
            )
        candidates = [p for p in _module_files(module) if p in entries]
        if not candidates:
            raise ConfigError(
                f"Handler {handler!r}: module {module!r} is not in the package "
                f"(looked for {' or '.join(_module_files(module))}).",
                hint="fix `handler` in [tool.lpack] or --handler, or `source` if the code "
                "lives in another folder.",
            )
        found = defines(entries[candidates[0]].read(), function)
        if found is False:
            raise ConfigError(
                f"Handler {handler!r}: {candidates[0]} has no top-level {function!r}.",
                hint=f"define `def {function}(event, context):` in {candidates[0]} or fix "
                "`handler`.",
            )
        note = (
            f"{handler} found in {candidates[0]}"
            if found
            else f"{candidates[0]} found (could not parse it to check {function!r})"
        )
        return HandlerCheck(handler, True, note)
    for filename, function in USUAL_HANDLERS:
        entry = entries.get(filename)
        if entry is not None and entry.dist is None and defines(entry.read(), function):
            found_handler = f"{filename[:-3]}.{function}"
            return HandlerCheck(found_handler, False, f"detected {found_handler}")
    return HandlerCheck(
        None,
        False,
        "no handler configured and none of lambda_function.py, app.py, handler.py found; "
        "set `handler` to have it checked",
    )
