// lpack's HTML report: a nested, squarified treemap (distribution → folder → file), laid out
// here because only the page knows the frame's size in pixels: each group keeps a header band
// and a margin for its children, and the layout is redone for the other size and on resize.
// Every tile's edges are rounded to whole pixels inside its parent's box, so no tile leaves
// its parent (and none leaves the frame); a label never wraps: it ends in an ellipsis or the
// tile shows none.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const frame = document.getElementById("treemap");
  const crumbs = document.getElementById("crumbs");
  const tip = document.getElementById("tip");
  const HEADER = 17, PAD = 3, GROUP_W = 48, GROUP_H = 30, MAX_DEPTH = 4;
  const LABEL_W = 30, LABEL_H = 16, TWO_LINES_H = 32, MIN_TILE = 2, SOURCE_MIN = 0.015;
  const GREY = { base: "#bab0ac", baseText: "#000000", folder: "#9e9692", folderText: "#000000",
                 frame: "#73706a", frameText: "#ffffff" };
  const state = { metric: "s", zoom: null };
  const nodeOf = new WeakMap();
  const enlarged = new Set();
  const ruler = document.createElement("canvas").getContext("2d");

  function human(n) {
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return i === 0 ? n + " B" : n.toFixed(1) + " " + units[i];
  }
  function exact(n) { return n.toLocaleString("en-US") + " B"; }

  // Parents, owning distribution and file counts, once.
  (function annotate(node, parent, dist) {
    node.parent = parent;
    if (node.d !== undefined) dist = node.d;
    node.dist = dist;
    node.files = node.m || (node.c ? 0 : 1);
    for (const child of node.c || []) {
      annotate(child, node, dist);
      node.files += child.files;
    }
  })(data.tree, null, undefined);

  function colorsOf(node) {
    return node.dist === undefined ? GREY : data.dists[node.dist].colors;
  }
  function nameOf(node) {
    return node.d !== undefined ? data.dists[node.d].name : node.n;
  }
  function keyOf(node) {
    return node.d !== undefined ? data.dists[node.d].key : node.p || "";
  }

  // Squarified treemap (Bruls, Huizing, van Wijk 2000): rows along the shorter side, a row
  // closed when the next item would make its worst aspect ratio worse. The last item of a
  // row and the last row take what is left, so the rows fill the rectangle exactly.
  function squarify(items, x, y, w, h) {
    const out = [];
    const total = items.reduce((sum, it) => sum + it.v, 0);
    const scale = (w * h) / total;
    let i = 0;
    while (i < items.length) {
      const side = Math.min(w, h);
      let j = i, sum = 0, min = Infinity, max = 0, best = Infinity;
      while (j < items.length) {
        const area = items[j].v * scale, s = sum + area;
        const lo = Math.min(min, area), hi = Math.max(max, area);
        const worst = Math.max((side * side * hi) / (s * s), (s * s) / (side * side * lo));
        if (j > i && worst > best) break;
        best = worst; sum = s; min = lo; max = hi; j++;
      }
      const last = j === items.length;
      if (w >= h) {
        const thick = last ? w : sum / h;
        let at = y;
        for (let k = i; k < j; k++) {
          const len = k === j - 1 ? y + h - at : (items[k].v * scale) / thick;
          out.push([items[k].node, x, at, thick, len]);
          at += len;
        }
        x += thick; w -= thick;
      } else {
        const thick = last ? h : sum / w;
        let at = x;
        for (let k = i; k < j; k++) {
          const len = k === j - 1 ? x + w - at : (items[k].v * scale) / thick;
          out.push([items[k].node, at, y, len, thick]);
          at += len;
        }
        y += thick; h -= thick;
      }
      i = j;
    }
    return out;
  }

  function layoutInto(node, el, x, y, w, h, depth) {
    const items = (node.c || [])
      .filter((c) => c[state.metric] > 0)
      .map((c) => ({ node: c, v: c[state.metric] }));
    if (node === data.tree) {
      // The user's own code is often a few KiB beside megabytes of dependencies: on the
      // package's map it is drawn at SOURCE_MIN of the area at least, and marked so.
      const total = items.reduce((sum, it) => sum + it.v, 0);
      for (const it of items) {
        if (it.node.d !== undefined && data.dists[it.node.d].source && it.v < total * SOURCE_MIN) {
          it.v = total * SOURCE_MIN;
          enlarged.add(it.node);
        }
      }
    }
    items.sort((a, b) => b.v - a.v);
    if (!items.length || w < MIN_TILE || h < MIN_TILE) return;
    for (const [child, fx, fy, fw, fh] of squarify(items, x, y, w, h)) {
      // Whole pixels, edges rounded (neighbours share them) and clamped to the parent's box.
      const x0 = Math.max(x, Math.round(fx)), y0 = Math.max(y, Math.round(fy));
      const x1 = Math.min(x + w, Math.round(fx + fw)), y1 = Math.min(y + h, Math.round(fy + fh));
      if (x1 - x0 >= MIN_TILE && y1 - y0 >= MIN_TILE) {
        drawTile(child, el, x0, y0, x1 - x0, y1 - y0, depth);
      }
    }
  }

  function drawTile(node, parentEl, x, y, w, h, depth) {
    const colors = colorsOf(node);
    const hasKids = (node.c || []).length > 0;
    const group = hasKids && w >= GROUP_W && h >= GROUP_H && depth < MAX_DEPTH;
    const el = document.createElement("div");
    el.className = "tile " + (group ? "group" : "leaf");
    if (hasKids) el.classList.add("zoomable");
    if (node.u !== undefined) el.classList.add("dup");
    if (enlarged.has(node)) el.classList.add("enlarged");
    if (node.d !== undefined) el.dataset.dist = data.dists[node.d].key;
    if (node.p) el.dataset.path = node.p;
    el.dataset.size = node[state.metric];
    const fill = !group ? "base" : node.d !== undefined ? "frame" : "folder";
    el.style.cssText = `left:${x}px;top:${y}px;width:${w}px;height:${h}px;` +
      `background:${colors[fill]};color:${colors[fill + "Text"]}`;
    nodeOf.set(el, node);
    parentEl.appendChild(el);
    addLabel(el, node, w, h, group);
    if (group) layoutInto(node, el, PAD, HEADER, w - 2 * PAD, h - HEADER - PAD, depth + 1);
  }

  const family = getComputedStyle(document.body).fontFamily;
  function textWidth(text, bold) {
    ruler.font = (bold ? "600 11px " : "11px ") + family;
    return ruler.measureText(text).width;
  }

  function addLabel(el, node, w, h, group) {
    if (w < LABEL_W || h < LABEL_H) return;
    const dist = node.d !== undefined ? data.dists[node.d] : null;
    const name = dist && dist.version ? dist.name + " " + dist.version : nameOf(node);
    const size = human(node[state.metric]), room = w - 10;
    const nameWidth = textWidth(name, group);
    // An ellipsis after one or two letters says nothing: such a tile shows no label.
    if (nameWidth > room && textWidth(name.slice(0, 3) + "…", group) > room) return;
    const label = document.createElement("div");
    label.className = "label";
    const two = !group && h >= TWO_LINES_H;
    if (two) label.classList.add("two");
    const nameEl = document.createElement("span");
    nameEl.className = "name";
    nameEl.textContent = name;
    label.appendChild(nameEl);
    const sizeWidth = textWidth(size, group);
    if (two ? sizeWidth <= room : nameWidth + 6 + sizeWidth <= room) {
      const sizeEl = document.createElement("span");
      sizeEl.className = "size";
      sizeEl.textContent = size;
      label.appendChild(sizeEl);
    }
    el.appendChild(label);
  }

  function render() {
    frame.textContent = "";
    enlarged.clear();
    frame.dataset.metric = state.metric === "z" ? "zipped" : "unzipped";
    const width = frame.clientWidth, height = frame.clientHeight;
    const root = state.zoom || data.tree;
    if (!(root[state.metric] > 0)) {
      const empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = "Nothing to show: the package holds no bytes.";
      frame.appendChild(empty);
    } else if (root === data.tree) {
      layoutInto(root, frame, 0, 0, width, height, 0);
    } else {
      drawTile(root, frame, 0, 0, width, height, 0);
    }
    showCrumbs();
    for (const item of document.querySelectorAll("#legend-items li[data-s]")) {
      item.querySelector(".size").textContent = human(Number(item.dataset[state.metric]));
    }
    for (const input of document.querySelectorAll("#metric input")) {
      input.checked = input.value === state.metric;
    }
  }

  function showCrumbs() {
    crumbs.textContent = "";
    const chain = [];
    for (let n = state.zoom; n; n = n.parent) chain.unshift(n);
    chain.forEach((node, i) => {
      if (i) crumbs.appendChild(document.createTextNode(" / "));
      const here = i === chain.length - 1 && chain.length > 1;
      const link = document.createElement(here ? "span" : "a");
      link.className = here ? "crumb here" : "crumb";
      link.textContent = node === data.tree ? "package" : nameOf(node);
      if (!here) link.addEventListener("click", () => go(node === data.tree ? null : node));
      crumbs.appendChild(link);
    });
  }

  function find(key) {
    const dist = (data.tree.c || []).find((n) => n.d !== undefined && data.dists[n.d].key === key);
    if (dist) return dist;
    const stack = [data.tree];
    while (stack.length) {
      const node = stack.pop();
      if (node.p === key && node.c) return node;
      for (const child of node.c || []) stack.push(child);
    }
    return null;
  }

  // The view lives in the address (#zoom=numpy/core&size=zipped): links and reloads keep it.
  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    state.metric = params.get("size") === "zipped" && data.zipped ? "z" : "s";
    const key = params.get("zoom");
    const node = key ? find(key) : null;
    state.zoom = node && node !== data.tree ? node : null;
  }
  function go(node, metric) {
    const enc = (s) => s.replace(/[%&#=+\s]/g, (c) => encodeURIComponent(c));
    const parts = [];
    if (node) parts.push("zoom=" + enc(keyOf(node)));
    if ((metric || state.metric) === "z") parts.push("size=zipped");
    const hash = parts.length ? "#" + parts.join("&") : "";
    if (hash === location.hash || (!hash && !location.hash)) {
      state.zoom = node; state.metric = metric || state.metric; render();
    } else {
      location.hash = hash; // hashchange renders
    }
  }

  function showTip(event) {
    const el = event.target.closest ? event.target.closest(".tile") : null;
    const node = el && nodeOf.get(el);
    if (!node) { tip.hidden = true; return; }
    tip.textContent = "";
    const line = (text, cls) => {
      const div = document.createElement("div");
      if (cls) div.className = cls;
      div.textContent = text;
      tip.appendChild(div);
    };
    const dist = node.dist !== undefined ? data.dists[node.dist] : null;
    line(node.d !== undefined ? nameOf(node) : node.p || node.n, "path");
    if (dist) {
      const why = dist.why.length ? " · why: " + dist.why.join(" ← ") : "";
      line((dist.source ? "your own code" : dist.name + " " + dist.version) + why, "muted");
    }
    const total = data.tree[state.metric] || 1;
    line("unzipped " + human(node.s) + " (" + exact(node.s) + ")" +
         (state.metric === "s" ? " · " + ((100 * node.s) / total).toFixed(1) + " % of the package" : ""));
    if (data.zipped) {
      line("zipped " + human(node.z) + " (" + exact(node.z) + ")" +
           (state.metric === "z" ? " · " + ((100 * node.z) / total).toFixed(1) + " % of the zip" : ""));
    }
    if (enlarged.has(node)) line("drawn larger than its size, so that you can find it", "muted");
    if (node.c) line(node.files.toLocaleString("en-US") + " files · click to zoom in", "muted");
    else if (node.k) line(node.k, "muted");
    if (node.u !== undefined) {
      const dup = data.duplicates[node.u];
      if (dup.reason === "content") {
        const others = dup.paths.filter((p) => p !== node.p);
        const more = dup.more ? " and " + dup.more.toLocaleString("en-US") + " more" : "";
        line("Duplicate: the same bytes also at " + others.join(", ") + more);
      } else {
        line("Duplicate: installed by " + dup.dists.join(" and ") + "; the last one installed won");
      }
    }
    tip.hidden = false;
    const pad = 14, box = tip.getBoundingClientRect();
    let left = event.clientX + pad, top = event.clientY + pad;
    if (left + box.width > innerWidth) left = Math.max(0, event.clientX - pad - box.width);
    if (top + box.height > innerHeight) top = Math.max(0, event.clientY - pad - box.height);
    tip.style.left = left + "px";
    tip.style.top = top + "px";
  }

  frame.addEventListener("mousemove", showTip);
  frame.addEventListener("mouseleave", () => { tip.hidden = true; });
  // A click zooms one level: into the child of the current view that holds the clicked tile.
  frame.addEventListener("click", (event) => {
    const el = event.target.closest(".tile");
    let node = el && nodeOf.get(el);
    const view = state.zoom || data.tree;
    while (node && node.parent && node.parent !== view) node = node.parent;
    if (node && node !== view && node.c) { tip.hidden = true; go(node); }
  });
  for (const input of document.querySelectorAll("#metric input")) {
    input.addEventListener("change", () => go(state.zoom, input.value));
  }
  for (const item of document.querySelectorAll("#legend-items li[data-dist]")) {
    item.addEventListener("click", () => {
      const node = (data.tree.c || []).find((n) => String(n.d) === item.dataset.dist);
      if (node && node.c) go(node);
    });
  }
  window.addEventListener("hashchange", () => { readHash(); render(); });
  // Laid out again before the next paint, once however many resize events came.
  let pending = 0;
  window.addEventListener("resize", () => {
    if (!pending) pending = requestAnimationFrame(() => { pending = 0; render(); });
  });
  readHash();
  render();
})();
