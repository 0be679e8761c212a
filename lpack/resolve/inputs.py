"""Finds what the function depends on: requirements.in, requirements.txt or pyproject.toml."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lpack.errors import ConfigError
from lpack.files import why_unusable
from lpack.resolve.lockfile import LOCK_FORMAT, Pin
from lpack.settings import ArtifactSpec, read_pyproject
from lpack.settings.model import canonical

# packaging is imported where it is used: a rebuild that changes nothing reads requirement
# files and digests them, and never parses a requirement (lpack/unchanged.py).

REQUIREMENT_FILES = ("requirements.in", "requirements.txt")
# Locks other tools write that lpack reads as a function's input (resolve/foreign.py).
LOCK_NAMES = ("uv.lock", "poetry.lock", "pylock.toml")


@dataclass(frozen=True)
class Constraints:
    """Pins a lock must agree with: those of a layer the function uses."""

    name: str  # the layer's name
    pins: tuple[Pin, ...]

    def text(self) -> str:
        return "".join(f"{p.name}=={p.version}\n" for p in sorted(self.pins, key=lambda p: p.key))


@dataclass(frozen=True)
class RequirementsInput:
    """The dependency declaration, as the text pip-compile will read."""

    label: str  # what the user knows it as: "requirements.in", "pyproject.toml [project]"
    path: Path  # the file it came from
    text: str  # requirements-file syntax handed to pip-compile
    notes: tuple[str, ...] = ()  # what the build should say about it ("no dependencies: …")

    @property
    def is_empty(self) -> bool:
        return not any(
            line.strip() and not line.strip().startswith("#") for line in self.text.splitlines()
        )


def _string_list(value: object, where: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"{path}: {where} must be a list of requirement strings, not {value!r}.",
            hint='write it as e.g. dependencies = ["requests>=2.31", "pydantic"].',
        )
    return list(value)


def _from_pyproject(spec: ArtifactSpec, path: Path | None = None) -> RequirementsInput | None:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    if path is not None and not path.is_file():
        raise ConfigError(f"{path} {why_unusable(path)}.", hint="fix `requirements` or -r.")
    path = path or spec.project_dir / "pyproject.toml"
    if not path.is_file():
        return None
    pyproject = read_pyproject(path.parent)
    project = pyproject.get("project")
    if project is None:
        return None
    if not isinstance(project, dict):
        raise ConfigError(f"{path}: [project] must be a table.")
    if "dependencies" in project.get("dynamic", []):
        raise ConfigError(
            f"{path} declares its dependencies as dynamic, so lpack cannot read them "
            "without running the build backend.",
            hint="list them in [project] dependencies, or in a requirements.in file.",
        )
    deps = _string_list(project.get("dependencies", []), "[project] dependencies", path)
    optional = project.get("optional-dependencies", {})
    if not isinstance(optional, dict):
        raise ConfigError(f"{path}: [project.optional-dependencies] must be a table of lists.")
    optional = {str(canonicalize_name(k)): v for k, v in optional.items()}
    for extra in map(canonicalize_name, spec.extras):
        if extra not in optional:
            raise ConfigError(
                f"Optional dependency group {extra!r} is not in [project.optional-dependencies] "
                f"of {path}; it has: {', '.join(optional) or 'none'}.",
                hint="fix `extras` in [tool.lpack] or --extra.",
            )
        deps += _string_list(optional[extra], f"optional-dependencies.{extra}", path)
    for group in spec.groups or ():
        deps += _group(pyproject.get("dependency-groups", {}), group, path, ())
    if "dependencies" not in project and not spec.extras and not spec.groups:
        return None
    for dep in deps:
        try:
            Requirement(dep)
        except InvalidRequirement as exc:
            raise ConfigError(
                f"{path}: dependency {dep!r} is not a valid requirement: {exc}.",
                hint="write it as PEP 508, e.g. `requests>=2.31`.",
            ) from exc
    chosen = [*spec.extras, *(spec.groups or ())]
    label = "pyproject.toml [project]" + (f" + {','.join(chosen)}" if chosen else "")
    return RequirementsInput(label=label, path=path, text="\n".join(deps) + "\n")


def _group(table: object, name: str, path: Path, seen: tuple[str, ...]) -> list[str]:
    """A PEP 735 dependency group's requirements, its include-group entries expanded."""
    from packaging.utils import canonicalize_name

    groups = {
        canonicalize_name(k): v for k, v in (table if isinstance(table, dict) else {}).items()
    }
    name = canonicalize_name(name)
    if name not in groups:
        raise ConfigError(
            f"Dependency group {name!r} is not in [dependency-groups] of {path} (it has: "
            f"{', '.join(groups) or 'none'}).",
            hint="fix `groups` in [tool.lpack] or --group.",
        )
    if name in seen:
        raise ConfigError(
            f"{path}: dependency group {name!r} includes itself ({' → '.join(seen)})."
        )
    found: list[str] = []
    for item in groups[name]:
        if isinstance(item, dict) and isinstance(item.get("include-group"), str):
            found += _group(groups, item["include-group"], path, (*seen, name))
        elif isinstance(item, str):
            found.append(item)
        else:
            raise ConfigError(f"{path}: dependency group {name!r} holds {item!r}.")
    return found


