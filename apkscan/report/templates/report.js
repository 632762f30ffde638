(function () {
  "use strict";
  /* Filter, sort and tabs for the findings. It only hides and reorders elements that are
     already on the page (it never creates markup from data), so with JavaScript off the
     whole report is simply shown. */
  var doc = document;
  var bar = doc.getElementById("filterbar");
  if (!bar) { return; }
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var sevBoxes = bar.querySelectorAll("input[name=sev]");
  var catSel = doc.getElementById("f-category");
  var search = doc.getElementById("f-search");
  var sortSel = doc.getElementById("f-sort");
  var counter = doc.getElementById("f-count");
  var findings = doc.querySelectorAll("#view-category .finding");
  var mirrors = doc.querySelectorAll("[data-mirror]");
  var groups = doc.querySelectorAll("[data-group]");
  var views = { category: doc.getElementById("view-category"), reference: doc.getElementById("view-reference") };
  var tabs = bar.querySelectorAll("button[data-view]");

  function apply() {
    var allowed = {};
    each(sevBoxes, function (b) { allowed[b.value] = b.checked; });
    var cat = catSel.value;
    var text = search.value.trim().toLowerCase();
    var shown = 0;
    each(findings, function (el) {
      var ok = allowed[el.getAttribute("data-severity")] === true &&
        (!cat || el.getAttribute("data-category") === cat) &&
        (!text || el.textContent.toLowerCase().indexOf(text) !== -1);
      el.hidden = !ok;
      if (ok) { shown += 1; }
    });
    each(mirrors, function (el) {
      var target = doc.getElementById(el.getAttribute("data-mirror"));
      el.hidden = !target || target.hidden;
    });
    each(groups, function (g) {
      g.hidden = g.querySelector("[data-rank]:not([hidden])") === null;
    });
    counter.textContent = shown + " / " + findings.length;
    doc.body.setAttribute("data-shown", String(shown));
  }

  function key(el, how) {
    var rank = 9 - Number(el.getAttribute("data-rank"));
    var rule = el.getAttribute("data-rule") || "";
    if (how === "rule") { return rule; }
    return rank + "\u0000" + (el.getAttribute("data-category") || "") + "\u0000" + rule;
  }

  function sortChildren(container, selector, keyOf) {
    var items = Array.prototype.filter.call(container.children, function (c) { return c.matches(selector); });
    items.sort(function (a, b) {
      var ka = keyOf(a), kb = keyOf(b);
      return ka < kb ? -1 : ka > kb ? 1 : Number(a.getAttribute("data-order")) - Number(b.getAttribute("data-order"));
    });
    each(items, function (c) { container.appendChild(c); });
  }

  function sort() {
    var how = sortSel.value;
    each(doc.querySelectorAll("[data-sortable]"), function (list) {
      sortChildren(list, "[data-rank]", function (el) { return key(el, how); });
    });
    each([views.category, views.reference], function (view) {
      if (!view) { return; }
      sortChildren(view, "[data-group]", function (g) {
        if (how === "severity") { return (9 - Number(g.getAttribute("data-top"))) + "\u0000" + g.getAttribute("data-order").padStart(6, "0"); }
        return g.getAttribute("data-key") || "\uffff";
      });
    });
  }

  function show(name) {
    each(tabs, function (t) {
      var on = t.getAttribute("data-view") === name;
      t.setAttribute("aria-selected", on ? "true" : "false");
      if (views[t.getAttribute("data-view")]) { views[t.getAttribute("data-view")].hidden = !on; }
    });
  }

  each(sevBoxes, function (b) { b.addEventListener("change", apply); });
  catSel.addEventListener("change", apply);
  search.addEventListener("input", apply);
  sortSel.addEventListener("change", function () { sort(); apply(); });
  each(tabs, function (t) { t.addEventListener("click", function () { show(t.getAttribute("data-view")); }); });
  doc.getElementById("f-reset").addEventListener("click", function () {
    each(sevBoxes, function (b) { b.checked = true; });
    catSel.value = ""; search.value = ""; apply();
  });
  each(doc.querySelectorAll("[data-only-sev]"), function (a) {
    a.addEventListener("click", function () {
      var only = a.getAttribute("data-only-sev");
      each(sevBoxes, function (b) { b.checked = b.value === only; });
      show("category");
      apply();
    });
  });
  doc.getElementById("f-expand").addEventListener("click", function () {
    var open = this.getAttribute("aria-pressed") !== "true";
    this.setAttribute("aria-pressed", open ? "true" : "false");
    each(doc.querySelectorAll("#findings details"), function (d) { d.open = open; });
  });
  window.addEventListener("beforeprint", function () {
    each(doc.querySelectorAll("details"), function (d) { d.open = true; });
    if (views.category) { views.category.hidden = false; }
  });

  bar.hidden = false;
  doc.documentElement.classList.add("js");
  show("category");
  apply();
}());
