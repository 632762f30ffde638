(function () {
  "use strict";
  // The batch dashboard: filters the app table and the cluster graph, sorts the table.
  // Reads only the DOM (data-* attributes); no data is embedded in this script.
  var doc = document;
  doc.documentElement.className += " js";
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }
  function lower(s) { return (s || "").toLowerCase(); }

  var table = doc.getElementById("apps");
  var body = table ? table.tBodies[0] : null;
  var q = doc.getElementById("q");
  var vf = doc.getElementById("vf");
  var shown = doc.getElementById("shown");
  var graph = doc.getElementById("graph");
  var kindBoxes = doc.querySelectorAll("#g-kinds input[type=checkbox]");
  var selected = "";

  function kindsOn() {
    var on = {};
    each(kindBoxes, function (b) { on[b.value] = b.checked; });
    return on;
  }

  function appMatches(el, text, verdict) {
    return (!verdict || el.getAttribute("data-verdict") === verdict) &&
      (!text || lower(el.getAttribute("data-search")).indexOf(text) !== -1);
  }

  function apply() {
    var text = lower(q ? q.value : "");
    var verdict = vf ? vf.value : "";
    var n = 0;
    if (body) {
      each(body.rows, function (r) {
        var ok = appMatches(r, text, verdict);
        r.hidden = !ok;
        if (ok) { n++; }
      });
    }
    if (shown) { shown.textContent = n + " / " + (body ? body.rows.length : 0); }
    if (!graph) { return; }
    var on = kindsOn();
    var linked = {};
    each(graph.querySelectorAll(".key"), function (k) {
      var vis = on[k.getAttribute("data-kind")] !== false;
      k.setAttribute("data-off", vis ? "0" : "1");
    });
    each(graph.querySelectorAll(".edge"), function (e) {
      var vis = on[e.getAttribute("data-kind")] !== false;
      e.setAttribute("data-off", vis ? "0" : "1");
      if (vis) { linked[e.getAttribute("data-app")] = true; }
    });
    var hit = 0;
    each(graph.querySelectorAll(".app"), function (a) {
      var id = a.getAttribute("data-id");
      var off = !linked[id];
      var match = appMatches(a, text, verdict);
      var inSel = !selected || (" " + a.getAttribute("data-keys") + " ").indexOf(" " + selected + " ") !== -1;
      a.setAttribute("data-off", off ? "1" : "0");
      a.setAttribute("data-dim", match && inSel ? "0" : "1");
      if (!off && match && inSel) { hit++; }
    });
    each(graph.querySelectorAll(".key"), function (k) {
      k.setAttribute("data-sel", k.getAttribute("data-id") === selected ? "1" : "0");
    });
    var gc = doc.getElementById("g-count");
    if (gc) { gc.textContent = String(hit); }
  }

  function cell(row, i) {
    var c = row.cells[i];
    return c.hasAttribute("data-sort") ? c.getAttribute("data-sort") : c.textContent;
  }
  if (table) {
    var ths = table.tHead.rows[0].cells;
    each(ths, function (th, i) {
      th.addEventListener("click", function () {
        var asc = !th.classList.contains("sorted-asc");
        var num = th.getAttribute("data-type") === "num";
        each(ths, function (t) { t.classList.remove("sorted-asc", "sorted-desc"); });
        th.classList.add(asc ? "sorted-asc" : "sorted-desc");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cell(a, i), y = cell(b, i);
          if (num) { x = parseFloat(x) || 0; y = parseFloat(y) || 0; return asc ? x - y : y - x; }
          return asc ? x.localeCompare(y) : y.localeCompare(x);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  if (graph) {
    each(graph.querySelectorAll(".key"), function (k) {
      function toggle() {
        var id = k.getAttribute("data-id");
        selected = selected === id ? "" : id;
        apply();
      }
      k.addEventListener("click", toggle);
      k.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(); }
      });
    });
  }
  each(kindBoxes, function (b) { b.addEventListener("change", apply); });
  // a frequent finding, an SDK or a category: show the apps that have it
  each(doc.querySelectorAll("[data-filter]"), function (el) {
    el.addEventListener("click", function () {
      if (q) { q.value = el.getAttribute("data-filter"); }
      apply();
      var target = doc.getElementById("apps-section");
      if (target && target.scrollIntoView) { target.scrollIntoView(); }
    });
  });
  each(doc.querySelectorAll("[data-only-verdict]"), function (a) {
    a.addEventListener("click", function () {
      if (vf) { vf.value = a.getAttribute("data-only-verdict"); }
      apply();
    });
  });
  var reset = doc.getElementById("g-reset");
  if (reset) {
    reset.addEventListener("click", function () {
      selected = "";
      if (q) { q.value = ""; }
      if (vf) { vf.value = ""; }
      each(kindBoxes, function (b) { b.checked = true; });
      apply();
    });
  }
  if (q) { q.addEventListener("input", apply); }
  if (vf) { vf.addEventListener("change", apply); }
  var bar = doc.getElementById("filterbar");
  if (bar) { bar.hidden = false; }
  apply();
})();
