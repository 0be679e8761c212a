"""Text for `lpack verify` (and build --verify): what was imported, how, and the profile."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from lpack.render.console import line

if TYPE_CHECKING:
    from lpack.inspect.profile import ImportProfile
    from lpack.inspect.verify import VerifyResult


def reason(detail: str, width: int = 160) -> str:
    """A failure's one line, "Type: message": a message that opens with a blank line (numpy's
    banner, a paragraph of advice) down to its last line, where it says what failed; any
    other message's lines joined (pydantic's ValidationError ends with a link), cut at width."""
    kind, sep, message = detail.partition(": ")
    lines = [text.strip() for text in message.splitlines() if text.strip()]
    if not sep or not lines:
        text = " ".join(detail.split())
    elif message.lstrip(" \t").startswith("\n"):
        text = f"{kind}: {lines[-1]}"
    else:
        text = f"{kind}: {' '.join(lines)}"
    return text if len(text) <= width else text[: width - 1] + "…"


def print_verify(console: Console, result: VerifyResult, verbose: bool = False) -> None:
    """verbose: each failed import's traceback too (else one line per failure)."""
    say = partial(line, console)
    under = f" under {Path(result.emulator).name}" if result.emulator else ""
    say(
        "verify",
        escape(
            f"{result.artifact} with {result.python} -I -S{under} as {result.user}, "
            "read-only, Lambda's sys.path and environment"
        ),
    )
    say("", escape(f"isolation: {result.isolation}"))
    view = result.libraries
    if view is not None:
        extra = f" + {len(view.interpreter)} the interpreter needs" if view.interpreter else ""
        say(
            "",
            escape(
                f"shared libraries: only {len(view.runtime)} the runtime provides{extra}; "
                f"covered {', '.join(view.covered)}"
            ),
        )
    for item in result.imports:
        if item.ok:
            say("", f"[green]ok[/]    import {escape(item.module)}")
        else:
            say("", f"[red]FAIL[/]  import {escape(item.module)}: {escape(reason(item.detail))}")
    if not result.imports:
        say("", "[red]FAIL[/]  nothing was imported")
    found = [m for m in result.metadata if m.ok]
    if found:
        say("", f"[green]ok[/]    importlib.metadata finds {len(found)} distributions")
    for item in result.metadata:
        if not item.ok:
            say(
                "", f"[red]FAIL[/]  importlib.metadata {escape(item.module)}: {escape(item.detail)}"
            )
    invoke = result.invoke
    if invoke is not None:
        if invoke.get("ok"):
            say("invoke", escape(json.dumps(invoke.get("result"), default=str)))
        else:
            say(
                "invoke",
                f"[red]FAIL[/] {escape(invoke['handler'])} raised "
                f"{escape(invoke['type'])}: {escape(invoke['message'])}",
            )
            console.print(escape(invoke.get("traceback", "").rstrip()), highlight=False)
    failed = [item for item in result.imports if not item.ok and item.traceback.strip()]
    for item in failed if verbose else []:
        console.print(escape(item.traceback.rstrip()), highlight=False)
    if failed and not verbose:
        say("", "[dim](lpack verify -v prints each failure's traceback)[/]")
    if result.profile_skipped:
        say("profile", escape(f"skipped: {result.profile_skipped}"))
    if result.profile is not None:
        _print_profile(console, result.profile)


def _print_profile(console: Console, profile: ImportProfile) -> None:
    say = partial(line, console)
    runs = f"best of {profile.runs} fresh interpreters" if profile.runs > 1 else "fresh interpreter"
    say("profile", escape(f"cold import of {profile.module}: {profile.seconds:.3f} s ({runs})"))
    total, stale = profile.from_pyc + profile.from_source, profile.stale_pyc
    fix = (
        f", {stale} past a .pyc that did not match its source: compile it checked-hash"
        if stale
        else " at every cold start: shipping bytecode would skip that"
    )
    if profile.from_source:
        say(
            "",
            f"bytecode: {profile.from_pyc} of the package's {total} modules from .pyc, "
            f"{profile.from_source} compiled from source{fix}",
        )
    elif total:
        say("", f"bytecode: all {total} of the package's modules from .pyc")
    rows = [("heaviest imports", "cumulative", "self", "imported by")] if profile.heaviest else []
    for h in profile.heaviest:
        ms = (f"{h.cumulative_us / 1000:.1f} ms", f"{h.self_us / 1000:.1f} ms")
        rows.append((h.module, *ms, h.imported_by))
    for name, cumulative, own, parent in rows:
        say("", escape(f"{name:<28} {cumulative:>11} {own:>10}  {parent}"))
