"""The strip stage: shared objects lose their debug sections, never a loaded byte."""

from __future__ import annotations

from lpack import elf
from lpack.assemble.elfstrip import strip
from lpack.assemble.entries import Entry
from lpack.assemble.layout import Plan
from lpack.assemble.stages import SlimResult, StageContext, Stripped
from lpack.catalog import slim_categories


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
        for path, entry in sorted(plan.entries.items()):
            if entry.dist is None or not _is_shared_object(path):
                continue
            enabled = context.slim.rules_for(entry.dist).enabled
            code = next((c for c in codes if c in enabled), None)
            if code is not None:
                self._strip_one(entry, code, context, result)

    @staticmethod
    def _strip_one(entry: Entry, code: str, context: StageContext, result: SlimResult) -> None:
        data = entry.read()
        if not elf.is_elf(data):
            result.untouched_binaries.append(f"{entry.path}: not an ELF file")
            return
        try:
            header = elf.parse(data)
            if header.machine_name != context.target.machine:
                result.untouched_binaries.append(
                    f"{entry.path}: ELF for {header.machine_name}, not {context.target.machine}"
                )
                return
            stripped = strip(data)
        except elf.ElfError as exc:
            result.untouched_binaries.append(f"{entry.path}: {exc}")
            return
        except Exception as exc:  # a hostile binary must never stop the build
            result.untouched_binaries.append(f"{entry.path}: unreadable ({type(exc).__name__})")
            return
        if stripped.changed and len(stripped.data) < len(data):
            assert entry.dist is not None
            result.stripped.append(
                Stripped(
                    entry.path,
                    entry.dist,
                    code,
                    len(data),
                    len(stripped.data),
                    stripped.removed_sections,
                )
            )
            entry.replace_data(stripped.data)
