"""Benchmark: lint a 250 MB package of 20,000 files, and any packages given on the command line.

    python tests/bench/bench_lint.py [ZIP_OR_FOLDER ...]

Prints wall times; asserts nothing.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from lpack.inspect.lint import LintOptions, lint_paths
from lpack.target import Target


def synthetic(path: Path, files: int = 20_000, total: int = 250 * 1024**2) -> Path:
    rng = random.Random(1)
    words = [bytes(rng.choice(b"abcdefghij_ ") for _ in range(8)) for _ in range(500)]
    per_file = total // files
    so = next(
        (p for p in Path(sys.prefix).rglob("*.so") if 50_000 < p.stat().st_size < 300_000), None
    )

    def add(name: str, data: bytes) -> None:
        info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o100644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, data, compresslevel=1)

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i in range(files):
            pkg = f"pkg{i % 200}"
            if so is not None and i % 100 == 0:
                add(f"{pkg}/_ext{i}.cpython-311-x86_64-linux-gnu.so", so.read_bytes())
            elif i % 3 == 0:
                add(f"{pkg}/data{i}.bin", os.urandom(per_file))
            else:
                text = b" ".join(rng.choice(words) for _ in range(per_file // 9))
                add(f"{pkg}/mod{i}.py", text)
    return path


def timed_lint(path: Path) -> None:
    target = Target.from_names("python3.11", "x86_64")
    start = time.perf_counter()
    findings = lint_paths([path], target, LintOptions())
    elapsed = time.perf_counter() - start
    with zipfile.ZipFile(path) if path.is_file() else _nullzip() as zf:
        count = len(zf.infolist()) if zf else sum(1 for _ in path.rglob("*"))
        size = sum(i.file_size for i in zf.infolist()) if zf else 0
    print(
        f"{path.name}: {count:,} entries, {size:,} B unzipped, {len(findings)} findings, "
        f"lint {elapsed:.2f} s"
    )


class _nullzip:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        pass


def main() -> None:
    for arg in sys.argv[1:]:
        timed_lint(Path(arg))
    with tempfile.TemporaryDirectory(prefix="lpack-bench-") as tmp:
        start = time.perf_counter()
        path = synthetic(Path(tmp) / "synthetic-250MB-20k.zip")
        print(f"(made the synthetic zip in {time.perf_counter() - start:.1f} s)")
        timed_lint(path)


if __name__ == "__main__":
    main()
