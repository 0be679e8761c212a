"""Time and peak memory of lpack on the hostile corpus, at the issue's full sizes.

    .venv/bin/python tests/bench/hostile.py [CORPUS_DIR]

Generates the corpus (fixtures/hostile.py) when missing, then runs `lpack lint` and
`lpack report` on each case in a fresh process and prints exit code, wall time, peak RSS
and the first line of the message.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "fixtures"))

import hostile  # noqa: E402


def main() -> None:
    corpus = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "lpack-hostile"
    )
    hostile.main(corpus)
    rows = []
    for name in hostile.CORPUS:
        case = corpus / name
        for command in (["lint", "--handler", "app.handler"], ["report"]):
            args = [command[0], str(case), "--runtime", "python3.12", *command[1:]]
            run = hostile.measured(*args)
            first = next((line for line in run.stderr.splitlines() if line.strip()), "")
            rc, seconds, peak = run.rc, run.seconds, run.peak_mib * 1024
            rows.append(
                {
                    "case": name,
                    "command": command[0],
                    "exit": rc,
                    "seconds": round(seconds, 2),
                    "peak_rss_mib": round(peak / 1024, 1),
                    "message": first[:100],
                }
            )
            print(
                f"{name:26} {command[0]:6} exit {rc}  {seconds:6.2f} s  "
                f"{peak / 1024:7.1f} MiB  {first[:70]}",
                flush=True,
            )
    worst = max(rows, key=lambda r: r["peak_rss_mib"])
    slowest = max(rows, key=lambda r: r["seconds"])
    print(f"worst memory: {worst['case']} ({worst['command']}) {worst['peak_rss_mib']} MiB")
    print(f"slowest: {slowest['case']} ({slowest['command']}) {slowest['seconds']} s")
    if os.environ.get("LPACK_BENCH_JSON"):
        Path(os.environ["LPACK_BENCH_JSON"]).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
