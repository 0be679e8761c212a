"""A self-contained HTML report (no CDN, no network, works from file://): a nested treemap
coloured by distribution with its legend, gauges against Lambda's limits and the budgets, and
the tables. The page's style and script are package data beside this module, inlined."""

from __future__ import annotations

import html
import json
import re
from functools import cache
from importlib.resources import files

from lpack.facts import SOURCE_LABEL, SOURCE_NAME, facts, mib
from lpack.inspect.diff import Diff
from lpack.inspect.limits import LimitCheck, check_limits
from lpack.inspect.report import Report
from lpack.render.treemap import OTHER_COLOR, Colors, assign_colors, display_tree
from lpack.units import human_bytes

# A share of a limit from which a gauge turns amber (lint's near-limit default).
NEAR_LIMIT = 0.8
# Duplicates listed, and paths shown per group: a hostile zip's 100,000 copies stay a few rows.
MAX_DUPLICATE_ROWS = 100
MAX_DUPLICATE_PATHS = 10

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lpack report: __TITLE__</title>
<style>
__CSS__</style></head><body>
<header><h1>__TITLE__</h1><p id="summary">__SUMMARY__</p></header>
<main>
<section id="view">
<div id="controls">
<div id="metric" role="radiogroup" aria-label="size shown">
<input type="radio" name="metric" id="metric-unzipped" value="s" checked>
<label for="metric-unzipped">Unzipped</label>
<input type="radio" name="metric" id="metric-zipped" value="z"__ZIPPED_STATE__>
<label for="metric-zipped"__ZIPPED_TITLE__>Zipped</label>
</div>
<nav id="crumbs" aria-label="zoom"></nav>
</div>
<div id="treemap" role="img" aria-label="treemap of the package by distribution, folder and file"></div>
</section>
<aside id="side">
<section id="gauges"><h2>Limits</h2>
__GAUGES__</section>
<section id="legend"><h2>Distributions</h2>
__LEGEND__</section>
</aside>
</main>
<section id="tables">
__TABLES__</section>
<div id="tip" role="tooltip" hidden></div>
<script id="report-data" type="application/json">__DATA__</script>
<script>
__JS__</script></body></html>
"""


@cache
def _asset(name: str) -> str:
    return files("lpack.render").joinpath("assets").joinpath(name).read_text(encoding="utf-8")


def _label(name: str) -> str:
    return SOURCE_NAME if name == SOURCE_LABEL else name


def _bytes(n: int) -> str:
    """Binary units, with the exact count on hover."""
    return f'<span title="{n:,} B">{human_bytes(n)}</span>'


def _script_json(data: object) -> str:
    # No "<" at all inside the script element: "</script>" or "<!--" in a file name must
    # not end or confuse it (\u003c is the same character to JSON.parse).
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")


def render_html(report: Report) -> str:
    colors = assign_colors([d.name for d in report.distributions])
    dup_of: dict[str, int] = {}
    for number, dup in enumerate(report.duplicates):
        for path in dup.paths:
            dup_of.setdefault(path, number)
    data = {
        "zipped": report.zipped_size is not None,
        "dists": [
            {
                "name": _label(d.name),
                "key": d.name,
                "version": d.version,
                "why": d.why,
                "source": d.name == SOURCE_LABEL,
                "colors": Colors.of(colors[d.name]).to_json(),
            }
            for d in report.distributions
        ],
        "duplicates": [
            {
                "reason": d.reason,
                "size": d.size,
                "paths": list(d.paths[:MAX_DUPLICATE_PATHS]),
                "more": max(0, len(d.paths) - MAX_DUPLICATE_PATHS),
                "dists": list(d.dists),
            }
            for d in report.duplicates
        ],
        "tree": display_tree(report, dup_of),
    }
    zipped_known = report.zipped_size is not None
    parts = {
        "CSS": _asset("treemap.css"),
        "JS": _asset("treemap.js"),
        "TITLE": html.escape(report.artifact.rsplit("/", 1)[-1]),
        "SUMMARY": _summary(report),
        "ZIPPED_STATE": "" if zipped_known else " disabled",
        "ZIPPED_TITLE": "" if zipped_known else ' title="a folder has no zip size"',
        "GAUGES": _gauges(report),
        "LEGEND": _legend(report, colors),
        "TABLES": _distribution_table(report) + _duplicate_table(report),
        "DATA": _script_json(data),
    }
    # One pass: a file named "__DATA__.zip" is a title, not a place to put the data.
    return re.sub(r"__([A-Z_]+)__", lambda m: parts[m.group(1)], _PAGE)


def _summary(report: Report) -> str:
    parts = [f"{report.files:,} files", f"{_bytes(report.unzipped_size)} unzipped"]
    if report.zipped_size is not None:
        parts.append(f"{_bytes(report.zipped_size)} zipped")
    if report.target and report.target.runtime:
        parts.insert(0, html.escape(report.target.describe()))
    return " · ".join(parts)


def _checks(report: Report) -> list[LimitCheck]:
    """The report's checks; a report nobody checked is measured against Lambda's limits."""
    if report.limits:
        return list(report.limits)
    return check_limits(report.zipped_size, report.unzipped_size, "direct")


def _limit_text(n: int) -> str:
    return mib(n) if n % (1024 * 1024) == 0 else human_bytes(n)


def _gauges(report: Report) -> str:
    """A bar per check: Lambda's limits, then the budgets; unzipped first (it always applies)."""
    out = []
    checks = sorted(_checks(report), key=lambda c: (c.name != "unzipped", c.source == "budget"))
    for check in checks:
        share = check.share
        state = "over" if check.exceeded else "near" if share >= NEAR_LIMIT else "ok"
        if check.source == "budget":
            note = f"your budget (max-{check.name})"
        elif check.name == "zipped":
            note = "Lambda limit for a zip uploaded directly"
        else:
            note = "Lambda limit for the function and its layers"
        verdict = f"over by {human_bytes(check.over_by)}" if check.exceeded else f"{share:.1%}"
        out.append(
            f'<div class="gauge {state}" data-name="{check.name}" data-source="{check.source}" '
            f'data-actual="{check.actual}" data-limit="{check.limit}">'
            f'<div class="gauge-head"><b>{check.name.capitalize()}</b> <span>'
            f'{_bytes(check.actual)} / <span title="{check.limit:,} B">'
            f"{_limit_text(check.limit)}</span> · {verdict}</span></div>"
            f'<div class="gauge-bar"><div class="gauge-fill" style="width:'
            f'{min(share, 1.0) * 100:.2f}%"></div></div>'
            f'<div class="gauge-note">{html.escape(note)}</div></div>'
        )
    if report.zipped_size is not None and not any(c.name == "zipped" for c in checks):
        out.append(
            f'<p class="gauge-note">The {html.escape(facts().zipped_label)} limit does not '
            "apply: the zip is uploaded through S3.</p>"
        )
    return "\n".join(out) + "\n"


