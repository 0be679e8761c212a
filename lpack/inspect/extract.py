"""Extracts the zips verify imports: bounded, with the zip's own modes, then read-only.

Lambda unpacks a function and its layers with the modes their zips record, and runs the
code as a user who owns none of it: a file others cannot read fails to import there. Here
every extracted path gets, for every user, what the zip lets others do (0640 becomes 0440,
0600 and 0000 become 0000), so the import fails the same way whoever runs it, root's
`nobody` or the extract's owner, and agrees with lint's LP401. Nothing is extracted before
the zip's declared sizes fit the budget, and the bytes written are counted as they go, so
a zip that lies about its sizes cannot fill the disk.
"""

from __future__ import annotations

import calendar
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lpack.errors import ConfigError, ContentsError
from lpack.inspect.ziparchive import check_bomb, refuse_oversized_directory

LAMBDA_UNZIPPED = 262_144_000  # Lambda's limit for a function and its layers, unzipped
EXTRACT_LIMIT = 2 * LAMBDA_UNZIPPED  # room for a package over the limit, and the SDK stand-in
_CHUNK = 1024**2


@dataclass
class Extraction:
    """The modes to set once everything is extracted, and the bytes left in the budget."""

    left: int = EXTRACT_LIMIT
    modes: dict[str, int] = field(default_factory=dict)  # path -> the zip's mode bits


def _recorded_mode(info: zipfile.ZipInfo) -> int | None:
    """The entry's permission bits; None when the zip records none (not made on Unix, or no
    mode at all), which is not the same as an explicit 0000."""
    unix = info.external_attr >> 16 if info.create_system == 3 else 0
    return stat.S_IMODE(unix) if unix else None


def extract(zip_path: Path, dest: Path, state: Extraction) -> None:
    """Extract zip_path under dest, refusing unsafe paths and anything over the budget."""
    refuse_oversized_directory(zip_path)  # before zipfile builds an entry per record
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ConfigError(f"{zip_path} is not a readable zip: {exc}.") from exc
    with zf:
        infos = zf.infolist()
        _check_declared(zip_path, infos, state.left)
        check_bomb(infos, zip_path)  # lint's refusals: bombs, overlaps, nameless entries
        for info in infos:
            name = PurePosixPath(info.filename)
            if info.filename.startswith("/") or ".." in name.parts:
                raise ConfigError(f"{zip_path} holds the unsafe path {info.filename!r}.")
            target = dest / name
            try:
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    _copy(zf, info, target, zip_path, state)
            except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
                raise ConfigError(
                    f"{zip_path}: {info.filename!r} is both a file and a folder (or listed "
                    "twice); no extractor, Lambda's included, can unpack it.",
                    hint="rebuild the zip so each path is either a file or a folder.",
                ) from exc
            mode = _recorded_mode(info)
            if mode is not None:
                state.modes[str(target)] = mode


def _check_declared(zip_path: Path, infos: list[zipfile.ZipInfo], left: int) -> None:
    declared = sum(info.file_size for info in infos)
    if declared > left:
        raise ContentsError(
            f"{zip_path} declares {declared:,} B unzipped; verify extracts at most "
            f"{EXTRACT_LIMIT:,} B for a function, its layers and the runtime's stand-in "
            f"(Lambda's own limit is {LAMBDA_UNZIPPED:,} B), {left:,} B were left.",
            hint="`lpack lint` says what is too big; verify a package that fits Lambda.",
        )


def _copy(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, zip_path: Path, state: Extraction
) -> None:
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > info.file_size or written > state.left:
                    raise ContentsError(
                        f"{zip_path}: {info.filename!r} inflates past the {info.file_size:,} B "
                        "it declares (or past verify's budget); extraction stopped.",
                        hint="the zip is damaged or built to fill the disk: rebuild it.",
                    )
                out.write(chunk)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise ContentsError(f"{zip_path}: {info.filename!r} is damaged: {exc}.") from exc
    state.left -= written
    _keep_date(target, info)


def _keep_date(target: Path, info: zipfile.ZipInfo) -> None:
    """The zip's date, as UTC, as Lambda keeps it: a .pyc checked by its source's timestamp
    is used, or compiled past, here as there (verify --profile says which)."""
    try:
        when = calendar.timegm((*info.date_time, 0, 0, 0))
        os.utime(target, (when, when))
    except (ValueError, OverflowError, OSError):
        pass  # an impossible date (month 0): the file keeps the time it was written


def seal(root: Path, state: Extraction) -> None:
    """Give every path what the zip lets others do, for everyone, with no write bit (Lambda's
    /var/task is read-only); a path the zip gives no mode gets 0444 or 0555."""
    for folder, dirs, files in os.walk(root, topdown=False):  # children before their folder
        for name in files:
            path = os.path.join(folder, name)
            os.chmod(path, _for_everyone(state.modes.get(path, 0o444)))
        for name in dirs:
            path = os.path.join(folder, name)
            os.chmod(path, _for_everyone(state.modes.get(path, 0o555)))
    os.chmod(root, 0o555)


def _for_everyone(mode: int) -> int:
    """What others may do (read, execute), given to owner, group and others alike."""
    return (mode & 0o5) * 0o111


def unseal(root: Path) -> None:
    """Make every folder writable again so the extract can be removed; never through a
    symbolic link (without namespaces the package may have left some)."""
    if root.is_dir() and not root.is_symlink():
        os.chmod(root, 0o755)
    for folder, dirs, _ in os.walk(root):
        for name in dirs:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755)
