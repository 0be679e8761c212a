"""Text for a build that found nothing to do: the last build's report, from its JSON form.

Kept apart from text.py, which imports the whole inspection layer: a no-change rebuild
loads only what it prints."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from rich.console import Console
from rich.markup import escape

from lpack.render.console import SEVERITY_STYLES, human_bytes, line, tally


def dumps(report: dict[str, Any]) -> str:
    """As render/json.py's dumps (which imports the lint rules to describe them)."""
    return json.dumps(report, indent=2)


def print_unchanged(console: Console, report: dict[str, Any]) -> None:
    say = partial(line, console)
    target, output = report["target"], report["output"]
    say("target", escape(f"{target['runtime']} · {target['arch']} · {target['os']}"))
    seconds = report.get("timings", {}).get("unchanged", 0.0)
    say(
        "rebuild",
        escape(
            f"not needed: {output['path']} is unchanged (its lock, settings, sources and "
            f"lpack are as at its last build; sha256 checked in {seconds:.2f} s)"
        ),
    )
    say("", f"{output['files']:,} files, {len(report['distributions'])} distributions")
    say("sha256", output["sha256"])
    say("base64", f"{output['sha256_base64']}  (source_code_hash)")
    for check in report["limits"]:
        say(
            "limits" if check is report["limits"][0] else "",
            f"{check['name']:<8} {human_bytes(check['actual']):>10} [green]{check['share']:6.1%}[/]"
            f" of {escape(check['label'])}  [green]ok[/]",
        )
    largest = report["distributions"][:5]
    if largest:
        say(
            "largest",
            escape(" · ".join(f"{d['name']} {human_bytes(d['unzipped_size'])}" for d in largest)),
        )
    lint = report["lint"]
    n = lint["counts"]
    say("lint", tally(n))
    for f in lint["findings"][:10]:
        where = f" {f['path']}:" if f["path"] else ""
        style = SEVERITY_STYLES[f["severity"]]
        say("", f"[{style}]{f['code']}[/]{escape(where)} {escape(f['message'])}")
    for warning in report.get("warnings", []):
        console.print(f"  [yellow]warning[/] {escape(warning)}")
    for note in report.get("notes", []):
        line(console, "note", escape(note))
    name = output["path"].replace("\\", "/").rsplit("/", 1)[-1]
    sizes = f"{human_bytes(output['zipped_size'])} zipped · {human_bytes(output['unzipped_size'])}"
    say("result", f"[green bold]ok[/] {escape(name)} · {sizes} unzipped · unchanged")