def is_foreign_lock(path: Path) -> bool:
    name = path.name
    return name in LOCK_NAMES or (name.startswith("pylock.") and name.endswith(".toml"))


def find_foreign_lock(spec: ArtifactSpec) -> Path | None:
    """A lock another tool wrote that is the artifact's input: named by `requirements`, or
    found beside it when no requirements file is (a requirements file wins)."""
    if spec.requirements:
        path = (spec.project_dir / spec.requirements).resolve()
        if not is_foreign_lock(path):
            return None
        if not path.is_file():
            raise ConfigError(
                f"Lock file {path} {why_unusable(path)}.", hint="fix `requirements` or -r."
            )
        return path
    folder = spec.requirements_dir
    if any((folder / name).is_file() for name in REQUIREMENT_FILES):
        return None
    found = [folder / n for n in LOCK_NAMES if (folder / n).is_file()]
    found += sorted(folder.glob("pylock.*.toml"))
    if len(found) > 1:
        raise ConfigError(
            f"{folder} holds several locks ({', '.join(p.name for p in found)}), and lpack "
            "cannot tell which one the project keeps.",
            hint="name one with `requirements` in [tool.lpack] or -r.",
        )
    return found[0] if found else None


def input_label(spec: ArtifactSpec) -> str:
    """What the artifact's dependencies are read from, as the user knows it."""
    foreign = find_foreign_lock(spec)
    return foreign.name if foreign is not None else find_requirements(spec).label


def find_requirements(spec: ArtifactSpec) -> RequirementsInput:
    """The configured input, or the first of requirements.in, requirements.txt, pyproject."""
    if spec.requirements:
        path = (spec.project_dir / spec.requirements).resolve()
        if path.name == "pyproject.toml":
            found = _from_pyproject(spec, path)
            if found is None:
                raise ConfigError(f"{path} has no [project] dependencies.")
            return found
        if not path.is_file():
            raise ConfigError(
                f"Requirements file {path} {why_unusable(path)}.",
                hint="fix `requirements` in [tool.lpack] or --requirements, "
                "or create the file (one requirement per line).",
            )
        return RequirementsInput(label=path.name, path=path, text=_read(path))
    folder = spec.requirements_dir
    for name in REQUIREMENT_FILES:
        path = folder / name
        if path.is_file():
            label = os.path.relpath(path, spec.project_dir) if spec.declared else name
            return RequirementsInput(label=label, path=path, text=_read(path))
    if spec.declared:  # a function declared in a table may need nothing but its layers
        return RequirementsInput("no requirements", folder / REQUIREMENT_FILES[0], "")
    found = _from_pyproject(spec)
    if found is not None:
        return found
    # A function that imports only the standard library (and boto3, which the runtime
    # provides) is common: it builds, and its lock pins nothing (see README, Dependencies).
    note = (
        f"no dependencies: {folder} has no {' or '.join(REQUIREMENT_FILES)} and no [project] "
        "dependencies, so the zip holds the function's own files only (add requirements.in "
        "when it needs packages)"
    )
    return RequirementsInput("no dependencies", folder / REQUIREMENT_FILES[0], "", (note,))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read requirements file {path}: {exc}.") from exc


def requirement_names(req: RequirementsInput) -> list[str]:
    """Names the input asks for directly (the roots of the dependency graph)."""
    from packaging.requirements import InvalidRequirement, Requirement

    names = []
    for line in req.text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            names.append(Requirement(line).name)
        except InvalidRequirement:
            continue
    return names


def lock_digest(
    spec: ArtifactSpec, req: RequirementsInput, constraints: Sequence[Constraints] = ()
) -> str:
    """Digest of everything that decides the lock's content, bar the index's state."""
    parts = [
        req.text,
        f"lpack-lock-version={LOCK_FORMAT}",
        f"target={spec.target.key}",
        "allow-sdist=" + ",".join(sorted(canonical(n) for n in spec.allow_sdist)),
        *_included_files(req),
        *(f"constraints:{c.name}:{c.text()}" for c in constraints),
    ]
    h = hashlib.sha256()
    for chunk in parts:
        h.update(chunk.encode())
        h.update(b"\0")
    return "sha256:" + h.hexdigest()