def _legend(report: Report, colors: dict[str, str]) -> str:
    """A row per distribution with a colour of its own; the grey rest as one row."""
    rows = []
    rest = [d for d in report.distributions if colors[d.name] == OTHER_COLOR]
    for number, d in enumerate(report.distributions):
        if d in rest:
            continue
        version = f' <span class="version">{html.escape(d.version)}</span>' if d.version else ""
        rows.append(
            f'<li data-dist="{number}" data-s="{d.sizes.unzipped}" data-z="{d.sizes.zipped}">'
            f'<i class="swatch" style="background:{colors[d.name]}"></i>'
            f'<span class="name">{html.escape(_label(d.name))}{version}</span>'
            f'<span class="size">{human_bytes(d.sizes.unzipped)}</span></li>'
        )
    if rest:
        unzipped = sum(d.sizes.unzipped for d in rest)
        zipped = sum(d.sizes.zipped for d in rest)
        rows.append(
            f'<li class="rest" data-s="{unzipped}" data-z="{zipped}">'
            f'<i class="swatch" style="background:{colors[rest[0].name]}"></i>'
            f'<span class="name">{len(rest)} smaller distributions</span>'
            f'<span class="size">{human_bytes(unzipped)}</span></li>'
        )
    if report.duplicates:
        wasted = sum(d.wasted for d in report.duplicates)
        rows.append(
            '<li class="dup-key"><i class="swatch dup"></i><span class="name">'
            f"shipped twice ({len(report.duplicates)})</span>"
            f'<span class="size" title="{wasted:,} B">{human_bytes(wasted)} extra</span></li>'
        )
    return '<ul id="legend-items">' + "".join(rows) + "</ul>\n"


