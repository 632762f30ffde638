"""Personal-data compliance against the privacy policy (issue 14): the policy checks, the
comparison of policy and behaviour, the two lists (已收集个人信息清单, 第三方信息共享清单)
and the collection-before-consent candidates.

Every finding is of category ``personal-data`` and at most ``medium``: these are
compliance findings, which send an app back to be fixed and never reject it.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from apkscan.extract.policy import PolicyDocument, find_policy
from apkscan.model import DataAccess, Evidence, Finding, Reference, SdkHit, Severity
from apkscan.rules import consent, policy
from apkscan.rules.consent import ConsentScan
from apkscan.rules.context import Context
from apkscan.rules.data import pi_table
from apkscan.rules.policy import PolicyReading

NOT_DATA = frozenset({"overlay", "calls", "device-admin"})
"""pi_apis.yaml categories that are capabilities, not personal data a policy lists."""
TODO_ZH = "待补充"


@dataclass(frozen=True)
class CollectedRow:
    """A row of 已收集个人信息清单 (the app's own collection)."""

    data_type: str
    type_zh: str
    fields_zh: str
    function_zh: str
    """What the policy says it is for (its declaring sentence), or 待补充."""
    permission: str
    permission_zh: str
    declared: bool
    sites: tuple[str, ...]
    """Up to five callers (``class.method``) in the app's code."""


@dataclass(frozen=True)
class SharingRow:
    """A row of 第三方信息共享清单 (one third-party SDK)."""

    sdk: str
    name: str
    name_zh: str
    packages: tuple[str, ...]
    vendor: str
    purpose_zh: str
    types_seen: tuple[str, ...]
    """Personal-data categories the SDK's code in this app reaches."""
    types_documented: tuple[str, ...]
    """What the vendor documents the SDK collects (the catalogue's data_collected)."""
    types_zh: str
    """Both, in Chinese, for pasting into a policy."""
    permissions: tuple[str, ...]
    policy_url: str
    listed: bool
    """The policy names it."""
    listed_sentence: str = ""


@dataclass(frozen=True)
class PolicySummary:
    where: tuple[tuple[str, str, int], ...] = ()
    """(source, kind, characters) of each text read as the policy."""
    urls: tuple[tuple[str, str], ...] = ()
    given: bool = False


@dataclass(frozen=True)
class PrivacyReport:
    policy: PolicySummary = field(default_factory=PolicySummary)
    reading: PolicyReading | None = None
    collected: tuple[CollectedRow, ...] = ()
    sharing: tuple[SharingRow, ...] = ()
    consent: ConsentScan = field(default_factory=ConsentScan)
    finding_ids: tuple[str, ...] = ()


def refs(*keys: str) -> tuple[Reference, ...]:
    table = policy.privacy_table().get("refs") or {}
    out = []
    for k in keys:
        r = table.get(k)
        if r:
            out.append(Reference(str(r["id"]), str(r.get("url", "")), str(r.get("title", ""))))
    return tuple(out)


def _finding(**kw: Any) -> Finding:
    f = Finding(source="builtin", category="personal-data", **kw)
    parts = sorted({f"{e.sdk}|{e.value}|{e.class_name}|{e.method}" for e in f.evidence})
    fp = hashlib.sha256("\n".join([f.rule_id, *parts]).encode()).hexdigest()[:32]
    return Finding(**{**f.__dict__, "fingerprint": fp})


def category_zh(cat: str) -> str:
    if cat == "device-info":
        return "设备信息"
    if cat == "network":
        return "网络信息"
    info = (pi_table().get("categories") or {}).get(cat) or {}
    return str(info.get("name_zh") or cat)


def _fields_zh(cat: str) -> str:
    spec = (policy.privacy_table().get("data_types") or {}).get(cat) or {}
    return str(spec.get("fields_zh") or category_zh(cat))


_PACKAGE = re.compile(r"classes ([A-Za-z_][\w.]*[\w])\.\*")


def packages_of(hit: SdkHit) -> tuple[str, ...]:
    """The package prefixes that matched (``classes com.umeng.commonsdk.* (12)``)."""
    return tuple(dict.fromkeys(m.group(1) for text in hit.matched for m in _PACKAGE.finditer(text)))


def sdk_names(hit: SdkHit, aliases: dict[str, list[str]]) -> list[str]:
    """Names a policy may list this SDK under: its names, aliases, and package prefixes."""
    names = [hit.name, hit.name_zh, *aliases.get(hit.id, [])]
    if "(" in hit.name:
        names += [p.strip(" )") for p in hit.name.replace("(", "|").split("|")]
    names += packages_of(hit)
    return [n for n in dict.fromkeys(n.strip() for n in names) if len(n) >= 2]


def absent_trackers(
    ctx: Context, hits: list[SdkHit], aliases: dict[str, list[str]]
) -> dict[str, tuple[str, list[str]]]:
    """Catalogued tracker SDKs not in the app (and of no vendor present in it), with the
    distinctive names a policy lists them under (the Chinese name, the aliases): SDK id ->
    (name, names)."""
    present_vendors = {h.vendor for h in hits}
    present = {h.id for h in ctx.sdk_hits}
    out: dict[str, tuple[str, list[str]]] = {}
    for sdk in ctx.matcher.sdks.values():
        if not sdk.tracker or sdk.platform or sdk.id in present or sdk.vendor in present_vendors:
            continue
        names = [n for n in [sdk.name_zh, *aliases.get(sdk.id, [])] if len(n) >= 3 and not n.isascii()]
        names += [n for n in aliases.get(sdk.id, []) if n.isascii() and len(n) >= 5]
        if names:
            out[sdk.id] = (sdk.name_zh or sdk.name, list(dict.fromkeys(names)))
    return out


def _declared_absent(reading: PolicyReading, absent: dict[str, tuple[str, list[str]]]) -> list[Finding]:
    named = [d for d in reading.sdks if d.key in absent]
    if not named:
        return []
    return [
        _finding(
            rule_id="PRIV-SDK-DECLARED-ABSENT",
            title="SDKs the policy lists that the app does not contain",
            title_zh="隐私政策列出但应用中未发现的SDK",
            severity=Severity.INFO,
            confidence="low",
            description="The policy lists these SDKs and no code of them was found: "
            + ", ".join(absent[d.key][0] for d in named)
            + ". The list may be out of date, or the SDK is loaded at run time.",
            description_zh="隐私政策列出了以下SDK，但应用中未发现其代码："
            + "、".join(absent[d.key][0] for d in named)
            + "。清单可能未及时更新，或该SDK在运行时加载。",
            remediation="Keep the sharing list to the SDKs the app embeds.",
            remediation_zh="共享清单应与应用实际嵌入的SDK保持一致。",
            tags=("privacy-policy", "sdk-list"),
            references=refs("gbt35273-9.7", "miit-dual-list"),
            evidence=tuple(Evidence("policy-text", d.sentence, file=d.where, detail=d.key) for d in named[:20]),
        )
    ]


def listed_sdks(
    sdks: tuple[SdkHit, ...] | list[SdkHit], platform: frozenset[str], seen: dict[str, set[str]]
) -> list[SdkHit]:
    """The SDKs a sharing list must name: the catalogue's trackers (SDKs that collect personal
    data for their vendor's or a third party's purposes). A plain library whose code reaches
    personal data (a location wrapper, say) processes it for the app: it is neither listed
    nor counted against the policy, which keeps the findings to what a tester would report."""
    return [s for s in sdks if s.tracker and s.id not in platform and not s.id.startswith("unidentified:")]


def review(
    ctx: Context, access: list[DataAccess], doc: PolicyDocument | None = None
) -> tuple[PrivacyReport, list[Finding]]:
    """The privacy section of a scan and its findings. ``doc``: a policy the user gave
    (``--policy``); else the one the app bundles, if any."""
    doc = doc if doc is not None else find_policy(ctx.facts)
    table = policy.privacy_table()
    aliases = {str(k): [str(x) for x in v or []] for k, v in (table.get("sdk_aliases") or {}).items()}
    platform = ctx.matcher.platform_ids

    # What the code reaches: by the app itself, and by each SDK.
    app_sites: dict[str, list[Evidence]] = defaultdict(list)
    sdk_seen: dict[str, set[str]] = defaultdict(set)
    sdk_sites: dict[tuple[str, str], list[Evidence]] = defaultdict(list)
    perm_of: dict[str, tuple[str, bool]] = {}
    reached = {acc.category for acc in access}  # with or without the gating permission
    for acc in access:
        if acc.category in NOT_DATA or not acc.permission_requested:
            continue
        perm_of[acc.category] = (acc.permission, acc.permission_requested)
        for e in acc.sites:
            if not e.sdk or e.sdk.startswith("unidentified:"):
                app_sites[acc.category].append(e)
            elif e.sdk not in platform:
                sdk_seen[e.sdk].add(acc.category)
                sdk_sites[(e.sdk, acc.category)].append(e)
    hits = listed_sdks(ctx.sdk_hits, platform, sdk_seen)

    sources = doc.sources
    text = doc.text
    where_of: list[tuple[int, str]] = []
    off = 0
    for s in sources:
        where_of.append((off, s.where))
        off += len(s.text) + 2
    names = {h.id: sdk_names(h, aliases) for h in hits}
    absent = absent_trackers(ctx, hits, aliases)
    for sdk_id, (_, sdk_aliases) in absent.items():
        names.setdefault(sdk_id, sdk_aliases)
    reading = policy.read(text, sources[0].where, names, where_of) if sources else None

    cscan = consent.scan(ctx)

    collected = _collected_rows(app_sites, perm_of, reading)
    sharing = _sharing_rows(hits, sdk_seen, perm_of, reading)
    findings: list[Finding] = []
    if reading is None:
        if not ctx.rule_hits.get("PI-POLICY-001"):
            # else PI-POLICY-001 reports the missing policy (and says to give one with --policy)
            findings.append(_no_policy(doc))
    else:
        findings += _text_findings(reading, sources[0].where, app_sites, sdk_seen, hits)
        findings += _behaviour_findings(reading, app_sites, sdk_sites, hits, sharing, reached)
        findings += _declared_absent(reading, absent)
    findings += _consent_findings(cscan)
    report = PrivacyReport(
        PolicySummary(tuple((s.where, s.kind, len(s.text)) for s in sources), doc.urls[:20], doc.given),
        reading,
        tuple(collected),
        tuple(sharing),
        cscan,
        tuple(dict.fromkeys(f.rule_id for f in findings)),
    )
    return report, findings


def _collected_rows(
    app_sites: dict[str, list[Evidence]], perm_of: dict[str, tuple[str, bool]], reading: policy.PolicyReading | None
) -> list[CollectedRow]:
    from apkscan.rules.data import permission_table

    perms = permission_table()
    rows = []
    for cat in sorted(app_sites):
        perm, _ = perm_of.get(cat, ("", False))
        purpose = ""
        if reading is not None:
            purpose = next((d.sentence for d in reading.purposes if d.key == cat), "")
        sites = tuple(dict.fromkeys(f"{e.class_name}.{e.method.split('(', 1)[0]}" for e in app_sites[cat]))[:5]
        rows.append(
            CollectedRow(
                cat,
                category_zh(cat),
                _fields_zh(cat),
                purpose or TODO_ZH + "（使用该信息的业务功能及目的）",
                perm,
                str((perms.get(perm) or {}).get("name_zh", "")) if perm else "无需权限",
                bool(reading and reading.declared(cat)),
                sites,
            )
        )
    return rows


def _sharing_rows(
    hits: list[SdkHit],
    sdk_seen: dict[str, set[str]],
    perm_of: dict[str, tuple[str, bool]],
    reading: policy.PolicyReading | None,
) -> list[SharingRow]:
    purposes = policy.privacy_table().get("purpose_zh") or {}
    vendors_zh = policy.privacy_table().get("vendor_zh") or {}
    rows = []
    for h in sorted(hits, key=lambda h: (h.category, h.id)):
        seen = tuple(sorted(sdk_seen.get(h.id, ())))
        documented = tuple(c for c in h.data_collected if c)
        both = list(dict.fromkeys([*seen, *documented]))
        types_zh = "、".join(category_zh(c) for c in both) or "未发现"
        perms = tuple(sorted({perm_of[c][0] for c in seen if c in perm_of and perm_of[c][0]}))
        decl = next((d for d in reading.sdks if d.key == h.id), None) if reading else None
        packages = packages_of(h)[:4]
        rows.append(
            SharingRow(
                h.id,
                h.name,
                h.name_zh or h.name,
                packages,
                f"{vendors_zh[h.id]}（{h.vendor}）" if h.id in vendors_zh else h.vendor,
                str(purposes.get(h.category, h.category)),
                seen,
                documented,
                types_zh,
                perms,
                h.source,
                decl is not None,
                decl.sentence if decl else "",
            )
        )
    return rows


def _no_policy(doc: PolicyDocument) -> Finding:
    urls = [u for u, _ in doc.urls[:5]]
    return _finding(
        rule_id="PRIV-POLICY-NONE",
        title="No bundled privacy policy to check",
        title_zh="未在安装包内找到隐私政策文本",
        description_zh="在应用的assets、res/raw和字符串资源中未找到隐私政策文本，隐私政策检查及政策与行为的比对未执行。"
        + ("应用携带的隐私政策或协议链接：" + "、".join(urls) + "。" if urls else "应用未携带看似隐私政策的链接。")
        + "扫描为离线进行：请保存隐私政策后使用 --policy FILE 重新扫描。",
        remediation_zh="使用 --policy FILE（文本或HTML）提供隐私政策以执行检查。",
        severity=Severity.INFO,
        confidence="high",
        description=(
            "No privacy-policy text was found in the app's assets, raw resources or string resources, so "
            "the policy checks and the policy-versus-behaviour comparison did not run. "
            + (
                "The app carries these policy or agreement URLs: " + ", ".join(urls) + ". "
                if urls
                else "The app carries no URL that looks like a policy. "
            )
            + "Scans are offline: save the policy and scan again with --policy FILE."
        ),
        remediation="Give the policy text with --policy FILE (text or HTML) to run the checks.",
        tags=("privacy-policy",),
        references=refs("rending-1"),
        evidence=tuple(Evidence("url", u, file=w) for u, w in doc.urls[:10])
        or (Evidence("policy-text", "no privacy-policy text", file="assets/, res/raw/, resources.arsc"),),
    )


def _text_findings(
    reading: policy.PolicyReading,
    where: str,
    app_sites: dict[str, list[Evidence]],
    sdk_seen: dict[str, set[str]],
    hits: list[SdkHit],
) -> list[Finding]:
    table = policy.privacy_table()
    sensitive = set(table.get("sensitive") or [])
    collected = set(app_sites) | {c for cats in sdk_seen.values() for c in cats}
    out = []
    for check in table.get("checks") or []:
        cid = str(check["id"])
        res = reading.check(cid)
        if res is None or res.passed:
            continue
        if check.get("when_declared") == "sensitive" and not (
            sensitive & ({d.key for d in reading.data_types} | collected)
        ):
            continue
        if check.get("when_sdks") and not hits:
            continue
        out.append(
            _finding(
                rule_id=f"PRIV-TEXT-{cid}",
                title=f"Privacy policy: {check['title_en']}",
                title_zh=f"隐私政策{check['title_zh']}",
                description_zh=f"{check['what_zh']}。隐私政策文本（{where}，{reading.chars}字）中未找到相应内容。",
                remediation_zh=f"在隐私政策中补充：{check['what_zh']}。",
                severity=Severity.LOW,
                confidence="medium",
                description=(
                    f"{check['title_en']}: the policy text ({where}, {reading.chars} characters) has nothing that "
                    f"meets this point ({check['what_zh']}). Searched for: " + "; ".join(res.missing) + "."
                ),
                remediation=f"Add it to the policy: {check['what_zh']}.",
                tags=("privacy-policy", "policy-text"),
                references=refs(*[str(r) for r in check.get("refs") or []]),
                evidence=(Evidence("policy-text", f"missing: {check['title_zh']}", file=where),),
            )
        )
    if reading.vague:
        out.append(
            _finding(
                rule_id="PRIV-TEXT-VAGUE",
                title="Privacy policy: data types listed with 等/例如 instead of a full list",
                title_zh="隐私政策以“等”“例如”概括收集的个人信息",
                description_zh="声明个人信息的语句使用“等”“例如”“包括但不限于”等开放式列举，读者无法知道收集的全部类型；"
                "应逐项列明每项业务功能收集的个人信息类型。",
                remediation_zh="逐项列明每项业务功能收集的个人信息类型，不使用“等”“例如”。",
                severity=Severity.LOW,
                confidence="medium",
                description=(
                    "Sentences that declare personal data leave the list open (等, 例如, 包括但不限于), so the reader "
                    "cannot tell every type collected; each type must be named with its function."
                ),
                remediation="Name every personal-information type for each function, without 等 or 例如.",
                tags=("privacy-policy", "policy-text"),
                references=refs("gbt35273-5.5", "gbt42582", "rending-2"),
                evidence=tuple(
                    Evidence("policy-text", d.sentence, file=d.where, detail=d.key) for d in reading.vague[:10]
                ),
            )
        )
    unmapped = [d for d in reading.data_types if not any(p.key == d.key for p in reading.purposes)]
    if unmapped and len(unmapped) * 2 >= len(reading.data_types):
        out.append(
            _finding(
                rule_id="PRIV-TEXT-FUNCTION",
                title="Privacy policy: data types not tied to a function",
                title_zh="隐私政策中的个人信息类型未与业务功能一一对应",
                description_zh="以下声明的个人信息类型未出现在说明其业务功能或目的的语句中："
                + "、".join(category_zh(d.key) for d in unmapped)
                + "。",
                remediation_zh="按业务功能逐项说明收集的个人信息及其目的。",
                severity=Severity.LOW,
                confidence="low",
                description=(
                    "These declared data types appear in no sentence that states the function or purpose they serve "
                    "(为了, 用于, 功能, 目的): " + ", ".join(category_zh(d.key) for d in unmapped) + "."
                ),
                remediation="For each business function, list the personal information it collects and why.",
                tags=("privacy-policy", "policy-text"),
                references=refs("gbt35273-5.5", "gbt42582", "rending-2"),
                evidence=tuple(Evidence("policy-text", d.sentence, file=d.where, detail=d.key) for d in unmapped[:10]),
            )
        )
    return out


def _behaviour_findings(
    reading: policy.PolicyReading,
    app_sites: dict[str, list[Evidence]],
    sdk_sites: dict[tuple[str, str], list[Evidence]],
    hits: list[SdkHit],
    sharing: list[SharingRow],
    reached: set[str] | None = None,
) -> list[Finding]:
    out = []
    by_id = {h.id: h for h in hits}
    # Collected but undeclared: the app's own code, and SDK code where the vendor documents
    # that the SDK collects the type (an SDK's code reaching an API it never uses is not counted).
    holders: dict[str, list[tuple[str, list[Evidence]]]] = defaultdict(list)
    for cat, sites in app_sites.items():
        holders[cat].append(("", sites))
    for (sdk, cat), sites in sdk_sites.items():
        h = by_id.get(sdk)
        if h is not None and cat in h.data_collected:
            holders[cat].append((sdk, sites))
    for cat in sorted(holders):
        if reading.declared(cat):
            continue
        who = [s or "the app itself" for s, _ in holders[cat]]
        who_zh = "、".join(s or "应用自身" for s, _ in holders[cat])
        ev = tuple(e for _, sites in holders[cat] for e in sites[:5])[:30]
        out.append(
            _finding(
                rule_id=f"PRIV-UNDECLARED-{cat.upper()}",
                title=f"{cat} collected but not declared in the privacy policy",
                title_zh=f"收集{category_zh(cat)}但未在隐私政策中声明",
                description_zh=f"代码访问{category_zh(cat)}，收集方：{who_zh}；"
                "隐私政策中未提及该类型。隐私政策应说明应用及其嵌入的SDK收集的每一类个人信息及其目的、方式和范围。",
                remediation_zh=f"在隐私政策中声明{category_zh(cat)}及需要它的业务功能，或删除该收集行为。",
                severity=Severity.MEDIUM,
                confidence="medium",
                description=(
                    f"Code reaches {cat} ({category_zh(cat)}), collected by {', '.join(who)}, and the policy names "
                    "this type nowhere. A policy must state every type of personal information the app and its "
                    "embedded SDKs collect, with purpose, method and scope."
                ),
                remediation=f"Declare {category_zh(cat)} with the function that needs it, or remove the collection.",
                tags=("privacy-policy", "undeclared", cat, *(f"sdk:{s}" for s, _ in holders[cat] if s)),
                references=refs("rending-2", "gbt35273-5.5", "gbt42582", "gbt43739", "miit164"),
                evidence=ev,
            )
        )
    unlisted = [r for r in sharing if not r.listed]
    if unlisted:
        out.append(
            _finding(
                rule_id="PRIV-SDK-UNLISTED",
                title="SDKs missing from the third-party sharing list",
                title_zh="第三方SDK未在共享清单中列明",
                description_zh="应用嵌入了以下收集个人信息的SDK，隐私政策未以名称、品牌、公司或包名提及："
                + "、".join(r.name_zh for r in unlisted)
                + "。每个嵌入的SDK均应列明其公司、目的、收集的个人信息和隐私政策链接。",
                remediation_zh="将每个SDK补入第三方信息共享清单（本报告的清单草稿已包含所需各列）。",
                severity=Severity.MEDIUM,
                confidence="medium",
                description=(
                    "The app embeds these SDKs, which collect personal information, and the policy names none of "
                    "them (by name, brand, company or package): "
                    + ", ".join(f"{r.name_zh} ({r.sdk})" for r in unlisted)
                    + ". Every embedded SDK must be listed with its company, purpose, data collected and its policy."
                ),
                remediation="Add each SDK to 第三方信息共享清单 (the draft list in this report has the columns).",
                tags=("privacy-policy", "sdk-list", *(f"sdk:{r.sdk}" for r in unlisted)),
                references=refs("rending-2", "gbt35273-9.7", "miit-dual-list", "gbt43739", "miit164"),
                evidence=tuple(
                    Evidence("sdk", r.sdk, class_name=(r.packages or ("",))[0], sdk=r.sdk, detail=r.name_zh)
                    for r in unlisted
                ),
            )
        )
    partial = []
    for r in sharing:
        if not r.listed:
            continue
        missing = [c for c in r.types_seen if c in r.types_documented and c not in reading.sdk_types(r.sdk)]
        if missing:
            partial.append((r, missing))
    if partial:
        out.append(
            _finding(
                rule_id="PRIV-SDK-DATA-UNDECLARED",
                title="Listed SDKs collect data their list entry does not name",
                title_zh="SDK收集的个人信息未在其清单条目中写明",
                description_zh="；".join(
                    f"{r.name_zh}：{'、'.join(category_zh(c) for c in miss)}" for r, miss in partial
                )
                + "。该SDK在本应用中的代码访问了这些类型且其厂商文档声明收集，但隐私政策中该SDK名称之后的文字未提及。",
                remediation_zh="在共享清单中该SDK的条目里写明其收集的每一类个人信息。",
                severity=Severity.LOW,
                confidence="low",
                description="; ".join(f"{r.name_zh}: {', '.join(category_zh(c) for c in miss)}" for r, miss in partial)
                + ". The SDK's code in this app reaches these types and its vendor documents collecting them, "
                "but the text that follows the SDK's name in the policy does not name them.",
                remediation="Name every type each SDK collects in its row of the sharing list.",
                tags=("privacy-policy", "sdk-list"),
                references=refs("gbt35273-9.7", "miit-dual-list"),
                evidence=tuple(
                    Evidence("policy-text", r.listed_sentence, sdk=r.sdk, detail=",".join(miss)) for r, miss in partial
                ),
            )
        )
    seen_all = (reached or set()) | set(app_sites) | {c for h in hits for c in h.data_collected}
    unseen = [d for d in reading.data_types if d.key not in seen_all and d.key not in ("device-info", "network")]
    if unseen:
        out.append(
            _finding(
                rule_id="PRIV-DECLARED-UNSEEN",
                title="Declared in the policy but not seen in the code",
                title_zh="隐私政策声明但代码中未发现收集行为",
                description_zh="隐私政策声明了以下类型，但未发现代码访问："
                + "、".join(category_zh(d.key) for d in unseen)
                + "。它们可能由用户输入、由服务器收集或已不再收集；隐私政策不应声明超出应用实际行为的内容。",
                remediation_zh="核实应用是否仍收集这些信息，删除不再收集的声明。",
                severity=Severity.INFO,
                confidence="low",
                description=(
                    "The policy declares these types and no code in the app was seen reaching them: "
                    + ", ".join(category_zh(d.key) for d in unseen)
                    + ". They may be entered by the user, collected by the server, or no longer collected; the "
                    "policy should not claim more than the app does."
                ),
                remediation="Check whether the app still collects them; remove what it does not.",
                tags=("privacy-policy",),
                references=refs("gbt35273-5.5"),
                evidence=tuple(Evidence("policy-text", d.sentence, file=d.where, detail=d.key) for d in unseen[:10]),
            )
        )
    return out


def chain_text(chain: tuple[str, ...]) -> str:
    return " -> ".join(c.split("(", 1)[0].lstrip("L").replace("/", ".").replace(";->", ".") for c in chain)


def _consent_findings(cscan: consent.ConsentScan) -> list[Finding]:
    out = []
    inited = {c.sdk for c in cscan.chains if c.kind == "sdk-init"}
    open_sdk = [
        c for c in cscan.chains if c.kind in ("sdk-init", "sdk-call", "sdk-provider", "sdk-application") and not c.gated
    ]
    open_sdk = [c for c in open_sdk if c.kind == "sdk-init" or c.sdk not in inited]
    open_api = [c for c in cscan.chains if c.kind == "pi-api" and not c.gated]
    gated = [c for c in cscan.chains if c.gated or c.kind == "pre-init"]

    def ev(c: consent.ConsentChain) -> Evidence:
        cls, _, method = c.chain[-2].partition("->") if len(c.chain) > 1 else ("", "", "")
        return Evidence(
            "call-chain",
            c.target,
            class_name=cls.lstrip("L").rstrip(";").replace("/", "."),
            method=method,
            sdk=c.sdk,
            detail=f"{c.entry}: {chain_text(c.chain)}" + (f" [gated: {c.gated}]" if c.gated else ""),
        )

    if open_sdk:
        out.append(
            _finding(
                rule_id="PRIV-PRECONSENT-SDK",
                title="SDK started at app start-up, before consent (candidate)",
                title_zh="疑似在用户同意隐私政策前初始化SDK（待动态确认）",
                description_zh="应用启动入口在未经过SDK同意开关或同意标志的情况下调用了以下SDK的启动方法："
                + "、".join(sorted({c.sdk for c in open_sdk}))
                + "。SDK启动时即收集设备信息，在用户同意前启动即属于征得同意前收集。静态分析给出的是候选，"
                "调用链需动态确认（未能识别调用周围的条件判断）。",
                remediation_zh="在用户同意后再启动SDK（或调用其文档中的预初始化和同意开关），并在同意前抓包或Hook复测。",
                severity=Severity.MEDIUM,
                confidence="medium",
                description=(
                    "A start-up entry point reaches these SDK start calls with no consent switch of the SDK and no "
                    "consent flag on the way: "
                    + ", ".join(sorted({c.sdk for c in open_sdk}))
                    + ". SDKs collect device data when they start; starting one before the user agrees to the "
                    "privacy policy is collection before consent. Static analysis gives candidates: the chain "
                    "needs dynamic confirmation (a condition around the call is not seen)."
                ),
                remediation="Start the SDK only after the user agrees (or call its documented pre-init and "
                "consent switch), and re-test with a traffic or hook capture before consent.",
                tags=("privacy-policy", "pre-consent", "needs-dynamic-confirmation"),
                references=refs("rending-3", "gbt35273-5.4", "miit164"),
                evidence=tuple(ev(c) for c in open_sdk[:20]),
            )
        )
    if open_api:
        out.append(
            _finding(
                rule_id="PRIV-PRECONSENT-API",
                title="Personal data read at app start-up, before consent (candidate)",
                title_zh="疑似在用户同意前收集个人信息（待动态确认）",
                description_zh="应用启动入口经应用自身代码调用了以下个人信息API："
                + "、".join(sorted({category_zh(c.category) for c in open_api}))
                + "。静态分析给出的是候选，需动态确认。",
                remediation_zh="仅在用户同意后、且在需要该信息的功能运行时读取个人信息。",
                severity=Severity.MEDIUM,
                confidence="low",
                description=(
                    "A start-up entry point reaches these personal-data APIs through the app's own code: "
                    + ", ".join(sorted({category_zh(c.category) for c in open_api}))
                    + ". Static analysis gives candidates: needs dynamic confirmation."
                ),
                remediation="Read personal data only after consent and only when the function that needs it runs.",
                tags=("privacy-policy", "pre-consent", "needs-dynamic-confirmation"),
                references=refs("rending-3", "gbt35273-5.4", "miit164"),
                evidence=tuple(ev(c) for c in open_api[:20]),
            )
        )
    if gated:
        out.append(
            _finding(
                rule_id="PRIV-PRECONSENT-GATED",
                title="SDK start-up behind a consent switch or pre-init",
                title_zh="启动时的SDK调用已识别同意开关或预初始化",
                description_zh="以下启动调用链经过SDK文档中的同意开关或预初始化方法，或读取应用自身同意标志的方法；"
                "视为已受同意控制，仍需动态确认。",
                severity=Severity.INFO,
                confidence="medium",
                description=(
                    "These start-up chains pass through an SDK's documented consent switch or pre-init call, or a "
                    "method that reads the app's consent flag; taken as gated, still to be confirmed dynamically."
                ),
                tags=("privacy-policy", "pre-consent"),
                references=refs("rending-3"),
                evidence=tuple(ev(c) for c in gated[:20]),
            )
        )
    return out
