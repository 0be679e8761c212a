"""Headless Chromium for the HTML report's tests: a page's DOM after its scripts ran
(--dump-dom), or a screenshot. Debian's chromium, with the flags this machine needs (no
background networking: the network is closed) and a fresh profile per call."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def chromium(tmp_path: Path, url: str, *args: str, size: str = "1280,800") -> str:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    proc = subprocess.run(
        [
            shutil.which("chromium") or "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--force-device-scale-factor=1",
            "--force-color-profile=srgb",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
            f"--window-size={size}",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout
