"""The HTML report: sections, values, escaping of hostile APK strings, no external loads."""

from __future__ import annotations

import html
import re
import struct
import zlib
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from apkscan.facts import Manifest, Problem
from apkscan.model import (
    DataAccess,
    Evidence,
    Finding,
    Reference,
    RuleError,
    ScanResult,
    SdkHit,
    Severity,
)
from apkscan.report.html import icon_data_uri, pretty_api, render
from apkscan.rules.fixtures import facts_from_case

HOSTILE_LABEL = "<script>alert(1)</script>"
HOSTILE_VALUE = '"><img src=x onerror=alert(2)>'


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x80\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


CASE = {
    "package": "com.jisu.daikuan",
    "label": "极速贷",
    "permissions": ["READ_SMS", "READ_CONTACTS", "CAMERA", "INTERNET", "SYSTEM_ALERT_WINDOW"],
    "components": [
        {"type": "receiver", "name": "com.jisu.daikuan.SmsReceiver", "exported": True,
         "actions": ["android.provider.Telephony.SMS_RECEIVED"], "priority": 999},
        {"type": "activity", "name": "com.jisu.daikuan.Internal", "exported": False},
    ],
    "classes": ["com.umeng.commonsdk.UMConfigure"],
    "strings": ["秒下款", "https://api.jisu-loan.example/upload", "https://h5.jisu-loan.example/"],
    "certificates": [{"subject": "CN=Android Debug, O=Android, C=US", "debug": True}],
    "signing_schemes": ["v1", "v2"],
    "native_libs": ["lib/arm64-v8a/libjiagu.so", "lib/armeabi-v7a/libjiagu.so"],
    "nested": [{"path": "assets/plugin.apk", "kind": "apk"}],
    "tampering": ["zip-duplicate-entry"],
}

UMENG = SdkHit(
    id="umeng", name="Umeng", name_zh="友盟", vendor="阿里巴巴", category="analytics",
    country="CN", tracker=True, data_collected=("device-id", "location"),
    source="rules/sdks/cn.yaml", matched=("com.umeng.commonsdk (12 classes)",), class_count=12,
)
JIAGU = SdkHit(
    id="jiagu", name="360 Jiagu", name_zh="360加固", vendor="360", category="packer",
    country="CN", tracker=False, data_collected=(), source="rules/sdks/cn.yaml",
    matched=("lib/arm64-v8a/libjiagu.so",),
)


def finding(rule_id: str, sev: Severity, category: str, title: str, **kw: object) -> Finding:
    base: dict[str, object] = {
        "confidence": "high",
        "description": f"Why {rule_id} matters.",
        "remediation": f"Fix {rule_id}.",
        "tags": ("t1",),
        "references": (Reference("PIPL Art. 6"),),
        "evidence": (Evidence("string", f"value-{rule_id}", file="classes.dex"),),
    }
    base.update(kw)
    return Finding(rule_id=rule_id, title=title, severity=sev, category=category, **base)  # type: ignore[arg-type]


def build_result(label: str = "极速贷", value: str = "秒下款，无需征信") -> ScanResult:
    facts = facts_from_case(CASE)
    manifest: Manifest = replace(
        facts.manifest,
        labels=(("", label), ("en", "Quick Loan"), ("zh-rCN", label)),
        version_name="2.3.1",
        version_code="231",
    )
    facts = replace(
        facts,
        file_name="fraud_loan.apk",
        size=1_234_567,
        sha256="ab" * 32,
        manifest=manifest,
        icon_png=tiny_png(),
        problems=(Problem("classes2.dex", "dex-parse", "bad header 坏的"),),
    )
    findings = (
        finding("TAMPER-ZIP-DUP", Severity.CRITICAL, "tampering", "Duplicate zip entries"),
        finding(
            "FR-LOAN-002", Severity.HIGH, "fraud",
            "Loan app demands fees before paying out (解冻金)",
            references=(
                Reference("反电信网络诈骗法 (2022)", url="https://www.npc.gov.cn/npc/c30834/202209/t.shtml"),
                Reference("PIPL Art. 6"),
            ),
            evidence=(
                Evidence("string", value, file="resources.arsc"),
                Evidence("api-call", "Landroid/telephony/SmsManager;->sendTextMessage()V",
                         file="classes.dex", class_name="com.umeng.commonsdk.UMConfigure",
                         method="init()V", sdk="umeng"),
                Evidence("yara", "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb", file="classes.dex",
                         offset=4096),
            ),
        ),
        finding("PI-SMS-001", Severity.MEDIUM, "personal-data", "Reads stored SMS messages"),
        finding("PI-CONTACTS-001", Severity.MEDIUM, "personal-data", "Reads the phone address book",
                references=()),
        finding("FR-LOAN-001", Severity.LOW, "fraud", "Predatory loan vocabulary (虚假网络贷款)",
                references=(Reference("javascript:alert(3)", url="javascript:alert(3)"),)),
        finding("SDK-UMENG", Severity.INFO, "sdk", "Umeng analytics SDK"),
    )
    access = (
        DataAccess(
            category="sms", permission="android.permission.READ_SMS", permission_requested=True,
            sites=tuple(
                Evidence("content-uri", "content://sms/inbox", file="classes.dex",
                         class_name=f"com.jisu.daikuan.data.Uploader{i}", method="collect()V")
                for i in range(6)
            ),
        ),
        DataAccess(
            category="device-id", permission="android.permission.READ_PHONE_STATE",
            permission_requested=False,
            sites=(
                Evidence("api-call",
                         "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;",
                         file="classes.dex", class_name="com.umeng.commonsdk.UMConfigure",
                         method="a()V", sdk="umeng"),
            ),
        ),
    )
    return ScanResult(
        facts=facts,
        findings=findings,
        sdks=(UMENG, JIAGU),
        data_access=access,
        rule_errors=(RuleError("FR-X-001", "KeyError: 'x'"),),
        rules_digest="sha256:" + "cd" * 32,
        tool_version="0.1.0",
        scanned_at="2024-05-01T08:00:00+00:00",
        duration_s=1.25,
        app_category="loan",
        verdict="reject",
        timings={"dex": 0.5, "rules": 0.25},
    )


