"""Writes each distribution's RECORD so that it lists exactly what ships, where it ships."""

from __future__ import annotations

import base64
import csv
import hashlib
import io

from lpack.assemble.entries import Entry, Generated
from lpack.assemble.layout import Plan
from lpack.assemble.stages import SlimResult, StageContext


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _csv_line(row: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    return buffer.getvalue()


def write_records(plan: Plan) -> None:
    """Replace every distribution's RECORD with one for the entries it still owns."""
    owned: dict[str, list[Entry]] = {}
    for entry in plan.entries.values():
        if entry.dist is not None:
            owned.setdefault(entry.dist, []).append(entry)
    for dist in plan.distributions:
        record_path = f"{dist.dist_info}/RECORD"
        lines = [_csv_line([plan.layout.relative(record_path), "", ""])]
        for entry in owned.get(dist.key, []):
            if entry.path == record_path:
                continue
            if entry.record_hash is None:
                entry.record_hash = record_hash(entry.read())
            lines.append(
                _csv_line([plan.layout.relative(entry.path), entry.record_hash, str(entry.size)])
            )
        record = "".join(sorted(lines)).encode()
        plan.entries[record_path] = Entry(record_path, 0o644, dist.key, Generated(record))


class WriteRecords:
    """The last stage: every RECORD matches what ships (slimmed or not)."""

    name = "record"

    def run(self, plan: Plan, context: StageContext, result: SlimResult) -> None:
        write_records(plan)
