"""A self-contained HTML report (no CDN, no network): a zoomable treemap plus tables."""

from __future__ import annotations

import html
import json

from lpack.inspect.diff import Diff
from lpack.inspect.report import Report

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>lpack report: __TITLE__</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 16px; color: #222; }
#crumbs { margin: 8px 0; } #crumbs a { cursor: pointer; color: #0645ad; }
#treemap { position: relative; width: 100%; height: 560px; border: 1px solid #999; }
.node { position: absolute; box-sizing: border-box; border: 1px solid #fff; overflow: hidden;
        font-size: 12px; padding: 2px 4px; cursor: pointer; color: #111; }
.node:hover { outline: 2px solid #000; z-index: 1; }
table { border-collapse: collapse; margin-top: 16px; }
td, th { padding: 2px 10px; text-align: right; } td:first-child, th:first-child { text-align: left; }
</style></head><body>
<h1>__TITLE__</h1>
<p id="summary">__SUMMARY__</p>
<div id="crumbs"></div>
<div id="treemap" role="img" aria-label="treemap of the package by unzipped size"></div>
__TABLE__
<script id="report-data" type="application/json">__DATA__</script>
<script>
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const box = document.getElementById("treemap");
  const crumbs = document.getElementById("crumbs");
  const palette = {"native code": "#f4a261", "Python source": "#8ecae6", "bytecode": "#cdb4db",
                   "tests": "#e76f51", "metadata": "#b7b7a4", "data": "#a7c957"};
  function fmt(n) { return n >= 1048576 ? (n / 1048576).toFixed(1) + " MiB"
                         : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B"; }
  function kindOf(node) {
    if (node.kind) return node.kind;
    let best = null, size = -1;
    for (const c of node.children || []) { const k = kindOf(c); if (c.size > size) { best = k; size = c.size; } }
    return best || "data";
  }
  // Squarified treemap (Bruls, Huizing, van Wijk): rows of children laid along the short side.
  function layout(items, x, y, w, h, out) {
    const total = items.reduce((s, n) => s + n.size, 0);
    if (!items.length || total <= 0 || w <= 0 || h <= 0) return;
    const scale = (w * h) / total;
    let rest = items.slice(), row = [];
    function worst(r, side) {
      const s = r.reduce((a, n) => a + n.size * scale, 0), max = Math.max(...r.map(n => n.size * scale)),
            min = Math.min(...r.map(n => n.size * scale));
      return Math.max(side * side * max / (s * s), (s * s) / (side * side * min));
    }
    while (rest.length) {
      const side = Math.min(w, h), next = rest[0];
      if (row.length === 0 || worst(row.concat([next]), side) <= worst(row, side)) { row.push(next); rest.shift(); continue; }
      [x, y, w, h] = place(row, x, y, w, h, scale, out); row = [];
    }
    if (row.length) place(row, x, y, w, h, scale, out);
  }
  function place(row, x, y, w, h, scale, out) {
    const area = row.reduce((a, n) => a + n.size * scale, 0);
    if (w >= h) { const cw = area / h; let cy = y;
      for (const n of row) { const ch = n.size * scale / cw; out.push([n, x, cy, cw, ch]); cy += ch; }
      return [x + cw, y, w - cw, h]; }
    const rh = area / w; let cx = x;
    for (const n of row) { const cw = n.size * scale / rh; out.push([n, cx, y, cw, rh]); cx += cw; }
    return [x, y + rh, w, h - rh];
  }
  function show(path) {
    let node = data.tree;
    for (const name of path) node = (node.children || []).find(c => c.name === name) || node;
    box.innerHTML = ""; crumbs.innerHTML = "";
    const parts = [["(package)", []]].concat(path.map((p, i) => [p, path.slice(0, i + 1)]));
    parts.forEach(([label, p], i) => {
      const a = document.createElement("a"); a.textContent = label; a.className = "crumb";
      a.onclick = () => show(p); crumbs.appendChild(a);
      if (i < parts.length - 1) crumbs.appendChild(document.createTextNode(" / "));
    });
    const items = (node.children || [node]).filter(n => n.size > 0);
    const out = []; layout(items, 0, 0, box.clientWidth, box.clientHeight, out);
    for (const [n, x, y, w, h] of out) {
      const d = document.createElement("div");
      d.className = "node"; d.dataset.path = path.concat([n.name]).join("/"); d.dataset.size = n.size;
      d.style.left = x + "px"; d.style.top = y + "px"; d.style.width = w + "px"; d.style.height = h + "px";
      d.style.background = palette[kindOf(n)] || "#ddd";
      d.title = d.dataset.path + " — " + fmt(n.size) + " unzipped, " + fmt(n.zipped) + " zipped" +
                (n.dist ? " — " + n.dist : "");
      if (w > 40 && h > 14) d.textContent = n.name + " " + fmt(n.size);
      if (n.children) d.onclick = () => show(path.concat([n.name]));
      box.appendChild(d);
    }
  }
  // #zoom=pkg/sub opens the treemap zoomed into that folder (links, and tests).
  const start = location.hash.startsWith("#zoom=")
    ? decodeURIComponent(location.hash.slice(6)).split("/").filter(Boolean) : [];
  show(start);
  window.addEventListener("resize", () => show(start));
})();
</script></body></html>
"""


def render_html(report: Report) -> str:
    title = html.escape(report.artifact.rsplit("/", 1)[-1])
    summary = f"{report.files:,} files, {report.unzipped_size:,} B unzipped"
    if report.zipped_size is not None:
        summary += f", {report.zipped_size:,} B zipped"
    if report.target and report.target.runtime:
        summary += f" — {report.target.describe()}"
    rows = "".join(
        f"<tr><td>{html.escape(d.name)}</td><td>{html.escape(d.version)}</td>"
        f"<td>{d.sizes.files:,}</td><td>{d.sizes.unzipped:,}</td><td>{d.sizes.zipped:,}</td>"
        f"<td>{html.escape(' ← '.join(d.why))}</td></tr>"
        for d in report.distributions
    )
    table = (
        '<table id="distributions"><tr><th>distribution</th><th>version</th><th>files</th>'
        "<th>unzipped B</th><th>zipped B</th><th>why</th></tr>" + rows + "</table>"
    )
    # No "<" at all inside the script element: "</script>" or "<!--" in a file name must
    # not end or confuse it (\u003c is the same character to JSON.parse).
    data = json.dumps(report.to_json(), separators=(",", ":")).replace("<", "\\u003c")
    return (
        _TEMPLATE.replace("__TITLE__", title)
        .replace("__SUMMARY__", html.escape(summary))
        .replace("__TABLE__", table)
        .replace("__DATA__", data)
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
