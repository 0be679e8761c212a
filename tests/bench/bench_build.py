"""Benchmark: lpack build (cold and cached) against the pip-based recipe, on real PyPI.

    python tests/bench/bench_build.py [--runtime python3.11] [--sets requests,pydantic pandas]

Prints wall times and sizes; asserts nothing (speed goals live here, not in unit tests).
The recipe is what the AWS docs and most tools do: pip install --target with
--platform manylinux2014_x86_64 --only-binary=:all:, then zip -r.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str], **kwargs: object) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - start, proc


def bench_set(requirements: list[str], runtime: str, work: Path) -> None:
    project = work / "fn"
    project.mkdir(parents=True)
    (project / "requirements.in").write_text("\n".join(requirements) + "\n")
    (project / "app.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    env = dict(os.environ, LPACK_CACHE_DIR=str(work / "cache"), NO_COLOR="1")
    lpack = [
        sys.executable,
        "-m",
        "lpack",
        "build",
        str(project),
        "--runtime",
        runtime,
        "--format",
        "json",
    ]
    cold, proc = timed(lpack, env=env)
    if proc.returncode != 0:
        print(proc.stderr)
        return
    import json

    data = json.loads(proc.stdout)
    (project / "app.py").write_text("def lambda_handler(event, context):\n    return 2\n")
    cached, _ = timed(lpack, env=env)
    relock, _ = timed(lpack + ["--refresh-lock"], env=env)

    minor = runtime.removeprefix("python")
    target = work / "recipe"
    recipe_pip, proc = timed(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--target",
            str(target),
            "--platform",
            "manylinux2014_x86_64",
            "--implementation",
            "cp",
            "--python-version",
            minor,
            "--only-binary=:all:",
            "--upgrade",
            *requirements,
        ]
    )
    recipe_ok = proc.returncode == 0
    shutil.copy(project / "app.py", target / "app.py") if recipe_ok else None
    zip_time, _ = timed(["zip", "-qr", str(work / "recipe.zip"), "."], cwd=target)
    recipe_size = (work / "recipe.zip").stat().st_size if recipe_ok else 0

    out = data["output"]
    print(f"\n== {' '.join(requirements)} for {runtime} ==")
    print(f"lpack  cold build (resolve + download + write): {cold:6.2f} s")
    print(f"lpack  cached build (lock reused, wheels cached): {cached:6.2f} s")
    print(f"lpack  build with a fresh resolve, wheels cached: {relock:6.2f} s")
    print(
        f"lpack  zip: {out['zipped_size']:,} B zipped, {out['unzipped_size']:,} B unzipped, "
        f"{out['files']:,} files"
    )
    if recipe_ok:
        print(
            f"recipe pip install --target + zip -r:             {recipe_pip + zip_time:6.2f} s "
            f"(pip re-downloads every time here), {recipe_size:,} B zipped"
        )
    else:
        print(f"recipe pip install --target failed: {proc.stderr.strip().splitlines()[-1:]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runtime", default="python3.11")
    parser.add_argument("--sets", nargs="*", default=["requests,pydantic", "pandas"])
    args = parser.parse_args()
    for spec in args.sets:
        with tempfile.TemporaryDirectory(prefix="lpack-bench-") as tmp:
            bench_set(spec.split(","), args.runtime, Path(tmp))


if __name__ == "__main__":
    main()
