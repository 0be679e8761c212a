"""The HTML report's treemap: its data (palette, nesting, duplicates, gauges) in-process, and
the page itself in headless Chromium: geometry read back from the live DOM, and the pixels of
a screenshot compared with what the tiles and the legend say."""

from __future__ import annotations

import json
import random
import re
import shutil
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from browser import chromium
from conftest import run_lpack
from lint_fixtures import dist_info, write_zip

from lpack.facts import SOURCE_LABEL
from lpack.inspect.contents import read_contents
from lpack.inspect.report import make_report
from lpack.render.html import render_html
from lpack.render.treemap import (
    MAX_CHILDREN,
    OTHER_COLOR,
    PALETTE,
    SOURCE_COLOR,
    Colors,
    assign_colors,
    contrast,
    display_tree,
)

HOST = f"python3.{sys.version_info[1]}"
CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
SHARED_LIB = "libgfortran-5a3b.so.5.0.0"


def treemap_package(path: Path) -> Path:
    """Seven distributions and the user's source, with dist-info folders, one library shipped
    by two distributions (same bytes) and one path that two distributions install. Native
    files are noise (they do not compress), Python files repeat (they do): the zipped view
    differs from the unzipped one."""
    rng = random.Random(13)

    def noise(n: int) -> bytes:
        return rng.getrandbits(8 * n).to_bytes(n, "little")

    def text(path: str, n: int) -> bytes:
        line = f"{path} = compute(value)  # unique per file\n".encode()
        return (line * (n // len(line) + 1))[:n]

    members: dict[str, bytes] = {}

    def dist(name: str, version: str, files: dict[str, bytes]) -> None:
        members.update(files)
        members.update(dist_info(name, version, list(files)))

    shared = noise(60_000)
    dist(
        "numcore",
        "2.1.0",
        {
            "numcore/_core.cpython-311-x86_64-linux-gnu.so": noise(900_000),
            "numcore/linalg/_umath_linalg.so": noise(260_000),
            "numcore/linalg/__init__.py": text("linalg", 30_000),
            "numcore/__init__.py": text("numcore", 60_000),
            "numcore/random/_generator.so": noise(180_000),
            f"numcore.libs/{SHARED_LIB}": shared,
        },
    )
    frames = {
        f"frames/core/{m}.py": text(m, 40_000 + 9_000 * i)
        for i, m in enumerate(["frame", "series", "indexing", "groupby", "reshape", "ops"])
    }
    frames |= {
        f"frames/io/{m}.py": text(m, 30_000 + 7_000 * i)
        for i, m in enumerate(["parsers", "excel", "json", "sql"])
    }
    frames |= {f"frames/tests/test_{m}.py": text(f"t{m}", 15_000) for m in ("a", "b", "c")}
    frames["frames/_libs/hashtable.so"] = noise(220_000)
    dist("frames", "1.5.0", frames)
    zones = {
        f"tzdata/zoneinfo/Region{i}/City{j}": text(f"z{i}{j}", 2_000 + 37 * j)
        for i in range(6)
        for j in range(8)
    }
    dist("tzdata", "2024.1", zones)
    dist(
        "scisolve",
        "1.0",
        {
            f"scisolve.libs/{SHARED_LIB}": shared,
            "scisolve/_solve.so": noise(120_000),
            "scisolve/__init__.py": text("scisolve", 8_000),
        },
    )
    dist("six", "1.16.0", {"six.py": text("six", 34_000)})
    dist(
        "ns-a",
        "1.0",
        {"nsshared/__init__.py": text("ns", 1_500), "nsshared/a.py": text("a", 9_000)},
    )
    members.update(dist_info("ns-b", "1.0", ["nsshared/__init__.py", "nsshared/b.py"]))
    members["nsshared/b.py"] = text("b", 8_000)
    members |= {
        "app.py": text("app", 6_000),
        "handlers/orders.py": text("orders", 52_000),
        "handlers/users.py": text("users", 31_000),
        "templates/email.html": text("email", 24_000),
    }
    return write_zip(path, members)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return treemap_package(tmp_path_factory.mktemp("treemap") / "fn.zip")


def _page_data(page: str) -> dict:
    blob = page.split('<script id="report-data" type="application/json">', 1)[1]
    return json.loads(blob.split("</script>", 1)[0])


# --- the data, in-process -------------------------------------------------------------------


def test_palette_is_distinct_and_every_label_reads() -> None:
    fills = [
        fill
        for base in (*PALETTE, SOURCE_COLOR, OTHER_COLOR)
        for fill in (Colors.of(base).base, Colors.of(base).folder, Colors.of(base).frame)
    ]
    assert len(set(fills)) == len(fills)
    for base in (*PALETTE, SOURCE_COLOR, OTHER_COLOR):
        shown = Colors.of(base).to_json()
        for fill in ("base", "folder", "frame"):
            assert contrast(shown[fill], shown[fill + "Text"]) >= 4.5, (base, fill)
    # Hues far apart: no two distributions' tiles are near-twins.
    rgb = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in (*PALETTE, SOURCE_COLOR)]
    closest = min(
        sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5
        for i, a in enumerate(rgb)
        for b in rgb[i + 1 :]
    )
    assert closest > 60


def test_colors_are_stable_and_the_source_has_its_own() -> None:
    names = ["numpy", "pandas", SOURCE_LABEL, "pytz", "six"]
    first = assign_colors(names)
    assert first[SOURCE_LABEL] == SOURCE_COLOR
    assert len(set(first.values())) == len(names)
    # Smaller distributions coming or going never recolour the larger ones.
    assert assign_colors([*names, "tzdata", "python-dateutil"]).items() >= first.items()
    assert assign_colors(["numpy"])["numpy"] == first["numpy"]
    many = assign_colors([f"dist{i}" for i in range(len(PALETTE) + 3)])  # largest first
    assert [many[f"dist{i}"] for i in range(len(PALETTE), len(PALETTE) + 3)] == [OTHER_COLOR] * 3
    assert set(many.values()) == {*PALETTE, OTHER_COLOR}


def test_tree_nests_distribution_folder_file(package: Path) -> None:
    contents = read_contents(package)
    try:
        report = make_report(contents, None)
    finally:
        contents.close()
    dup_of = {p: n for n, d in enumerate(report.duplicates) for p in d.paths}
    tree = display_tree(report, dup_of)
    dists = [d.name for d in report.distributions]
    top = {dists[node["d"]]: node for node in tree["c"]}
    assert set(top) == set(dists) and SOURCE_LABEL in top
    # Nothing but distributions at the top: dist-info folders live inside their distribution.
    assert all("d" in node for node in tree["c"])
    numcore = {child["n"]: child for child in top["numcore"]["c"]}
    assert {"numcore", "numcore.libs", "numcore-2.1.0.dist-info"} <= set(numcore)
    assert numcore["numcore-2.1.0.dist-info"]["p"] == "numcore-2.1.0.dist-info"
    source = {child["n"] for child in top[SOURCE_LABEL]["c"]}
    assert source == {"app.py", "handlers", "templates"}
    zones = {child["n"]: child for child in top["tzdata"]["c"]}  # a folder of one folder: one
    assert set(zones) == {"tzdata/zoneinfo", "tzdata-2024.1.dist-info"}
    assert zones["tzdata/zoneinfo"]["p"] == "tzdata/zoneinfo"
    for d in report.distributions:
        assert (top[d.name]["s"], top[d.name]["z"]) == (d.sizes.unzipped, d.sizes.zipped)
    # Both copies of the library carry the same duplicate group, and it wastes one copy.
    libs = [dup_of[f"{owner}.libs/{SHARED_LIB}"] for owner in ("numcore", "scisolve")]
    assert libs[0] == libs[1]
    same = report.duplicates[libs[0]]
    assert (same.reason, same.dists, same.wasted) == ("content", ("numcore", "scisolve"), 60_000)
    (clobbered,) = [d for d in report.duplicates if d.reason == "path"]
    assert clobbered.paths == ("nsshared/__init__.py",) and clobbered.dists == ("ns-a", "ns-b")
    assert len(report.duplicates) == 2  # unique files of equal size are not duplicates


def test_page_is_one_self_contained_file(package: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    r = run_lpack("report", str(package), "--runtime", HOST, "--format", "html", "-o", str(out))
    assert r.rc == 0, r.stderr
    page = out.read_text()
    for external in ("<link", "<script src", "@import", "url(", "src=", "http://", "https://"):
        assert external not in page, external
    data = _page_data(page)
    assert data["zipped"] is True and len(data["dists"]) == 8
    # Human units in the page, exact bytes on hover.
    assert re.search(r'<span title="2,7\d\d,\d\d\d B">2\.6 MiB</span> unzipped', page)
    gauges = re.findall(r'class="gauge (\w+)" data-name="(\w+)" data-source="(\w+)"', page)
    assert gauges == [("ok", "unzipped", "lambda"), ("ok", "zipped", "lambda")]
    assert "250 MiB" in page and "50 MiB" in page
    assert 'id="duplicates"' in page and f"scisolve.libs/{SHARED_LIB}" in page


def test_budgets_are_gauges_too(package: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[tool.lpack]\nruntime = "{HOST}"\nmax-unzipped = "3 MiB"\nmax-zipped = "1 MiB"\n'
    )
    out = tmp_path / "report.html"
    r = run_lpack(
        "report", str(package), "--project", str(project), "--format", "html", "-o", str(out)
    )
    assert r.rc == 0, r.stderr
    page = out.read_text()
    gauges = re.findall(
        r'class="gauge (\w+)" data-name="(\w+)" data-source="(\w+)" '
        r'data-actual="(\d+)" data-limit="(\d+)"',
        page,
    )
    unzipped, zipped = package_sizes(package)
    assert gauges == [
        ("ok", "unzipped", "lambda", str(unzipped), "262144000"),
        ("near", "unzipped", "budget", str(unzipped), str(3 * 1024**2)),
        ("ok", "zipped", "lambda", str(zipped), "52428800"),
        ("over", "zipped", "budget", str(zipped), str(1024**2)),
    ]
    assert f"over by {(zipped - 1024**2) / 1024:.1f} KiB" in page
    assert "your budget (max-zipped)" in page


def package_sizes(path: Path) -> tuple[int, int]:
    with zipfile.ZipFile(path) as zf:
        return sum(i.file_size for i in zf.infolist()), path.stat().st_size


def test_a_folder_has_no_zipped_view(package: Path, tmp_path: Path) -> None:
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(package) as zf:
        zf.extractall(folder)
    contents = read_contents(folder)
    try:
        page = render_html(make_report(contents, None))
    finally:
        contents.close()
    assert 'value="z" disabled' in page and _page_data(page)["zipped"] is False
    assert 'data-name="zipped"' not in page
    # Same bytes found by reading them (a folder has no CRCs to compare).
    assert f"numcore.libs/{SHARED_LIB}" in page.split('id="duplicates"')[1]


# --- the page, in Chromium -----------------------------------------------------------------

# Appended to a copy of the page: reads the laid-out DOM (boxes as the browser computed them,
# lines of text as it broke them), then clicks the zipped toggle and back, and leaves the
# readings in <pre id="probe"> for --dump-dom.
PROBE = """<script>
(function () {
  const frame = document.getElementById("treemap");
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const inner = (el) => { const r = el.getBoundingClientRect();
    return [r.left + el.clientLeft, r.top + el.clientTop,
            r.left + el.clientLeft + el.clientWidth, r.top + el.clientTop + el.clientHeight]; };
  function snapshot() {
    const tiles = [...frame.querySelectorAll(".tile")].map((el) => ({
      dist: el.dataset.dist || null, path: el.dataset.path || null, cls: el.className,
      top: el.parentElement === frame, box: box(el),
      parent: el.parentElement === frame ? inner(frame) : box(el.parentElement)}));
    const labels = [...frame.querySelectorAll(".label span")].map((span) => {
      const range = document.createRange();
      range.selectNodeContents(span);
      const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      const style = getComputedStyle(span);
      return {text: span.textContent, cls: span.className, lines: lines.size, box: box(span),
              tile: box(span.closest(".tile")), clipped: span.scrollWidth > span.clientWidth,
              overflow: style.textOverflow, wrap: style.whiteSpace};
    });
    return {metric: frame.dataset.metric, frame: inner(frame), tiles, labels};
  }
  const result = {viewport: [innerWidth, innerHeight], side: box(document.getElementById("side")), legend: [
    ...document.querySelectorAll("#legend-items li[data-dist]")].map((li) => ({
      dist: Number(li.dataset.dist), swatch: box(li.querySelector(".swatch")),
      color: getComputedStyle(li.querySelector(".swatch")).backgroundColor}))};
  result.unzipped = snapshot();
  document.getElementById("metric-zipped").click();
  setTimeout(() => {
    result.zipped = snapshot();
    result.hash = location.hash;
    document.getElementById("metric-unzipped").click();
    setTimeout(() => {
      result.back = snapshot();
      const pre = document.createElement("pre");
      pre.id = "probe";
      pre.textContent = JSON.stringify(result);
      document.body.appendChild(pre);
    }, 100);
  }, 100);
})();
</script>"""


def probe(tmp_path: Path, page: Path, size: str) -> dict:
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = chromium(tmp_path, probed.as_uri(), "--dump-dom", size=size)
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(
        found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and color in (2, 6)
        elif kind == b"IDAT":
            idat += body
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        prev = line
        rows.append(bytes(line) if bpp == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
    return width, height, rows


def _rgb(color: str) -> tuple[int, int, int]:
    if color.startswith("#"):
        return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
    r, g, b = (int(v) for v in re.findall(r"\d+", color)[:3])
    return r, g, b


def _inside(inner: list[float], outer: list[float], slack: float = 0.01) -> bool:
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


def _area(b: list[float]) -> float:
    return (b[2] - b[0]) * (b[3] - b[1])


def check_geometry(view: dict, names: set[str]) -> None:
    """Every tile inside its parent and the frame; every label one line, inside its tile,
    either whole or ended by an ellipsis; its text a whole name or a size in binary units."""
    assert view["tiles"] and view["labels"]
    for tile in view["tiles"]:
        assert _inside(tile["box"], tile["parent"]), tile
        assert _inside(tile["box"], view["frame"]), tile
        assert tile["box"][2] - tile["box"][0] >= 2 and tile["box"][3] - tile["box"][1] >= 2
    tops = [t["box"] for t in view["tiles"] if t["top"]]
    for i, a in enumerate(tops):  # siblings never overlap
        for b in tops[i + 1 :]:
            assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1])
    for label in view["labels"]:
        assert label["lines"] == 1 and label["wrap"] == "nowrap", label
        assert _inside(label["box"], label["tile"], slack=0.5), label
        assert not label["clipped"] or label["overflow"] == "ellipsis", label
        if label["cls"] == "size":
            assert re.fullmatch(r"\d+ B|\d+\.\d (KiB|MiB|GiB)", label["text"]), label
        else:
            assert label["text"] in names, label


def _names(data: dict) -> set[str]:
    names = {f"{d['name']} {d['version']}".strip() for d in data["dists"]}
    stack = [data["tree"]]
    while stack:
        node = stack.pop()
        names.add(node["n"])
        stack.extend(node.get("c", []))
    return names


# The user's code is drawn at this share of the package's map at least (the page says so).
SOURCE_MIN = 0.015


def _shares(view: dict, data: dict, metric: str) -> dict[str, tuple[float, float]]:
    """Distribution key -> (share of the frame its tile covers, share it should cover)."""
    frame = _area(view["frame"])
    sizes = {data["dists"][node["d"]]["key"]: node[metric] for node in data["tree"]["c"]}
    total = sum(sizes.values())
    sizes[SOURCE_LABEL] = max(sizes[SOURCE_LABEL], SOURCE_MIN * total)
    total = sum(sizes.values())
    return {
        t["dist"]: (_area(t["box"]) / frame, sizes[t["dist"]] / total)
        for t in view["tiles"]
        if t["top"]
    }


@pytest.fixture(scope="module")
def page(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("page") / "report.html"
    r = run_lpack("report", str(package), "--runtime", HOST, "--format", "html", "-o", str(out))
    assert r.rc == 0, r.stderr
    return out


@needs_chromium
@pytest.mark.parametrize("size", ["1280,800", "640,480"])
def test_tiles_stay_inside_and_labels_never_break(page: Path, tmp_path: Path, size: str) -> None:
    data = _page_data(page.read_text())
    seen = probe(tmp_path, page, size)
    names = _names(data)
    for view in ("unzipped", "zipped", "back"):
        check_geometry(seen[view], names)
    assert any(lab["text"] == "numcore 2.1.0" for lab in seen["unzipped"]["labels"])
    if size == "1280,800":  # room for long names: shown whole, not cut
        assert any(
            lab["text"] == "_core.cpython-311-x86_64-linux-gnu.so" and not lab["clipped"]
            for lab in seen["unzipped"]["labels"]
        )


@needs_chromium
def test_toggle_lays_the_map_out_by_zipped_size(page: Path, tmp_path: Path) -> None:
    data = _page_data(page.read_text())
    seen = probe(tmp_path, page, "1280,800")
    assert (seen["unzipped"]["metric"], seen["zipped"]["metric"]) == ("unzipped", "zipped")
    assert seen["hash"] == "#size=zipped"
    for metric, view in (("s", seen["unzipped"]), ("z", seen["zipped"])):
        shares = _shares(view, data, metric)
        assert sum(covered for covered, _ in shares.values()) > 0.995  # the frame is filled
        for key, (covered, share) in shares.items():
            assert abs(covered - share) < 0.003, (metric, key, covered, share)
    boxes = {
        v: {t["dist"]: t["box"] for t in seen[v]["tiles"] if t["top"]}
        for v in seen
        if v in ("unzipped", "zipped", "back")
    }
    assert boxes["zipped"] != boxes["unzipped"] and boxes["back"] == boxes["unzipped"]
    # Text compresses, noise does not: zipped, the source is a sliver, drawn larger and marked.
    source = {v: next(t for t in seen[v]["tiles"] if t["dist"] == SOURCE_LABEL) for v in boxes}
    assert "enlarged" in source["zipped"]["cls"] and "enlarged" not in source["unzipped"]["cls"]
    source_node = next(n for n in data["tree"]["c"] if data["dists"][n["d"]]["source"])
    assert source_node["z"] < 0.001 * data["tree"]["z"]
    assert abs(_area(source["zipped"]["box"]) / _area(seen["zipped"]["frame"]) - SOURCE_MIN) < 0.003


@needs_chromium
def test_screenshot_shows_the_legend_colours_where_the_tiles_are(
    page: Path, tmp_path: Path
) -> None:
    data = _page_data(page.read_text())
    seen = probe(tmp_path, page, "1280,800")
    png = tmp_path / "treemap.png"
    # A screenshot's viewport is the window; --dump-dom's is smaller (room for a browser's
    # bar): the picture is taken at the size the probe measured.
    width, height = seen["viewport"]
    chromium(tmp_path, page.as_uri(), f"--screenshot={png}", size=f"{width},{height}")
    png_width, png_height, rows = read_png(png)
    assert (png_width, png_height) == (width, height)
    owner: dict[tuple[int, int, int], str] = {}
    for d in data["dists"]:
        for fill in ("base", "folder", "frame"):
            owner[_rgb(d["colors"][fill])] = d["key"]
    # The legend's swatches are the tiles' colours, drawn where the legend says.
    for item in seen["legend"]:
        dist = data["dists"][item["dist"]]
        assert _rgb(item["color"]) == _rgb(dist["colors"]["base"])
        x, y = (
            int((item["swatch"][0] + item["swatch"][2]) / 2),
            int((item["swatch"][1] + item["swatch"][3]) / 2),
        )
        assert tuple(rows[y][3 * x : 3 * x + 3]) == _rgb(dist["colors"]["base"])
    view = seen["unzipped"]
    frame = [round(v) for v in view["frame"]]
    tiles = {t["dist"]: [round(v) for v in t["box"]] for t in view["tiles"] if t["top"]}
    counts: dict[str, int] = dict.fromkeys(tiles, 0)
    outside = misplaced = 0
    side = int(seen["side"][0])
    for y in range(height):
        row = rows[y]
        for x in range(side):  # the legend's swatches are right of here
            key = owner.get((row[3 * x], row[3 * x + 1], row[3 * x + 2]))
            if key is None:
                continue
            if not (frame[0] <= x < frame[2] and frame[1] <= y < frame[3]):
                outside += 1
                continue
            counts[key] += 1
            box = tiles[key]
            if not (box[0] <= x < box[2] and box[1] <= y < box[3]):
                misplaced += 1
    assert outside == 0  # nothing of the map is drawn outside its frame
    assert misplaced == 0  # each distribution's colours only inside its own tile
    matched = sum(counts.values())
    assert matched > 0.6 * _area(frame)  # most of the frame is tile colour, not text or border
    shares = _shares(view, data, "s")
    for key, (_, share) in shares.items():
        if share >= 0.05:  # small tiles are mostly header and border: too few pixels to weigh
            assert abs(counts[key] / matched - share) < 0.04, (key, counts[key] / matched, share)


def test_huge_folders_and_hostile_names_stay_bounded_and_inert(tmp_path: Path) -> None:
    members = {f"big/f{i:04}.py": b"#" * (100 + i) for i in range(MAX_CHILDREN + 200)}
    members["odd/</script><img src=x onerror=alert(1)>.py"] = b"#" * 5000
    members |= {f"copies/c{i:03}.bin": b"\1" * 5000 for i in range(150)}
    path = write_zip(tmp_path / "__DATA__.zip", members)
    contents = read_contents(path)
    try:
        page = render_html(make_report(contents, None))
    finally:
        contents.close()
    assert "<img" not in page and page.count("</script>") == 2  # the data's and the code's
    assert "<title>lpack report: __DATA__.zip</title>" in page  # a name, not a placeholder
    data = _page_data(page)
    (source,) = data["tree"]["c"]
    big = next(c for c in source["c"] if c["n"] == "big")
    assert len(big["c"]) == MAX_CHILDREN + 1
    rest = big["c"][-1]
    assert rest["n"] == "200 smaller files" and rest["m"] == 200
    assert (
        sum(c["s"] for c in big["c"]) == big["s"] == sum(100 + i for i in range(MAX_CHILDREN + 200))
    )
    assert rest["s"] == sum(100 + i for i in range(200))  # the smallest ones
    (copies,) = data["duplicates"]  # the odd file has 5,000 B too, but other bytes
    assert (len(copies["paths"]), copies["more"]) == (10, 140)
    assert page.count("copies/c") == 10 + 10 + 150  # table, tooltip data, one per tile
    assert "and 140 more" in page


def test_a_report_file_renders_too(package: Path, tmp_path: Path) -> None:
    copy = tmp_path / "fn.zip"
    shutil.copy(package, copy)
    r = run_lpack("report", str(copy), "--runtime", HOST, "--format", "json")
    assert r.rc == 0, r.stderr
    saved = tmp_path / "report.json"
    saved.write_text(r.stdout)
    copy.unlink()  # the zip a report file describes may be gone
    out = tmp_path / "report.html"
    r = run_lpack("report", str(saved), "--runtime", HOST, "--format", "html", "-o", str(out))
    assert r.rc == 0, r.stderr
    page = out.read_text()
    data = _page_data(page)
    assert {d["key"] for d in data["dists"]} >= {"numcore", SOURCE_LABEL}
    numcore = next(n for n in data["tree"]["c"] if data["dists"][n["d"]]["key"] == "numcore")
    assert any(c["n"] == "numcore-2.1.0.dist-info" for c in numcore["c"])
    assert 'data-name="unzipped" data-source="lambda"' in page  # measured from the file
