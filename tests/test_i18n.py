"""Chinese and English reports (issue 13 part B): every rule in both languages, ``rules
validate`` refusing a rule without its Chinese texts, ``--lang`` for console, HTML, SARIF and
the batch dashboard, and a Chinese HTML report with no English sentence outside rule ids, API
names, identifiers and quoted evidence."""

from __future__ import annotations

import html as htmllib
import json
import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console
from typer.testing import CliRunner

from apkscan.api import scan
from apkscan.batch.exports import load_apps, render_index
from apkscan.batch.runner import BatchOptions, run_batch
from apkscan.batch.store import Store
from apkscan.cli import app
from apkscan.errors import RuleLoadError
from apkscan.model import ScanResult
from apkscan.report import console as console_report
from apkscan.report import html, i18n, json_report, sarif
from apkscan.rules.loader import Rule, YaraMeta, load_rules, missing_zh, require_zh

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SCHEMA = ROOT / "apkscan" / "schemas" / "report.schema.json"
CJK = re.compile(r"[\u4e00-\u9fff]")

# --- the checker: visible text outside data, code and evidence -------------------------

SKIP_TAGS = {"script", "style", "code", "title"}
SKIP_CLASSES = {"mono", "evidence", "rule", "data"}
"""Not sentences of ours: code and identifiers (``code``, ``.mono``, ``.rule``), quoted
evidence (``.evidence``) and text read from the APK or a parser (``.data``: app labels,
certificate subjects, SDK and vendor names, problem messages). References are checked too:
a Chinese page cites the built-in rules' documents in Chinese (``i18n.REFERENCE_ZH``)."""
VOID = {"br", "img", "input", "meta", "link", "wbr", "hr", "rect", "circle", "line", "path", "source"}
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z][a-z]+(?:[ ,;:]+[A-Za-z][a-z]+){2,}")
"""Three or more English words in a row: a sentence or a phrase (an id, an API name or a
single term such as ``SDK`` or ``WebView`` is not)."""


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        classes = set((dict(attrs).get("class") or "").split())
        self.stack.append((tag, tag in SKIP_TAGS or bool(classes & SKIP_CLASSES)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        return

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if data.strip() and not any(skip for _, skip in self.stack):
            self.texts.append(" ".join(data.split()))


QUOTED = re.compile(r"“[^”]*”|`[^`]*`")
"""Quoted names and commands inside a Chinese sentence (“Android System Services”, `pm list
packages`): what an app calls itself or runs, not a sentence of ours."""


def english_sentences(page: str) -> list[str]:
    parser = _Visible()
    parser.feed(page)
    return [
        f"{m.group()!r} in {t[:120]!r}"
        for t in parser.texts
        for m in ENGLISH_SENTENCE.finditer(QUOTED.sub("", t))
    ]


@pytest.fixture(scope="module")
def fraud_loan() -> ScanResult:
    return scan(SAMPLES / "fraud_loan.apk")


# --- rules in both languages -----------------------------------------------------------


def test_every_builtin_rule_has_chinese_texts() -> None:
    rs = load_rules()
    require_zh(rs)  # what `apkscan rules validate` runs
    rules: list[Rule | YaraMeta] = [*rs.rules, *rs.yara_meta.values()]
    assert len(rules) > 200
    for r in rules:
        assert not missing_zh(r), r.id
        assert CJK.search(r.title_zh) and CJK.search(r.description_zh), r.id
        assert not r.remediation or CJK.search(r.remediation_zh), r.id
        # the English text stays English: Chinese terms may be quoted, sentences moved to *_zh
        assert "。" not in r.description and "，" not in r.description, r.id
        assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", r.description_zh), r.id  # no folded spaces


def _rule_file(folder: Path, extra: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mine.yaml"
    path.write_text(
        "rules:\n"
        "- id: MY-001\n"
        "  title: Reads the clipboard\n"
        "  description: The app reads the clipboard.\n"
        "  remediation: Read it only on paste.\n"
        f"{extra}"
        "  severity: low\n"
        "  category: personal-data\n"
        "  match: {api: ['Landroid/content/ClipboardManager;->getPrimaryClip']}\n",
        encoding="utf-8",
    )
    return path


def test_rules_validate_fails_a_rule_without_chinese(tmp_path: Path) -> None:
    runner = CliRunner()
    path = _rule_file(tmp_path / "en_only", "")
    res = runner.invoke(app, ["rules", "validate", str(path.parent)])
    assert res.exit_code == 3, res.output
    assert f"{path}:2: rule MY-001: missing title_zh, description_zh, remediation_zh" in res.output.replace("\n", "")
    # a scan still loads it (the English text is shown)
    assert [r.id for r in load_rules([path.parent], include_builtin=False).rules] == ["MY-001"]

    path = _rule_file(
        tmp_path / "both",
        "  title_zh: 读取剪贴板\n  description_zh: |-\n    应用读取剪贴板，\n    其中可能有密码。\n"
        "  remediation_zh: 仅在粘贴时读取。\n",
    )
    res = runner.invoke(app, ["rules", "validate", str(path.parent)])
    assert res.exit_code == 0, res.output
    rule = load_rules([path.parent], include_builtin=False).rules[0]
    assert rule.description_zh == "应用读取剪贴板，其中可能有密码。"  # lines join without a space

    bad = _rule_file(tmp_path / "bad", "  title_zh: [读取剪贴板]\n")
    with pytest.raises(RuleLoadError, match="'title_zh' must be a string"):
        load_rules([bad.parent], include_builtin=False)


def test_builtin_findings_have_both_languages(fraud_loan: ScanResult) -> None:
    findings = [*fraud_loan.findings, *scan(SAMPLES / "clean.apk").findings, *scan(SAMPLES / "toolbox.apk").findings]
    for f in findings:
        assert f.title_zh and f.description_zh, f.rule_id
        assert f.text("zh") == (f.title_zh, f.description_zh, f.remediation_zh or f.remediation)
        assert f.text("en") == (f.title, f.description, f.remediation)
    assert any(f.source == "builtin" for f in findings)


def test_json_report_carries_both_languages(fraud_loan: ScanResult) -> None:
    doc = json.loads(json_report.render(fraud_loan))
    jsonschema.validate(doc, json.loads(SCHEMA.read_text(encoding="utf-8")))
    for f in doc["findings"]:
        assert f["title"] and CJK.search(f["title_zh"]), f["rule_id"]
        assert "description_zh" in f and "remediation_zh" in f


# --- language choice ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "env", "expected"),
    [
        (None, {}, "en"),
        (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
        (None, {"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),
        (None, {"LC_MESSAGES": "zh_TW", "LANG": "C"}, "zh"),
        ("en", {"LANG": "zh_CN.UTF-8"}, "en"),
        ("zh-CN", {}, "zh"),
        ("ZH", {}, "zh"),
    ],
)
def test_resolve_lang(value: str | None, env: dict[str, str], expected: str) -> None:
    assert i18n.resolve_lang(value, env) == expected


def test_resolve_lang_refuses_other_languages() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        i18n.resolve_lang("fr")


# --- the Chinese HTML report ---------------------------------------------------------------


def test_chinese_html_report_has_no_english_sentence(fraud_loan: ScanResult) -> None:
    i18n.MISSING.clear()
    page = html.render(fraud_loan, "zh")
    assert not i18n.MISSING, "page words without a Chinese text"
    assert '<html lang="zh-CN">' in page
    assert english_sentences(page) == []
    # the rule texts are the Chinese ones, and every finding says why and what to do in Chinese
    parser = _Visible()
    parser.feed(page)
    text = "\n".join(parser.texts)
    for f in fraud_loan.findings:
        assert f.title_zh in page and f.description_zh.split("。")[0] in page, f.rule_id
    assert "判定依据" in text and "整改建议" in text and "发现问题" in text
    # the checker does catch English: the English page is full of sentences
    assert len(english_sentences(html.render(fraud_loan, "en"))) > 50


SAMPLE_APKS = sorted(SAMPLES.glob("*.apk"))


@pytest.mark.parametrize("apk", SAMPLE_APKS, ids=[p.stem for p in SAMPLE_APKS])
def test_every_sample_report_is_chinese(apk: Path) -> None:
    """Beyond fraud_loan: tampered, hostile, packed and privacy samples bring the analysis,
    tampering and privacy-policy findings and the unidentified SDKs."""
    i18n.MISSING.clear()
    page = html.render(scan(apk), "zh")
    assert not i18n.MISSING
    assert english_sentences(page) == []


def test_phrases_around_evidence_are_chinese_and_data_is_not_translated() -> None:
    """The words apkscan writes around what it found ("app's own code: at most N classes",
    "content is dex") are Chinese on a Chinese page; the app's data (a string, a keyword
    match) stays as it was, even when it reads like one of those phrases."""
    result = scan(SAMPLES / "smishing.apk")
    sized = [e for f in result.findings for e in f.evidence if e.value.startswith("app's own code:")]
    assert sized, "MAL-PHISH-001 bounds the app's size"
    zh, en = html.render(result, "zh"), html.render(result, "en")
    assert "app&#39;s own code" not in zh and "应用自身代码：至多" in zh
    assert "app&#39;s own code: at most" in en and "应用自身代码" not in en
    assert i18n.evidence_text("content is dex, name says otherwise", "entry", "zh") == "内容为dex，与文件名不符"
    assert i18n.evidence_text("nested apk, depth 2", "entry", "zh") == "嵌套的apk，深度2"
    assert i18n.evidence_text("package com.example", "string", "zh") == "package com.example"  # data
    assert i18n.evidence_text("content is dex", "entry", "en") == "content is dex"
    assert i18n.evidence_text("no code uses it", "permission", "zh") == "没有代码使用它"
    banker = scan(SAMPLES / "banker.apk")
    page = html.render(banker, "zh")
    assert "official:" not in page and "this app:" not in page and "官方包名" in page
    assert "official:" in html.render(banker, "en")
    sdk_page = html.render(scan(SAMPLES / "pii_collector.apk"), "zh")
    assert re.search(r"<li>类 \S+\.\*（\d+个）</li>", sdk_page) and not re.search(r"<li>classes ", sdk_page)


def test_sdk_data_tags_are_named_in_chinese() -> None:
    """The SDK table's personal-data column shows the data's Chinese names (设备标识符),
    not the catalogue's tags (device-id), on a Chinese page; the English page keeps them."""
    result = scan(SAMPLES / "pii_collector.apk")
    tags = {t for s in result.sdks for t in s.data_collected}
    assert {"device-id", "device-info", "network"} <= tags
    chips = re.compile(r'<li class="chip">([^<]*)</li>')
    zh = set(chips.findall(html.render(result, "zh")))
    assert {"设备标识符", "设备信息", "网络信息"} <= zh and not tags & zh
    assert {"device-id", "device-info", "network"} <= set(chips.findall(html.render(result, "en")))


def test_personal_data_titles_read_as_sentences() -> None:
    from apkscan.engine import _pi_findings
    from apkscan.model import DataAccess

    cats = ["device-id", "wifi", "accessibility", "sensors"]
    found = {f.rule_id: f for f in _pi_findings([DataAccess(c, "", True, ()) for c in cats])}
    assert found["PI-MAP-DEVICE-ID"].title.startswith("Collects device identifiers (IMEI")
    assert found["PI-MAP-WIFI"].title.startswith("Collects Wi-Fi SSID")
    assert found["PI-MAP-ACCESSIBILITY"].title.startswith("Reads screen content")
    assert found["PI-MAP-ACCESSIBILITY"].title_zh == "通过无障碍服务读取屏幕内容、操控界面"
    assert found["PI-MAP-SENSORS"].title_zh == "读取传感器数据"
    assert found["PI-MAP-DEVICE-ID"].title_zh == "收集设备标识符"


def test_english_html_report_keeps_english_texts(fraud_loan: ScanResult) -> None:
    page = html.render(fraud_loan, "en")
    assert '<html lang="en">' in page
    f = fraud_loan.findings[0]
    assert f.title in page and f.description_zh not in page
    assert "Remediation:" in page and "发现问题" in page  # headings stay bilingual in English


# --- console and SARIF ---------------------------------------------------------------------


def test_console_summary_in_chinese(fraud_loan: ScanResult) -> None:
    con = Console(record=True, width=160, force_terminal=False)
    console_report.summary(con, fraud_loan, ["reports/x.html"], lang="zh")
    text = con.export_text()
    assert "判定依据" in text and "项发现" in text and "报告：reports/x.html" in text
    assert fraud_loan.findings[0].title_zh[:6] in text
    assert "findings" not in text and "report:" not in text
    con = Console(record=True, width=160, force_terminal=False)
    console_report.summary(con, fraud_loan, [], lang="en")
    assert "findings" in con.export_text()


def test_sarif_in_chinese(fraud_loan: ScanResult) -> None:
    doc = json.loads(sarif.render([fraud_loan], ran=load_rules().rules, lang="zh"))
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    for res in run["results"]:
        assert CJK.search(res["message"]["text"]), res["ruleId"]
        assert CJK.search(rules[res["ruleId"]]["shortDescription"]["text"]), res["ruleId"]
    assert all(CJK.search(r["fullDescription"]["text"]) for r in rules.values())
    # the references in the help are named as on the Chinese page (《个人信息保护法》...)
    named = [r for r in rules.values() for ref in r["properties"]["references"] if ref["id"] in i18n.REFERENCE_ZH]
    assert named and all(
        i18n.REFERENCE_ZH[ref["id"]] in r["help"]["text"] for r in named for ref in r["properties"]["references"]
        if ref["id"] in i18n.REFERENCE_ZH
    )
    from conftest import sarif_schema_path

    schema = sarif_schema_path()
    if schema is not None:
        jsonschema.validate(doc, json.loads(schema.read_text(encoding="utf-8")))
    en = json.loads(sarif.render([fraud_loan], lang="en"))
    assert not CJK.search(en["runs"][0]["results"][0]["message"]["text"].split(":")[0])


def test_cli_lang(tmp_path: Path) -> None:
    runner = CliRunner()
    apk = SAMPLES / "fraud_loan.apk"
    res = runner.invoke(app, ["scan", str(apk), "-o", str(tmp_path / "zh"), "-f", "html", "-f", "sarif",
                              "--lang", "zh"])
    assert res.exit_code == 0, res.output
    assert "判定依据" in res.output
    page = next((tmp_path / "zh").glob("*.html")).read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page
    log = json.loads(next((tmp_path / "zh").glob("*.sarif")).read_text(encoding="utf-8"))
    assert CJK.search(log["runs"][0]["results"][0]["message"]["text"])
    # default from the locale
    res = runner.invoke(app, ["scan", str(apk), "-o", str(tmp_path / "loc"), "-f", "html"],
                        env={"LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert res.exit_code == 0, res.output
    assert '<html lang="zh-CN">' in next((tmp_path / "loc").glob("*.html")).read_text(encoding="utf-8")
    res = runner.invoke(app, ["scan", str(apk), "-o", str(tmp_path / "en"), "-f", "html"],
                        env={"LANG": "en_US.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert '<html lang="en">' in next((tmp_path / "en").glob("*.html")).read_text(encoding="utf-8")
    res = runner.invoke(app, ["scan", str(apk), "-o", str(tmp_path / "fr"), "--lang", "fr"])
    assert res.exit_code == 2 and "--lang" in res.output


# --- the batch dashboard -------------------------------------------------------------------

BATCH_SAMPLES = ("fraud_loan.apk", "clean.apk", "pii_collector.apk", "gambling.apk", "banker.apk", "toolbox.apk")


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    src = tmp_path_factory.mktemp("batch-src")
    for name in BATCH_SAMPLES:
        if (SAMPLES / name).exists():
            (src / name).write_bytes((SAMPLES / name).read_bytes())
    out = tmp_path_factory.mktemp("batch") / "out"
    console = Console(file=open("/dev/null", "w"), force_terminal=False)  # noqa: SIM115
    run_batch(BatchOptions(source=src, out=out, jobs=2, formats=("html",), quiet=True, lang="zh"), console)
    yield out


def dashboards(out: Path) -> dict[str, str]:
    store = Store(out / "apkscan.db", readonly=True)
    try:
        return {lang: render_index(store, load_apps(store, out), lang) for lang in ("zh", "en")}
    finally:
        store.close()


def test_dashboard_is_chinese_self_contained_and_strict(batch_out: Path) -> None:
    page = (batch_out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "批量检测总览" in page
    i18n.MISSING.clear()
    pages = dashboards(batch_out)
    assert not i18n.MISSING
    assert english_sentences(pages["zh"]) == []
    for text in pages.values():
        m = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', text)
        assert m is not None
        csp = htmllib.unescape(m.group(1))
        assert "default-src 'none'" in csp and re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+';", csp)
        assert "'unsafe-inline'" not in csp.split("script-src")[1]
        assert text.count("<script") == 1 and 'src="http' not in text and "<link" not in text
    # per-APK reports of the batch follow --lang too
    report = next((batch_out / "reports").glob("*.html")).read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in report


def test_dashboard_counts_and_graph(batch_out: Path) -> None:
    page = dashboards(batch_out)["en"]
    n = len([p for p in BATCH_SAMPLES if (SAMPLES / p).exists()])
    cards = re.findall(r'data-only-verdict="(\w+)"[^>]*><b>(\d+)</b>', page)
    assert sum(int(c) for _, c in cards) == n
    assert 'id="top-findings"' in page and 'id="sdk-prevalence"' in page and 'id="category-chart"' in page
    # the samples share the apkscan test signing key: one signer node linked to every app
    keys = re.findall(r'<g class="key" data-id="(k\d+)" data-kind="(\w+)"', page)
    assert ("certificate" in {k for _, k in keys})
    apps = re.findall(r'<g class="app" data-id="(a\d+)"', page)
    edges = re.findall(r'<line class="edge" data-kind="(\w+)" data-app="(a\d+)" data-key="(k\d+)"', page)
    assert len(apps) == n and {a for _, a, _ in edges} == set(apps)
    coords = [tuple(map(float, m)) for m in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', page)]
    assert len(set(coords)) == len(coords)  # a computed layout: no two apps on one spot
    box = re.search(r'<svg id="graph" viewBox="0 0 ([\d.]+) ([\d.]+)"', page)
    assert box is not None
    width, height = map(float, box.groups())
    assert all(0 <= x <= width and 0 <= y <= height for x, y in coords)


def test_batch_console_summary_in_chinese() -> None:
    from apkscan.batch.runner import BatchSummary, print_summary

    con = Console(record=True, width=200, force_terminal=False)
    print_summary(con, BatchSummary(files=3, unique=3, scanned=3, verdicts={"reject": 2, "pass": 1}), "zh")
    text = con.export_text()
    assert "批量检测完成" in text and "建议驳回 2" in text and "通过 1" in text
    assert not ENGLISH_SENTENCE.search(text)


@pytest.mark.parametrize(
    ("message", "zh"),
    [("/x/a.apk: no such file", "/x/a.apk：文件不存在"),
     ("C:/odd: name.apk: not an APK (ZIP archive without AndroidManifest.xml)",
      "C:/odd: name.apk：不是APK（ZIP压缩包中没有AndroidManifest.xml）"),
     ("a.apk: cannot read the ZIP structure: bad", "a.apk：无法读取ZIP结构：bad"),
     ("a.apk: took longer than 300 s; scan stopped", "a.apk：扫描超过 300 秒，已停止"),
     ("a.apk: something apkscan does not know", "a.apk: something apkscan does not know")],
)
def test_scan_errors_in_chinese(message: str, zh: str) -> None:
    assert i18n.error_text(message, "zh") == zh
    assert i18n.error_text(message, "en") == message


def test_cli_errors_follow_lang(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["scan", str(tmp_path / "missing.apk"), "-o", str(tmp_path), "--lang", "zh"])
    assert res.exit_code == 4 and "错误：" in res.output and "文件不存在" in res.output, res.output


def test_batch_console_in_chinese(tmp_path: Path) -> None:
    """`apkscan batch --lang zh`: the plan line, the progress bar and the summary are
    Chinese (the rules digest and file names stay as they are)."""
    import shutil
    import subprocess
    import sys

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("clean.apk", "fraud_loan.apk"):
        shutil.copy(SAMPLES / name, inputs / name)
    (inputs / "notes.apk").write_text("not an APK at all\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "apkscan", "batch", str(inputs), "-o", str(tmp_path / "out"), "--lang", "zh"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    said = proc.stdout + proc.stderr
    assert "待检测 3 个" in said and "检测中" in said and "批量检测完成" in said, said
    for english in ("to scan", "scanning", "already in the store", "APK/min", "ETA", "not an APK"):
        assert english not in said, (english, said)
    assert "不是APK：不是ZIP压缩包" in said, said  # the failure reason, as in the dashboard
    assert "不是APK：不是ZIP压缩包" in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


def test_details_apkscan_writes_beside_data_are_chinese() -> None:
    """The words apkscan writes around an evidence item's data read in Chinese, whatever
    the kind; the data (a path, a name, a library label) stays as it is."""
    from apkscan.report.i18n import evidence_text

    assert evidence_text("3 of 4 components have no code in the APK's dex files", "component", "zh") == (
        "4个组件中有3个在APK的dex文件中没有代码"
    )
    assert evidence_text("40960 bytes of no known format; deflate keeps 100% of it (high entropy: encrypted)",
                         "entry", "zh") == "40960字节，格式未知；压缩后仍为原大小的100%（高熵：已加密）"
    assert evidence_text("512 bytes, named .dex but of no known format (encrypted or obfuscated code)",
                         "entry", "zh") == "512字节，名为.dex但格式未知（加密或混淆的代码）"
    english = "3 of 4 components have no code in the APK's dex files"
    assert evidence_text(english, "component", "en") == english
    assert evidence_text("Bet placed - casino odds", "string", "zh") == "Bet placed - casino odds"  # the app's text


def _tamper_details_left_in_english(results: list[ScanResult]) -> tuple[int, list[str]]:
    from apkscan.report.i18n import evidence_text

    told, left = 0, []
    for r in results:
        for f in r.findings:
            for e in f.evidence:
                if e.kind == "tampering" and e.detail:
                    told += 1
                    if not re.search(r"[\u4e00-\u9fff]", evidence_text(e.detail, "tampering", "zh")):
                        left.append(e.detail)
    return told, left


def test_tampering_details_read_in_chinese() -> None:
    """The readers' tampering details in Chinese, names and numbers kept as they are."""
    from apkscan.report.i18n import evidence_text

    cases = {
        "control character in name 'test.txt\\x0a'": "文件名含控制字符 'test.txt\\x0a'",
        "EOCD declares 3 entries, central directory holds 2": "目录结束记录声明 3 个条目，中央目录有 2 个",
        "compression method 30208 (Android reads it as stored; zip tools fail)": (
            "压缩方法 30208（Android按存储读取；zip工具读取失败）"
        ),
        "15 class_defs share class_data with another class": "15个类定义与其他类共用类数据",
        "signing block sizes at start and end differ": "签名块首尾记录的大小不一致",
    }
    for english, chinese in cases.items():
        assert evidence_text(english, "tampering", "zh") == chinese
        assert evidence_text(english, "tampering", "en") == english
    assert evidence_text("zip-eocd-offset", "tampering", "zh") == "zip-eocd-offset"  # the kind stays


@pytest.mark.corpus
def test_tampering_details_of_the_corpus_read_in_chinese(corpus: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    """Every tampering detail the readers write over the corpus's tampered and malformed
    files (30 at the time of writing, 19 phrasings) has its Chinese phrasing."""
    from apkscan.errors import ApkscanError

    results = []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file() and p.stat().st_size < (50 << 20)):
        try:
            results.append(scan(path, ruleset))
        except ApkscanError:
            continue
    told, left = _tamper_details_left_in_english(results)
    assert told >= 20 and not left, left