def refuse_local_requirements(req: RequirementsInput) -> None:
    """An editable, a local path or a URL would make pip-tools build it (running its
    setup.py) while resolving; lpack installs only what indexes serve, so it refuses them
    before anything runs."""
    from lpack.resolve.lockfile import logical_lines

    for label, text in [(req.path.name, req.text), *_included_texts(req)]:
        for number, line in logical_lines(text):
            what = _local_kind(line)
            if what is None:
                continue
            raise ConfigError(
                f"{label}: line {number} is {what} ({line}). Resolving it would build it, "
                "running its own code, and lpack installs only packages from indexes.",
                hint="build it into a wheel and serve it from a find-links folder "
                "(PIP_FIND_LINKS) or a private index and require it by name; for the "
                "function's own package, give pyproject.toml a [build-system] (see README, "
                "The project's own package).",
            )


_INDEX_OPTIONS = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--trusted-host": "--trusted-host",
    "--no-index": "--no-index",
}


def index_options(req: RequirementsInput) -> list[str]:
    """The index options the requirements (and what they include) give, as pip arguments;
    a relative find-links folder is taken relative to the file that names it, as pip does."""
    from lpack.resolve.lockfile import logical_lines

    found: list[str] = []
    for label, text in [(req.path.name, req.text), *_included_texts(req)]:
        for _, line in logical_lines(text):
            option, _, value = line.replace("=", " ", 1).partition(" ")
            if option not in _INDEX_OPTIONS:
                continue
            value = value.strip()
            if _INDEX_OPTIONS[option] == "--find-links" and "://" not in value:
                value = str((req.path.parent / os.path.dirname(label) / value).resolve())
            found += [_INDEX_OPTIONS[option]] + ([value] if value else [])
    return found


def _local_kind(line: str) -> str | None:
    from packaging.requirements import InvalidRequirement, Requirement

    if not line:
        return None
    if line.startswith(("-e", "--editable")):
        return "an editable requirement"
    if line.startswith("-"):
        return None  # pip options; -r/-c files are read on their own
    spec = re.sub(r"\s--hash[= ]\S+", "", " " + line).strip()
    try:
        parsed = Requirement(spec)
    except InvalidRequirement:
        # pip reads a path or URL where a name would be; anything else is a typo that
        # pip-compile reports in its own words.
        local = spec.startswith((".", "/", "~")) or "://" in spec or spec.startswith("file:")
        archive = spec.split(";")[0].strip().endswith((".whl", ".tar.gz", ".zip", ".tar.bz2"))
        return "a local path or URL, not a requirement by name" if local or archive else None
    return f"a direct reference to {parsed.url}" if parsed.url else None


def _included_texts(req: RequirementsInput) -> list[tuple[str, str]]:
    """(label, text) of every file the input pulls in with -r / -c."""
    found = []
    for item in _included_files(req):
        label, _, text = item.partition(":")
        if text != "<missing>":
            found.append((label, text))
    return found


_INCLUDE_RE = re.compile(r"^\s*(?:-r|-c|--requirement|--constraint)(?:[\s=]+|(?=[^\s=-]))(\S+)")


def _included_files(req: RequirementsInput) -> Iterable[str]:
    """Text of every file the input pulls in with -r / -c, followed recursively, so that
    editing any of them invalidates the lock."""
    seen: set[Path] = {req.path.resolve()}
    queue = [(req.path, req.text)]
    while queue:
        including, text = queue.pop(0)
        for line in text.splitlines():
            match = _INCLUDE_RE.match(line)
            if not match:
                continue
            path = (including.parent / match.group(1)).resolve()
            if path in seen:
                continue
            seen.add(path)
            # Named relative to the input, so the digest is the same in any checkout.
            label = os.path.relpath(path, req.path.parent.resolve())
            try:
                content = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                yield f"{label}:<missing>"
                continue
            yield f"{label}:{content}"
            queue.append((path, content))


def target_lock_path(spec: ArtifactSpec) -> Path:
    """Where the lock for the spec's target lives: the configured path, unless --runtime or
    --arch chose a target whose lock that file is not; then a file named for this target
    beside it, so that switching targets on the command line never overwrites a lock and
    `--locked` holds for each. (A project whose own settings change target moves its lock.)"""
    path = spec.lock_path
    key = spec.target.key
    if not spec.target_from_cli or not path.is_file() or _target_key(path) in (None, key):
        return path
    return path.with_name(f"{path.stem}.{key}{path.suffix}")


def _target_key(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for _, line in zip(range(20), fh, strict=False):
                if line.startswith("# target-key:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None
