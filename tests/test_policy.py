"""Issue 14: the privacy policy against the code, the two lists, collection before consent.

Positive and negative cases on the three privacy samples (samples/README.md) and on
plain texts for the reader."""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from apkscan.extract.policy import PolicyFileError, find_policy, html_to_text, read_policy_file
from apkscan.rules import policy
from apkscan.rules.policy import read, run_checks

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

FULL = """隐私政策
更新日期：2026年1月2日  生效日期：2026年1月9日
本应用由示例科技有限公司运营，注册地址：示例市示例路1号。
为了向您推送消息，我们会收集您的设备标识符（IMEI）。
为了展示附近门店，我们会收集您的位置信息，位置信息属于个人敏感信息。
我们接入的第三方SDK：极光推送SDK，收集设备标识符、网络类型。
个人信息存储在中华人民共和国境内，保存期限为服务所需的最短时间。
您可以撤回同意、删除您的个人信息或注销账号，联系邮箱 privacy@example.com。
"""


def _scan(name: str, **kw: Any) -> Any:
    from apkscan import api
    from apkscan.engine import Options

    return api.scan(SAMPLES / f"{name}.apk", options=Options(**kw))


@pytest.fixture(scope="module")
def gaps() -> Any:
    return _scan("privacy_gaps")


@pytest.fixture(scope="module")
def defects() -> Any:
    return _scan("privacy_defects")


@pytest.fixture(scope="module")
def clean() -> Any:
    return _scan("privacy_matched")


def ids(result: Any) -> set[str]:
    return {f.rule_id for f in result.findings if f.rule_id.startswith("PRIV-")}


def finding(result: Any, rule_id: str) -> Any:
    return next(f for f in result.findings if f.rule_id == rule_id)


# -- the reader ------------------------------------------------------------------------


def test_reader_declared_types_sdks_and_sentences() -> None:
    r = read(FULL, "t", {"jpush": ["极光推送", "cn.jpush"], "umeng-analytics": ["友盟", "com.umeng"]})
    assert [d.key for d in r.data_types][:2] == ["device-id", "location"]
    assert r.sentence_for("location").startswith("为了展示附近门店")
    assert r.names_sdk("jpush") and not r.names_sdk("umeng-analytics")
    assert set(r.sdk_types("jpush")) >= {"device-id", "network"}
    assert all(c.passed for c in r.checks), [c for c in r.checks if not c.passed]
    assert not r.vague
    assert {d.key for d in r.purposes} >= {"device-id", "location"}


def test_reader_english_policy() -> None:
    text = (
        "Privacy Policy. Last updated: March 3, 2026. Effective date: March 10, 2026. "
        "We collect your location to show nearby stores. We collect your device identifier (Android ID) "
        "to send notifications. Contact us at privacy@example.org."
    )
    r = read(text)
    assert r.declared("location") and r.declared("device-id")
    assert r.check("DATES") is not None and r.check("DATES").passed  # type: ignore[union-attr]
    assert r.check("CONTACT").passed  # type: ignore[union-attr]
    assert not r.check("ACCOUNT").passed  # type: ignore[union-attr]


def test_reader_vague_enumeration_and_short_words() -> None:
    r = read("我们会收集您的设备信息等。我们会收集例如网络类型在内的信息。")
    assert len(r.vague) == 2
    # "mac" is a whole word only: "machine" does not declare a MAC address
    assert not read("We use machine learning.").declared("device-id")
    assert read("We read the MAC address.").declared("device-id")


def test_each_check_fails_when_its_text_is_missing() -> None:
    missing = {c.id for c in run_checks("隐私政策。我们收集您的位置信息。") if not c.passed}
    assert missing >= {"DATES", "OPERATOR", "CONTACT", "SENSITIVE", "RETENTION", "REGION", "WITHDRAW", "DELETE"}
    assert {c.id for c in run_checks(FULL) if not c.passed} == set()


def test_permissions_read_from_the_text() -> None:
    r = read("我们会申请 android.permission.CAMERA 权限用于扫码，以及读取通讯录权限。")
    assert {"android.permission.CAMERA", "android.permission.READ_CONTACTS"} <= {d.key for d in r.permissions}


