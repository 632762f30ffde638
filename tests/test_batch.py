"""``apkscan batch`` and ``apkscan query``: store, resume, re-evaluation, limits, exports, Dask."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from apkscan.batch.exports import csv_safe, csv_text, write_exports
from apkscan.batch.query import open_store, run_query
from apkscan.batch.runner import BatchOptions, BatchSummary, Failure, print_summary, run_batch
from apkscan.batch.store import Store
from apkscan.batch.worker import TEST_HOOK_ENV, generator_ids
from apkscan.cli import app
from apkscan.errors import ExitCode
from apkscan.facts import ApkFacts, Archive, Strings, ZipEntry

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*.apk"))
EXTRA_RULE = """\
rules:
- id: TEST-BATCH-001
  title: Batch test rule (app asks for INTERNET)
  description: Only used by tests/test_batch.py to change the rule-set digest.
  severity: low
  confidence: high
  category: security
  match:
    permission: android.permission.INTERNET
"""


def corpus_dir() -> Path | None:
    env = os.environ.get("APKSCAN_CORPUS")
    p = Path(env) if env else ROOT.parent / "shared" / "corpus"
    return p if p.is_dir() else None


@pytest.fixture()
def inputs(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for s in SAMPLES:
        shutil.copy(s, src / ("sub" if s.name.startswith("m") else "") / s.name)
    (src / "x.apk").write_text("this is not an apk\n")
    (src / "truncated.apk").write_bytes((ROOT / "samples" / "fraud_loan.apk").read_bytes()[:5000])
    (src / "notes.txt").write_text("ignored: not an APK name")
    return src


def run(src: Path, out: Path, **kw: object) -> BatchSummary:
    opts = BatchOptions(source=src, out=out, jobs=int(kw.pop("jobs", 2)), quiet=True, **kw)  # type: ignore[arg-type]
    return run_batch(opts)


def db(out: Path) -> sqlite3.Connection:
    con = sqlite3.connect(out / "apkscan.db")
    con.row_factory = sqlite3.Row
    return con


def findings_by_sha(out: Path) -> dict[str, tuple[str, list[str]]]:
    con = db(out)
    digest = con.execute("SELECT value FROM meta WHERE key = 'rules_digest'").fetchone()[0]
    res = {}
    for r in con.execute("SELECT sha256, verdict FROM results WHERE rules_digest = ?", (digest,)):
        ids = sorted(x[0] for x in con.execute(
            "SELECT rule_id FROM findings WHERE sha256 = ? AND rules_digest = ?", (r[0], digest)))
        res[r[0]] = (r[1], ids)
    return res


@pytest.fixture(scope="module")
def batch_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, BatchSummary]:
    tmp = tmp_path_factory.mktemp("once")
    src = tmp / "in"
    src.mkdir()
    for s in SAMPLES:
        shutil.copy(s, src / s.name)
    (src / "x.apk").write_text("this is not an apk\n")
    (src / "truncated.apk").write_bytes((ROOT / "samples" / "fraud_loan.apk").read_bytes()[:5000])
    out = tmp / "out"
    return src, out, run(src, out)


def test_every_file_has_a_row(batch_once: tuple[Path, Path, BatchSummary]) -> None:
    src, out, summary = batch_once
    assert summary.files == len(SAMPLES) + 2
    assert summary.scanned == len(SAMPLES) and len(summary.failed) == 2
    con = db(out)
    rows = {Path(r["path"]).name: r for r in con.execute("SELECT * FROM apks")}
    assert set(rows) == {p.name for p in src.iterdir()}
    assert rows["x.apk"]["status"] == "failed" and rows["x.apk"]["error"].startswith("not an APK: ")
    assert rows["truncated.apk"]["status"] == "failed"
    assert rows["truncated.apk"]["error"].startswith("broken APK: ")
    for s in SAMPLES:
        r = rows[s.name]
        assert r["status"] == "ok" and r["package"].startswith("org.apkscan.sample.")
        assert r["sha256"] == hashlib.sha256(s.read_bytes()).hexdigest()
        assert r["signer_sha256"] and r["report_stem"]
        assert (out / "reports" / f"{r['report_stem']}.json").is_file()
        assert (out / "reports" / f"{r['report_stem']}.html").is_file()
        facts = con.execute("SELECT data FROM facts WHERE sha256 = ?", (r["sha256"],)).fetchone()
        assert facts is not None and facts[0]
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for name in ("index.html", "apps.csv", "findings.jsonl"):
        assert (out / name).is_file()
    # generator id of the DCloud sample, certificate cluster of the test key
    assert ("dcloud", "__UNI__1A2B3C4") in {(r[0], r[1]) for r in con.execute("SELECT kind, id FROM generator_ids")}
    shared = con.execute("SELECT apps FROM shared_certificates").fetchall()
    assert shared and shared[0][0] >= 4
    # the two builds of the pii sample: one package, one signer (a re-signed build would show two)
    assert [tuple(r) for r in con.execute("SELECT package, apps, signers FROM shared_packages")] == [
        ("org.apkscan.sample.pii", 2, 1)]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'data-kind="package"' in page and "Shared package names" in page


def test_second_run_skips_everything(batch_once: tuple[Path, Path, BatchSummary]) -> None:
    src, out, _ = batch_once
    before = [tuple(r) for r in db(out).execute("SELECT rowid, sha256, scanned_at FROM apks ORDER BY rowid")]
    summary = run(src, out)
    assert summary.scanned == 0 and summary.reevaluated == 0 and not summary.failed
    assert summary.skipped == len(SAMPLES) + 2
    after = [tuple(r) for r in db(out).execute("SELECT rowid, sha256, scanned_at FROM apks ORDER BY rowid")]
    assert before == after


def test_query_answers(batch_once: tuple[Path, Path, BatchSummary]) -> None:
    _, out, _ = batch_once
    store = open_store(out)
    try:
        cols, rows = run_query(store, finding="FR-SHELL-001")
        assert "package" in cols
        assert {r[cols.index("package")] for r in rows} == {"org.apkscan.sample.gambling"}
        cols, rows = run_query(store, sdk="umeng-analytics")
        assert {r[cols.index("package")] for r in rows} == {
            "org.apkscan.sample.pii",
            "org.apkscan.sample.privacygaps",  # the privacy samples imitate Umeng too
            "org.apkscan.sample.privacydefects",
        }
        cols, rows = run_query(store, sdk="all")
        assert "apps" in cols and rows
        cols, rows = run_query(store, shared="cert")
        assert rows and rows[0][cols.index("apps")] >= 4
        cols, rows = run_query(store, sql="SELECT COUNT(*) AS n FROM apks WHERE status = 'failed'")
        assert rows == [(2,)]
    finally:
        store.close()
    runner = CliRunner()
    res = runner.invoke(app, ["query", str(out), "--finding", "FR-SHELL-001", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["package"] == "org.apkscan.sample.gambling"
    res = runner.invoke(app, ["query", str(out), "--shared", "generator", "--format", "csv"])
    assert res.exit_code == 0 and res.output.startswith("kind,id,apps")
    res = runner.invoke(app, ["query", str(out), "--shared", "package", "--format", "csv"])
    assert res.exit_code == 0 and res.output.startswith("package,apps,signers,versions")
    assert "org.apkscan.sample.pii,2,1," in res.output
    res = runner.invoke(app, ["query", str(out), "--sql", "DELETE FROM apks"])
    assert res.exit_code == int(ExitCode.USAGE)
    res = runner.invoke(app, ["query", str(out), "--sql", "SELECT nonsense FROM nowhere"])
    assert res.exit_code == int(ExitCode.USAGE) and "query failed" in res.output


def test_hostile_strings_escaped_and_csv_defused(batch_once: tuple[Path, Path, BatchSummary],
                                                 tmp_path: Path) -> None:
    _, out0, _ = batch_once
    out = tmp_path / "copy"
    out.mkdir()
    shutil.copy(out0 / "apkscan.db", out / "apkscan.db")
    con = sqlite3.connect(out / "apkscan.db")
    with con:
        con.execute("UPDATE apks SET label = '=HYPERLINK(\"http://evil\",\"x\")' "
                    "WHERE package = 'org.apkscan.sample.clean'")
        con.execute("UPDATE apks SET package = '@SUM(1+1)' WHERE package = 'org.apkscan.sample.pii'")
    con.close()
    store = Store(out / "apkscan.db")
    write_exports(store, out)
    store.close()
    cells = [c for row in csv.reader((out / "apps.csv").open(encoding="utf-8")) for c in row]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in cells and "'@SUM(1+1)" in cells
    assert not any(c.startswith(("=", "+", "@", "\t", "\r")) for c in cells)
    assert not any(c.startswith("-") for c in cells)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<svg/onload" not in html
    assert html.count("<script") == 1  # only the table's own sorter
    assert 'src="http' not in html and "<link" not in html  # self-contained, no CDN
    assert csv_safe("-1+2") == "'-1+2" and csv_safe("\tx") == "'\tx" and csv_safe(-3) == -3
    assert csv_text(["a"], [["+1"]]) == "a\r\n'+1\r\n"


APP_ROWS_JINJA = """\
  {% for a in apps %}{% set r = a.row %}{% set v = a.verdict %}
  <tr data-verdict="{{ v }}" data-search="{{ a.search }}"><td data-sort="{{ vrank[v] }}">{{ vbadge(v) }}</td>
  {% for s in severities %}<td class="n{% if r[s] %} s-{{ s }}{% endif %}">{{ r[s] if r[s] is not none else '' }}</td>{% endfor %}
  <td>{% for c in a.categories %}{{ cat_name(c) }}{% if not loop.last %}, {% endif %}{% endfor %}{% if a.main[0] %}<div class="muted small">{{ a.main[0] }} {{ short(a.main[1]) }}</div>{% endif %}</td><td class="mono">{{ r.package or '' }}</td><td class="data">{{ r.label or '' }}</td>
  <td class="data">{{ r.version_name or '' }}</td><td class="mono" title="{{ r.path }}">{{ r.path|basename }}</td>
  <td>{% if a.report %}<a href="{{ a.report }}">{{ _("report") }}</a>{% else %}<span class="muted data">{{ err_text(r.error or '') }}</span>{% endif %}</td></tr>
  {% endfor %}
