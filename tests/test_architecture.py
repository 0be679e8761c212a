"""The package's shape: which layer may import which, and where rich, click and pip may appear.

Imports are read from the source (every import statement, at any depth; those under
`if TYPE_CHECKING:` are marked), so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "lpack"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # what it imports, dotted (absolute)
    typing_only: bool  # under `if TYPE_CHECKING:`
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> list[Import]:
    module = _module_name(path)
    found: list[Import] = []

    def visit(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, typing_only)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(module, a.name, typing_only, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module.split(".")
                if path.name != "__init__.py":
                    package = package[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            found.append(Import(module, base, typing_only, node.lineno))
            found.extend(
                Import(module, f"{base}.{a.name}", typing_only, node.lineno) for a in node.names
            )
        for child in ast.iter_child_nodes(node):
            visit(child, typing_only)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


ALL_IMPORTS = [imp for path in sorted(PACKAGE.rglob("*.py")) for imp in _imports(path)]


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _violations(importers: str, forbidden: tuple[str, ...], typing_too: bool = True) -> list[str]:
    return [
        f"{imp.module}:{imp.line} imports {imp.target}"
        for imp in ALL_IMPORTS
        if _within(imp.module, importers)
        and any(_within(imp.target, f) for f in forbidden)
        and (typing_too or not imp.typing_only)
    ]


def test_inspect_works_on_any_zip_so_never_imports_the_builders() -> None:
    forbidden = ("lpack.assemble", "lpack.resolve", "lpack.build", "lpack.project")
    assert _violations("lpack.inspect", forbidden) == []


SERVICES = ("lpack.build", "lpack.project", "lpack.sizing", "lpack.precommit", "lpack.manifest")


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        (
            "lpack.resolve",
            ("lpack.assemble", "lpack.inspect", "lpack.render", "lpack.cli", *SERVICES),
        ),
        ("lpack.assemble", ("lpack.inspect", "lpack.render", "lpack.cli", *SERVICES)),
        ("lpack.inspect", ("lpack.render", "lpack.cli", *SERVICES)),
        (
            "lpack.settings",
            (
                "lpack.resolve",
                "lpack.assemble",
                "lpack.inspect",
                "lpack.render",
                "lpack.cli",
                *SERVICES,
            ),
        ),
    ],
)
def test_layers_import_only_downwards(layer: str, forbidden: tuple[str, ...]) -> None:
    assert _violations(layer, forbidden) == []


def test_render_formats_documents_without_running_the_pipeline() -> None:
    # The build's and lock's result types are named for the type checker only.
    forbidden = ("lpack.resolve", "lpack.assemble", "lpack.build", "lpack.project", "lpack.cli")
    assert _violations("lpack.render", forbidden, typing_too=False) == []


@pytest.mark.parametrize(
    "library, allowed",
    [
        ("rich", ("lpack.render", "lpack.cli")),
        ("click", ("lpack.cli",)),
        ("pip", ("lpack.resolve._pipworker",)),
        ("piptools", ("lpack.resolve._pipworker",)),
    ],
)
def test_third_party_libraries_stay_in_their_module(library: str, allowed: tuple[str, ...]) -> None:
    users = {
        imp.module
        for imp in ALL_IMPORTS
        if _within(imp.target, library) and not any(_within(imp.module, a) for a in allowed)
    }
    assert users == set()


def test_services_never_print_or_exit() -> None:
    """Only the CLI ends the process or writes to the terminal (render writes what it is given)."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        if _within(module, "lpack.cli") or _within(module, "lpack.render"):
            continue
        if module in ("lpack.resolve._pipworker", "lpack.inspect.verify_harness"):
            continue  # programs of their own, run in a subprocess
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
                name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                if name in ("print", "exit") or (
                    isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "sys"
                    and name == "exit"
                ):
                    offenders.append(f"{module}:{node.lineno} calls {name}")
    assert offenders == []


def test_every_subpackage_says_what_it_owns_and_may_import() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, init
        first = doc.splitlines()[0]
        assert "import" in first, f"{init}: its first line names what the package may import"


def test_verify_harness_runs_on_every_runtime_python_with_the_standard_library_only() -> None:
    harness = PACKAGE / "inspect" / "verify_harness.py"
    ast.parse(harness.read_text(encoding="utf-8"), feature_version=(3, 9))
    imported = {imp.target.split(".")[0] for imp in _imports(harness)}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_modules_and_functions_stay_short() -> None:
    """No module over ~500 lines; no function over 60 unless a comment on the line above its
    `def` gives the reason ("# long: ...")."""
    long_modules, long_functions = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > MAX_MODULE_LINES:
            long_modules.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                reason = lines[first - 2].strip().startswith("# long:") if first > 1 else False
                if length > MAX_FUNCTION_LINES and not reason:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.name} {length} lines")
    assert long_modules == [] and long_functions == []
