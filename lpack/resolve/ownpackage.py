"""The project's own package: built into a wheel and shipped like any dependency.

When pyproject.toml names a build backend and the handler's module lives in the project's
package (src/orders/ or orders/ beside pyproject.toml), the function is that package as pip
would install it: `python -m build --wheel` (isolated, so the backend's own requirements
come from the index), never the loose files, so `orders.handler.lambda_handler` imports and
`src/` never ships. Projects of loose files keep shipping their files.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lpack.errors import FetchError
from lpack.files import default_cache_dir
from lpack.resolve.cache import WheelCache
from lpack.resolve.fetch import FetchedWheel, build_wheel
from lpack.settings import ArtifactSpec, read_pyproject


@dataclass(frozen=True)
class OwnPackage:
    folder: Path  # where pyproject.toml is
    layout: str  # "src" or "flat"
    module: str  # the handler's top-level module


def own_package(spec: ArtifactSpec) -> OwnPackage | None:
    """The function's own package, when it has a build backend and holds the handler."""
    source = spec.source_dir
    if spec.kind != "function" or not spec.handler or source is None:
        return None
    pyproject = read_pyproject(source)
    system = pyproject.get("build-system")
    if not isinstance(system, dict) or not system.get("build-backend"):
        return None
    top = spec.handler.rpartition(".")[0].split(".", 1)[0]
    for layout, base in (("src", source / "src"), ("flat", source)):
        if (base / top / "__init__.py").is_file() or (base / f"{top}.py").is_file():
            if layout == "flat" and not (base / top).is_dir():
                return None  # a single module beside pyproject.toml is a loose-file project
            return OwnPackage(source, layout, top)
    return None


def build_own_wheel(package: OwnPackage, cache: WheelCache | None = None) -> FetchedWheel:
    """Build the project's wheel in isolation and keep it in the cache by its hash."""
    cache = cache or WheelCache(default_cache_dir())
    with tempfile.TemporaryDirectory(prefix="lpack-own-") as tmp:
        wheel, tail = build_wheel(package.folder, Path(tmp))
        if wheel is None:
            raise FetchError(
                f"Building the project's own package ({package.module}, {package.layout} layout) "
                f"in {package.folder} into a wheel failed.",
                details=tail,
                hint="`python -m build --wheel` in that folder shows the same error; fix the "
                "[build-system] or [project] table (or remove [build-system] to ship the "
                "folder's files as they are).",
            )
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        handle, temp = cache.open_temp()
        with handle:
            handle.write(wheel.read_bytes())
        path = cache.store(temp, digest, wheel.name)
    name, version = wheel.name.split("-")[:2]
    return FetchedWheel(name, version, path, wheel.name, digest, cached=False)
