"""Small packages that fire (or must not fire) each lint rule, built in a temp folder."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
import zipfile
from pathlib import Path

import make_index

FIXED = (1980, 1, 1, 0, 0, 0)
S_IFLNK = 0o120000
S_IFREG = 0o100000
S_IFDIR = 0o040000


def write_zip(
    path: Path, members: dict[str, bytes | tuple[bytes, int]], *, stored: bool = False
) -> Path:
    """members: name -> data, or (data, mode) where mode may carry S_IFLNK / S_IFDIR."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as zf:
        for name, value in members.items():
            data, mode = value if isinstance(value, tuple) else (value, S_IFREG | 0o644)
            if not mode & 0o170000:
                mode |= S_IFREG
            info = zipfile.ZipInfo(name, FIXED)
            info.create_system = 3
            info.external_attr = mode << 16
            if mode & 0o170000 == S_IFDIR:
                info.external_attr |= 0x10
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def dist_info(
    name: str, version: str, files: list[str], tag: str = "py3-none-any"
) -> dict[str, bytes]:
    base = f"{name.replace('-', '_')}-{version}.dist-info"
    record = "".join(f"{f},,\n" for f in files) + f"{base}/RECORD,,\n"
    return {
        f"{base}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{base}/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n".encode(),
        f"{base}/RECORD": record.encode(),
    }


def compile_so(work: Path, code: str, name: str, debug: bool = False) -> bytes | None:
    if shutil.which("gcc") is None:
        return None
    src = work / f"{name}.c"
    src.write_text(code)
    out = work / f"{name}.so"
    flags = ["-g"] if debug else ["-s"]
    include = sysconfig.get_paths()["include"]
    proc = subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O1", *flags, f"-I{include}", str(src), "-o", str(out)],
        capture_output=True,
    )
    return out.read_bytes() if proc.returncode == 0 else None


# memfd_create is versioned GLIBC_2.27: too new for Amazon Linux 2 (2.26), fine for AL2023.
NEW_GLIBC_C = (
    '#define _GNU_SOURCE\n#include <sys/mman.h>\nint f(void) { return memfd_create("x", 0); }\n'
)
PLAIN_C = "int f(void) { return 1; }\n"


def clean_package(path: Path) -> Path:
    """A well-made function: must produce no finding at all."""
    members: dict[str, bytes | tuple[bytes, int]] = {
        "app.py": b"import lib\n\ndef handler(event, context):\n    return lib.VALUE\n",
        "lib/__init__.py": b"__version__ = '1.0'\nVALUE = 1\n",
        "lib/core.py": b"X = 1\n",
        "lib/py.typed": b"",
        "lib/tests/test_small.py": b"def test():\n    pass\n",
        "notes.md": b"key example AKIAIOSFODNN7EXAMPLE from the AWS docs\n",
        "link_inside": (b"lib/core.py", S_IFLNK | 0o777),
    }
    members.update(
        dist_info(
            "lib",
            "1.0",
            ["lib/__init__.py", "lib/core.py", "lib/py.typed", "lib/tests/test_small.py"],
        )
    )
    return write_zip(path, members)


def golden_package(path: Path) -> Path:
    """Deterministic bytes (no compiler involved) firing many rules: the golden outputs."""
    members: dict[str, bytes | tuple[bytes, int]] = {
        "app.py": b"def other(event, context):\n    return 1\n",
        "settings.py": b"AWS_ACCESS_KEY_ID = 'AKIAABCDEFGHIJKLMNOP'\n",
        ".env": b"SECRET=1\n",
        ".git/config": b"[core]\n",
        "secret_mod.py": (b"X = 1\n", 0o600),
        "fastlib/__init__.py": b"",
        "fastlib/_speed.cpython-312-x86_64-linux-gnu.so": b"\x7fELF",
        "fastlib/_mac.cpython-311-darwin.so": make_index.MACHO_BYTES,
        "__pycache__/app.cpython-312.pyc": b"\0" * 16,
        "../escape.py": b"",
        "link_out": (b"/etc/hostname", S_IFLNK | 0o777),
    }
    members.update(
        dist_info(
            "fastlib",
            "1.0",
            [
                "fastlib/__init__.py",
                "fastlib/_speed.cpython-312-x86_64-linux-gnu.so",
                "fastlib/_mac.cpython-311-darwin.so",
            ],
            tag="cp312-abi3-manylinux_2_17_x86_64",
        )
    )
    members.update(dist_info("botocore", "1.0", []))
    return write_zip(path, members)