# -- finding the policy ----------------------------------------------------------------


def test_html_to_text_drops_scripts_and_keeps_blocks() -> None:
    text = html_to_text("<html><script>var a='隐私';</script><h1>隐私政策</h1><p>第一段</p><p>第二&amp;段</p></html>")
    assert text == "隐私政策\n第一段\n第二&段"


def test_policy_found_in_asset_and_string_resource(gaps: Any, defects: Any, clean: Any) -> None:
    assert gaps.privacy.policy.where[0][:2] == ("assets/privacy_policy.html", "asset")
    assert defects.privacy.policy.where[0][:2] == ("res/values/strings.xml:privacy_policy_text", "string")
    assert clean.privacy.policy.where[0][0] == "assets/privacy/privacy_policy.html"


def test_no_policy_names_the_urls(sample_results: dict[str, Any]) -> None:
    r = sample_results["clean"]
    f = finding(r, "PRIV-POLICY-NONE")
    assert "https://notes.example.org/privacy" in f.description
    assert f.severity.label == "info"
    assert r.verdict == "pass"  # info only: an app without a bundled policy is not sent back for it
    assert find_policy(r.facts).urls


def test_a_missing_policy_is_one_finding(sample_results: dict[str, Any]) -> None:
    """An app that asks for sensitive data and carries no policy gets PI-POLICY-001 (medium),
    which says to give the policy with --policy; not a second, info-level PRIV-POLICY-NONE."""
    both = [n for n, r in sample_results.items()
            if {"PI-POLICY-001", "PRIV-POLICY-NONE"} <= {f.rule_id for f in r.findings}]
    assert both == []
    missing = [r for r in sample_results.values() if any(f.rule_id == "PI-POLICY-001" for f in r.findings)]
    assert missing and all("--policy FILE" in finding(r, "PI-POLICY-001").remediation for r in missing)


def test_policy_file(tmp_path: Path) -> None:
    html = tmp_path / "p.html"
    html.write_text("<p>隐私政策</p><p>我们收集位置信息。</p>", encoding="utf-8")
    doc = read_policy_file(html)
    assert doc.given and "我们收集位置信息" in doc.text
    gbk = tmp_path / "p.txt"
    gbk.write_bytes("隐私政策：我们收集通讯录。".encode("gb18030"))
    assert "通讯录" in read_policy_file(gbk).text
    pdf = tmp_path / "p.pdf"
    pdf.write_bytes(b"%PDF-1.7\n")
    with pytest.raises(PolicyFileError, match="pdftotext"):
        read_policy_file(pdf)
    with pytest.raises(PolicyFileError):
        read_policy_file(tmp_path / "missing.txt")


def test_given_policy_replaces_the_bundled_one() -> None:
    given = read_policy_file(SAMPLES / "src" / "privacy_matched" / "assets" / "privacy" / "privacy_policy.html")
    r = _scan("privacy_gaps", policy=given)
    assert r.privacy.policy.given
    assert "PRIV-UNDECLARED-LOCATION" not in ids(r)  # the clean policy declares location
    assert "umeng-analytics" in finding(r, "PRIV-SDK-UNLISTED").tags[-1]


# -- policy against behaviour ------------------------------------------------------------


def test_gaps_sample_omits_an_sdk_and_a_data_type(gaps: Any) -> None:
    got = ids(gaps)
    assert {"PRIV-SDK-UNLISTED", "PRIV-UNDECLARED-LOCATION", "PRIV-PRECONSENT-SDK"} <= got
    unlisted = finding(gaps, "PRIV-SDK-UNLISTED")
    assert [e.value for e in unlisted.evidence] == ["jpush"]  # Umeng is listed
    loc = finding(gaps, "PRIV-UNDECLARED-LOCATION")
    assert loc.category == "personal-data" and loc.severity.label == "medium"
    assert {e.class_name for e in loc.evidence} == {"org.apkscan.sample.privacygaps.MainActivity"}
    assert "the app itself" in loc.description and "应用自身" in loc.description_zh
    assert "PRIV-UNDECLARED-DEVICE-ID" not in got  # declared
    assert not any(i.startswith("PRIV-TEXT-") for i in got)  # the text itself is complete
    assert any("GB/T 35273-2020" in r.id for r in loc.references)
    assert gaps.verdict == "fix"


