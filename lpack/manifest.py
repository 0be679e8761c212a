"""dist/lpack-manifest.json: what a project's build wrote, artifact by artifact, for deploy tools
and CI (paths relative to the manifest, sizes, hashes, and the inputs digest that tells an
unchanged artifact)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpack.errors import BuildError
from lpack.files import write_atomic

MANIFEST_VERSION = 1
MANIFEST_NAME = "lpack-manifest.json"


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    kind: str  # function | layer
    path: str  # the zip, relative to the manifest's folder
    runtime: str
    arch: str
    layers: list[str]
    zipped_size: int
    unzipped_size: int
    sha256: str
    sha256_base64: str
    rebuilt: bool
    ok: bool  # within its limits, and lint found no error: else the next build redoes it
    inputs: str  # digest of everything the zip is made from
    distributions: dict[str, int] = field(default_factory=dict)  # name -> unzipped bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "path": self.path,
            "runtime": self.runtime,
            "arch": self.arch,
            "layers": self.layers,
            "zipped_size": self.zipped_size,
            "unzipped_size": self.unzipped_size,
            "sha256": self.sha256,
            "sha256_base64": self.sha256_base64,
            "rebuilt": self.rebuilt,
            "ok": self.ok,
            "inputs": self.inputs,
            "distributions": dict(sorted(self.distributions.items())),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ManifestEntry:
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            path=str(data["path"]),
            runtime=str(data["runtime"]),
            arch=str(data["arch"]),
            layers=[str(layer) for layer in data.get("layers", [])],
            zipped_size=int(data["zipped_size"]),
            unzipped_size=int(data["unzipped_size"]),
            sha256=str(data["sha256"]),
            sha256_base64=str(data["sha256_base64"]),
            rebuilt=bool(data.get("rebuilt", False)),
            ok=data.get("ok") is True,
            inputs=str(data.get("inputs", "")),
            distributions={str(k): int(v) for k, v in data.get("distributions", {}).items()},
        )


@dataclass
class Manifest:
    path: Path
    entries: dict[str, ManifestEntry] = field(default_factory=dict)

    def zip_path(self, entry: ManifestEntry) -> Path:
        return (self.path.parent / entry.path).resolve()

    def relative(self, zip_path: Path) -> str:
        return Path(os.path.relpath(zip_path, self.path.parent)).as_posix()

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "artifacts": [self.entries[name].to_json() for name in sorted(self.entries)],
        }

    def write(self) -> None:
        text = json.dumps(self.to_json(), indent=2) + "\n"
        try:
            write_atomic(self.path, text.encode())  # the umask's mode: read by deploy tools and CI
        except OSError as exc:
            raise BuildError(
                f"Cannot write the manifest {self.path}: {exc.strerror or exc}."
            ) from exc


def read_manifest(path: Path) -> Manifest:
    """The manifest of the last build; a missing or damaged one is empty (it is derived
    data: the next build rewrites it)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != MANIFEST_VERSION:
            return Manifest(path)
        entries = [ManifestEntry.from_json(a) for a in data["artifacts"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Manifest(path)
    return Manifest(path, {e.name: e for e in entries})
