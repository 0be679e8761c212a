"""Benchmark for issue 12: lpack against `pip --target` and `uv --target` + `zip -9`.

    .venv/bin/python tests/bench/speed.py [--sets small,pandas,...] [--repeat 3]
                                          [--runtime python3.11] [--json FILE]

For each set it measures, as medians of --repeat runs in fresh processes:
- cold: empty caches (lpack's lock is present: it is part of the project);
- warm: a rebuild where nothing changed;
- src: a rebuild after a source-only change (app.py edited);
and reports wall time, peak RSS (the largest of the tool and the processes it started),
zipped and unzipped bytes, and the ratios lpack / reference. pip and uv install the pins of
lpack's lock (the same wheels, by hash) for the runtime's glibc, wheels only. The floor is uv's install with bytecode, tests and
*.pyi removed and extension modules stripped, zipped with `zip -9`: lpack's zip is compared
with it. uv is installed from the package index into a folder of this run when missing.

Nothing is asserted: speed goals live here, not in unit tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

SETS = {
    "small": ["requests", "pydantic"],
    "pandas": ["pandas"],
    "pandas-pyarrow": ["pandas", "pyarrow"],
    "crypto-db": ["cryptography", "psycopg2-binary", "sqlalchemy", "orjson"],
}
HANDLER = "def lambda_handler(event, context):\n    return {}\n"
# Runs a command and prints its exit code and the peak RSS (KiB) of it and its children.
MEASURE = (
    "import resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "sys.stderr.buffer.write(p.stderr[-2000:])\n"
    "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


@dataclass
class Run:
    seconds: float
    peak_kib: int
    zipped: int = 0
    unzipped: int = 0


@dataclass
class Row:
    set: str
    tool: str
    phase: str
    runs: list[Run] = field(default_factory=list)
    floor: int = 0  # bytes of the set's floor zip

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)


def measured(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> Run:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, env=env, cwd=cwd
    )
    seconds = time.perf_counter() - start
    rc, peak = (int(v) for v in proc.stdout.split())
    if rc != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed ({rc}):\n{proc.stderr}")
    return Run(seconds, peak)


def zip_sizes(path: Path) -> tuple[int, int]:
    with zipfile.ZipFile(path) as zf:
        return path.stat().st_size, sum(i.file_size for i in zf.infolist())


def environment(work: Path) -> dict[str, str]:
    env = dict(os.environ, NO_COLOR="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    certs = Path("/etc/ssl/certs/ca-certificates.crt")
    if certs.is_file():
        env.setdefault("SSL_CERT_FILE", str(certs))  # uv behind a TLS-intercepting proxy
    env["PATH"] = f"{work / 'uv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def ensure_uv(work: Path) -> str:
    found = shutil.which("uv")
    if found:
        return found
    subprocess.run([sys.executable, "-m", "venv", str(work / "uv")], check=True)
    subprocess.run(
        [str(work / "uv" / "bin" / "pip"), "install", "-q", "uv"], check=True, capture_output=True
    )
    return str(work / "uv" / "bin" / "uv")


class Tools:
    """The three ways to make the zip, each run in a fresh process."""

    def __init__(self, work: Path, runtime: str, uv: str) -> None:
        self.work, self.runtime, self.uv = work, runtime, uv
        self.version = runtime.removeprefix("python")
        # pip and uv install the pins of lpack's lock (the same wheels, by hash): left to
        # resolve, pip's manylinux2014 picks older releases, and uv cannot name Amazon
        # Linux 2's glibc 2.26. Only wheels, up to the runtime's glibc, as Lambda needs.
        glibc = 26 if int(self.version.split(".")[1]) <= 11 else 34
        self.pip_platforms = [f"manylinux_2_{m}_x86_64" for m in range(glibc, 16, -1)]
        self.uv_platform = "x86_64-manylinux_2_28" if glibc == 26 else "x86_64-manylinux_2_34"
        self.env = environment(work)

    def lpack(self, project: Path, cache: Path) -> Run:
        env = dict(self.env, LPACK_CACHE_DIR=str(cache))
        # S3 upload: pandas + pyarrow is over the 50 MiB zipped limit of a direct upload,
        # and lpack's exit code 1 would stop the run; the zip is written either way.
        cmd = [
            sys.executable, "-m", "lpack", "build", str(project), "--runtime", self.runtime,
            "--upload", "s3",
        ]  # fmt: skip
        run = measured(cmd, env)
        run.zipped, run.unzipped = zip_sizes(next((project / "dist").glob("*.zip")))
        return run

    def _zip(self, folder: Path, out: Path) -> list[str]:
        out.unlink(missing_ok=True)
        return ["sh", "-c", f'cd "{folder}" && zip -q -r -9 "{out}" .']

    def _install_and_zip(self, install: list[str], target: Path, env: dict[str, str]) -> Run:
        shutil.rmtree(target, ignore_errors=True)
        out = target.with_suffix(".zip")
        script = " ".join(f"'{a}'" for a in install) + " && " + self._zip(target, out)[2]
        run = measured(["sh", "-c", script], env)
        run.zipped, run.unzipped = zip_sizes(out)
        return run

    def pip(self, requirements: Path, target: Path, cache: Path) -> Run:
        cmd = [
            sys.executable, "-m", "pip", "install", "-q", "--target", str(target),
            *(f"--platform={p}" for p in self.pip_platforms), "--only-binary=:all:",
            "--python-version", self.version, "--implementation", "cp",
            "--cache-dir", str(cache), "-r", str(requirements),
        ]  # fmt: skip
        return self._install_and_zip(cmd, target, self.env)

    def uv_install(self, requirements: Path, target: Path, cache: Path) -> Run:
        cmd = [
            self.uv, "pip", "install", "-q", "--target", str(target),
            "--python-platform", self.uv_platform, "--python-version", self.version,
            "--only-binary", ":all:",
            "--link-mode", "copy", "-r", str(requirements),
        ]  # fmt: skip
        return self._install_and_zip(cmd, target, dict(self.env, UV_CACHE_DIR=str(cache)))


def floor(installed: Path, out: Path) -> int:
    """zip -9 of uv's install without bytecode, tests and stubs, extensions stripped."""
    tree = out.with_suffix(".tree")
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(installed, tree)  # copies: never touch what uv installed
    for path in sorted(tree.rglob("*"), reverse=True):
        if path.is_dir() and path.name in ("__pycache__", "tests", "test"):
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.suffix in (".pyc", ".pyi"):
            path.unlink()
        elif path.is_file() and (path.suffix == ".so" or ".so." in path.name):
            subprocess.run(["strip", "--strip-unneeded", str(path)], capture_output=True)
    out.unlink(missing_ok=True)
    subprocess.run(["sh", "-c", f'cd "{tree}" && zip -q -r -9 "{out}" .'], check=True)
    return out.stat().st_size