def test_defects_sample_fails_every_text_point(defects: Any) -> None:
    got = ids(defects)
    for point in ("DATES", "OPERATOR", "CONTACT", "SENSITIVE", "RETENTION", "REGION", "WITHDRAW", "DELETE", "ACCOUNT"):
        assert f"PRIV-TEXT-{point}" in got, point
    assert {"PRIV-TEXT-VAGUE", "PRIV-TEXT-FUNCTION", "PRIV-TEXT-SDK-LIST", "PRIV-SDK-UNLISTED"} <= got
    vague = finding(defects, "PRIV-TEXT-VAGUE")
    assert any("位置信息、设备信息等" in e.value for e in vague.evidence)  # quotes the text
    for f in defects.findings:
        if f.rule_id.startswith("PRIV-"):
            assert f.category == "personal-data" and f.severity.label in ("info", "low", "medium")
            assert f.references, f.rule_id  # every finding names its clause
    assert "PRIV-PRECONSENT-SDK" not in got  # Umeng only pre-initialises at start-up
    assert defects.verdict in ("fix", "pass")


def test_clean_sample_has_no_inconsistency(clean: Any) -> None:
    got = ids(clean)
    assert got == {"PRIV-PRECONSENT-GATED"}, got
    gated = finding(clean, "PRIV-PRECONSENT-GATED")
    assert "JCollectionAuth" in gated.evidence[0].detail
    assert clean.verdict != "reject"


def test_findings_never_reject(gaps: Any, defects: Any) -> None:
    from apkscan.engine import Options
    from apkscan.verdict import decide

    priv = [f for r in (gaps, defects) for f in r.findings if f.rule_id.startswith("PRIV-")]
    assert decide(priv, Options().thresholds).level == "fix"


# -- collection before consent -------------------------------------------------------------


def test_sdk_started_in_application_oncreate_without_switch(gaps: Any) -> None:
    chains = [c for c in gaps.privacy.consent.chains if c.kind == "sdk-init" and c.sdk == "jpush"]
    assert len(chains) == 1 and not chains[0].gated
    assert chains[0].entry == "Application.onCreate"
    assert chains[0].chain == (
        "Lorg/apkscan/sample/privacygaps/App;->onCreate()V",
        "Lcn/jpush/android/api/JPushInterface;->init(Landroid/content/Context;)V",
    )
    f = finding(gaps, "PRIV-PRECONSENT-SDK")
    assert "needs-dynamic-confirmation" in f.tags
    assert "App.onCreate -> cn.jpush.android.api.JPushInterface.init" in f.evidence[0].detail
    # Umeng's init runs from the consent button, not at start-up: only its preInit is seen
    umeng = [c for c in gaps.privacy.consent.chains if c.sdk == "umeng-analytics"]
    assert [c.kind for c in umeng] == ["pre-init"]


def test_same_sdk_behind_its_consent_switch(clean: Any) -> None:
    chains = [c for c in clean.privacy.consent.chains if c.kind == "sdk-init"]
    assert len(chains) == 1 and chains[0].sdk == "jpush"
    assert chains[0].gated.startswith("SDK switch Lcn/jiguang/api/utils/JCollectionAuth;->setAuth")
    assert "PRIV-PRECONSENT-SDK" not in ids(clean)


def test_personal_data_read_at_start_up(sample_results: dict[str, Any]) -> None:
    r = sample_results["pii_collector"]
    f = finding(r, "PRIV-PRECONSENT-API")
    assert any("MainActivity.onCreate" in e.detail and "getDeviceId" in e.value for e in f.evidence)
    assert "PRIV-PRECONSENT-API" not in ids(sample_results["clean"])


def test_reachability_timing_is_its_own_phase(gaps: Any) -> None:
    assert "consent_reach" in gaps.timings
    assert gaps.privacy.consent.entries[0].endswith("App;-><init>()V")


