"""The strip stage: shared objects lose their debug sections, never a loaded byte."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

from lpack import elf
from lpack.assemble.elfstrip import strip
from lpack.assemble.entries import Entry, content_sha256
from lpack.assemble.layout import Plan
from lpack.assemble.stages import SlimResult, StageContext, Stripped
from lpack.assemble.stripcache import StripCache, StripOutcome, StrippedBlob, record_hash_of
from lpack.catalog import slim_categories
from lpack.files import default_cache_dir

_ALONE_ABOVE = 16 << 20  # binaries this large are stripped one at a time


def _is_shared_object(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".so") or ".so." in name


class StripElf:
    """Rewrites each dependency's shared objects without what the loader never maps."""

    name = "strip"

    def run(self, plan: Plan, context: StageContext, result: SlimResult) -> None:
        if not context.slim.enabled:
            return
        codes = [c.code for c in slim_categories().values() if c.action == "strip-elf"]
        chosen: list[tuple[Entry, str]] = []
        for path, entry in sorted(plan.entries.items()):
            if entry.dist is None or not _is_shared_object(path):
                continue
            enabled = context.slim.rules_for(entry.dist).enabled
            code = next((c for c in codes if c in enabled), None)
            if code is not None:
                chosen.append((entry, code))
        cache = StripCache(default_cache_dir())
        machine = context.target.machine

        def outcome_of(entry: Entry) -> StripOutcome:
            source_sha256 = content_sha256(entry)
            outcome = cache.lookup(source_sha256, machine)
            if outcome is None:
                outcome, data = _strip_fresh(entry, machine)
                cache.store(source_sha256, machine, outcome, data)
            return outcome

        # Two at a time (inflating and hashing release the GIL), but a large binary alone:
        # each holds the binary and its stripped copy in memory, and pyarrow's are 60 MB.
        entries = [entry for entry, _ in chosen]
        small = [e for e in entries if e.size < _ALONE_ABOVE]
        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = dict(zip(map(id, small), pool.map(outcome_of, small), strict=True))
        outcomes.update((id(e), outcome_of(e)) for e in entries if e.size >= _ALONE_ABOVE)
        for entry, code in chosen:
            _apply(entry, code, outcomes[id(entry)], cache, result)


def _apply(
    entry: Entry, code: str, outcome: StripOutcome, cache: StripCache, result: SlimResult
) -> None:
    if outcome.note is not None:
        result.untouched_binaries.append(f"{entry.path}: {outcome.note}")
        return
    if not outcome.stripped:
        return
    assert entry.dist is not None and outcome.sha256 is not None
    result.stripped.append(
        Stripped(entry.path, entry.dist, code, entry.size, outcome.size, outcome.removed_sections)
    )
    blob = StrippedBlob(cache.blob(outcome.sha256), outcome.size, outcome.sha256, entry.source)
    entry.replace_source(blob, record_hash_of(outcome.sha256))


def _strip_fresh(entry: Entry, machine: str) -> tuple[StripOutcome, bytes]:
    """Strip the binary now: the outcome, and the stripped bytes when it was stripped."""
    data = entry.read()
    if not elf.is_elf(data):
        return StripOutcome(note="not an ELF file"), b""
    try:
        header = elf.parse(data)
        if header.machine_name != machine:
            return StripOutcome(note=f"ELF for {header.machine_name}, not {machine}"), b""
        stripped = strip(data)
    except elf.ElfError as exc:
        return StripOutcome(note=str(exc)), b""
    except Exception as exc:  # a hostile binary must never stop the build
        return StripOutcome(note=f"unreadable ({type(exc).__name__})"), b""
    if not (stripped.changed and len(stripped.data) < len(data)):
        return StripOutcome(), b""
    sha256 = hashlib.sha256(stripped.data).hexdigest()
    outcome = StripOutcome(None, stripped.removed_sections, len(stripped.data), sha256)
    return outcome, stripped.data