def bench_set(name: str, tools: Tools, repeat: int) -> list[Row]:
    work = tools.work / name
    work.mkdir(parents=True, exist_ok=True)
    project = work / "fn"
    project.mkdir(exist_ok=True)
    requirements = project / "requirements.in"
    requirements.write_text("\n".join(SETS[name]) + "\n")
    (project / "app.py").write_text(HANDLER)
    # The lock is part of the project: made once, outside the timings.
    tools.lpack(project, work / "lock-cache")
    pins = project / "lpack.lock"
    rows = {
        (t, p): Row(name, t, p) for t in ("lpack", "pip", "uv") for p in ("cold", "warm", "src")
    }
    for i in range(repeat):
        caches = {t: work / f"cache-{t}-{i}" for t in ("lpack", "pip", "uv")}
        targets = {"pip": work / "pip-target", "uv": work / "uv-target"}
        for phase in ("cold", "warm", "src"):
            if phase == "src":
                (project / "app.py").write_text(HANDLER + f"# edit {i}\n")
            rows["lpack", phase].runs.append(tools.lpack(project, caches["lpack"]))
            rows["pip", phase].runs.append(tools.pip(pins, targets["pip"], caches["pip"]))
            rows["uv", phase].runs.append(tools.uv_install(pins, targets["uv"], caches["uv"]))
        (project / "app.py").write_text(HANDLER)
        for cache in caches.values():
            shutil.rmtree(cache, ignore_errors=True)
    floor_bytes = floor(work / "uv-target", work / "floor.zip")
    for row in rows.values():
        row.floor = floor_bytes
    return list(rows.values())


HEADER = (
    f"{'set':15} {'tool':6} {'phase':5} {'time':>8} {'peak RSS':>10} {'zipped':>12} "
    f"{'unzipped':>12} {'÷uv':>6} {'÷pip':>6} {'÷floor':>7}"
)


def report(rows: list[Row]) -> list[dict[str, object]]:
    """Print one set's rows (as soon as it is done: a later set's failure loses nothing)."""
    table = []
    by_key = {(r.set, r.tool, r.phase): r for r in rows}
    for row in rows:
        uv, pip = by_key[row.set, "uv", row.phase], by_key[row.set, "pip", row.phase]
        seconds = row.median("seconds")
        zipped = row.median("zipped")
        entry = {
            "set": row.set,
            "tool": row.tool,
            "phase": row.phase,
            "seconds": round(seconds, 3),
            "peak_rss_mib": round(row.median("peak_kib") / 1024, 1),
            "zipped": int(zipped),
            "unzipped": int(row.median("unzipped")),
            "time_vs_uv": round(seconds / uv.median("seconds"), 3),
            "time_vs_pip": round(seconds / pip.median("seconds"), 3),
            "zip_vs_floor": round(zipped / row.floor, 3),
            "runs": len(row.runs),
        }
        table.append(entry)
        print(
            f"{row.set:15} {row.tool:6} {row.phase:5} {seconds:7.2f}s "
            f"{entry['peak_rss_mib']:9.1f}M {entry['zipped']:12,} {entry['unzipped']:12,} "
            f"{entry['time_vs_uv']:6.3f} {entry['time_vs_pip']:6.3f} {entry['zip_vs_floor']:7.3f}",
            flush=True,
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help=f"from {', '.join(SETS)}")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runtime", default="python3.11")
    parser.add_argument("--json", type=Path, help="also write the table here")
    parser.add_argument("--work", type=Path, help="keep the run's folders here")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="lpack-speed-"))
    tools = Tools(work, args.runtime, ensure_uv(work))
    # As an install leaves it: lpack's modules compiled (a checkout run with
    # PYTHONDONTWRITEBYTECODE would compile every module on every run and time that).
    import lpack

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(lpack.__file__).parent)])
    print(f"machine: {os.cpu_count()} cores, {sys.platform}; uv {tools.uv}; work {work}")
    print(HEADER, flush=True)
    table: list[dict[str, object]] = []
    for name in args.sets.split(","):
        table += report(bench_set(name, tools, args.repeat))
        if args.json:
            args.json.write_text(json.dumps(table, indent=2) + "\n")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