# -- the two lists --------------------------------------------------------------------------


def test_lists_rows(gaps: Any, clean: Any) -> None:
    rows = {r.sdk: r for r in gaps.privacy.sharing}
    assert set(rows) == {"umeng-analytics", "jpush"}
    assert rows["jpush"].listed is False and rows["umeng-analytics"].listed is True
    assert rows["jpush"].name_zh == "极光推送" and "cn.jpush.android" in rows["jpush"].packages
    assert rows["jpush"].types_seen == ("device-id",)
    assert "android.permission.READ_PHONE_STATE" in rows["jpush"].permissions
    assert rows["jpush"].policy_url.startswith("https://")
    col = {r.data_type: r for r in gaps.privacy.collected}
    assert set(col) == {"location"} and not col["location"].declared
    assert col["location"].function_zh.startswith("待补充")
    clean_col = {r.data_type: r for r in clean.privacy.collected}
    assert clean_col["location"].declared and "附近门店" in clean_col["location"].function_zh


def test_lists_csv_and_json(gaps: Any, tmp_path: Path) -> None:
    from apkscan.report.privacy_lists import SHARING_COLUMNS, write_lists

    paths = write_lists(gaps, tmp_path, "x")
    assert [p.name for p in paths] == ["x-collected.csv", "x-sharing.csv", "x-lists.json"]
    raw = paths[1].read_text(encoding="utf-8")
    assert raw.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(raw.lstrip("\ufeff"))))
    assert tuple(rows[0]) == SHARING_COLUMNS
    assert {r["SDK名称"]: r["隐私政策已列明"] for r in rows} == {"友盟统计": "是", "极光推送": "否"}
    data = json.loads(paths[2].read_text(encoding="utf-8"))
    assert data["app"]["package"] == "org.apkscan.sample.privacygaps"
    assert data["collected"][0]["个人信息类型"] == "位置信息"


def test_csv_cells_cannot_run_as_formulas() -> None:
    from apkscan.report.privacy_lists import to_csv

    text = to_csv(("a",), [{"a": "=HYPERLINK(1)"}, {"a": "-1"}, {"a": "ok"}])
    assert "'=HYPERLINK(1)" in text and "'-1" in text and "\r\nok\r\n" in text


