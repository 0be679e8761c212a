"""Fidelity survey: how slim's kept_read and lint rule LP209 affect real PyPI packages.

For each package and runtime this builds a one-dependency Lambda project
(``requirements.in`` holding just the package name) with
``lpack build --format json`` and records:

* the exit code (0 clean, 1 findings or limits exceeded, 2 error);
* zipped and unzipped sizes of the built package;
* ``slim.kept_read``: files slimming would have dropped but kept because shipped code
  reads them at run time (``.pyi`` stubs for ``lazy_loader.attach_stub``, data files
  named beside ``__file__``);
* LP209 findings: a shipped ELF needs a shared library that neither the package nor
  the Lambda runtime provides (the library names are listed);
* whether lpack gave a remedy for being over Lambda's size limits.

It ends with totals per runtime: packages with kept_read > 0, with LP209, and over limits.

Run (needs network access to the package index configured for pip)::

    .venv/bin/python tests/bench/fidelity_survey.py --work /tmp/survey \\
        --runtime python3.11 --runtime python3.12 --packages scikit-image,mne

Wheels are cached in ``WORK/cache`` (LPACK_CACHE_DIR), so a second run is much faster.
Only the standard library is used; lpack is run as a subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEFAULT_PACKAGES = (
    "scikit-image,mne,librosa,pyodbc,opencv-python,opencv-python-headless,pymssql,"
    "confluent-kafka,matplotlib,lxml,numba,numpy,pandas,scipy,pydantic,cryptography,"
    "pyarrow,requests,pillow,psycopg2-binary,orjson,regex,grpcio,shapely,scikit-learn,"
    "duckdb,polars,llvmlite,statsmodels,pynacl,bcrypt,psutil,zstandard,msgpack,pyyaml"
)
LPACK = Path(sys.executable).with_name("lpack")
NEEDS = re.compile(r"needs (\S+), which neither")


def make_project(folder: Path, package: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.in").write_text(package + "\n")
    (folder / "app.py").write_text("def lambda_handler(event, context): return 1\n")
    (folder / "pyproject.toml").write_text('[tool.lpack]\nhandler = "app.lambda_handler"\n')


def build(package: str, runtime: str, arch: str, work: Path, timeout: float) -> dict:
    project = work / runtime / package
    make_project(project, package)
    env = dict(os.environ, LPACK_CACHE_DIR=str(work / "cache"), NO_COLOR="1")
    cmd = f"{LPACK} build {project} --runtime {runtime} --arch {arch} --format json".split()
    row = dict(
        package=package,
        runtime=runtime,
        rc=None,
        zipped=None,
        unzipped=None,
        kept_read=[],
        lp209=[],
        remedy=False,
        over=False,
        error="",
        zip=None,
    )
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        row["error"] = f"timeout after {timeout:.0f}s"
        return row
    finally:
        row["seconds"] = round(time.monotonic() - start, 1)
    row["rc"] = proc.returncode
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        row["error"] = f"no JSON on stdout: {tail}"
        return row
    if "error" in data:
        err = data["error"] or {}
        first = (str(err.get("message", "")).splitlines() or [""])[0]
        row["error"] = f"{err.get('type', '?')}: {first}"
        return row
    out = data.get("output") or {}
    row["zipped"], row["unzipped"] = out.get("zipped_size"), out.get("unzipped_size")
    row["zip"] = out.get("path")
    row["kept_read"] = list((data.get("slim") or {}).get("kept_read") or [])
    for f in (data.get("lint") or {}).get("findings") or []:
        if f.get("code") == "LP209":
            m = NEEDS.search(f.get("message", ""))
            lib = m.group(1) if m else "?"
            row["lp209"].append(dict(path=f.get("path"), lib=lib, message=f.get("message")))
    row["remedy"] = bool(data.get("remedy"))
    row["over"] = any(c.get("exceeded") for c in data.get("limits") or [])
    return row


def fmt_size(n: int | None) -> str:
    return "-" if n is None else f"{n / 1048576:.1f}M"


def print_table(rows: list[dict], file=sys.stdout) -> None:
    head = ("package", "runtime", "rc", "zipped", "unzipped", "kept_read", "LP209 libs", "remedy")
    lines = [head]
    for r in rows:
        kept = str(len(r["kept_read"]))
        if r["kept_read"]:
            kept += f" ({r['kept_read'][0].get('path')})"
        libs = sorted({f["lib"] for f in r["lp209"]})
        lp = f"{len(r['lp209'])}: {','.join(libs)}" if libs else "0"
        if r["error"]:
            lp = "ERROR " + r["error"]
        remedy = "yes" if r["remedy"] else ("no (over)" if r["over"] else "-")
        sizes = fmt_size(r["zipped"]), fmt_size(r["unzipped"])
        lines.append((r["package"], r["runtime"], str(r["rc"]), *sizes, kept, lp, remedy))
    widths = [max(len(line[i]) for line in lines) for i in range(6)]
    for line in lines:
        cells = [c.ljust(w) for c, w in zip(line[:6], widths, strict=True)]
        print("  ".join(cells + [line[6], line[7]]), file=file, flush=True)


def print_totals(rows: list[dict], file=sys.stdout) -> None:
    for runtime in dict.fromkeys(r["runtime"] for r in rows):
        rs = [r for r in rows if r["runtime"] == runtime]
        built = [r for r in rs if not r["error"]]
        n_failed = len(rs) - len(built)
        print(f"\n{runtime}: {len(rs)} packages, {len(built)} built, {n_failed} failed", file=file)
        for label, key in (
            ("kept_read > 0", "kept_read"),
            ("LP209", "lp209"),
            ("over limits", "over"),
        ):
            names = [r["package"] for r in built if r[key]]
            extra = (
                f" (remedy given: {sum(r['remedy'] for r in built if r['over'])})"
                if key == "over"
                else ""
            )
            print(f"  {label + ':':15}{len(names)} {names}{extra}", file=file)
        for r in rs:
            if r["error"]:
                print(f"  failed: {r['package']} (rc {r['rc']}): {r['error']}", file=file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", action="append", help="repeatable; default 3.11 and 3.12")
    parser.add_argument("--arch", default="x86_64")
    parser.add_argument("--packages", default=DEFAULT_PACKAGES, help="comma-separated list")
    parser.add_argument("--work", help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per build")
    parser.add_argument("--jobs", type=int, default=1, help="builds run at once")
    parser.add_argument("--details", help="also write every row as JSON to this file")
    args = parser.parse_args(argv)
    runtimes = args.runtime or ["python3.11", "python3.12"]
    packages = [p.strip() for p in args.packages.split(",") if p.strip()]
    work = Path(args.work or tempfile.mkdtemp(prefix="lpack-survey-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder: {work}", file=sys.stderr)
    jobs = [(p, r) for r in runtimes for p in packages]
    rows, lock = [], threading.Lock()

    def one(job: tuple[str, str]) -> dict:
        row = build(job[0], job[1], args.arch, work, args.timeout)
        print(
            f"  {job[1]} {job[0]}: rc={row['rc']} in {row['seconds']}s {row['error']}",
            file=sys.stderr,
            flush=True,
        )
        with lock:
            rows.append(row)
            if args.details:
                Path(args.details).write_text(json.dumps(rows, indent=1))
        return row

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        list(pool.map(one, jobs))
    rows.sort(key=lambda r: (runtimes.index(r["runtime"]), packages.index(r["package"])))
    print_table(rows)
    print_totals(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