def hostile_result() -> ScanResult:
    r = build_result(label=HOSTILE_LABEL, value=HOSTILE_VALUE)
    facts = replace(
        r.facts,
        strings=replace(r.facts.strings,
                        urls=((f"https://x.example/{HOSTILE_VALUE}", "classes.dex"),),
                        domains=(HOSTILE_VALUE,)),
        icon_png=b"<svg onload=alert(4)>",
    )
    sdk = replace(UMENG, name=HOSTILE_LABEL, matched=(HOSTILE_VALUE,))
    return replace(r, facts=facts, sdks=(sdk,), rule_errors=(RuleError("X", HOSTILE_VALUE),))


@pytest.fixture(scope="module")
def page() -> str:
    # <wbr> marks line-break opportunities inside long identifiers; drop them to compare text
    return render(build_result()).replace("<wbr>", "")


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.scripts += 1


def parse(text: str) -> Collector:
    c = Collector()
    c.feed(text)
    c.close()
    return c


def test_sections_in_order(page: str) -> None:
    ids = ["findings", "view-category", "view-reference", "sdks", "personal-data", "permissions",
           "components", "signing", "network", "archive", "problems", "scan"]
    positions = [page.index(f'id="{i}"') for i in ids]
    assert positions == sorted(positions)
    assert page.index('id="verdict"') < positions[0]
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert '"Noto Sans CJK SC", "PingFang SC"' in page and '"Microsoft YaHei"' in page


def test_header_values(page: str) -> None:
    assert "极速贷" in page and "Quick Loan" in page
    assert "com.jisu.daikuan" in page
    assert "2.3.1" in page and "231" in page
    assert "fraud_loan.apk" in page and "1.2 MiB" in page
    assert "ab" * 32 in page
    assert 'data-verdict="reject"' in page and "REJECT" in page
    assert re.search(r'count-critical"[^>]*><b>1</b>', page)
    assert re.search(r'count-medium"[^>]*><b>2</b>', page)
    assert 'src="data:image/png;base64,' in page
    assert "<svg" in page and 'class="chart"' in page


def test_findings_content(page: str) -> None:
    assert page.count('class="finding ') == 6
    assert page.count("data-mirror=") >= 6
    for rule in ("TAMPER-ZIP-DUP", "FR-LOAN-002", "PI-SMS-001", "PI-CONTACTS-001", "FR-LOAN-001"):
        assert f'data-rule="{rule}"' in page
    assert "Why FR-LOAN-002 matters." in page and "Fix FR-LOAN-002." in page
    assert "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb" in page and "0x1000" in page
    assert "com.umeng.commonsdk.UMConfigure" in page and "init()V" in page
    assert 'who-sdk">Umeng<' in page and 'who-app">app<' in page
    # references: linked with rel, by-reference view groups, non-http url never linked
    url = "https://www.npc.gov.cn/npc/c30834/202209/t.shtml"
    assert f'<a href="{url}" rel="noopener noreferrer"' in page
    assert "(no reference)" in page
    assert 'href="javascript:' not in page
    # critical first
    assert page.index('data-rule="TAMPER-ZIP-DUP"') < page.index('data-rule="FR-LOAN-002"')


def test_other_sections(page: str) -> None:
    assert "友盟" in page and "阿里巴巴" in page and "com.umeng.commonsdk (12 classes)" in page
    assert "content://sms/inbox" in page and "com.jisu.daikuan.data.Uploader5.collect()V" in page
    assert "6 call sites" in page  # folded: more than a few
    assert "android.telephony.TelephonyManager.getDeviceId()" in page
    assert "not requested" in page
    assert 'flag-dangerous">dangerous<' in page and 'flag-special">special<' in page
    assert "com.jisu.daikuan.SmsReceiver" in page and "<b>999</b>" in page
    assert "com.jisu.daikuan.Internal" not in page
    assert "CN=Android Debug" in page and "debug certificate" in page
    assert "https://api.jisu-loan.example/upload" in page and "jisu-loan.example" in page
    assert "arm64-v8a (1)" in page and "assets/plugin.apk" in page and "zip-duplicate-entry" in page
    assert "360 Jiagu" in page
    assert "bad header 坏的" in page and "KeyError: &#39;x&#39;" in page
    assert "sha256:" + "cd" * 32 in page and "2024-05-01T08:00:00+00:00" in page and "loan" in page


