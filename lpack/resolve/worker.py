"""Runs the pip-tools worker in a subprocess and speaks its protocol (the client side).

One JSON request on the worker's stdin; JSON lines back on stdout (progress events, then a
final "result" or "error"); pip's own words on stderr, kept for error messages.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lpack.resolve.network import NetworkLimits

EventHandler = Callable[[dict[str, Any]], None]
WORKER_MODULE = "lpack.resolve._pipworker"


def run_worker(
    request: dict[str, Any], on_event: EventHandler | None = None, cwd: Path | None = None
) -> tuple[dict[str, Any], str]:
    """Run the pip-tools worker; return its final event and its stderr (pip's own words)."""
    request = {**request, "network": asdict(NetworkLimits.from_env())}
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    final: dict[str, Any] = {}
    err_chunks: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-m", WORKER_MODULE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
    ) as proc:  # the context closes every pipe, whatever happens
        assert proc.stdin and proc.stdout and proc.stderr
        stderr_pipe = proc.stderr
        proc.stdin.write(json.dumps(request))
        proc.stdin.close()
        # stderr is drained on a thread so a chatty pip cannot block the pipe.
        drain = threading.Thread(target=lambda: err_chunks.append(stderr_pipe.read()), daemon=True)
        drain.start()
        try:
            for line in proc.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") in ("result", "error"):
                    final = event
                elif on_event:
                    on_event(event)
        except BaseException:
            proc.kill()  # interrupted: the worker must not outlive lpack
            raise
        proc.wait()
        drain.join()
    if not final:
        final = {"event": "error", "kind": "crash", "message": f"exit code {proc.returncode}"}
    return final, "".join(err_chunks)


def pip_explanation(stderr: str) -> str:
    """pip's and pip-tools' explanation, without the noise of skipped mirror locations."""
    keep = []
    for line in stderr.splitlines():
        if re.search(r"is ignored: it is neither a file nor a directory|^\s*$", line):
            continue
        if line.startswith("Traceback") or line.startswith("  File "):
            continue
        keep.append(line.rstrip())
    return "\n".join(keep[-40:])