"""  # noqa: E501
"""The dashboard's app table as a template would render it (the reference for
apkscan.batch.exports.app_rows, which builds the rows in Python for speed)."""


def test_app_rows_equal_the_template_they_replace() -> None:
    from apkscan.batch.exports import OTHER_VERDICTS, SEVERITIES, VRANK, App, _short, _verdict, app_rows
    from apkscan.report.html import _env
    from apkscan.report.i18n import batch_error_text, category_name, ui
    from apkscan.verdict import TEXT

    hostile = "<script>alert(1)</script> \x1b[31m \u202e\"'& =cmd"
    base = {"sha256": "a" * 64, "status": "ok", "verdict": "reject", "critical": 2, "high": 0, "medium": None,
            "low": 1, "info": 0, "package": "p.q", "label": hostile, "version_name": "1&2", "path": f"/x/{hostile}.apk",
            "error": None}
    apps = [
        App(dict(base), ["fraud", "personal-data", hostile], "reports/a<b.html", search=hostile,
            main=("FR-X-001", hostile * 9)),
        App({**base, "verdict": None, "package": None, "label": None, "version_name": None}, [], "reports/x.json"),
        App({**base, "status": "failed", "verdict": None, "critical": None, "error": f"broken APK: {hostile}"}, []),
        App({**base, "verdict": "pass", "package": "", "path": "rel.apk"}, ["security"], ""),
    ]
    for a in apps:
        a.verdict = _verdict(a)
    for lang in ("en", "zh"):
        names = {v: (TEXT.get(v) or OTHER_VERDICTS[v])[1] if lang == "zh" else v for v in VRANK}
        env = _env()
        env.filters.setdefault("basename", lambda p: Path(str(p)).name)
        tpl = env.from_string('{% macro vbadge(v) %}<span class="vb v-{{ v }}">{{ verdict_names[v] }}</span>'
                              "{% endmacro %}\n" + APP_ROWS_JINJA)
        want = tpl.render(apps=apps, vrank=VRANK, verdict_names=names, severities=SEVERITIES, _=ui(lang),
                          cat_name=lambda c, lang=lang: category_name(str(c), lang),
                          short=lambda t: _short(t, 80), err_text=lambda e, lang=lang: batch_error_text(e, lang))
        got = str(app_rows(apps, lang, names))
        assert got == want, lang
        assert "<script>" not in got and "\x1b" not in got and "\u202e" not in got and got.count("<tr ") == 4


GRAPH_JINJA = """\
    <g id="edges">
    {% for e in graph.edges %}<line class="edge" data-kind="{{ e.kind }}" data-app="{{ e.app }}" data-key="{{ e.key }}" x1="{{ e.x1 }}" y1="{{ e.y1 }}" x2="{{ e.x2 }}" y2="{{ e.y2 }}"/>
    {% endfor %}
    </g>
    <g id="keys">
    {% for k in graph.key_nodes %}<g class="key" data-id="{{ k.id }}" data-kind="{{ k.kind }}" data-off="0" data-sel="0" tabindex="0" role="button" aria-label="{{ _(kind_names[k.kind]) }}: {{ k.full }}"><rect x="{{ k.x - 6 }}" y="{{ k.y - 6 }}" width="12" height="12" rx="2"/><text class="data" x="{{ k.x + 9 }}" y="{{ k.y + 4 }}">{{ k.label }}</text><title>{{ _(kind_names[k.kind]) }}: {{ k.full }} ({{ k.n }} {{ _("apps") }})</title></g>
    {% endfor %}
    </g>
    <g id="apps-g">
    {% for a in graph.app_nodes %}<g class="app" data-id="{{ a.id }}" data-verdict="{{ a.verdict }}" data-keys="{{ a.links }}" data-search="{{ a.search }}" data-off="0" data-dim="0"><circle cx="{{ a.x }}" cy="{{ a.y }}" r="{{ a.r }}"/><text class="data" x="{{ a.x + a.r + 3 }}" y="{{ a.y - a.r }}">{{ a.name }}</text><title>{{ a.name }} · {{ a.package }} · {{ verdict_names[a.verdict] }}</title></g>
    {% endfor %}
    </g>