def test_permission_used_in_code(page: str) -> None:
    def row(perm: str) -> str:
        pattern = rf'<tr>\s*<td class="mono" title="android.permission.{perm}">.*?</tr>'
        m = re.search(pattern, page, re.S)
        assert m, perm
        return m.group(0)

    assert 'class="yes">yes<' in row("READ_SMS")
    assert 'class="no">no<' in row("CAMERA")


def test_hostile_strings_escaped() -> None:
    text = render(hostile_result())
    assert "<wbr>" in text
    text = text.replace("<wbr>", "")
    assert HOSTILE_LABEL not in text
    assert HOSTILE_VALUE not in text
    assert "<img src=x" not in text and "onerror=alert(2)>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in text
    assert "onload=alert(4)" not in text  # not an image: placeholder SVG, bytes never inlined
    parsed = parse(text)
    assert parsed.scripts == 1
    assert not any(tag == "img" and a.get("src") == "x" for tag, a in parsed.tags)
    assert not any(k.startswith("on") for _, a in parsed.tags for k in a)


def test_no_external_loads(page: str) -> None:
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert csp
    policy = html.unescape(csp.group(1))
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert "script-src 'sha256-" in policy and "unsafe-eval" not in policy
    for tag, attrs in parse(page).tags:
        for name in ("src", "href", "srcset", "action", "poster", "data", "xlink:href"):
            value = (attrs.get(name) or "").strip().lower()
            if not value:
                continue
            if tag == "a" and name == "href":
                assert value.startswith(("#", "https://")), value
                assert attrs.get("rel") == "noopener noreferrer" or value.startswith("#")
            else:
                assert value.startswith("data:"), (tag, name, value)
    assert "@import" not in page and "url(" not in page


def test_script_hash_matches() -> None:
    import base64
    import hashlib

    text = render(build_result())
    body = re.search(r"<script>(.*?)</script>", text, re.S)
    assert body
    digest = base64.b64encode(hashlib.sha256(body.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in html.unescape(text)
    assert "innerHTML" not in body.group(1) and "eval(" not in body.group(1)


def test_chinese_round_trip(page: str) -> None:
    for s in ("极速贷", "秒下款，无需征信", "解冻金", "虚假网络贷款", "友盟", "建议驳回"):
        assert s in page
    assert page.encode("utf-8").decode("utf-8") == page


def test_empty_result_renders() -> None:
    facts = facts_from_case({})
    text = render(ScanResult(facts=replace(facts, icon_png=None)))
    assert "No findings." in text and "NO VERDICT" in text and 'aria-label="no icon"' in text


def test_icon_magic() -> None:
    assert icon_data_uri(tiny_png()) is not None
    assert (icon_data_uri(b"\xff\xd8\xff\xe0rest") or "").startswith("data:image/jpeg;base64,")
    assert (icon_data_uri(b"RIFF\x00\x00\x00\x00WEBPVP8 ") or "").startswith("data:image/webp;")
    for bad in (b"<svg/>", None, b"", b"\x89PN"):
        assert icon_data_uri(bad) is None


def test_pretty_api() -> None:
    assert pretty_api("Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;") == (
        "android.telephony.TelephonyManager.getDeviceId()"
    )
    assert pretty_api("content://sms/") == "content://sms/"


def test_breakable_escapes_every_piece() -> None:
    from apkscan.report.html import breakable

    out = str(breakable('com.example.a.b.C.method(Ljava/lang/String;)V"><img src=x>'))
    assert "<img" not in out and "&lt;img" in out and "&#34;" in out
    assert out.count("<wbr>") > 5
    assert str(breakable("<b>")) == "&lt;b&gt;"


def test_compiled_templates_cached_and_checked(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Compiled templates are kept in the verified per-user cache; a tampered one (its
    index no longer matches) is compiled again, never loaded."""
    import subprocess
    import sys

    monkeypatch.setenv("APKSCAN_CACHE_DIR", str(tmp_path))
    code = ("from apkscan.report.html import _env; "
            "print(_env().get_template('report.html.j2').render is not None)")
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert first.stdout.strip() == "True"
    cached = sorted((tmp_path / "templates").glob("*.bin"))
    assert len(cached) == 1 and (tmp_path / "templates" / (cached[0].name + ".sha256")).is_file()
    cached[0].write_bytes(b"not bytecode")
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert second.stdout.strip() == "True"
    assert cached[0].read_bytes() != b"not bytecode"  # compiled again and written back