def _distribution_table(report: Report) -> str:
    total = report.unzipped_size
    rows = "".join(
        f"<tr><td>{html.escape(_label(d.name))}</td><td>{html.escape(d.version)}</td>"
        f"<td>{d.sizes.files:,}</td><td>{_bytes(d.sizes.unzipped)}</td>"
        f"<td>{_bytes(d.sizes.zipped)}</td>"
        f"<td>{d.sizes.unzipped / total if total else 0:.1%}</td>"
        f"<td>{html.escape(' ← '.join(d.why))}</td></tr>"
        for d in report.distributions
    )
    return (
        '<table id="distributions"><caption>Distributions</caption><tr><th>distribution</th>'
        "<th>version</th><th>files</th><th>unzipped</th><th>zipped</th><th>share</th>"
        f"<th>why</th></tr>{rows}</table>\n"
    )


def _duplicate_table(report: Report) -> str:
    if not report.duplicates:
        return ""
    rows = []
    for d in report.duplicates[:MAX_DUPLICATE_ROWS]:
        owners = ", ".join(_label(name) for name in d.dists)
        if d.reason == "content":
            what = f"same content in {len(d.paths):,} places"
        else:
            what = "one path that several distributions install (the last one won)"
        paths = "<br>".join(html.escape(path) for path in d.paths[:MAX_DUPLICATE_PATHS])
        if len(d.paths) > MAX_DUPLICATE_PATHS:
            paths += f"<br>and {len(d.paths) - MAX_DUPLICATE_PATHS:,} more"
        rows.append(
            f"<tr><td>{paths}</td><td>{html.escape(owners)}</td><td>{what}</td>"
            f"<td>{_bytes(d.size)}</td><td>{_bytes(d.wasted)}</td></tr>"
        )
    left = len(report.duplicates) - MAX_DUPLICATE_ROWS
    if left > 0:
        rows.append(f'<tr><td colspan="5">and {left:,} smaller groups</td></tr>')
    return (
        '<table id="duplicates"><caption>Files shipped twice</caption><tr><th>path</th>'
        "<th>distributions</th><th>why</th><th>size</th><th>extra</th></tr>"
        + "".join(rows)
        + "</table>\n"
    )


def render_diff_html(diff: Diff) -> str:
    """The diff as one self-contained page: totals and the changed distributions."""
    rows = "".join(
        f"<tr><td>{html.escape(r.name)}</td><td>{r.status}</td>"
        f"<td>{html.escape(r.old_version or '—')}</td><td>{html.escape(r.new_version or '—')}</td>"
        f"<td>{r.old_unzipped:,}</td><td>{r.new_unzipped:,}</td><td>{r.delta:+,}</td></tr>"
        for r in diff.changed
    )
    old, new = diff.old, diff.new
    warnings = "".join(f'<p class="warning">warning: {html.escape(w)}</p>' for w in diff.warnings)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>lpack diff</title>'
        "<style>body{font:14px system-ui,sans-serif;margin:16px}td,th{padding:2px 10px;"
        "text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>"
        f'<h1>lpack diff</h1><p id="totals">{html.escape(old.artifact)} → '
        f"{html.escape(new.artifact)}: unzipped {old.unzipped_size:,} → "
        f"{new.unzipped_size:,} B ({diff.unzipped_delta:+,} B)</p>{warnings}"
        '<table id="changes"><tr><th>distribution</th><th>change</th><th>old version</th>'
        "<th>new version</th><th>old B</th><th>new B</th><th>delta B</th></tr>"
        f"{rows}</table></body></html>\n"
    )