"""  # noqa: E501
"""The cluster graph's elements as the template rendered them before apkscan.batch.exports.graph_rows."""


def test_graph_rows_equal_the_template_they_replace() -> None:
    from apkscan.batch.exports import KIND_NAMES, OTHER_VERDICTS, VRANK, graph_rows
    from apkscan.report.html import _env
    from apkscan.report.i18n import ui
    from apkscan.verdict import TEXT

    hostile = "<svg/onload=alert(1)> \x1b[31m \u202e\"'& 支付"
    graph = {
        "edges": [{"kind": "domain", "app": "a0", "key": "k0", "x1": 10.0, "y1": 20.5, "x2": -3.25, "y2": 1e-7},
                  {"kind": "certificate", "app": "a1", "key": "k1", "x1": 1, "y1": 2, "x2": 3, "y2": 4}],
        "key_nodes": [{"id": "k0", "kind": "domain", "x": 100.5, "y": 7, "label": hostile, "full": hostile, "n": 3},
                      {"id": "k1", "kind": "generator", "x": 0.1, "y": 0.2, "label": "", "full": "x", "n": 1}],
        "app_nodes": [{"id": "a0", "x": 33.3, "y": 44.4, "r": 7, "verdict": "reject", "name": hostile,
                       "package": hostile, "links": "k0 k1", "search": hostile * 3},
                      {"id": "a1", "x": 1.0, "y": 2.0, "r": 5, "verdict": "failed", "name": "n", "package": "",
                       "links": "", "search": ""}],
    }
    for lang in ("en", "zh"):
        names = {v: (TEXT.get(v) or OTHER_VERDICTS[v])[1] if lang == "zh" else v for v in VRANK}
        want = _env().from_string(GRAPH_JINJA).render(graph=graph, kind_names=KIND_NAMES, verdict_names=names,
                                                     _=ui(lang))
        rows = graph_rows(graph, lang, names)
        got = (f'    <g id="edges">\n{rows["graph_edges"]}    </g>\n    <g id="keys">\n{rows["graph_keys"]}    </g>\n'
               f'    <g id="apps-g">\n{rows["graph_apps"]}    </g>\n')
        assert got == want, lang
        assert "<svg/" not in got and "\x1b" not in got and "\u202e" not in got


