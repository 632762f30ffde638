"""Consistency checks for the SDK catalogue (rules/sdks/catalogue.yaml)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

CATALOGUE = Path(__file__).resolve().parents[1] / "rules" / "sdks" / "catalogue.yaml"

CATEGORIES = {
    "push",
    "analytics",
    "ads",
    "maps",
    "location",
    "payment",
    "share-login",
    "crash-reporting",
    "hotfix",
    "risk-control",
    "oaid",
    "im",
    "customer-service",
    "rtc",
    "attribution",
    "app-generator",
    "hybrid-framework",
    "game-engine",
    "packer",
    "web3",
    "social",
    "network",
    "ui",
    "utility",
    "development",
}
DATA_KINDS = {
    "device-id",
    "advertising-id",
    "phone-number",
    "location",
    "cell-info",
    "wifi",
    "bluetooth",
    "contacts",
    "call-log",
    "sms",
    "calendar",
    "accounts",
    "installed-apps",
    "clipboard",
    "camera",
    "microphone",
    "screen-capture",
    "accessibility",
    "notifications",
    "photos-media",
    "sensors",
    "network",
    "device-info",
    "usage-stats",
    "health",
}
REQUIRED_KEYS = {"id", "name", "vendor", "category", "country", "tracker", "signatures", "data_collected", "source"}
OPTIONAL_KEYS = {"platform", "name_zh"}
SIGNATURE_KEYS = {"classes", "files", "native", "meta_data"}

# Entries the scanner and its reports rely on (by id).
MUST_HAVE = {
    # push
    "jpush",
    "getui-push",
    "umeng-push",
    "xiaomi-push",
    "huawei-push",
    "oppo-push",
    "vivo-push",
    "meizu-push",
    "tencent-tpns",
    # analytics
    "umeng-analytics",
    "talkingdata",
    "growingio",
    "sensorsdata",
    "baidu-mobstat",
    # ads
    "pangle-csj",
    "tencent-gdt",
    "kuaishou-ads",
    "baidu-mobads",
    "sigmob",
    "beizi-ads",
    # maps and location
    "amap-maps",
    "amap-location",
    "baidu-map",
    "baidu-location",
    "tencent-map",
    "tencent-location",
    # payment
    "alipay",
    "wechat-pay",
    "unionpay",
    # share and login
    "wechat-opensdk",
    "qq-connect",
    "weibo-sdk",
    "mobtech-sharesdk",
    "cmcc-auth",
    "cucc-auth",
    "ctcc-auth",
    # crash and hotfix
    "bugly-crash",
    "bugly-upgrade",
    "tinker",
    "sophix",
    # risk control / fingerprinting, OAID
    "shumei",
    "tongdun",
    "dingxiang",
    "netease-yidun-risk",
    "msa-oaid",
    # IM and customer service
    "tencent-im",
    "rongcloud",
    "netease-yunxin-im",
    "easemob-im",
    "meiqia",
    # RTC and screen sharing
    "agora-rtc",
    "tencent-trtc",
    "zego-express",
    "webrtc",
    "livekit",
    # install attribution
    "openinstall",
    "xinstall",
    "shareinstall",
    # app generators, hybrid shells, engines
    "dcloud-uniapp",
    "apicloud",
    "appcan",
    "gonative",
    "cordova",
    "capacitor",
    "flutter",
    "react-native",
    "unity-engine",
    "xamarin",
    "cocos",
    # packers
    "packer-360-jiagu",
    "packer-tencent-legu",
    "packer-bangcle",
    "packer-ijiami",
    "packer-baidu",
    "packer-netease",
    "packer-ali",
    # web3
    "web3j",
    "bitcoinj",
    "tron-trident",
    "trust-wallet-core",
    "walletconnect",
    # international
    "firebase-analytics",
    "firebase-crashlytics",
    "firebase-messaging",
    "admob",
    "gms-location",
    "facebook-core",
    "facebook-audience-network",
    "appsflyer",
    "adjust",
    "branch",
    "sentry",
    "applovin",
    "ironsource",
    "unity-ads",
    "vungle",
    "chartboost",
    "mintegral",
    "inmobi",
    "amplitude",
    "mixpanel",
    "segment",
    "onesignal",
    "braze",
    # plain libraries (non-trackers)
    "okhttp",
    "retrofit",
    "glide",
    "fresco",
    "gson",
    "rxjava",
    "exoplayer",
    "lottie",
    "eventbus",
    "zxing",
    # the Chinese market at scale (issue 11): every era of ad networks, vendor push, MobTech,
    # BaaS, game channels, hot-fix and plug-in frameworks
    "youmi-ads",
    "domob-ads",
    "waps-ads",
    "adwo-ads",
    "vpon-ads",
    "dataeye",
    "umeng-feedback",
    "honor-push",
    "jiguang-jshare",
    "jiguang-jmlink",
    "mobtech-moblink",
    "mobtech-mobpush",
    "mobtech-smssdk",
    "mobtech-sharerec",
    "bmob",
    "leancloud",
    "jd-pay",
    "aliyun-tigertally",
    "amigo",
    "replugin",
    "virtualapp",
    "mopub",
    "google-tag-manager",
    "tuya-smart",
}
NON_TRACKERS = {
    "okhttp",
    "retrofit",
    "glide",
    "fresco",
    "gson",
    "rxjava",
    "exoplayer",
    "lottie",
    "eventbus",
    "zxing",
    "material-components",
}

ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
PREFIX_RE = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+$")
TOO_GENERIC = {
    "com.google",
    "com.android",
    "com.facebook",
    "com.tencent",
    "com.alibaba",
    "com.baidu",
    "com.huawei",
    "com.xiaomi",
    "org.apache",
    "androidx",
    "android.support",
    "java.lang",
    "kotlin",
    "com.bytedance",
    "com.netease",
    "com.amap",
    "com.sina",
    # short prefixes that would swallow unrelated code (package-boundary matching still
    # claims every class below them)
    "com.mob",
    "com.sdk",
    "com.ads",
    "com.app",
    "com.push",
    "com.example",
    "cn.com",
    "com.qq",
    "com.ss",
    "com.ss.android",
    "com.alipay",
    "com.taobao",
    "com.umeng",
    "com.kwai",
    "com.jd",
    "com.oppo",
    "com.vivo",
    "com.meizu",
    "com.hihonor",
    "com.heytap",
    "com.qihoo",
    "com.iflytek",
    "com.kuaishou",
    "com.tencent.mm",
    "org.json",
}


@pytest.fixture(scope="module")
def doc():
    with CATALOGUE.open(encoding="utf-8") as fh:
        docs = list(yaml.safe_load_all(fh))
    assert len(docs) == 1, "catalogue must be a single YAML document"
    return docs[0]


@pytest.fixture(scope="module")
def sdks(doc):
    assert doc["version"] == 1
    assert isinstance(doc["sdks"], list)
    return doc["sdks"]


def test_top_level_keys(doc):
    assert set(doc) == {"version", "sdks"}


def test_ids_unique_and_kebab(sdks):
    ids = [s["id"] for s in sdks]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes, f"duplicate ids: {dupes}"
    bad = [i for i in ids if not isinstance(i, str) or not ID_RE.match(i)]
    assert not bad, f"ids not lowercase kebab-case: {bad}"


def test_required_keys_and_types(sdks):
    for s in sdks:
        keys = set(s)
        assert keys >= REQUIRED_KEYS, f"{s.get('id')}: missing {REQUIRED_KEYS - keys}"
        assert keys <= REQUIRED_KEYS | OPTIONAL_KEYS, f"{s['id']}: unknown keys {keys - REQUIRED_KEYS - OPTIONAL_KEYS}"
        for k in ("name", "vendor"):
            assert isinstance(s[k], str) and s[k].strip(), f"{s['id']}: empty {k}"
        if "name_zh" in s:
            assert isinstance(s["name_zh"], str) and s["name_zh"].strip(), f"{s['id']}: empty name_zh"
        assert isinstance(s["tracker"], bool), f"{s['id']}: tracker must be a boolean"
        assert isinstance(s["country"], str) and COUNTRY_RE.match(s["country"]), f"{s['id']}: bad country"
        sig = s["signatures"]
        assert isinstance(sig, dict) and set(sig) <= SIGNATURE_KEYS, f"{s['id']}: bad signatures keys"
        assert "classes" in sig, f"{s['id']}: signatures.classes missing"
        for k, v in sig.items():
            assert isinstance(v, list) and all(isinstance(x, str) and x for x in v), (
                f"{s['id']}: {k} must be a list of strings"
            )
        assert any(sig.get(k) for k in SIGNATURE_KEYS), f"{s['id']}: no signature at all"


def test_category_values(sdks):
    bad = {s["id"]: s["category"] for s in sdks if s["category"] not in CATEGORIES}
    assert not bad, f"unknown categories: {bad}"


def test_data_collected_values(sdks):
    for s in sdks:
        dc = s["data_collected"]
        assert isinstance(dc, list), f"{s['id']}: data_collected must be a list"
        unknown = set(dc) - DATA_KINDS
        assert not unknown, f"{s['id']}: unknown data_collected values {unknown}"
        assert len(dc) == len(set(dc)), f"{s['id']}: duplicated data_collected values"


def test_trackers_declare_data(sdks):
    missing = [s["id"] for s in sdks if s["tracker"] and not s["data_collected"]]
    assert not missing, f"trackers without data_collected: {missing}"


def test_counts(sdks):
    assert len(sdks) >= 600
    assert sum(1 for s in sdks if s["country"] == "CN") >= 250


def test_sources_are_https(sdks):
    bad = [
        s["id"]
        for s in sdks
        if not isinstance(s["source"], str) or not re.match(r"^https://[^\s/]+\.[^\s/]+", s["source"])
    ]
    assert not bad, f"source must be an https URL: {bad}"


def test_class_prefixes_well_formed(sdks):
    for s in sdks:
        for p in s["signatures"]["classes"]:
            assert PREFIX_RE.match(p), f"{s['id']}: malformed or too short class prefix {p!r}"
            assert p.count(".") >= 1, f"{s['id']}: prefix {p!r} has fewer than two segments"
            assert p not in TOO_GENERIC or s.get("platform"), f"{s['id']}: prefix {p!r} is too generic"
            assert "/" not in p and not p.startswith("L"), f"{s['id']}: use dotted names, not {p!r}"


def test_class_prefixes_not_shared(sdks):
    owners: dict[str, list[str]] = {}
    for s in sdks:
        for p in s["signatures"]["classes"]:
            owners.setdefault(p, []).append(s["id"])
    shared = {p: ids for p, ids in owners.items() if len(ids) > 1}
    assert not shared, f"class prefixes claimed by more than one entry: {shared}"


def test_meta_data_and_native_signatures_not_shared(sdks):
    """A manifest key or native library names one SDK (a shared one would report both)."""
    for kind in ("meta_data", "native"):
        owners: dict[str, list[str]] = {}
        for s in sdks:
            for v in s["signatures"].get(kind) or ():
                owners.setdefault(v, []).append(s["id"])
        shared = {v: ids for v, ids in owners.items() if len(ids) > 1}
        assert not shared, f"{kind} claimed by more than one entry: {shared}"


def test_no_duplicate_signatures_within_entry(sdks):
    for s in sdks:
        for k, v in s["signatures"].items():
            assert len(v) == len(set(v)), f"{s['id']}: duplicated {k}"


def test_must_have_entries(sdks):
    ids = {s["id"] for s in sdks}
    missing = sorted(MUST_HAVE - ids)
    assert not missing, f"missing must-have entries: {missing}"


def test_plain_libraries_are_not_trackers(sdks):
    by_id = {s["id"]: s for s in sdks}
    flagged = [i for i in NON_TRACKERS if i in by_id and by_id[i]["tracker"]]
    assert not flagged, f"plain libraries flagged as trackers: {flagged}"


def test_packers_have_no_data(sdks):
    for s in sdks:
        if s["category"] == "packer":
            assert s["tracker"] is False and not s["data_collected"], s["id"]


# -- discovery of unidentified SDKs -------------------------------------------------------


def _discovery_case() -> dict:
    vendor = [f"com.vendor.sdk.core.C{i}" for i in range(24)] + ["com.vendor.sdk.net.Uploader$1"]
    return {
        "package": "org.example.app",
        "app_flags": {"name": "net.owner.shell.App"},
        "classes": [
            *vendor,
            "com.vendor.sdk.R",
            "com.vendor.sdk.R$string",
            *[f"org.example.app.ui.A{i}" for i in range(30)],  # the app's own code
            *[f"net.owner.shell.S{i}" for i in range(30)],  # the Application class's package
            *[f"a.b.C{i}" for i in range(30)],  # obfuscated
            *[f"kotlin.collections.K{i}" for i in range(30)],  # language runtime
            *[f"com.android.core.P{i}" for i in range(30)],  # the platform's namespace: the app's own
            *[f"com.small.lib.S{i}" for i in range(19)],  # below the threshold
            *[f"com.umeng.analytics.U{i}" for i in range(30)],  # a catalogue entry
        ],
        "calls": [
            [
                "Lcom/vendor/sdk/core/C0;->collect()V",
                "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;",
            ],
            [
                "Lorg/example/app/ui/A0;->onCreate()V",
                "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;",
            ],
        ],
        "permissions": ["READ_PHONE_STATE"],
    }


def test_tree_key() -> None:
    from apkscan.sdk import tree_key

    assert tree_key("com.vendor.sdk.core.Foo$1") == "com.vendor.sdk"
    assert tree_key("com.vendor.Foo") == "com.vendor"
    assert tree_key("com.google.android.datatransport.runtime.X") == "com.google.android.datatransport"
    assert tree_key("a.b.c.D") == ""  # obfuscated
    assert tree_key("com.a.sdk.D") == ""
    assert tree_key("Foo") == "" and tree_key("bolts.Task") == ""


def test_discovery_reports_unidentified_sdk_and_attributes_its_calls() -> None:
    from apkscan.engine import evaluate
    from apkscan.rules.fixtures import facts_from_case
    from apkscan.rules.loader import load_rules
    from apkscan.sdk import DISCOVERY_MIN_CLASSES, UNIDENTIFIED_CATEGORY

    assert DISCOVERY_MIN_CLASSES == 20
    result = evaluate(facts_from_case(_discovery_case()), load_rules())
    unidentified = {s.id: s for s in result.sdks if s.category == UNIDENTIFIED_CATEGORY}
    assert set(unidentified) == {"unidentified:com.vendor.sdk"}
    hit = unidentified["unidentified:com.vendor.sdk"]
    assert hit.class_count == 25  # R classes are not counted
    assert hit.name_zh == "未识别SDK" and not hit.tracker and hit.matched
    assert "umeng-analytics" in {s.id for s in result.sdks}
    device_id = next(a for a in result.data_access if a.category == "device-id")
    by_class = {e.class_name: e.sdk for e in device_id.sites}
    assert by_class["com.vendor.sdk.core.C0"] == "unidentified:com.vendor.sdk"
    assert by_class["org.example.app.ui.A0"] == ""


def test_discovery_threshold_and_matcher_reset() -> None:
    from apkscan.rules.fixtures import facts_from_case
    from apkscan.rules.loader import load_rules
    from apkscan.sdk import SdkMatcher

    matcher = SdkMatcher(load_rules().sdks)
    matcher.detect(facts_from_case(_discovery_case()))
    assert matcher.sdk_of("com.vendor.sdk.util.Anything") == "unidentified:com.vendor.sdk"
    assert matcher.sdk_of("com.umeng.analytics.MobclickAgent") == "umeng-analytics"
    assert matcher.sdk_of("com.small.lib.S0") == ""
    assert matcher.sdk_of("org.example.app.ui.A0") == ""
    # the next app's detect replaces what the previous one discovered
    hits = matcher.detect(facts_from_case({"classes": [f"com.vendor.sdk.core.C{i}" for i in range(19)]}))
    assert not [h for h in hits if h.category == "unidentified"]
    assert matcher.sdk_of("com.vendor.sdk.core.C0") == ""


def test_discovery_ignores_the_app_namespace_under_a_generic_org() -> None:
    from apkscan.rules.fixtures import facts_from_case
    from apkscan.rules.loader import load_rules
    from apkscan.sdk import SdkMatcher

    case = {
        "package": "com.example.myapp",
        "classes": [f"com.example.myapp.x.C{i}" for i in range(30)] + [f"com.example.other.C{i}" for i in range(30)],
    }
    hits = SdkMatcher(load_rules().sdks).detect(facts_from_case(case))
    # com.example is shared by unrelated developers: only the app's own tree is its own
    assert [h.id for h in hits if h.category == "unidentified"] == ["unidentified:com.example.other"]


def test_discovery_ignores_the_developers_own_code_under_another_root() -> None:
    from apkscan.rules.fixtures import facts_from_case
    from apkscan.rules.loader import load_rules
    from apkscan.sdk import SdkMatcher

    case = {
        "package": "km.home",
        "classes": [f"com.km.tool.C{i}" for i in range(30)] + [f"com.vendor.push.C{i}" for i in range(30)],
    }
    hits = SdkMatcher(load_rules().sdks).detect(facts_from_case(case))
    assert [h.id for h in hits if h.category == "unidentified"] == ["unidentified:com.vendor.push"]


def test_reports_show_unidentified_sdks() -> None:
    import json

    import jsonschema

    from apkscan.engine import evaluate
    from apkscan.report import html, json_report
    from apkscan.rules.fixtures import facts_from_case
    from apkscan.rules.loader import load_rules

    result = evaluate(facts_from_case(_discovery_case()), load_rules())
    doc = json.loads(json_report.render(result))
    schema_path = Path(__file__).resolve().parents[1] / "apkscan" / "schemas" / "report.schema.json"
    jsonschema.validate(doc, json.loads(schema_path.read_text(encoding="utf-8")))
    hit = next(s for s in doc["sdks"] if s["id"] == "unidentified:com.vendor.sdk")
    assert hit["category"] == "unidentified" and hit["class_count"] == 25 and hit["source"] == "discovery"
    assert doc["sdks"][-1]["id"] == "unidentified:com.vendor.sdk"  # after the catalogue's SDKs
    page = html.render(result)
    row = page[page.index('class="sdk-unidentified"') :]
    row = row[: row.index("</tr>")]
    assert "unidentified SDK" in row and "未识别SDK" in row and "com.vendor.sdk" in row
    assert "device-id" in row  # the personal data its own code reaches


def test_grouped_sdk_counting_equals_counting_class_by_class(ruleset) -> None:  # type: ignore[no-untyped-def]
    """SdkMatcher counts classes per package (a large app's tens of thousands of classes
    in a few C-level passes); it must give what counting them one by one gives, for the
    bundled samples and for odd names: a class listed by its own name, generated R and
    BuildConfig classes, '$' in a package, a line break in a name, no package."""
    from apkscan.rules.fixtures import facts_from_case
    from apkscan.sdk import SdkMatcher, dotted_classes, smali_to_dotted

    odd = [
        "com.tencent.mm.opensdk.openapi.WXAPIFactory", "okhttp3.Request", "okhttp3.Request$Builder", "okhttp3.Cookie",
        "com.vendor.kit.core.A", "com.vendor.kit.core.R", "com.vendor.kit.core.R$string", "com.vendor.kit.BuildConfig",
        "com.vendor.kit.R$a.b", "com.we$ird.pkg.Thing", "com.we$ird.pkg.R", "Top", "R", "com.line\nbreak.kit.X",
        *[f"com.other.lib.part.C{i}" for i in range(30)], *[f"com.other.lib.part.C{i}$1" for i in range(5)],
    ]
    apps = [facts_from_case({"classes": odd}), facts_from_case({"classes": [""]}),
            facts_from_case({"classes": ["L", ";", "L;"]})]
    from apkscan.extract.apk import extract

    samples = Path(__file__).resolve().parent.parent / "samples"
    apps += [extract(p) for p in sorted(samples.glob("*.apk"))]
    for facts in apps:
        got = dotted_classes(facts)
        assert got == [(smali_to_dotted(c), d.path) for d in facts.dex for c in d.classes]
        names = [n for n, _ in got]
        assert SdkMatcher(ruleset.sdks)._count(names) == SdkMatcher(ruleset.sdks)._count_each(names)