def test_cli_lists_format_and_policy_flag(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from apkscan.cli import app

    pol = tmp_path / "policy.txt"
    pol.write_text(FULL, encoding="utf-8")
    res = CliRunner().invoke(
        app, ["scan", str(SAMPLES / "privacy_gaps.apk"), "-o", str(tmp_path / "out"), "-f", "json,lists", "-q",
              "--policy", str(pol)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert any(n.endswith("-sharing.csv") for n in names) and any(n.endswith("-lists.json") for n in names)
    report = json.loads(next((tmp_path / "out").glob("*2.3.1.json")).read_text(encoding="utf-8"))
    assert report["privacy"]["policy"]["given"] is True
    missing = CliRunner().invoke(app, ["scan", str(SAMPLES / "privacy_gaps.apk"), "--policy", str(tmp_path / "no")])
    assert missing.exit_code == 4


def test_privacy_table_refs_exist() -> None:
    table = policy.privacy_table()
    known = set(table["refs"])
    for check in table["checks"]:
        assert set(check["refs"]) <= known, check["id"]


def test_html_section_lists_chains_and_escapes_policy_text(gaps: Any, tmp_path: Path) -> None:
    from apkscan.extract.policy import PolicyDocument, PolicySource
    from apkscan.report import html

    page = html.render(gaps)
    section = page[page.index('<section id="privacy">') :]
    section = section[: section.index("</section>")]
    for needle in (
        "已收集个人信息清单",
        "第三方信息共享清单",
        "极光推送",
        "JPushInterface",
        "no switch seen",
        "PRIV-SDK-UNLISTED",
    ):
        assert needle in section, needle
    assert 'href="#privacy"' in page
    assert "个人信息合规" in html.render(gaps, lang="zh")
    evil = "隐私政策\n我们收集您的位置信息<script>alert(1)</script>，用于导航。" + "说明。" * 200
    doc = PolicyDocument((PolicySource("x", "file", evil),), given=True)
    page = html.render(_scan("privacy_gaps", policy=doc))
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def _facts_with_calls(app_flags: tuple[tuple[str, str], ...], components: tuple[Any, ...], dexes: list[Any]) -> Any:
    from apkscan.facts import ApkFacts, Manifest

    return ApkFacts(
        "x.apk", 1, "0" * 64,
        manifest=Manifest(package="org.x", app_flags=app_flags, components=components, launcher=None),
        dex=tuple(dexes),
    )  # fmt: skip


def _dex(path: str, classes: list[str], edges: list[tuple[str, str]], strings: dict[str, str] | None = None) -> Any:
    from apkscan.facts import Dex, Pairs

    methods = sorted({m for e in edges for m in e} | set((strings or {}).keys()))
    idx = {m: i for i, m in enumerate(methods)}
    strs = sorted(set((strings or {}).values()))
    return Dex(
        path, classes=tuple(classes), methods=tuple(methods), strings=tuple(strs),
        calls=Pairs.of([(idx[a], idx[b]) for a, b in edges]),
        const_strings=Pairs.of([(idx[m], strs.index(s)) for m, s in (strings or {}).items()]),
    )  # fmt: skip


def test_reachability_across_dex_files_receivers_and_limits(ruleset: Any) -> None:
    from apkscan.facts import Component, IntentFilter
    from apkscan.rules import consent
    from apkscan.rules.context import Context
    from apkscan.sdk import SdkMatcher

    app = "Lorg/x/App;"
    boot = "Lorg/x/Boot;"
    helper = "Lorg/x/b/Helper;"  # defined in the second dex
    deep = [f"Lorg/x/d/D{i};->m()V" for i in range(12)]
    d1 = _dex(
        "classes.dex",
        [app, boot, *[d.split("->")[0] for d in deep]],
        [
            (f"{app}->onCreate()V", f"{helper}->go()V"),
            (f"{boot}->onReceive(Landroid/content/Context;Landroid/content/Intent;)V", deep[0]),
            *itertools.pairwise(deep),
            (deep[-1], "Landroid/telephony/TelephonyManager;->getImei()Ljava/lang/String;"),
        ],
    )
    d2 = _dex(
        "classes2.dex",
        [helper],
        [(f"{helper}->go()V", "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;")],
    )
    receiver = Component(
        "receiver", "org.x.Boot", True, None, None,
        intent_filters=(IntentFilter(actions=("android.intent.action.BOOT_COMPLETED",)),),
    )  # fmt: skip
    facts = _facts_with_calls((("name", "org.x.App"),), (receiver,), [d1, d2])
    ctx = Context(facts, SdkMatcher(ruleset.sdks))
    scan = consent.scan(ctx)
    chains = {c.target.split("->")[1].split("(")[0]: c for c in scan.chains}
    assert chains["getDeviceId"].chain[:2] == (f"{app}->onCreate()V", f"{helper}->go()V")
    assert chains["getDeviceId"].entry == "Application.onCreate" and chains["getDeviceId"].category == "device-id"
    assert "getImei" not in chains  # 13 calls deep from the boot receiver: beyond MAX_DEPTH
    assert any(e.startswith(boot) for e in scan.entries)


def test_app_consent_flag_gates_a_chain(ruleset: Any) -> None:
    from apkscan.rules import consent
    from apkscan.rules.context import Context
    from apkscan.sdk import SdkMatcher

    app = "Lorg/y/App;"
    init = "Lcom/umeng/commonsdk/UMConfigure;->init(Landroid/content/Context;Ljava/lang/String;Ljava/lang/String;I" + (
        "Ljava/lang/String;)V"
    )
    d = _dex(
        "classes.dex",
        [app, "Lcom/umeng/commonsdk/UMConfigure;"],
        [(f"{app}->onCreate()V", f"{app}->startSdks()V"), (f"{app}->startSdks()V", init)],
        strings={f"{app}->startSdks()V": "privacy_agreed"},
    )
    facts = _facts_with_calls((("name", "org.y.App"),), (), [d])
    chains = consent.scan(Context(facts, SdkMatcher(ruleset.sdks))).chains
    assert [(c.kind, c.gated) for c in chains] == [("sdk-init", 'app flag "privacy_agreed"')]


def test_a_user_agreement_is_not_the_policy() -> None:
    from apkscan.extract.policy import _is_policy

    body = "我们重视个人信息保护，收集、使用个人信息的规则见《隐私政策》。第三方、SDK、权限、注销的说明。" * 10
    assert _is_policy("用户服务协议\n" + body, named=True) == 0
    assert _is_policy("隐私政策\n" + body, named=False) > 0
    assert _is_policy("用户协议与隐私政策\n" + body, named=False) > 0  # titled as both: kept


def test_sdk_provider_auto_start_and_its_manifest_switch(ruleset: Any) -> None:
    from dataclasses import replace

    from apkscan.facts import Component
    from apkscan.rules import consent
    from apkscan.rules.context import Context
    from apkscan.sdk import SdkMatcher

    prov = "Lcom/huawei/hms/aaid/InitProvider;"
    d = _dex("classes.dex", [prov], [(f"{prov}->onCreate()Z", "Lcom/huawei/hms/aaid/HmsInstanceId;->getInstance()V")])
    comp = Component("provider", "com.huawei.hms.aaid.InitProvider", False, False, None)
    facts = _facts_with_calls((), (comp,), [d])
    chains = consent.scan(Context(facts, SdkMatcher(ruleset.sdks))).chains
    assert [(c.kind, c.sdk, c.gated) for c in chains] == [("sdk-provider", "huawei-push", "")]
    off = replace(facts, manifest=replace(facts.manifest, meta_data=(("push_kit_auto_init_enabled", "false"),)))
    chains = consent.scan(Context(off, SdkMatcher(ruleset.sdks))).chains
    assert chains[0].gated == "manifest meta-data push_kit_auto_init_enabled=false"


def test_real_chinese_policy_in_the_corpus(corpus: Path) -> None:
    """Baidu Netdisk's policy, bundled in the 44 MB workload: only the update date is missing."""
    from apkscan.extract.apk import extract

    apk = corpus / "large" / "cmp_mixed_13dex.apk"
    if not apk.exists():
        pytest.skip("large workload absent")
    doc = find_policy(extract(apk))
    assert doc.sources and doc.sources[0].where == "assets/baidu/_assets/privacy_policy.html"
    r = read(doc.text)
    assert {c.id for c in r.checks if not c.passed} == {"DATES"}
    assert {"device-id", "installed-apps", "contacts", "call-log", "sms", "location"} <= {d.key for d in r.data_types}
    assert any("设备应用安装列表等" in d.sentence for d in r.vague)
    assert not any("图片检索等" in d.sentence for d in r.vague)  # 等 after a feature, not a data type


def test_sdk_listed_in_the_policy_but_absent() -> None:
    from apkscan.extract.policy import PolicyDocument, PolicySource

    text = FULL + "\n我们接入了个推消息推送SDK（每日互动股份有限公司），用于消息推送，收集设备标识符。"
    r = _scan("privacy_gaps", policy=PolicyDocument((PolicySource("p.txt", "file", text),), given=True))
    f = finding(r, "PRIV-SDK-DECLARED-ABSENT")
    assert f.severity.label == "info" and [e.detail for e in f.evidence] == ["getui-push"]
    assert "PRIV-SDK-DECLARED-ABSENT" not in ids(_scan("privacy_matched"))


def test_policy_url_hints_skip_xml_namespaces() -> None:
    """A URL counts as a possible policy or agreement link by its words; "protocol"
    (协议) only in its last part, so an XMPP namespace is not listed as an agreement."""
    from apkscan.extract.policy import URL_HINT

    assert not URL_HINT.search("http://jabber.org/protocol/compress")
    for url in ("https://a.cn/user_protocol.html", "https://a.cn/h5/protocol?id=3", "https://a.cn/privacy/index"):
        assert URL_HINT.search(url), url