def test_summary_strips_control_characters() -> None:
    console = Console(record=True, width=200, force_terminal=False)
    s = BatchSummary(files=1, unique=1, failed=[Failure("/x/\x1b[31mevil.apk", "not-apk",
                                                        "not an APK: \x1b]0;pwned\x07 text")])
    print_summary(console, s)
    text = console.export_text()
    assert "\x1b" not in text and "\x07" not in text and "1 failed" in text


def _wait_for_results(out: Path, n: int, proc: subprocess.Popen[bytes], seconds: float = 90) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert proc.poll() is None, "the batch ended before it could be killed"
        try:
            con = sqlite3.connect(out / "apkscan.db", timeout=5)
            got = con.execute("SELECT COUNT(*) FROM apks").fetchone()[0]
            con.close()
            if got >= n:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    raise AssertionError("no results committed in time")


def test_killed_run_resumes(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = dict(os.environ, **{TEST_HOOK_ENV: "sleep:.apk:1.5"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "apkscan", "batch", str(inputs), "-o", str(out), "-j", "1", "-q"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        _wait_for_results(out, 2, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    con = db(out)
    done = {r["sha256"]: (r["rowid"], r["scanned_at"]) for r in con.execute("SELECT rowid, * FROM apks")}
    facts_done = {r[0]: r[1] for r in con.execute("SELECT sha256, rowid FROM facts")}
    con.close()
    assert 2 <= len(done) < len(SAMPLES) + 2
    summary = run(inputs, out)
    assert summary.skipped == len(done)
    assert summary.scanned + len(summary.failed) == len(SAMPLES) + 2 - len(done)
    con = db(out)
    after = {r["sha256"]: (r["rowid"], r["scanned_at"]) for r in con.execute("SELECT rowid, * FROM apks")}
    assert len(after) == len(SAMPLES) + 2
    for sha, stamp in done.items():
        assert after[sha] == stamp
    for sha, rowid in facts_done.items():
        assert con.execute("SELECT rowid FROM facts WHERE sha256 = ?", (sha,)).fetchone()[0] == rowid


def test_rule_change_reevaluates_without_reextracting(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run(inputs, out)
    con = db(out)
    facts_before = {r[0]: (r[1], r[2], hashlib.sha256(r[3]).hexdigest())
                    for r in con.execute("SELECT sha256, rowid, extracted_at, data FROM facts")}
    scanned_before = {r[0]: r[1] for r in con.execute("SELECT sha256, scanned_at FROM apks")}
    con.close()
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "extra.yaml").write_text(EXTRA_RULE, encoding="utf-8")
    second = run(inputs, out, rule_dirs=[rules])
    assert second.rules_digest != first.rules_digest
    assert second.scanned == 0 and second.reevaluated == len(SAMPLES) and second.yara_stale == 0
    assert second.skipped == 2  # the two broken files failed before
    con = db(out)
    facts_after = {r[0]: (r[1], r[2], hashlib.sha256(r[3]).hexdigest())
                   for r in con.execute("SELECT sha256, rowid, extracted_at, data FROM facts")}
    assert facts_after == facts_before
    assert {r[0]: r[1] for r in con.execute("SELECT sha256, scanned_at FROM apks")} == scanned_before
    hits = {r[0] for r in con.execute("SELECT sha256 FROM findings WHERE rule_id = 'TEST-BATCH-001' "
                                      "AND rules_digest = ?", (second.rules_digest,))}
    assert hits and all(
        con.execute("SELECT 1 FROM results WHERE sha256 = ? AND rules_digest = ?", (h, first.rules_digest)).fetchone()
        for h in hits)
    assert not con.execute("SELECT 1 FROM findings WHERE rule_id = 'TEST-BATCH-001' AND rules_digest = ?",
                           (first.rules_digest,)).fetchone()
    assert con.execute("SELECT value FROM meta WHERE key = 'rules_digest'").fetchone()[0] == second.rules_digest
    # the views follow the current digest
    view = con.execute("SELECT COUNT(*) FROM apps_with_finding WHERE rule_id = 'TEST-BATCH-001'").fetchone()[0]
    assert view == len(hits)
    assert "TEST-BATCH-001" in (out / "findings.jsonl").read_text(encoding="utf-8")
    # a third run with the same rules does nothing
    third = run(inputs, out, rule_dirs=[rules])
    assert third.scanned == third.reevaluated == 0 and third.skipped == len(SAMPLES) + 2


def test_facts_from_an_older_reader_are_read_again(inputs: Path, tmp_path: Path) -> None:
    # Facts stored before the reader recorded static field reads lack them: a rule change
    # reads those APKs again instead of judging them on less than a scan would see.
    out = tmp_path / "out"
    run(inputs, out)
    con = db(out)
    old = con.execute("SELECT sha256 FROM facts ORDER BY sha256 LIMIT 2").fetchall()
    with con:
        con.executemany("UPDATE facts SET tool_version = '0.1.0' WHERE sha256 = ?", old)
    con.close()
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "extra.yaml").write_text(EXTRA_RULE, encoding="utf-8")
    second = run(inputs, out, rule_dirs=[rules])
    assert second.refreshed == second.scanned == 2 and second.reevaluated == len(SAMPLES) - 2
    con = db(out)
    from apkscan.facts import FACTS_READER

    assert all(str(v).endswith(f" facts/{FACTS_READER}") for (v,) in con.execute("SELECT tool_version FROM facts"))
    con.close()


def test_timeout_and_memory_limit_recorded(inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_HOOK_ENV, "sleep:gambling:60;alloc:clean:2048")
    out = tmp_path / "out"
    t0 = time.monotonic()
    summary = run(inputs, out, timeout_s=3.0)
    assert time.monotonic() - t0 < 40
    reasons = {Path(f.path).name: f.reason for f in summary.failed}
    assert reasons["gambling.apk"] == "timeout after 3 s"
    assert reasons["clean.apk"] == "memory limit 2048 MB exceeded"
    assert summary.scanned == len(SAMPLES) - 2
    con = db(out)
    row = con.execute("SELECT status, error_kind, error FROM apks WHERE path LIKE '%gambling.apk'").fetchone()
    assert tuple(row) == ("failed", "timeout", "timeout after 3 s")
    # failed APKs are skipped next time unless --retry-failed
    monkeypatch.delenv(TEST_HOOK_ENV)
    again = run(inputs, out)
    assert again.scanned == 0 and again.skipped_failed == 4
    retry = run(inputs, out, retry_failed=True)
    assert retry.scanned == 2 and len(retry.failed) == 2


def test_split_bundles(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    with zipfile.ZipFile(src / "loan.apks", "w") as z:
        z.write(ROOT / "samples" / "clean.apk", "splits/config.en.apk")
        z.write(ROOT / "samples" / "fraud_loan.apk", "splits/base-master.apk")
        z.writestr("toc.pb", b"\x00")
    with zipfile.ZipFile(src / "dice.xapk", "w") as z:
        z.writestr("manifest.json", '{"package_name": "org.apkscan.sample.gambling"}')
        z.write(ROOT / "samples" / "gambling.apk", "org.apkscan.sample.gambling.apk")
        z.writestr("config.arm64_v8a.apk", b"PK\x05\x06" + b"\x00" * 18)
    with zipfile.ZipFile(src / "empty.xapk", "w") as z:
        z.writestr("icon.png", b"\x89PNG")
    out = tmp_path / "out"
    summary = run(src, out)
    assert summary.scanned == 2 and len(summary.failed) == 1
    con = db(out)
    rows = {Path(r["path"]).name: r for r in con.execute("SELECT * FROM apks")}
    loan = rows["loan.apks"]
    assert loan["kind"] == "apks" and loan["base_entry"] == "splits/base-master.apk"
    assert loan["package"] == "org.apkscan.sample.fraudloan"
    assert json.loads(loan["splits"]) == ["splits/config.en.apk"]
    assert loan["inner_sha256"] == hashlib.sha256((ROOT / "samples" / "fraud_loan.apk").read_bytes()).hexdigest()
    dice = rows["dice.xapk"]
    assert dice["kind"] == "xapk" and dice["package"] == "org.apkscan.sample.gambling"
    assert json.loads(dice["splits"]) == ["config.arm64_v8a.apk"]
    assert rows["empty.xapk"]["error"].startswith("not an APK: ")


def test_store_checkpoints_in_the_background(tmp_path: Path) -> None:
    """After a large write the WAL is copied into the database file by a second connection
    while the store stays open and usable; close() waits for it and nothing is lost."""
    store = Store(tmp_path / "apkscan.db")
    db_file = tmp_path / "apkscan.db"
    store.db.execute("PRAGMA wal_autocheckpoint = 0")  # only the background copy moves pages
    before = db_file.stat().st_size
    with store.db:
        store.db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                             [(f"k{i}", "x" * 2000) for i in range(2000)])  # ~4 MB
    assert db_file.stat().st_size == before  # still in the WAL
    store.checkpoint_in_background()
    assert store._checkpointer is not None
    store._checkpointer.join(30)
    assert db_file.stat().st_size > before + 3_000_000  # copied while the store is open
    store.set_meta("after", "1")  # the store goes on writing
    store.checkpoint_in_background()
    store.close()
    con = sqlite3.connect(db_file)
    assert con.execute("SELECT COUNT(*), MAX(length(value)) FROM meta WHERE key LIKE 'k%'").fetchone() == (2000, 2000)
    assert con.execute("SELECT value FROM meta WHERE key = 'after'").fetchone() == ("1",)
    con.close()


def test_generator_ids_from_facts() -> None:
    facts = ApkFacts(
        file_name="a.apk", size=1, sha256="0" * 64,
        archive=Archive(entries=(ZipEntry("assets/apps/__UNI__ABCDEF1/www/manifest.json", 1, 1, 8, 0, 0, "text"),)),
        strings=Strings(assets=(
            ("assets/widget/config.xml", '<?xml version="1.0"?><widget id="A6012345678901" version="1.0">'),
            ("assets/data/dcloud_control.xml", '<hbuilder><apps><app appid="__UNI__1234567" /></apps></hbuilder>'),
        )),
    )
    got = {(k, i) for k, i, _ in generator_ids(facts)}
    assert got == {("dcloud", "__UNI__ABCDEF1"), ("dcloud", "__UNI__1234567"), ("apicloud", "A6012345678901")}


def test_stored_facts_read_back_in_both_formats(sample_results) -> None:  # type: ignore[no-untyped-def]
    """Facts are stored as ASCII JSON with the dex pairs as base64 of their flat array;
    stores written before (UTF-8 JSON, a list per pair) read back to the same facts."""
    import zlib

    from apkscan.batch.worker import compress_facts, decompress_facts
    from apkscan.facts import Pairs

    emoji = "\U0001f600 支付 \ud800"  # astral, CJK and a lone surrogate survive the ASCII text
    checked = 0
    for result in sample_results.values():
        facts = result.facts
        facts = replace(facts, strings=replace(facts.strings, urls=(*facts.strings.urls, ("x", emoji))))
        blob, raw_size = compress_facts(facts)
        raw = zlib.decompress(blob)
        assert len(raw) == raw_size and raw.isascii()
        doc = json.loads(raw)
        assert all(isinstance(d[k], str) for d in doc["dex"] for k in ("calls", "const_strings", "field_reads"))
        assert decompress_facts(blob) == facts
        for d, dex in zip(doc["dex"], facts.dex, strict=True):  # the earlier format
            for k in ("calls", "const_strings", "field_reads"):
                d[k] = [list(p) for p in getattr(dex, k)]
        old = zlib.compress(json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        assert decompress_facts(old) == facts
        checked += sum(len(d.calls) for d in facts.dex)
    assert checked > 0
    from apkscan.facts import Strings
    from apkscan.serial import from_dict

    # a fixed-size tuple keeps its declared items, as it always did
    assert from_dict(Strings, {"resources": [["a", "b", "c", "extra"]]}).resources == (("a", "b", "c"),)
    pairs = Pairs.of([(0, 1), (2**32 - 1, 7)])
    assert Pairs.from_bytes(pairs.to_bytes()) == pairs and len(pairs.to_bytes()) == 16
    with pytest.raises(ValueError):
        Pairs.from_bytes(b"\0" * 12)


def test_findings_lines_cut_without_decoding_equal_the_decoded_ones() -> None:
    """findings.jsonl cuts an app's stored findings at ``}, {"rule_id": `` instead of
    decoding them: text in the evidence that looks like a boundary never cuts, and where
    the cut does not give the app's number of findings the lines are decoded as before."""
    from apkscan.batch.exports import _ENCODE, _split_lines
    from apkscan.model import Evidence, Finding, Severity
    from apkscan.serial import to_jsonable

    tricky = ['}, {"rule_id": "X"}', '"}, {"rule_id": ', "a\nb\r", '\\"}, {', "支付 \U0001f600 \u2028", "}]"]
    findings = [
        Finding(rule_id=f"R-{i}", title=t, severity=Severity.HIGH, confidence="high", category="fraud",
                description=t, evidence=(Evidence("string", t, file=t), Evidence("api", "x")), tags=(t,))
        for i, t in enumerate(tricky)
    ]
    head = _ENCODE({"sha256": "a" * 64, "package": 'p"}, {', "version_name": None, "path": "/x\n.apk",
                    "rules_digest": "sha256:d"})[:-1]
    for n in range(len(findings) + 1):
        items = to_jsonable(findings[:n])
        text = json.dumps(items, ensure_ascii=False)  # as the store writes it
        want = "".join(json.dumps({"sha256": "a" * 64, "package": 'p"}, {', "version_name": None, "path": "/x\n.apk",
                                   "rules_digest": "sha256:d", **f}, ensure_ascii=False) + "\n" for f in items)
        assert _split_lines(head, text, n) == want
        assert [json.loads(line)["rule_id"] for line in want.split("\n")[:-1]] == [f"R-{i}" for i in range(n)]
        assert _split_lines(head, text, n + 1) is None  # not the app's number of findings: decoded
    nested = json.dumps([{"rule_id": "A", "more": [{"x": 1}, {"rule_id": "B"}]}])
    assert _split_lines(head, nested, 1) is None
    assert _split_lines(head, json.dumps([{"title": "t", "rule_id": "A"}]), 1) is None  # not the encoder's order


def test_find_inputs_resolves_dedupes_and_skips_the_output(tmp_path: Path) -> None:
    from apkscan.batch.discover import find_inputs
    from apkscan.errors import UsageError

    src = tmp_path / "src"
    for rel in ("a.apk", "sub/b.APK", "out/c.apk", "out2/d.apk", ".hidden/e.apk", "f.txt"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(b"x")
    (src / "link.apk").symlink_to(src / "a.apk")  # the same file twice: listed once
    real = src.resolve()
    want = [real / "a.apk", real / "out2" / "d.apk", real / "sub" / "b.APK"]
    assert find_inputs(src, exclude=src / "out") == want  # out2 is not inside out
    assert find_inputs(src, exclude=src / "sub" / ".." / "out") == want
    assert find_inputs(src, exclude=src) == []
    (tmp_path / "linked").symlink_to(src / "sub")  # a folder reached through a link: its real path
    listing = tmp_path / "list.txt"
    listing.write_text("# inputs\nsrc/out/c.apk\n\nsrc/sub\nsrc/link.apk\nlinked/b.APK\nlinked/../../src/f.txt\n",
                       encoding="utf-8")
    assert find_inputs(listing, exclude=tmp_path / "elsewhere") == [real / "out" / "c.apk", real / "sub" / "b.APK",
                                                                     real / "a.apk", real / "f.txt"]
    listing.write_text("src/a.apk\nsrc/missing.apk\n", encoding="utf-8")
    with pytest.raises(UsageError, match=re.escape("list.txt:2: src/missing.apk: no such file")):
        find_inputs(listing)


def test_cli_usage_errors(inputs: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["batch", str(tmp_path / "missing"), "-o", str(tmp_path / "o")])
    # a missing SOURCE is a missing input, exit 4, as for apkscan scan (the README's table)
    assert res.exit_code == int(ExitCode.NOT_FOUND) and "error:" in res.output
    afile = tmp_path / "file"
    afile.write_text("x")
    res = runner.invoke(app, ["batch", str(inputs), "-o", str(afile)])
    assert res.exit_code == int(ExitCode.OUTPUT)  # the output cannot be written: exit 8
    res = runner.invoke(app, ["batch", str(inputs), "-o", str(tmp_path / "o"), "--format", "pdf"])
    assert res.exit_code == int(ExitCode.USAGE)
    bad = tmp_path / "badrules"
    bad.mkdir()
    (bad / "r.yaml").write_text("rules:\n- id: X\n  title: t\n", encoding="utf-8")
    res = runner.invoke(app, ["batch", str(inputs), "-o", str(tmp_path / "o"), "--rules", str(bad)])
    assert res.exit_code == int(ExitCode.BAD_RULES)
    res = runner.invoke(app, ["query", str(tmp_path)])
    assert res.exit_code == int(ExitCode.USAGE)


def test_workers_start_from_a_folder_holding_a_clone(tmp_path: Path) -> None:
    """Run from the folder a clone sits in (``git clone ... apkscan`` makes ``./apkscan/``
    with a ``rules/`` folder), the workers import the package the command runs from, not
    that folder (``python -m`` would put the working folder first and fail every worker)."""
    clone = tmp_path / "apkscan"
    (clone / "rules").mkdir(parents=True)
    (clone / "README.md").write_text("a checkout, not the package\n", encoding="utf-8")
    code = ("import sys; sys.argv[0] = 'apkscan'; del sys.path[0]; "  # started as the console script is
            "from apkscan.cli import main; main()")
    out = tmp_path / "out"
    res = subprocess.run(
        [sys.executable, "-c", code, "batch", str(SAMPLES[0]), "-o", str(out), "-j", "1", "-q", "--format", "json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stderr + (out / "workers.log").read_text(errors="replace") \
        if (out / "workers.log").exists() else res.stderr
    assert len(list((out / "reports").glob("*.json"))) == 1


def test_cli_batch_and_list_file(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(f"# two samples\n{SAMPLES[0]}\n\n{SAMPLES[1]}\n", encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["batch", str(listing), "-o", str(out), "-j", "1", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "2 scanned" in res.output and "APKs per minute" in res.output
    assert len(list((out / "reports").glob("*.json"))) == 2 and not list((out / "reports").glob("*.html"))


def test_dask_equals_local(batch_once: tuple[Path, Path, BatchSummary], tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    src, out_local, _ = batch_once
    out = tmp_path / "dask"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        summary = run(src, out, scheduler=cluster.scheduler_address)
    assert summary.scanned == len(SAMPLES) and len(summary.failed) == 2
    assert findings_by_sha(out) == findings_by_sha(out_local)
    failed = lambda o: {(r[0], r[1]) for r in db(o).execute(  # noqa: E731
        "SELECT sha256, error FROM apks WHERE status = 'failed'")}
    assert failed(out) == failed(out_local)


@pytest.mark.corpus
@pytest.mark.slow
def test_corpus_batch(tmp_path: Path) -> None:
    corpus = corpus_dir()
    if corpus is None:
        pytest.skip("real-APK corpus not found (set APKSCAN_CORPUS or provide ../shared/corpus)")
    out = tmp_path / "out"
    summary = run(corpus, out, formats=("json",))
    files = [p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in (".apk", ".apks", ".xapk")]
    assert summary.files == len(files)
    con = db(out)
    assert con.execute("SELECT COUNT(DISTINCT sha256) FROM files").fetchone()[0] == summary.unique
    assert con.execute("SELECT COUNT(*) FROM apks").fetchone()[0] == summary.unique
    lfs = con.execute("SELECT status, error FROM apks WHERE path LIKE '%edge_git_lfs_pointer%'").fetchone()
    assert lfs[0] == "failed" and lfs[1].startswith("not an APK")
    assert not [f for f in summary.failed if f.kind in ("internal", "crash", "timeout", "memory")]


def test_dask_timeout_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    distributed = pytest.importorskip("distributed")
    src = tmp_path / "in"
    src.mkdir()
    for s in SAMPLES[:3]:
        shutil.copy(s, src / s.name)
    monkeypatch.setenv(TEST_HOOK_ENV, f"sleep:{SAMPLES[0].stem}:60")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        summary = run(src, tmp_path / "out", scheduler=cluster.scheduler_address, timeout_s=3.0)
    assert [(Path(f.path).name, f.reason) for f in summary.failed] == [(SAMPLES[0].name, "timeout after 3 s")]
    assert summary.scanned == 2


def test_graph_layouts_are_reused_only_when_well_formed() -> None:
    """The dashboard's force layouts come back from the store (a rule change rewrites the
    dashboard with the same groups); an entry that is not a layout of its group is
    computed again."""
    from apkscan.batch.exports import App, Cluster, Layouts, cluster_graph

    apps = [App({"sha256": f"{i:064x}", "status": "ok", "verdict": "pass", "package": f"p{i}", "path": f"/{i}.apk"})
            for i in range(6)]
    found = [Cluster("certificate", "c" * 64, "CN=x", apps[:4]), Cluster("domain", "example.cn", "", apps[3:])]
    fresh = Layouts()
    graph = cluster_graph(found, fresh)
    assert fresh.used and graph == cluster_graph(found)
    stored = json.loads(json.dumps(fresh.used))  # as the store keeps them
    again = Layouts(stored)
    assert cluster_graph(found, again) == graph and again.used == fresh.used
    for bad in ([[0.0, 0.0]], [["x", 1.0]] * 8, [[float("nan"), 1.0]] * 8, "layout", None):
        broken = Layouts({key: bad for key in stored})
        assert cluster_graph(found, broken) == graph
    moved = Layouts({key: [[float(i), float(-i)] for i in range(len(v))] for key, v in stored.items()})
    assert cluster_graph(found, moved) != graph  # a well-formed entry is used as it is


def test_exports_keep_layouts_in_the_store(batch_once: tuple[Path, Path, BatchSummary]) -> None:
    _src, out, _summary = batch_once
    store = Store(out / "apkscan.db")
    try:
        before = (out / "index.html").read_text(encoding="utf-8")
        kept = store.meta("graph_layouts")
        assert kept is not None and json.loads(kept)
        write_exports(store, out)
        after = (out / "index.html").read_text(encoding="utf-8")
    finally:
        store.close()
    strip = re.compile(r"\d{4}-\d\d-\d\dT[\d:+]+")  # the generation time
    assert strip.sub("", before) == strip.sub("", after)


def test_query_says_when_an_id_is_unknown(tmp_path: Path) -> None:
    """An empty answer for a rule or SDK id apkscan does not know says so (a typo), on
    stderr with exit code 0; a known id with no app says nothing more."""
    import subprocess
    import sys

    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(ROOT / "samples" / "clean.apk", inputs / "clean.apk")
    out = tmp_path / "out"
    assert subprocess.run([sys.executable, "-m", "apkscan", "batch", str(inputs), "-o", str(out), "-q"]).returncode == 0
    for flag, value, note in (("--finding", "NOPE-1", "not a rule id"), ("--sdk", "nosuch", "not an SDK id"),
                              ("--finding", "FR-TASK-001", "")):
        done = subprocess.run([sys.executable, "-m", "apkscan", "query", str(out), flag, value],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert (note in done.stderr) if note else "note:" not in done.stderr, (value, done.stderr)


def test_dashboard_rows_lead_with_what_decided_the_verdict(tmp_path: Path) -> None:
    """A regulator reading the app table sees why: the category of the most severe finding
    first (gambling, not the many security notes) and that finding's rule and title."""
    import re
    import subprocess
    import sys

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("gambling.apk", "clean.apk"):
        shutil.copy(ROOT / "samples" / name, inputs / name)
    out = tmp_path / "out"
    assert subprocess.run([sys.executable, "-m", "apkscan", "batch", str(inputs), "-o", str(out), "-q"]).returncode == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr data-verdict="(\w+)".*?</tr>', page, re.S)
    table = page[page.index('id="apps"'):]
    gambling = next(r for r in re.findall(r"<tr data-verdict.*?</tr>", table, re.S) if "sample.gambling" in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", gambling, re.S)
    categories = next(c for c in cells if "main" in c or "muted small" in c)
    assert categories.startswith("gambling"), categories
    assert re.search(r"(GB-|PROFILE-GAMBLING)[\w-]+ \S", categories), categories
    assert rows[0] == "reject"
