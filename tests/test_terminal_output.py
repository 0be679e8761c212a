"""What a build prints for people: stage lines as each stage ends, binary units, a one-line
result, lines that read at 80 columns on a terminal and stay whole in logs, -q/-v, NO_COLOR,
and a reader that stops reading (`lpack build | head`) not turning into an exit code."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from conftest import make_project, run_lpack
from faulty_index import Fault, faulty_index
from rich.console import Console

from lpack.render.stages import StageDisplay

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|9[0-7]|38;5;\d+)m")
DECIMAL_UNITS = re.compile(r"\d (kB|MB|GB)\b")


def _on_a_terminal(args: list[str], cwd: Path, columns: int = 80, **env: str) -> str:
    """lpack's output on a pseudo-terminal `columns` wide (what a person sees)."""
    main, child = pty.openpty()
    full_env = {**os.environ, "COLUMNS": str(columns), "LINES": "40", "TERM": "xterm-256color"}
    full_env.pop("NO_COLOR", None)
    full_env.update(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lpack", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        cwd=cwd,
        env=full_env,
        close_fds=True,
    )
    os.close(child)
    chunks = []
    while True:
        ready, _, _ = select.select([main], [], [], 120)
        if not ready:
            break
        try:
            data = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def _labels(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^  (\w+) {2,}", text, re.M)]


def test_a_build_in_a_log_reads_in_stage_order_and_ends_with_its_result(
    tmp_path: Path, lpack_env: dict[str, str]
) -> None:
    project = make_project(tmp_path / "fn", "alpha\n")
    r = run_lpack("build", str(project))
    assert r.rc == 0, r.stdout + r.stderr
    labels = _labels(r.stdout)
    order = ["target", "lock", "fetch", "slim", "handler", "write", "sha256", "limits", "lint"]
    assert [label for label in labels if label in order] == order
    last = r.stdout.rstrip("\n").splitlines()[-1]
    assert last.startswith("  result   ok fn.zip · ") and "lint clean" in last
    assert not ANSI.search(r.stdout)  # no terminal: no colours, no live display
    assert not DECIMAL_UNITS.search(r.stdout)  # KiB/MiB throughout, never kB/MB
    assert re.search(r"zipped +\d+(\.\d)? (B|KiB|MiB) +\d+\.\d% of 50 MiB", r.stdout)


def test_stage_lines_are_printed_as_each_stage_ends(
    tmp_path: Path, lpack_env: dict[str, str], index
) -> None:
    project = make_project(tmp_path / "fn", "alpha\n")
    assert run_lpack("lock", str(project)).rc == 0
    # Wheels that take 3 s to come: the lock's line must be out while they are on their way.
    with faulty_index(index.root, Fault(mode="slow", delay=3.0, under="/files/")) as slow:
        env = {**os.environ, "PIP_INDEX_URL": slow.url}
        proc = subprocess.Popen(
            [sys.executable, "-m", "lpack", "build", str(project)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        seen: dict[str, float] = {}
        for text in proc.stdout:
            match = re.match(r"^  (\w+) ", text)
            if match:
                seen.setdefault(match.group(1), time.monotonic())
        ended = time.monotonic()
        proc.stdout.close()
        assert proc.wait() == 0
    assert ended - seen["lock"] >= 2.0  # printed before the slow fetch, not with the summary
    assert seen["lock"] <= seen["fetch"] <= seen["slim"] <= seen["result"]


def test_at_80_columns_every_line_fits_and_nothing_is_cut_mid_word(
    tmp_path: Path, lpack_env: dict[str, str]
) -> None:
    project = make_project(tmp_path / "a-function-with-a-rather-long-name", "alpha\nbeta\n")
    out = _on_a_terminal(["build", str(project)], tmp_path, NO_COLOR="")
    plain = ANSI.sub("", out)
    assert "result" in plain and "Traceback" not in plain
    final = [text for text in plain.split("\n") if "\r" not in text and "\x1b" not in text]
    assert max(len(text) for text in final) <= 80
    # Wrapped text continues under its own column: the zip's path is whole on some line.
    assert any("fn.zip" in text or ".zip" in text for text in final)
    words = set(re.findall(r"[\w.-]+", " ".join(final)))
    assert "MiB" in words or "KiB" in words


def test_no_color_keeps_a_terminal_plain(tmp_path: Path, lpack_env: dict[str, str]) -> None:
    project = make_project(tmp_path / "fn", "alpha\n")
    coloured = _on_a_terminal(["build", str(project), "--rebuild"], tmp_path, NO_COLOR="")
    plain = _on_a_terminal(["build", str(project), "--rebuild"], tmp_path, NO_COLOR="1")
    assert "\x1b[?25l" in coloured  # the live display hides the cursor while it runs
    assert "result" in plain and "\x1b[?25l" not in plain  # no live display
    assert not COLOUR.search(plain)  # and no colour (bold stays: https://no-color.org)


def test_quiet_prints_only_failures_and_verbose_prints_everything(
    tmp_path: Path, lpack_env: dict[str, str]
) -> None:
    project = make_project(tmp_path / "fn", "alpha\nbeta\n")
    quiet = run_lpack("build", str(project), "-q")
    assert quiet.rc == 0 and quiet.stdout == ""
    over = run_lpack("build", str(project), "--quiet", "--max-unzipped", "100", "--rebuild")
    assert over.rc == 1
    lines = over.stdout.strip().splitlines()
    assert lines[-1].startswith("  result   failed fn.zip") and "over" in lines[-1]
    assert not any(text.startswith("  sha256") for text in lines)
    verbose = run_lpack("build", str(project), "-v", "--rebuild")
    normal = run_lpack("build", str(project), "--rebuild")
    assert verbose.rc == normal.rc == 0
    assert len(verbose.stdout.splitlines()) >= len(normal.stdout.splitlines())
    both = run_lpack("build", str(project), "-q", "-v")
    assert both.rc == 2 and "contradict" in both.stderr


def _with_reader_gone(args: list[str]) -> int:
    """Run lpack with a stdout whose reader has already left (`lpack ... | head -0`)."""
    read, write = os.pipe()
    os.close(read)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lpack", *args], stdout=write, stderr=subprocess.PIPE
    )
    os.close(write)
    _, err = proc.communicate(timeout=300)
    assert b"Traceback" not in err and b"Broken pipe" not in err, err
    return proc.returncode


def test_a_reader_that_stops_reading_does_not_change_the_exit_code(
    tmp_path: Path, lpack_env: dict[str, str]
) -> None:
    project = make_project(tmp_path / "fn", "alpha\n")
    assert _with_reader_gone(["build", str(project)]) == 0
    assert (project / "dist" / "fn.zip").is_file()  # the build went on to the end
    over = ["build", str(project), "--max-unzipped", "100", "--rebuild"]
    assert _with_reader_gone(over) == 1  # over its budget, as it would say to a terminal
    assert _with_reader_gone([*over, "--format", "json"]) == 1
    assert _with_reader_gone(["runtimes"]) == 0


def test_the_fetch_display_counts_bytes_in_binary_units() -> None:
    console = Console(force_terminal=True, width=100, record=True, color_system=None)
    display = StageDisplay(console, live=True)
    with display:
        display.start("fetch", "fetching 2 wheels", total=0, unit="bytes")
        display.expect(3 * 1024 * 1024)
        display.advance(1024 * 1024)
        assert display.progress is not None
        rendered = console.export_text() + str(display.progress.get_renderable())
        with console.capture() as capture:
            console.print(display.progress.get_renderable())
        shown = capture.get()
    assert "1.0 MiB / 3.0 MiB" in shown, rendered


def test_downloads_report_each_wheels_size_and_every_byte(
    tmp_path: Path, lpack_env: dict[str, str]
) -> None:
    from lpack.resolve.fetch import fetch
    from lpack.resolve.locking import lock
    from lpack.settings import load_project

    spec = load_project(make_project(tmp_path / "fn", "alpha\nbeta\n")).function
    events: list[dict] = []
    wheels = fetch(spec, lock(spec).lockfile, on_event=events.append)
    downloading = [e for e in events if e["event"] == "downloading"]
    for wheel in wheels:
        mine = [e for e in downloading if e["name"] == wheel.name]
        size = wheel.path.stat().st_size
        assert [e["size"] for e in mine if e["size"] is not None] == [size]
        assert sum(e["amount"] for e in mine) == size


def test_wrapping_never_cuts_a_size_or_a_time_in_two() -> None:
    from lpack.render.console import wrap_points

    text = (
        "ok pandas.zip · 20.6 MiB zipped · 68.9 MiB unzipped · 1 warning · 14.9 s · "
        "test-suites 21.2 MiB · build-sources 576.8 KiB · pandas −14.7 MiB · 3 %"
    )
    for width in range(12, 80):
        cuts = wrap_points(text, width)
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        assert all(len(piece.rstrip()) <= width for piece in pieces)
        if width < 24:  # narrower than a size and its name: folded, anything goes
            continue
        for piece in pieces[1:]:
            assert not re.match(r"(B|KiB|MiB|s|%)\b", piece), (width, pieces)
            assert not piece.startswith("−"), (width, pieces)  # a saving keeps its name
