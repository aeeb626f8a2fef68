"""The diagram's behaviour on the HTML page: folding, and highlighting between boxes and table rows.

Unfolding a block builds its inside from the page's data (:mod:`archcalc.diagram.page`) the
first time, then redoes the layout: :data:`DIAGRAM_JS` holds a line-for-line port of
:mod:`archcalc.diagram.layout` and writes the same markup as :mod:`archcalc.diagram.svg`
(``tests/test_browser.py`` checks both, in a real browser, against the Python output).

Hovering or clicking a box highlights its row in every table on the page (the rows carry the
layer's name in ``data-row``); a box inside a block the table folds highlights the block's row,
a folded block highlights the rows of its layers; and the other way round. ``window.archcalcDiagram``
exposes ``layout``, ``redraw``, ``setOpen``, ``rowsFor`` and ``boxFor`` (for the tests).
"""

from __future__ import annotations

__all__ = ["DIAGRAM_JS"]

DIAGRAM_JS = r"""
(function () {
  var holder = document.getElementById("adg-data");
  var svg = document.querySelector("svg.adg");
  if (!holder || !svg) return;
  var D = JSON.parse(holder.textContent), C = D.c, NS = "http://www.w3.org/2000/svg";
  var open = {};
  D.open.forEach(function (k) { open[k] = true; });

  // ------------------------------------------------------------ layout (a port of layout.py)
  function layout() {
    var geo = {size: {}, frame: {}, place: {}, container: {}, parts: {}, body: {}, edges: {}};
    function E(points, arrow) { return [points, arrow]; }
    function path() {
      var out = [];
      for (var i = 0; i < arguments.length; i++) {
        var p = arguments[i], q = out[out.length - 1];
        if (!q || q[0] !== p[0] || q[1] !== p[1]) out.push(p);
      }
      return out;
    }
    function adopt(container, parts) {
      geo.parts[container] = parts;
      parts.forEach(function (p) { geo.place[p[0]] = [p[1], p[2]]; geo.container[p[0]] = container; });
    }
    function node(n) {
      if (typeof n === "string") {
        var s = look(n); geo.size[n] = [s[1], s[2], Math.floor(s[1] / 2)]; return geo.size[n];
      }
      var key = n[1], frag = arrange(n[3]);
      var inner = C.PAD + Math.max(0, C.PAD + C.TOGGLE + C.LABEL_GAP - frag.ax), ax = inner + frag.ax;
      geo.frame[key] = [Math.max(inner + frag.w + C.PAD, ax + C.LABEL_GAP + look(key)[7] + C.PAD),
                        C.HEAD + frag.h + C.PAD, ax];
      geo.body[key] = [inner, C.HEAD];
      adopt(key, frag.parts);
      var edges = [E([[frag.ax, -C.HEAD], [frag.ax, 0]], frag.h > 0 || frag.parts.length > 0)];
      if (!n[2]) edges.push(E([[frag.ax, frag.h], [frag.ax, frag.h + C.PAD]], false));
      geo.edges[key] = edges.concat(frag.edges);
      if (open[key]) { geo.size[key] = geo.frame[key]; return geo.size[key]; }
      var b = look(key); geo.size[key] = [b[1], b[2], Math.floor(b[1] / 2)];
      return geo.size[key];
    }
    function key(n) { return typeof n === "string" ? n : n[1]; }
    function arrange(a) { return a[0] === "S" ? seq(a) : a[0] === "P" ? parallel(a) : bypass(a); }
    function seq(a) {
      var sized = a[1].map(function (item) {
        return item[0] === "D" ? [item[1], true, node(item[1])] : [item, false, node(item)];
      });
      var axis = 0;
      sized.forEach(function (s) { if (!s[1]) axis = Math.max(axis, s[2][2]); });
      var frag = {w: 0, h: 0, ax: axis, parts: [], edges: []};
      var column = [], y = 0, sideFree = 0;
      sized.forEach(function (s, i) {
        var w = s[2][0], h = s[2][1], ax = s[2][2];
        if (column.length) y += C.GAP;
        if (s[1]) {
          y = Math.max(y, sideFree);
          sideFree = y + C.HALF + h + C.HALF;
          column.push([true, i, y, y, 0]);
        } else {
          frag.parts.push([key(s[0]), axis - ax, y]);
          column.push([false, i, y, y + h, axis - ax + w]);
          y += h;
        }
      });
      var width = 0, height = y;
      column.forEach(function (c) { if (!c[0]) width = Math.max(width, c[4]); });
      column.forEach(function (c) {
        if (!c[0]) return;
        var s = sized[c[1]], w = s[2][0], h = s[2][1], ax = s[2][2], top = c[2], low = top + C.HALF + h;
        var x = axis + C.SEP;
        column.forEach(function (m) { if (!m[0] && m[2] < low && m[3] > top) x = Math.max(x, m[4] + C.SEP); });
        frag.parts.push([key(s[0]), x, top + C.HALF]);
        frag.edges.push(E([[axis, top], [x + ax, top], [x + ax, top + C.HALF]], true));
        width = Math.max(width, x + w);
        height = Math.max(height, low);
      });
      var previous = null;
      column.forEach(function (c) {
        if (c[0]) return;
        if (previous !== null) frag.edges.push(E([[axis, previous], [axis, c[2]]], true));
        previous = c[3];
      });
      var last = previous !== null ? previous : 0;
      if (height > last) frag.edges.push(E([[axis, last], [axis, height]], false));
      frag.w = width; frag.h = height;
      return frag;
    }
    function parallel(a) {
      var sizes = a[1].map(function (b) { return b === null ? [C.PASS_W, 0, Math.floor(C.PASS_W / 2)] : node(b); });
      var j = node(a[2]), jw = j[0], jh = j[1], jax = j[2];
      var xs = [], x = 0;
      sizes.forEach(function (s) { xs.push(x); x += s[0] + C.SEP; });
      var axes = xs.map(function (bx, i) { return bx + sizes[i][2]; });
      var axis = Math.floor((axes[0] + axes[axes.length - 1]) / 2);
      var shift = Math.max(0, jax - axis);
      xs = xs.map(function (v) { return v + shift; });
      axes = axes.map(function (v) { return v + shift; });
      axis += shift;
      var tallest = 0;
      sizes.forEach(function (s) { tallest = Math.max(tallest, s[1]); });
      var low = C.GAP + tallest, bus = low + C.HALF, joinY = low + C.GAP;
      var n = sizes.length;
      var frag = {w: Math.max(xs[n - 1] + sizes[n - 1][0], axis - jax + jw), h: joinY + jh, ax: axis,
                  parts: [], edges: []};
      a[1].forEach(function (b, i) {
        var ai = axes[i];
        if (b === null) {
          var through = path([axis, 0], [axis, C.HALF], [ai, C.HALF], [ai, bus], [axis, bus], [axis, joinY]);
          frag.edges.push(E(through, true));
          return;
        }
        frag.parts.push([key(b), xs[i], C.GAP]);
        frag.edges.push(E(path([axis, 0], [axis, C.HALF], [ai, C.HALF], [ai, C.GAP]), true));
        frag.edges.push(E(path([ai, C.GAP + sizes[i][1]], [ai, bus], [axis, bus], [axis, joinY]), true));
      });
      frag.parts.push([key(a[2]), axis - jax, joinY]);
      return frag;
    }
    function bypass(a) {
      var body = seq(a[1]), j = node(a[3]), jw = j[0], jh = j[1], jax = j[2];
      var act = a[4] !== null ? node(a[4]) : null;
      var axis = Math.max(body.ax, jax, act ? act[2] : 0), bx = axis - body.ax;
      var frag = {w: 0, h: 0, ax: axis, edges: body.edges.map(function (e) {
        return E(e[0].map(function (p) { return [p[0] + bx, p[1] + C.GAP]; }), e[1]);
      }), parts: body.parts.map(function (p) { return [p[0], p[1] + bx, p[2] + C.GAP]; })};
      var laneX = Math.max(bx + body.w, axis - jax + jw) + C.SEP;
      var short = a[2] !== null ? node(a[2]) : null;
      var low = C.GAP + Math.max(body.h, short ? short[1] : 0), joinY = low + C.GAP, mid = joinY + Math.floor(jh / 2);
      var into = [axis - jax + jw, mid], right, lane;
      if (body.h > 0 || body.parts.length) {
        frag.edges.push(E([[axis, 0], [axis, C.GAP]], true));
        frag.edges.push(E([[axis, C.GAP + body.h], [axis, joinY]], true));
      } else {
        frag.edges.push(E([[axis, 0], [axis, joinY]], true));
      }
      if (short === null) {
        lane = laneX;
        frag.edges.push(E(path([axis, C.HALF], [lane, C.HALF], [lane, mid], into), true));
        right = lane + Math.floor(C.HALF / 2);
      } else {
        lane = laneX + short[2];
        frag.parts.push([key(a[2]), laneX, C.GAP]);
        frag.edges.push(E(path([axis, C.HALF], [lane, C.HALF], [lane, C.GAP]), true));
        frag.edges.push(E(path([lane, C.GAP + short[1]], [lane, mid], into), true));
        right = laneX + short[0];
      }
      frag.parts.push([key(a[3]), axis - jax, joinY]);
      var bottom = joinY + jh;
      if (act !== null) {
        frag.parts.push([key(a[4]), axis - act[2], bottom + C.GAP]);
        frag.edges.push(E([[axis, bottom], [axis, bottom + C.GAP]], true));
        right = Math.max(right, axis - act[2] + act[0]);
        bottom += C.GAP + act[1];
      }
      frag.w = Math.max(right, bx + body.w); frag.h = bottom;
      return frag;
    }
    var root = seq(D.tree);
    adopt("root", root.parts);
    geo.edges.root = root.edges;
    geo.width = root.w; geo.height = root.h;
    return geo;
  }

  // ------------------------------------------------------------ drawing (the markup of svg.py)
  function look(k) {  // [placement, w, h, fill, name, texts, label, label width] of a node
    return D.look[k === "in" ? D.input : k.charAt(0) === "r" ? D.rows[+k.slice(1)] : D.groups[+k.slice(1)]];
  }
  var blocks = {}, rowOf = {}, idOf = {};  // block nodes, each node's row name, each row name's node id
  (function index(n, parent) {
    if (n === null) return;
    if (typeof n === "string" || n[0] === "B") {
      var k = typeof n === "string" ? n : n[1], name = look(k)[4], row = parent && name ? parent + "." + name : name;
      rowOf[k] = row;
      if (row) idOf[row] = "adg-" + k;
      if (typeof n !== "string") { blocks[k] = n; index(n[3], row); }
    }
    else if (n[0] === "D") index(n[1], parent);
    else if (n[0] === "S") n[1].forEach(function (i) { index(i, parent); });
    else if (n[0] === "P") { n[1].forEach(function (i) { index(i, parent); }); index(n[2], parent); }
    else if (n[0] === "Y") { for (var i = 1; i < 5; i++) index(n[i], parent); }
  })(D.tree, "");

  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var i = 0; i < attrs.length; i += 2) e.setAttribute(attrs[i], attrs[i + 1]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function num(v) { return String(Math.round(v * 100) / 100); }
  function pathData(points) {
    return points.map(function (p, i) { return (i ? "L" : "M") + num(p[0]) + " " + num(p[1]); }).join("");
  }
  function toggle(x, y, plus, parent) {
    var h = C.TOGGLE / 2, g = el("g", ["class", "tgl", "transform", "translate(" + x + "," + y + ")", "role", "button",
                                        "tabindex", "0", "aria-label", plus ? "unfold" : "fold"], parent);
    el("rect", ["width", C.TOGGLE, "height", C.TOGGLE, "rx", "2"], g);
    el("path", ["d", "M3 " + h + "H" + (C.TOGGLE - 3) + (plus ? "M" + h + " 3V" + (C.TOGGLE - 3) : "")], g);
  }
  function boxContent(k, parent) {
    var b = look(k), lay = D.lay[b[0]], shape = lay[0];
    if (shape === "join") {
      var r = b[1] / 2;
      el("circle", ["class", "bx", "cx", num(r), "cy", num(r), "r", num(r), "fill", b[3]], parent);
    } else {
      el("rect", ["class", "bx", "width", b[1], "height", b[2], "rx", shape === "chip" ? "9" : "3", "fill", b[3]],
         parent);
    }
    lay[1].forEach(function (t, i) {
      var attrs = ["x", num(t[0]), "y", num(t[1])];
      if (t[3] && t[2] === C.NAME) attrs.push("class", "n");
      else if (!t[3] && t[2] === C.DETAIL) attrs.push("class", "d");
      else { attrs.push("font-size", String(t[2])); if (t[3]) attrs.push("font-weight", "bold"); }
      if (t[4]) attrs.push("text-anchor", "middle");
      el("text", attrs, parent).textContent = b[5][i];
    });
    if (shape === "block") toggle(b[1] - C.PAD_X - C.TOGGLE, C.PAD_Y, true, parent);
  }
  function build(k, parent) {
    var blk = blocks[k];
    var attrs = ["class", blk ? "nd blk" + (open[k] ? " open" : "") : "nd", "id", "adg-" + k];
    if (rowOf[k]) attrs.push("data-row", rowOf[k]);
    var g = el("g", attrs.concat(["transform", "translate(0,0)"]), parent);
    if (!blk) { boxContent(k, g); return g; }
    boxContent(k, el("g", ["class", "fold"], g));
    if (open[k]) buildOpen(k, g);
    return g;
  }
  function buildOpen(k, g) {
    var o = el("g", ["class", "open"], g);
    el("rect", ["class", "frame", "width", "0", "height", "0", "rx", "4"], o);
    toggle(C.PAD, Math.floor((C.HEAD - C.TOGGLE) / 2), false, o);
    el("text", ["class", "lbl", "x", "0", "y", String(C.LABEL_Y)], o).textContent = look(k)[6];
    var body = el("g", ["class", "body", "transform", "translate(0,0)"], o);
    el("g", ["class", "edges"], body);
    return o;
  }
  function child(g, cls) {
    for (var c = g.firstElementChild; c; c = c.nextElementSibling) if (c.classList.contains(cls)) return c;
    return null;
  }
  function drawEdges(group, edges) {
    while (group.firstChild) group.removeChild(group.firstChild);
    edges.forEach(function (e) { el("path", ["class", e[1] ? "e a" : "e", "d", pathData(e[0])], group); });
  }
  function fill(container, body, geo) {  // place (building where missing) the nodes of a visible container
    drawEdges(child(body, "edges"), geo.edges[container] || []);
    (geo.parts[container] || []).forEach(function (p) {
      var k = p[0], g = document.getElementById("adg-" + k);
      if (!g) g = build(k, body);
      g.setAttribute("transform", "translate(" + p[1] + "," + p[2] + ")");
      if (!blocks[k] || !open[k]) return;
      var o = child(g, "open") || buildOpen(k, g), f = geo.frame[k], inner = child(o, "body");
      var frame = child(o, "frame");
      frame.setAttribute("width", f[0]); frame.setAttribute("height", f[1]);
      o.querySelector("text.lbl").setAttribute("x", f[2] + C.LABEL_GAP);
      inner.setAttribute("transform", "translate(" + geo.body[k][0] + "," + geo.body[k][1] + ")");
      fill(k, inner, geo);
    });
  }
  function redraw() {
    var geo = layout();
    fill("root", svg.querySelector("g.net"), geo);
    var w = Math.max(D.hw, geo.width) + 2 * D.m, h = D.hh + geo.height + 2 * D.m;
    svg.setAttribute("width", w); svg.setAttribute("height", h); svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    return geo;
  }
  function setOpen(k, state) {
    if (state) open[k] = true; else delete open[k];
    var g = document.getElementById("adg-" + k);
    if (g) g.classList.toggle("open", state);
    redraw();
  }

  // ------------------------------------------------------------ highlighting: boxes <-> table rows
  function visible(g) {  // no folded block around it (its .open part hidden) and not a folded box of an open one
    for (var e = g; e && e !== svg; e = e.parentNode) {
      var isOpen = e.parentNode.classList.contains("open");
      if (e.classList.contains("fold") && isOpen) return false;
      if (e.classList.contains("open") && !e.classList.contains("nd") && !isOpen) return false;
    }
    return true;
  }
  function prefixes(name) {
    var parts = name.split("."), out = [];
    for (var i = parts.length; i > 0; i--) out.push(parts.slice(0, i).join("."));
    return out;
  }
  function rowsFor(name) {  // the table rows of a box: its own, its layers', else its nearest block's
    var out = [];
    document.querySelectorAll("table.archcalc").forEach(function (table) {
      var rows = Array.prototype.filter.call(table.querySelectorAll("tbody tr[data-row]"), function (tr) {
        var r = tr.getAttribute("data-row");
        return r === name || r.indexOf(name + ".") === 0;
      });
      if (!rows.length) {
        var all = table.querySelectorAll("tbody tr[data-row]"), names = {};
        all.forEach(function (tr) { names[tr.getAttribute("data-row")] = tr; });
        var hit = prefixes(name).filter(function (p) { return names[p]; })[0];
        if (hit) rows = [names[hit]];
      }
      out = out.concat(rows);
    });
    return out;
  }
  function boxFor(name) {  // the drawn box of a row, else of its nearest visible block
    var found = null;
    svg.querySelectorAll("g.nd[data-row]").forEach(function (g) {
      if (found === null && g.getAttribute("data-row") === name && visible(g)) found = g;
    });
    if (found) return found;
    var ps = prefixes(name).slice(1);
    for (var i = 0; i < ps.length; i++) {
      var g = document.getElementById(idOf[ps[i]]);
      if (g && visible(g)) return g;
    }
    return null;
  }
  function target(g) {  // the drawn shape of a node: its box, or its frame when unfolded
    if (!g) return null;
    if (g.classList.contains("open")) return child(g, "open");
    return child(g, "fold") || g;
  }
  function mark(cls, g, rows) {
    document.querySelectorAll("." + cls).forEach(function (e) { e.classList.remove(cls); });
    var t = target(g);
    if (t) t.classList.add(cls);
    rows.forEach(function (tr) { tr.classList.add(cls); });
  }
  function nodeOf(e) {
    var g = e.target.closest ? e.target.closest("g.nd") : null;
    return g && svg.contains(g) ? g : null;
  }
  svg.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target.closest("g.tgl") : null, g = nodeOf(e);
    if (t && g) { setOpen(g.id.slice(4), !g.classList.contains("open")); e.stopPropagation(); return; }
    if (!g) { mark("sel", null, []); return; }
    mark("sel", g, rowsFor(g.getAttribute("data-row") || ""));
  });
  svg.addEventListener("keydown", function (e) {
    var t = e.target.closest ? e.target.closest("g.tgl") : null, g = nodeOf(e);
    if (t && g && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault(); setOpen(g.id.slice(4), !g.classList.contains("open"));
    }
  });
  svg.addEventListener("mouseover", function (e) {
    var g = nodeOf(e);
    mark("hl", g, g ? rowsFor(g.getAttribute("data-row") || "") : []);
  });
  svg.addEventListener("mouseleave", function () { mark("hl", null, []); });
  document.querySelectorAll("table.archcalc tbody tr[data-row]").forEach(function (tr) {
    tr.addEventListener("mouseenter", function () { mark("hl", boxFor(tr.getAttribute("data-row")), [tr]); });
    tr.addEventListener("mouseleave", function () { mark("hl", null, []); });
    tr.addEventListener("click", function () { mark("sel", boxFor(tr.getAttribute("data-row")), [tr]); });
  });
  window.archcalcDiagram = {layout: layout, redraw: redraw, setOpen: setOpen, rowsFor: rowsFor, boxFor: boxFor};
})();
"""
