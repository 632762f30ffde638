"""The Chinese and English reports and the batch dashboard in a real headless Chromium (the
Browser of test_html_browser: DevTools protocol, nothing downloaded, the page a local file).
Skipped with a reason when Chromium or websocket-client is missing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from apkscan.api import scan
from apkscan.batch.exports import load_apps, render_index
from apkscan.batch.runner import BatchOptions, run_batch
from apkscan.batch.store import Store
from apkscan.model import ScanResult
from apkscan.report.html import render

pytestmark = pytest.mark.browser
pytest.importorskip("websocket", reason="the browser test needs websocket-client")

from test_html_browser import ARTIFACTS, VISIBLE, Browser, find_chromium  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
BATCH_SAMPLES = ("fraud_loan.apk", "clean.apk", "pii_collector.apk", "gambling.apk", "banker.apk", "toolbox.apk")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium not found (apt-get install -y chromium)")
    b = Browser(binary)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def fraud_loan() -> ScanResult:
    return scan(SAMPLES / "fraud_loan.apk")


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("batch-src")
    for name in BATCH_SAMPLES:
        (src / name).write_bytes((SAMPLES / name).read_bytes())
    out = tmp_path_factory.mktemp("batch") / "out"
    with open("/dev/null", "w") as sink:
        run_batch(BatchOptions(source=src, out=out, jobs=2, formats=("html",), quiet=True, lang="zh"),
                  Console(file=sink))
    return out


def offline(browser: Browser) -> list[str]:
    return [u for u in browser.requests() if not u.startswith(("file:", "data:"))]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_in_each_language(browser: Browser, tmp_path: Path, fraud_loan: ScanResult, lang: str) -> None:
    path = tmp_path / f"fraud_loan.{lang}.html"
    path.write_text(render(fraud_loan, lang), encoding="utf-8")
    browser.load(path)
    assert browser.errors() == [] and browser.dialogs() == [] and offline(browser) == []
    assert browser.eval("document.documentElement.lang") == ("zh-CN" if lang == "zh" else "en")
    assert browser.eval("document.documentElement.classList.contains('js')") is True
    assert browser.eval(VISIBLE) == len(fraud_loan.findings)
    first = fraud_loan.findings[0]
    titles = browser.eval("[...document.querySelectorAll('#view-category .finding h4')].map(e => e.textContent)")
    assert (first.title_zh if lang == "zh" else first.title) in titles
    # the filter works the same in both languages: severity boxes by their (translated) labels
    label = browser.eval("document.querySelector('input[name=sev][value=critical]').parentElement.textContent.trim()")
    assert label == ("严重" if lang == "zh" else "critical")
    browser.eval("document.querySelector('input[name=sev][value=critical]').click()")
    critical = sum(1 for f in fraud_loan.findings if f.severity.label == "critical")
    assert browser.eval(VISIBLE) == len(fraud_loan.findings) - critical
    browser.eval("document.getElementById('f-reset').click()")
    search = "上传通讯录" if lang == "zh" else "uploads contacts"
    browser.eval(f"""(() => {{ const s = document.getElementById('f-search');
        s.value = {json.dumps(search)}; s.dispatchEvent(new Event('input')); }})()""")
    assert 1 <= browser.eval(VISIBLE) < len(fraud_loan.findings)
    browser.eval("document.getElementById('f-reset').click()")
    if lang == "zh":
        text = browser.eval("document.getElementById('findings').innerText")
        assert "整改建议" in text and "置信度" in text
        browser.screenshot(ARTIFACTS / "report-zh.png")
    assert browser.errors() == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_batch_dashboard(browser: Browser, batch_out: Path, lang: str) -> None:
    store = Store(batch_out / "apkscan.db", readonly=True)
    try:
        page = render_index(store, load_apps(store, batch_out), lang)
    finally:
        store.close()
    path = batch_out / f"dashboard.{lang}.html"
    path.write_text(page, encoding="utf-8")
    browser.load(path, 1280, 1600)
    assert browser.errors() == [] and browser.dialogs() == [] and offline(browser) == []
    assert browser.eval("document.querySelectorAll('script').length") == 1
    assert browser.eval("document.getElementById('filterbar').hidden") is False
    assert browser.eval("document.querySelector('h1').textContent") == (
        "apkscan 批量检测总览" if lang == "zh" else "apkscan batch dashboard")
    rows = "[...document.querySelectorAll('#apps tbody tr')].filter(r => !r.hidden).length"
    n = len(BATCH_SAMPLES)
    assert browser.eval(rows) == n
    apps_in_graph = ("[...document.querySelectorAll('#graph .app')]"
                     ".filter(a => a.dataset.off === '0' && a.dataset.dim === '0').length")
    assert browser.eval(apps_in_graph) == n
    # the graph is drawn: nodes have a size on screen and sit inside the SVG
    box = browser.eval("""(() => { const g = document.getElementById('graph').getBoundingClientRect();
        const c = document.querySelector('#graph .app circle').getBoundingClientRect();
        return [g.width, g.height, c.width, c.left >= g.left && c.right <= g.right]; })()""")
    assert box[0] > 300 and box[1] > 100 and box[2] > 4 and box[3] is True

    # text filter: the table and the graph
    browser.eval("""(() => { const q = document.getElementById('q');
        q.value = 'fraudloan'; q.dispatchEvent(new Event('input')); })()""")
    assert browser.eval(rows) == 1
    assert browser.eval(apps_in_graph) == 1
    assert browser.eval("document.getElementById('g-count').textContent") == "1"
    browser.eval("document.getElementById('g-reset').click()")
    assert browser.eval(rows) == n

    # verdict filter, from a card
    counts = browser.eval("Object.fromEntries([...document.querySelectorAll('#verdicts .card')]"
                          ".map(c => [c.dataset.verdict, Number(c.querySelector('b').textContent)]))")
    verdict, count = next(iter(counts.items()))
    browser.eval(f"document.querySelector('#verdicts .card[data-verdict={verdict}]').click()")
    assert browser.eval(rows) == count
    browser.eval("document.getElementById('g-reset').click()")

    # link kinds: switching off signers hides their edges and the apps only they linked
    browser.eval("document.querySelector('#g-kinds input[value=certificate]').click()")
    assert browser.eval("[...document.querySelectorAll('#graph .edge[data-kind=certificate]')]"
                        ".every(e => getComputedStyle(e).display === 'none')") is True
    visible_apps = browser.eval("[...document.querySelectorAll('#graph .app')]"
                                ".filter(a => getComputedStyle(a).display !== 'none').length")
    assert visible_apps < n
    browser.eval("document.getElementById('g-reset').click()")

    # clicking a shared item highlights its apps and dims the rest
    key = browser.eval("""(() => { const k = [...document.querySelectorAll('#graph .key')]
        .sort((a, b) => document.querySelectorAll(`#graph .edge[data-key=${a.dataset.id}]`).length
                      - document.querySelectorAll(`#graph .edge[data-key=${b.dataset.id}]`).length)[0];
        k.dispatchEvent(new MouseEvent('click', {bubbles: true})); return k.dataset.id; })()""")
    linked = browser.eval(f"document.querySelectorAll('#graph .edge[data-key={key}]').length")
    assert browser.eval(apps_in_graph) == linked
    assert browser.eval(f"document.querySelector('#graph .key[data-id={key}]').dataset.sel") == "1"
    browser.eval("document.getElementById('g-reset').click()")
    assert browser.eval(apps_in_graph) == n
    # ... and from the keyboard
    browser.eval(f"""(() => {{ const k = document.querySelector('#graph .key[data-id={key}]'); k.focus();
        k.dispatchEvent(new KeyboardEvent('keydown', {{key: 'Enter', bubbles: true}})); }})()""")
    assert browser.eval(apps_in_graph) == linked
    browser.eval("document.getElementById('g-reset').click()")

    # a frequent finding's row shows the apps that have it
    rule, apps_n = browser.eval("""(() => { const r = document.querySelector('#top-findings tr[data-rule]');
        return [r.dataset.rule, Number(r.cells[4].textContent)]; })()""")
    browser.eval(f"document.querySelector('#top-findings tr[data-rule=\"{rule}\"]').click()")
    assert browser.eval("document.getElementById('q').value") == rule
    assert browser.eval(rows) == apps_n
    browser.eval("document.getElementById('g-reset').click()")

    # sortable table
    browser.eval("document.querySelector('#apps th:nth-child(2)').click()")
    browser.eval("document.querySelector('#apps th:nth-child(2)').click()")
    crit = browser.eval("[...document.querySelectorAll('#apps tbody tr')]"
                        ".map(r => Number(r.cells[1].textContent) || 0)")
    assert crit == sorted(crit, reverse=True)
    if lang == "zh":
        text = browser.eval("document.body.innerText")
        assert "最常见的发现" in text and "SDK分布" in text and "关联分析" in text
    browser.eval("window.scrollTo(0, 0)")
    browser.screenshot(ARTIFACTS / f"dashboard-{lang}.png")
    assert browser.errors() == []


def test_batch_dashboard_without_javascript(browser: Browser, batch_out: Path) -> None:
    browser.page("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.load(batch_out / "index.html")
        assert browser.errors() == []
        assert browser.eval("document.getElementById('filterbar').offsetParent") is None
        assert browser.eval("document.querySelectorAll('#apps tbody tr').length") == len(BATCH_SAMPLES)
        assert browser.eval("document.querySelectorAll('#graph .app').length") == len(BATCH_SAMPLES)
    finally:
        browser.page("Emulation.setScriptExecutionDisabled", {"value": False})


HOSTILE = '<img src=x onerror=alert(1)><script>alert(2)</script>"\'><svg/onload=alert(3)>'


def test_batch_dashboard_hostile_labels_run_nothing(browser: Browser, batch_out: Path, tmp_path: Path) -> None:
    import shutil
    import sqlite3

    out = tmp_path / "hostile"
    out.mkdir()
    shutil.copy(batch_out / "apkscan.db", out / "apkscan.db")
    con = sqlite3.connect(out / "apkscan.db")
    with con:
        con.execute("UPDATE apks SET label = ?, package = ?", (HOSTILE, HOSTILE))
        con.execute("UPDATE certs SET subject = ?", (HOSTILE,))
    con.close()
    store = Store(out / "apkscan.db", readonly=True)
    try:
        page = render_index(store, load_apps(store, out), "zh")
    finally:
        store.close()
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    browser.load(path)
    assert browser.dialogs() == [] and browser.errors() == [] and offline(browser) == []
    assert browser.eval("document.querySelectorAll('script').length") == 1
    assert browser.eval("document.querySelectorAll('img[src=x], svg[onload]').length") == 0
    assert HOSTILE in browser.eval("document.querySelector('#apps tbody tr td.data').textContent")
    # the filter still works over hostile text
    browser.eval(f"""(() => {{ const q = document.getElementById('q');
        q.value = {json.dumps(HOSTILE[:20])}; q.dispatchEvent(new Event('input')); }})()""")
    assert browser.eval("[...document.querySelectorAll('#apps tbody tr')].filter(r => !r.hidden).length") == len(
        BATCH_SAMPLES)
    assert browser.dialogs() == []
