"""What lpack verify found, read from the harness's events.

The harness (verify_harness.py) reports one JSON event per line; a step it began and did not
report is where it hung or died, and that step fails with the cause (the deadline, a signal,
an exit status), as does everything after it that was never reached.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lpack.errors import LpackError
from lpack.facts import facts
from lpack.pythons import meaningful_line

if TYPE_CHECKING:
    from lpack.inspect.libsandbox import LibraryView
    from lpack.inspect.profile import ImportProfile
    from lpack.inspect.sandbox import Outcome


NEEDS_RUNTIME = "needs the runtime's own"  # how an import that lacked only the SDK reads


@dataclass
class ModuleResult:
    module: str
    ok: bool
    detail: str  # file on success; "Type: message" on failure
    traceback: str = ""


@dataclass
class VerifyResult:
    artifact: Path
    python: Path
    user: str
    imports: list[ModuleResult] = field(default_factory=list)
    metadata: list[ModuleResult] = field(default_factory=list)
    invoke: dict[str, Any] | None = None
    stderr: str = ""
    libraries: LibraryView | None = None  # set when only the runtime's libraries were visible
    completed: bool = False  # the harness reached its end (no crash, no os._exit)
    isolation: str = ""  # what the package was kept from (sandbox.Isolation.describe)
    emulator: str = ""  # the qemu-user program python ran under ("" natively: emulation.py)
    profile: ImportProfile | None = None  # verify --profile: the handler's cold import
    profile_skipped: str = ""  # why --profile has none (the handler's module did not import)

    @property
    def ok(self) -> bool:
        invoke_ok = self.invoke is None or bool(self.invoke.get("ok"))
        return all(r.ok for r in self.imports + self.metadata) and invoke_ok and bool(self.imports)


def _provided_by_runtime(event: dict[str, Any]) -> str | None:
    """The runtime-provided module a failed import was missing, if that was the only cause."""
    if event.get("ok") or event.get("type") != "ModuleNotFoundError":
        return None
    match = re.match(r"No module named '([^'.]+)", event.get("message", ""))
    if match and match.group(1) in facts().runtime_provided:
        return match.group(1)
    return None


def read_events(result: VerifyResult, outcome: Outcome, with_sdk: bool) -> dict[str, Any]:
    """Fill result from the harness's events; returns the step it began and did not report."""
    step: dict[str, Any] = {}
    for line in outcome.events.decode("utf-8", "replace").splitlines():
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(event, dict):
            continue
        # The package runs in the harness's process and can write this channel too: an
        # event of the wrong shape is ignored, never an internal error.
        try:
            step = _read_event(result, event, with_sdk, step)
        except (KeyError, TypeError, AttributeError, ValueError):
            continue
    return step


def _read_event(
    result: VerifyResult, event: dict[str, Any], with_sdk: bool, step: dict[str, Any]
) -> dict[str, Any]:
    """Apply one event; returns the step begun and not yet reported."""
    kind = event.get("kind")
    if kind == "import":
        result.imports.append(_import_result(event, with_sdk))
    elif kind == "metadata":
        ok = bool(event["ok"])
        detail = str(event.get("version", "")) if ok else f"{event['type']}: {event['message']}"
        result.metadata.append(ModuleResult(str(event["name"]), ok, detail))
    elif kind == "invoke":
        result.invoke = event
    elif kind == "handler" and not event["ok"]:
        # Unless it needs only the runtime's SDK, which Lambda provides.
        if with_sdk or not _provided_by_runtime(event):
            result.imports.append(
                ModuleResult(
                    f"handler {event['handler']}",
                    False,
                    f"{event['type']}: {event['message']}",
                    str(event.get("traceback", "")),
                )
            )
    elif kind == "done":
        result.completed = True
    return event if kind == "begin" else {}


def _import_result(event: dict[str, Any], with_sdk: bool) -> ModuleResult:
    provided = None if with_sdk else _provided_by_runtime(event)
    if provided:
        return ModuleResult(
            event["module"],
            True,
            f"{NEEDS_RUNTIME} {provided} (not in the package; Lambda provides it)",
        )
    module = str(event["module"])
    if event["ok"]:
        return ModuleResult(module, True, str(event.get("file", "")))
    failure = f"{event['type']}: {event['message']}"
    return ModuleResult(module, False, failure, str(event.get("traceback", "")))


def account_for_stop(
    result: VerifyResult,
    outcome: Outcome,
    step: dict[str, Any],
    modules: list[str],
    python: Path,
    timeout: float,
) -> None:
    """The interpreter stopped part-way (a hang past the deadline, a segfault, os._exit):
    the step it was in fails with the cause, and whatever was not reported after it."""
    if outcome.timed_out:
        cause = f"still running after {timeout:g} s (lpack verify --timeout SECONDS allows more)"
    elif outcome.returncode < 0:
        cause = f"interpreter killed by signal {-outcome.returncode}"
    else:
        cause = f"interpreter exited with {outcome.returncode} before finishing"
    if outcome.events_dropped:
        cause += f"; {outcome.events_dropped:,} B of its report were dropped"
    if step.get("step") == "invoke":
        kind = "Timeout" if outcome.timed_out else "Crash"
        result.invoke = {"handler": step["name"], "ok": False, "type": kind, "message": cause}
        result.invoke["traceback"] = outcome.stderr[-2000:]
        return
    reported = {r.module for r in result.imports}
    pending = [m for m in modules if m not in reported]
    if step.get("step") in ("path", "handler"):
        pending.insert(0, f"{step['step']} {step['name']}")
    for module in pending[:1] or ["(interpreter)"]:
        result.imports.append(ModuleResult(module, False, cause, outcome.stderr[-2000:]))
    for module in pending[1:]:
        result.imports.append(ModuleResult(module, False, "not reached: " + cause))
    if not any(r.ok for r in result.imports) and not modules and not outcome.timed_out:
        raise LpackError(
            f"The verifying interpreter {python} failed to start: "
            f"{meaningful_line(outcome.stderr) or f'it exited with {outcome.returncode}'}",
        )
