(function () {
  "use strict";
  var VZH = {pass: "通过", fix: "需整改", review: "需人工复核", reject: "建议驳回"};
  var SZH = {queued: "排队中", running: "扫描中", done: "完成", failed: "失败", stale: "待重新评估"};
  var H = {"X-Apkscan-UI": "1"};
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function badge(s) {
    var v = s.status === "done" ? s.verdict : s.status;
    var zh = s.status === "done" ? (VZH[v] || "") : (SZH[v] || "");
    var b = el("span", "v v-" + v, v + " " + zh);
    b.setAttribute("data-verdict", v);
    return b;
  }
  function getJSON(url) {
    return fetch(url, {headers: H, credentials: "same-origin"}).then(function (r) {
      return r.json().then(function (j) { j._http = r.status; return j; });
    });
  }
  var page = document.body.getAttribute("data-page");

  if (page === "upload") {
    var input = document.getElementById("files");
    var drop = document.getElementById("drop");
    var list = document.getElementById("uploads");
    var show = function (li, s) {
      var st = li.querySelector(".state");
      st.textContent = "";
      li.setAttribute("data-status", s.status);
      st.appendChild(badge(s));
      if (s.status === "done" && s.verdict_reason) {
        st.appendChild(el("span", "reason", " " + (s.verdict_reason.en || "")));
        st.appendChild(el("span", "zh", " " + (s.verdict_reason.zh || "")));
      }
      if (s.status === "failed") { st.appendChild(el("span", "err", " " + (s.error || ""))); }
      if (s.duplicate) { st.appendChild(el("span", "muted", " (already scanned 已扫描)")); }
      var a = li.querySelector("a.open");
      if (!a && s.ui) {
        a = el("a", "open", "report 报告");
        a.href = s.ui;
        li.appendChild(a);
      }
    };
    var poll = function (li, s) {
      show(li, s);
      if (s.status === "queued" || s.status === "running") {
        getJSON("/api/v1/scans/" + encodeURIComponent(s.id) + "?wait=20").then(function (n) {
          n.duplicate = s.duplicate;
          poll(li, n);
        }, function () { setTimeout(function () { poll(li, s); }, 2000); });
      }
    };
    var send = function (file) {
      var li = el("li");
      li.appendChild(el("span", "name", file.name));
      var prog = el("progress");
      prog.max = 1;
      prog.value = 0;
      li.appendChild(prog);
      var st = el("span", "state", "uploading 上传中");
      li.appendChild(st);
      list.appendChild(li);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/v1/scans?filename=" + encodeURIComponent(file.name));
      xhr.setRequestHeader("X-Apkscan-UI", "1");
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) { prog.value = e.loaded / e.total; } };
      xhr.onload = function () {
        var j = {};
        try { j = JSON.parse(xhr.responseText); } catch (e) { j = {error: "bad response"}; }
        prog.value = 1;
        if (xhr.status >= 400) {
          li.setAttribute("data-status", "error");
          st.textContent = "";
          st.appendChild(el("span", "err", "HTTP " + xhr.status + ": " + (j.error || "")));
          return;
        }
        poll(li, j);
      };
      xhr.onerror = function () {
        li.setAttribute("data-status", "error");
        st.textContent = "upload failed 上传失败";
      };
      xhr.send(file);
    };
    var sendAll = function (files) { for (var i = 0; i < files.length; i++) { send(files[i]); } };
    input.addEventListener("change", function () { sendAll(input.files); input.value = ""; });
    drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      drop.classList.remove("over");
      if (e.dataTransfer && e.dataTransfer.files) { sendAll(e.dataTransfer.files); }
    });
  }

  if (page === "queue") {
    var body = document.getElementById("jobs");
    var summary = document.getElementById("summary");
    var refresh = function () {
      getJSON("/api/v1/jobs?limit=200").then(function (j) {
        summary.textContent = (j.queued || 0) + " queued 排队, " + (j.running || 0) + " running 扫描中";
        body.textContent = "";
        (j.jobs || []).forEach(function (job) {
          var tr = el("tr");
          tr.setAttribute("data-sha", job.sha256);
          tr.appendChild(el("td", "", job.queue_position || ""));
          var td = el("td");
          var a = el("a", "", job.filename || job.sha256.slice(0, 16));
          a.href = "/ui/scans/" + job.sha256;
          td.appendChild(a);
          tr.appendChild(td);
          var s = {status: job.status, verdict: job.verdict};
          var tds = el("td");
          tds.appendChild(badge({status: job.status === "done" ? "queued" : job.status}));
          tds.firstChild.textContent = job.status + " " + (SZH[job.status] || "");
          tr.appendChild(tds);
          var tdv = el("td");
          if (job.status === "done") { tdv.appendChild(badge(s)); }
          tr.appendChild(tdv);
          tr.appendChild(el("td", "", job.submitted_at || ""));
          var t = job.timings || {};
          tr.appendChild(el("td", "", t.total_s !== undefined ? t.total_s + " s" : ""));
          body.appendChild(tr);
        });
      }).finally(function () { setTimeout(refresh, 2000); });
    };
    refresh();
  }

  if (page === "scan") {
    var card = document.getElementById("scan");
    var status = card.getAttribute("data-status");
    if (status === "queued" || status === "running") {
      getJSON("/api/v1/scans/" + card.getAttribute("data-sha") + "?wait=20").then(function () {
        window.location.reload();
      }, function () { setTimeout(function () { window.location.reload(); }, 3000); });
    }
  }
})();
