"""Runs every check over an app's facts and returns the findings.

Pure: facts and a rule set in, :class:`ScanResult` out. A check that raises becomes a
:class:`RuleError` entry in the result, never a crash.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from apkscan import __version__
from apkscan.caps import analysis_findings, cap_findings
from apkscan.extract.policy import PolicyDocument
from apkscan.facts import ApkFacts
from apkscan.model import (
    DataAccess,
    Evidence,
    Finding,
    Reference,
    RuleError,
    ScanResult,
    Severity,
)
from apkscan.rules.context import Context, api_prefix, split_ref
from apkscan.rules.data import app_types, app_types_source, permission_table, pi_table
from apkscan.rules.loader import Rule, RuleSet, YaraMeta
from apkscan.rules.privacy import review as privacy_review
from apkscan.runtime import quick_gil_handoff
from apkscan.sdk import SdkMatcher
from apkscan.verdict import Thresholds, decide

if TYPE_CHECKING:
    from apkscan.known import KnownLibrary

PIPL_MIN = Reference(
    "PIPL Art. 6",
    "http://www.npc.gov.cn/npc/c30834/202108/a8c4e3672c74491a80b53a172bb753fe.shtml",
    "Personal Information Protection Law: collection limited to the minimum necessary",
)
NECESSITY_REF = Reference(
    "国信办秘字〔2021〕14号",
    "http://www.cac.gov.cn/2021-03/22/c_1617990997054277.htm",
    "常见类型移动互联网应用程序必要个人信息范围规定",
)
HIGH_SENSITIVITY = {
    "sms",
    "call-log",
    "contacts",
    "calendar",
    "accounts",
    "screen-capture",
    "accessibility",
    "notifications",
    "installed-apps",
    "device-id",
    "phone-number",
}
TAMPER_SEVERITY = {
    "zip-path-traversal": Severity.HIGH,
    "zip-overlapping-entries": Severity.HIGH,
    "zip-bomb": Severity.HIGH,
    "disguised-payload": Severity.MEDIUM,
    "signing-block": Severity.MEDIUM,
}
PROTECTION_ZH = {"dangerous": "危险", "special": "特殊"}
TAMPER_NAMES_ZH = {
    "zip-path-traversal": "ZIP路径穿越",
    "zip-overlapping-entries": "ZIP条目重叠",
    "zip-bomb": "ZIP压缩炸弹",
    "disguised-payload": "伪装载荷",
    "signing-block": "签名块异常",
}
"""Chinese names of the tampering kinds (a kind without one is shown by its id)."""
TAMPER_REF = Reference(
    "MASVS-RESILIENCE-1",
    "https://mas.owasp.org/MASVS/11-MASVS-RESILIENCE/",
    "Malformed archives and binary XML are used to break analysers while Android installs the app",
)


@dataclass(frozen=True)
class Options:
    app_category: str = ""
    reject_at: Severity = Severity.CRITICAL
    """An illegal-app finding (fraud, gambling, malware) from here rejects."""
    review_at: Severity = Severity.HIGH
    """One illegal-app finding from here sends the app to a human; two of different rules reject."""
    fix_at: Severity = Severity.MEDIUM
    """A compliance finding from here sends the app back to be fixed."""
    policy: PolicyDocument | None = None
    """A privacy policy the user gave (``--policy``); else the one the app bundles is used."""
    privacy: bool = True
    """Run the privacy-policy checks, lists and pre-consent reachability (issue 14)."""
    known: KnownLibrary | None = None
    """The known-sample library to match the app against (issue 16; ``KNOWN-*`` findings)."""
    fingerprints: bool = True
    """Compute the similarity fingerprints (fuzzy hashes while reading, code sketches here).
    Batch and the service keep them; a plain scan with no known-sample library has no use
    for them and skips their cost. A known-sample library turns them on."""
    lowered_limits: frozenset[str] = frozenset()
    """Limits the user set below their defaults for this scan (``--limit``, see
    :func:`apkscan.limits.lowered`). What they stopped is still not analysed (review at
    least), but it is not evidence about the app: a dex left unread by them does not make
    its classes "missing", and their ANALYSIS-LIMIT findings corroborate no illegal-app
    signal."""

    @property
    def wants_fingerprints(self) -> bool:
        return self.fingerprints or self.known is not None

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.reject_at, self.review_at, self.fix_at)


def fingerprint(rule_id: str, evidence: tuple[Evidence, ...]) -> str:
    """Stable across rebuilds: rule id, SDK, API/value and caller; never files or offsets."""
    parts = sorted({f"{e.sdk}|{e.value}|{e.class_name}|{e.method}" for e in evidence})
    return hashlib.sha256("\n".join([rule_id, *parts]).encode()).hexdigest()[:32]


def _finding(**kw: Any) -> Finding:
    f = Finding(**kw)
    return replace(f, fingerprint=fingerprint(f.rule_id, f.evidence))


def _rule_finding(rule: Rule | YaraMeta, evidence: tuple[Evidence, ...], source: str) -> Finding:
    """A finding of a YAML or YARA rule: its metadata plus what it matched."""
    return _finding(
        rule_id=rule.id,
        title=rule.title,
        severity=rule.severity,
        confidence=rule.confidence,
        category=rule.category,
        description=rule.description,
        remediation=rule.remediation,
        title_zh=rule.title_zh,
        description_zh=rule.description_zh,
        remediation_zh=rule.remediation_zh,
        tags=rule.tags,
        references=rule.references,
        evidence=evidence,
        source=source,
    )


def all_watched(ruleset: RuleSet) -> set[str]:
    apis = set(ruleset.watched_apis)
    for entry in pi_table().get("apis") or []:
        apis.add(api_prefix(str(entry["api"])))
    return apis


def data_access(ctx: Context) -> list[DataAccess]:
    """One entry per personal-data category the code reaches, with every call site."""
    table = pi_table()
    perms = ctx.permissions
    target = ctx.facts.manifest.effective_target_sdk
    # BIND_* permissions are not requested: a component of the app declares them as the
    # permission that guards it (a notification listener, an accessibility service).
    guarding = {c.permission for c in ctx.facts.manifest.components if c.permission}
    by_cat: dict[str, list[Evidence]] = defaultdict(list)
    gate: dict[str, str] = {}
    platform = ctx.matcher.platform_ids
    for entry in table.get("apis") or []:
        cat = str(entry["category"])
        prefix = api_prefix(str(entry["api"]))
        needs = entry.get("requires_string")
        if needs and not ctx.has_dex_string(str(needs)):
            continue
        sites = ctx.calls_to((prefix,))
        for callee, caller, dex in sites:
            site = ctx.site_evidence(callee, caller, dex)
            if site.sdk not in platform:  # AndroidX wrappers are capabilities, not collection
                by_cat[cat].append(site)
        if sites and entry.get("permission"):
            gate.setdefault(cat, str(entry["permission"]))
    for entry in table.get("uris") or []:
        uri = str(entry["uri"])
        cat = str(entry["category"])
        for s, dex_path, caller in ctx.content_uri_users:
            if s == uri or s.startswith(uri + "/"):
                dotted, method = split_ref(caller)
                if ctx.matcher.sdk_of(dotted) in platform:
                    continue
                by_cat[cat].append(
                    Evidence(
                        "content-uri",
                        s,
                        file=dex_path,
                        class_name=dotted,
                        method=method,
                        sdk=ctx.matcher.sdk_of(dotted),
                    )
                )
                if entry.get("permission"):
                    gate.setdefault(cat, str(entry["permission"]))
    for entry in table.get("fields") or []:  # each read names its method; else the dex alone
        hits = ctx.field_hits(str(entry["field"]))
        if hits:  # no empty category: by_cat is a defaultdict
            by_cat[str(entry["category"])] += hits
    out = []
    for cat in sorted(by_cat):
        unique = tuple(dict.fromkeys(by_cat[cat]))
        perm = gate.get(cat, "") or str((table.get("categories") or {}).get(cat, {}).get("permission", "") or "")
        if perm.startswith("android.permission.BIND_") and perm not in guarding:
            # Screen content, other apps' notifications and device administration reach
            # an app only through a component of its own that the system binds (guarded
            # by this permission); without one, these calls touch the app's own views and
            # state (a View describing itself to TalkBack), never anyone's data.
            continue
        granted = (
            not perm or perm in perms or perm in guarding or bool(perms & set(_EQUIVALENT.get(perm, ())))
            or target < _INTRODUCED.get(perm, 0)
        )
        out.append(DataAccess(cat, perm, granted, unique))
    return out


_P = "android.permission."
_INTRODUCED: dict[str, int] = {
    _P + "QUERY_ALL_PACKAGES": 30,
    _P + "BLUETOOTH_CONNECT": 31,
    _P + "BLUETOOTH_SCAN": 31,
    _P + "READ_MEDIA_IMAGES": 33,
    _P + "READ_MEDIA_VIDEO": 33,
    _P + "READ_MEDIA_AUDIO": 33,
    _P + "NEARBY_WIFI_DEVICES": 33,
}
"""Gate permission -> the API level that introduced it: an app that targets an older level
is not gated by it (Android 11's package visibility does not limit a target-16 app)."""
_STORAGE = (_P + "READ_EXTERNAL_STORAGE", _P + "WRITE_EXTERNAL_STORAGE")
_EQUIVALENT: dict[str, tuple[str, ...]] = {
    # Android 13 split storage into media permissions; an app requesting the storage
    # permissions reads photos, video and audio with them (on older Android, or targeting it)
    _P + "READ_MEDIA_IMAGES": _STORAGE,
    _P + "READ_MEDIA_VIDEO": _STORAGE,
    _P + "READ_MEDIA_AUDIO": _STORAGE,
    # Android 12 split Bluetooth the same way
    _P + "BLUETOOTH_CONNECT": (_P + "BLUETOOTH", _P + "BLUETOOTH_ADMIN"),
    _P + "BLUETOOTH_SCAN": (_P + "BLUETOOTH_ADMIN",),
    # approximate location serves the calls gated by precise location (Wi-Fi and cell scans)
    _P + "ACCESS_FINE_LOCATION": (_P + "ACCESS_COARSE_LOCATION",),
}
"""Gate permission -> the permissions that grant the same access on the Android versions
an app may target: the personal-data table must not say "not requested" of an app that
holds the older or coarser form (a storage permission for photos, say)."""


def _lower_first(name: str) -> str:
    """``Device identifiers (IMEI ...)`` -> ``device identifiers (IMEI ...)``; a first word
    that is not a plain capitalised word (``Wi-Fi``, ``SMS/MMS``) stays as it is."""
    first = name.split(" ", 1)[0].rstrip(",;:")
    if first.isalpha() and first[1:].islower():
        return name[0].lower() + name[1:]
    return name


def _pi_findings(access: list[DataAccess]) -> list[Finding]:
    return [_pi_finding(acc) for acc in access]


def _pi_finding(acc: DataAccess, left: tuple[Evidence, ...] | None = None, reported_by: Sequence[str] = ()) -> Finding:
    """The data-map finding of one category; with ``left``, only those of its sites that no
    rule of the category reports (:func:`_merge_pi_findings`), counted as such and naming
    the rules (``reported_by``) that report the rest."""
    info = (pi_table().get("categories") or {}).get(acc.category, {}) or {}
    name = str(info.get("name", acc.category))
    name_zh = str(info.get("name_zh", ""))
    sdks = sorted({e.sdk for e in acc.sites if e.sdk})
    app_sites = sum(1 for e in acc.sites if not e.sdk)
    who = ", ".join(sdks + (["the app itself"] if app_sites else []))
    who_zh = "、".join(sdks + (["应用自身"] if app_sites else []))
    cat_zh = name_zh or acc.category
    sev = Severity.MEDIUM if acc.category in HIGH_SENSITIVITY else Severity.LOW
    # data is "collected"; a capability (accessibility, overlay, calls ...) has its own verb
    title = str(info.get("title") or f"Collects {_lower_first(name)}")
    title_zh = str(info.get("title_zh") or f"收集{cat_zh}")
    evidence = acc.sites[:200] if left is None else left
    places = f"{len(acc.sites)} place(s)" if left is None else f"{len(left)} more place(s)"
    places_zh = f"在{len(acc.sites)}处" if left is None else f"另在{len(left)}处"
    others = ", ".join(reported_by)
    return _finding(
        rule_id=f"PI-MAP-{acc.category.upper()}",
        title=title,
        severity=sev,
        confidence="high" if any(e.kind == "api-call" for e in acc.sites) else "medium",
        category="personal-data",
        description=(
            f"Code reaches {_lower_first(name)} from {places}, attributed to {who}. "
            "Personal information may be collected only where necessary for the service the "
            "user asked for, and SDKs embedded in the app are held to the same rules."
            + (
                ""
                if acc.permission_requested
                else f" The gating permission {acc.permission} "
                "is not requested, so on current Android versions these calls may fail."
            )
            + (f" The category's other call sites are reported under {others}." if left is not None else "")
        ),
        remediation="Check each call site against the privacy policy and the app type's necessary "
        "information; remove collection that the user-facing function does not need, and "
        "disclose every SDK that collects this data.",
        title_zh=title_zh,
        description_zh=(
            f"代码{places_zh}访问{cat_zh}，归属于{who_zh}。个人信息的收集应限于用户所请求服务所必需的"
            "范围，应用中嵌入的SDK同样适用这一要求。"
            + (
                ""
                if acc.permission_requested
                else f"应用未申请相应的权限{acc.permission}，在当前Android版本上这些调用可能失败。"
            )
            + (f"该类别的其他调用位置见{others}。" if left is not None else "")
        ),
        remediation_zh="逐一对照隐私政策和该类型应用的必要个人信息范围核查各调用点；删除面向用户的功能不需要的"
        "收集行为，并告知每一个收集此类信息的SDK。",
        tags=(acc.category, *(f"sdk:{s}" for s in sdks)),
        references=(PIPL_MIN, NECESSITY_REF),
        evidence=evidence,
        source="builtin",
    )


def _site_key(e: Evidence) -> tuple[str, str, str]:
    return (e.value, e.class_name, e.method)


def _merge_pi_findings(findings: list[Finding], access: list[DataAccess]) -> list[Finding]:
    """One finding per behaviour: a data-map finding (``PI-MAP-<category>``) whose category
    a YAML rule already reported (the category's ``rules:`` in the data table) is folded
    into that rule's finding. Call sites the rule's evidence already names are dropped; each
    other site goes to the category's rule when it has only one (that rule names the whole
    behaviour: Wi-Fi identifiers, the installed apps, an accessibility service ...), else
    to the rule its API names (``rule:`` of the API in the data table) when that rule
    fired. Sites left over stay a data-map finding of their own, which counts only them
    and names the rules that report the rest (SIM and carrier details beside the telephony
    identifiers of PI-DEVID-001, say): never under a rule whose title says something else
    (the hardware serial number, say)."""
    cats = pi_table().get("categories") or {}
    hints = _rule_hints()
    by_id = {f.rule_id: i for i, f in enumerate(findings)}
    out = list(findings)
    for acc in access:
        pf = _pi_finding(acc)
        rules = [str(r) for r in (cats.get(acc.category, {}) or {}).get("rules") or []]
        mapped = [by_id[r] for r in rules if r in by_id]
        if not mapped:
            out.append(pf)
            continue
        covered = {_site_key(e) for i in mapped for e in out[i].evidence if e.kind == "api-call"}
        rest = tuple(e for e in pf.evidence if _site_key(e) not in covered)
        if not rest:
            continue
        hosts: dict[int | None, list[Evidence]] = {}
        for e in rest:
            host: int | None = None
            if len(rules) == 1:
                host = mapped[0]
            else:
                named = next((r for prefix, r in hints if e.value.startswith(prefix)), "")
                if named in rules and named in by_id:
                    host = by_id[named]
            hosts.setdefault(host, []).append(e)
        for host, sites in hosts.items():
            if host is None:
                out.append(_pi_finding(acc, tuple(sites), [r for r in rules if r in by_id]))
                continue
            merged = out[host]
            evidence = tuple(dict.fromkeys(merged.evidence + tuple(sites)))[:200]
            out[host] = replace(
                merged,
                severity=max(merged.severity, pf.severity),
                evidence=evidence,
                tags=tuple(dict.fromkeys(merged.tags + pf.tags[1:])),
                fingerprint=fingerprint(merged.rule_id, evidence),
            )
    return out


@functools.cache
def _rule_hints() -> list[tuple[str, str]]:
    """(prefix, rule id) of the data table's APIs, content URIs and fields that name the
    rule reporting them (an evidence value starts with the prefix)."""
    table = pi_table()
    return [
        (str(a[key]), str(a["rule"]))
        for section, key in (("apis", "api"), ("uris", "uri"), ("fields", "field"))
        for a in table.get(section) or []
        if isinstance(a, dict) and a.get(key) and a.get("rule")
    ]


def _tamper_findings(facts: ApkFacts) -> list[Finding]:
    by_kind: dict[str, list[Evidence]] = defaultdict(list)
    for t in facts.archive.tampering:
        by_kind[t.kind].append(Evidence("tampering", t.kind, file=t.entry, detail=t.detail))
    for name, kind in facts.archive.mismatched:
        by_kind["disguised-payload"].append(
            Evidence("entry", name, file=name, detail=f"content is {kind}, name says otherwise")
        )
    out = []
    for kind, ev in sorted(by_kind.items()):
        out.append(
            _finding(
                rule_id=f"TAMPER-{kind.upper()}",
                title=f"Archive tampering: {kind}",
                severity=TAMPER_SEVERITY.get(kind, Severity.MEDIUM),
                confidence="high",
                category="tampering",
                description=(
                    "The APK's structure deviates from what build tools produce in a way Android "
                    "tolerates but analysers may not. Deliberate tampering is itself a strong "
                    "malware signal (tampered AXML was 99.9% malware in one large study)."
                ),
                remediation="Rebuild the APK with standard tools; reject uploads with tampered structure.",
                title_zh=f"安装包结构篡改：{TAMPER_NAMES_ZH.get(kind, kind)}",
                description_zh="安装包的结构偏离了构建工具的正常产物：Android可以容忍，但分析工具可能无法处理。"
                "蓄意篡改本身就是强烈的恶意程序信号（一项大规模研究中，被篡改AXML的样本99.9%为恶意程序）。",
                remediation_zh="使用标准工具重新构建安装包；拒绝接收结构被篡改的上传文件。",
                tags=("tampering", kind),
                references=(TAMPER_REF,),
                evidence=tuple(ev[:50]),
                source="builtin",
            )
        )
    return out


def _analysis_findings(
    facts: ApkFacts, errors: list[RuleError], lowered: frozenset[str] = frozenset()
) -> list[Finding]:
    """Fail closed: every limit, time-out, memory shortage, unreadable part and failed
    rule becomes an ``analysis`` finding (see :mod:`apkscan.caps`)."""
    return analysis_findings(facts, errors, lowered)


def _yara_findings(facts: ApkFacts, ruleset: RuleSet) -> list[Finding]:
    by_rule: dict[str, list[Evidence]] = defaultdict(list)
    for hit in facts.yara:
        for sid, offset, text in hit.strings[:5] or (("", 0, ""),):
            by_rule[hit.rule].append(Evidence("yara", text or hit.rule, file=hit.entry, offset=offset, detail=sid))
    out = []
    for ident, ev in sorted(by_rule.items()):
        meta = ruleset.yara_meta.get(ident)
        if meta is None:
            continue
        out.append(_rule_finding(meta, tuple(ev[:50]), "yara"))
    return out


def _necessity_findings(category: str, access: list[DataAccess], facts: ApkFacts) -> list[Finding]:
    spec = next((t for t in app_types() if category in (t.get("id"), t.get("name_zh"))), None)
    if spec is None:
        return []
    necessary = set(spec.get("necessary") or [])
    allowed_perms = set(spec.get("permissions") or [])
    table = permission_table()
    src = app_types_source()
    ref = Reference(str(src.get("id", NECESSITY_REF.id)), str(src.get("url", NECESSITY_REF.url)), NECESSITY_REF.title)
    out = []
    type_name = f"{spec.get('name_zh', '')} ({spec.get('name', spec.get('id'))})"
    type_zh = str(spec.get("name_zh") or spec.get("name") or spec.get("id"))
    cat_names = {str(k): str((v or {}).get("name_zh") or k) for k, v in (pi_table().get("categories") or {}).items()}
    cat_names_en = {str(k): _lower_first(str((v or {}).get("name") or k))
                    for k, v in (pi_table().get("categories") or {}).items()}
    for acc in access:
        if acc.category in necessary:
            continue
        out.append(
            _finding(
                rule_id=f"PI-NECESSITY-{acc.category.upper()}",
                title=f"Reaches {cat_names_en.get(acc.category, acc.category)} beyond what a "
                f"{spec.get('name', spec.get('id'))} app needs",
                severity=Severity.MEDIUM,
                confidence="medium",
                category="personal-data",
                description=(
                    f"For the app type {type_name} the necessary personal information is: "
                    f"{spec.get('necessary_zh') or 'none'}. Code reaches "
                    f"{cat_names_en.get(acc.category, acc.category)}, which is not "
                    "among it; collecting it must not be a condition of using the basic function."
                ),
                remediation="Collect it only for an optional feature the user turns on, with separate consent, "
                "or remove it.",
                title_zh=f"收集{cat_names.get(acc.category, acc.category)}，超出{type_zh}应用的必要范围",
                description_zh=(
                    f"{type_zh}应用的必要个人信息为：{spec.get('necessary_zh') or '无'}。代码访问了"
                    f"{cat_names.get(acc.category, acc.category)}，不在此范围内；"
                    "不得因用户不同意收集该信息而拒绝提供基本功能。"
                ),
                remediation_zh="仅在用户主动开启的可选功能中收集，并取得单独同意；否则删除。",
                tags=("necessity", acc.category, str(spec.get("id"))),
                references=(ref,),
                evidence=acc.sites[:50],
                source="builtin",
            )
        )
    for perm in facts.manifest.permission_names:
        info = table.get(perm, {})
        if info.get("protection") not in ("dangerous", "special") or perm in allowed_perms:
            continue
        if info.get("category") and info.get("category") in necessary:
            continue
        out.append(
            _finding(
                rule_id="PI-NECESSITY-PERMISSION",
                title=f"Requests {perm.rsplit('.', 1)[-1]}, not needed by a {spec.get('name', spec.get('id'))} app",
                severity=Severity.LOW,
                confidence="medium",
                category="permissions",
                description=(
                    f"{perm} ({info.get('name_zh', '')}) is a {info.get('protection')} permission that the "
                    f"basic function of a {type_name} app does not need."
                ),
                remediation="Request it only when the user uses a feature that needs it, or remove it.",
                title_zh=f"申请{type_zh}应用不需要的权限{perm.rsplit('.', 1)[-1]}",
                description_zh=(
                    f"{perm}（{info.get('name_zh', '')}）属于{PROTECTION_ZH.get(str(info.get('protection')), '')}权限，"
                    f"{type_zh}应用的基本功能不需要该权限。"
                ),
                remediation_zh="仅在用户使用需要该权限的功能时申请，否则删除。",
                tags=("necessity", str(spec.get("id"))),
                references=(ref,),
                evidence=(Evidence("permission", perm, file="AndroidManifest.xml"),),
                source="builtin",
            )
        )
    return out


def verdict(findings: list[Finding] | tuple[Finding, ...], options: Options) -> str:
    """The verdict level (``pass``, ``fix``, ``review``, ``reject``); see :mod:`apkscan.verdict`."""
    return decide(findings, options.thresholds).level


def evaluate(facts: ApkFacts, ruleset: RuleSet, options: Options | None = None) -> ScanResult:
    # A helper thread searches the text blobs (YARA and RE2, without the GIL) while this
    # one indexes the code and evaluates the rules that need no text. Not waited for on the
    # way out: after a scan timeout, the search it may still be making ends on its own.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="apkscan-rules")
    try:
        with quick_gil_handoff():
            return _evaluate(facts, ruleset, options or Options(), pool)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _evaluate(facts: ApkFacts, ruleset: RuleSet, options: Options, pool: Executor) -> ScanResult:
    matcher = SdkMatcher(ruleset.sdks)
    ctx = Context(facts, matcher, all_watched(ruleset), ruleset.keyword_forms, ruleset.blob_patterns, pool)
    ctx.lowered_limits = options.lowered_limits
    sdk_hits = ctx.sdk_hits
    errors: list[RuleError] = []
    findings: list[Finding] = []
    phases: dict[str, float] = {}  # parts of "rules" shown as their own phases under --verbose
    try:
        access = data_access(ctx)
    except Exception as exc:  # a broken data table must not cost the scan
        access = []
        errors.append(RuleError("PI-MAP", f"{type(exc).__name__}: {exc}"))
    for rule in ruleset.rules:
        try:
            ev = rule.match(ctx)
        except Exception as exc:
            errors.append(RuleError(rule.id, f"{type(exc).__name__}: {exc}"[:300]))
            ctx.rule_hits[rule.id] = False
            continue
        ctx.rule_hits[rule.id] = ev is not None
        if ev is None:
            continue
        findings.append(_rule_finding(rule, tuple(dict.fromkeys(ev)), "yaml"))
    # --rules-only: the user's rules and the fail-closed checks, not the built-in ones
    builtin = ruleset.builtin_checks
    try:
        if builtin:
            findings = _merge_pi_findings(findings, access)
    except Exception as exc:
        errors.append(RuleError("PI-MAP", f"{type(exc).__name__}: {exc}"))
    findings += _yara_findings(facts, ruleset)
    findings += _tamper_findings(facts)
    if options.app_category and builtin:
        findings += _necessity_findings(options.app_category, access, facts)
    privacy = None
    if options.privacy and builtin:
        try:
            privacy, privacy_findings = privacy_review(ctx, access, options.policy)
            findings += privacy_findings
        except Exception as exc:  # the policy checks must not cost the scan
            errors.append(RuleError("PRIV", f"{type(exc).__name__}: {exc}"[:300]))
    if options.wants_fingerprints:
        # after the rules: the helper thread's text searches are over, nothing contends for
        # the GIL (before them this took 0.11 to 0.18 s of a 13-dex scan, 0.06 s alone)
        from apkscan.similarity import with_fingerprint  # only then: a plain scan does without

        t0 = time.perf_counter()
        try:  # the code sketches need the SDK attribution (apkscan.similarity)
            facts = with_fingerprint(facts, matcher, sdk_hits)
        except Exception as exc:
            errors.append(RuleError("FINGERPRINT", f"{type(exc).__name__}: {exc}"[:300]))
        phases["fingerprint"] = time.perf_counter() - t0
    if options.known is not None and builtin:
        t0 = time.perf_counter()
        try:
            findings += options.known.findings(facts)
        except Exception as exc:  # a broken library must not cost the scan
            errors.append(RuleError("KNOWN", f"{type(exc).__name__}: {exc}"[:300]))
        phases["known"] = time.perf_counter() - t0
    findings += _analysis_findings(facts, errors, options.lowered_limits)
    findings.sort(key=lambda f: (-f.severity, f.category, f.rule_id))
    findings = cap_findings(findings)
    decision = decide(findings, options.thresholds)
    return ScanResult(
        facts=facts,
        findings=tuple(findings),
        sdks=tuple(sdk_hits),
        data_access=tuple(access),
        rule_errors=tuple(errors),
        rules_digest=ruleset.digest,
        app_category=options.app_category,
        **decision.result_fields(),
        privacy=privacy,
        timings=phases,
    )


CAP_RULE = "ANALYSIS-FINDINGS-CAP"


def _known_key(f: Finding) -> tuple[str, str]:
    return (f.rule_id, f.fingerprint)


def with_new_findings(
    prior: ScanResult, ctx: Context, ruleset: RuleSet, options: Options, matched: dict[str, tuple[Evidence, ...]]
) -> ScanResult | None:
    """What :func:`evaluate` gives when the rules in ``matched`` (ids -> their evidence,
    evaluated over ``ctx``) are added to a rule set whose other rules gave ``prior``,
    without evaluating those other rules again (a rule change over a batch store, issue 16).

    ``prior`` must be a full evaluation of the same facts by the same engine, data tables,
    SDK catalogue and YARA rules, in which the rules of ``matched`` had no finding and no
    error. Their findings then only join the list: the personal-data map folds nothing
    into a rule it does not name, the list is ordered by (severity, category, rule id) and
    rule ids are unique, and below the findings cap nothing is dropped. None when that
    does not hold (a prior that hit the cap or would now, a rule id the data map names or
    the prior already has): then evaluate in full. The privacy review and the similarity
    fingerprint are computed again over ``ctx`` (the report shows them), and the known-sample
    matches are taken again (None when they differ: the library changed since); every
    other part of ``prior`` (SDKs, data access, rule errors) is kept.
    Keep in step with :func:`_evaluate`."""
    from apkscan.caps import MAX_FINDINGS

    have = {f.rule_id for f in prior.findings}
    if CAP_RULE in have or have & matched.keys() or len(prior.findings) + len(matched) >= MAX_FINDINGS:
        return None
    if ruleset.builtin_checks:
        cats = pi_table().get("categories") or {}
        named = {str(r) for c in cats.values() for r in ((c or {}).get("rules") or [])}
        if named & matched.keys():
            return None
    added = [_rule_finding(rule, tuple(dict.fromkeys(matched[rule.id])), "yaml")
             for rule in ruleset.rules if rule.id in matched]
    if len(added) != len(matched):
        return None
    findings = list(prior.findings) + cap_findings(added)
    findings.sort(key=lambda f: (-f.severity, f.category, f.rule_id))
    facts = ctx.facts
    if options.wants_fingerprints:
        try:
            from apkscan.similarity import with_fingerprint

            facts = with_fingerprint(facts, ctx.matcher, ctx.sdk_hits)
        except Exception:
            return None  # the prior has the error: evaluate in full to say so again
    if options.known is not None and ruleset.builtin_checks:
        # a library edited since the prior evaluation: its matches are taken again in full
        try:
            fresh = cap_findings(options.known.findings(facts))
        except Exception:
            return None
        kept = [f for f in prior.findings if f.source == "builtin" and "known-sample" in f.tags]
        if sorted(fresh, key=_known_key) != sorted(kept, key=_known_key):
            return None
    privacy = None
    if options.privacy and ruleset.builtin_checks and not any(e.rule_id == "PRIV" for e in prior.rule_errors):
        # the review asks which rules fired (PI-POLICY-001 reports a missing policy itself):
        # those of the prior evaluation, as a full one would have seen them
        for f in prior.findings:
            ctx.rule_hits.setdefault(f.rule_id, True)
        try:
            privacy = privacy_review(ctx, list(prior.data_access), options.policy)[0]
        except Exception:
            return None
    decision = decide(findings, options.thresholds)
    return replace(
        prior,
        facts=facts,
        findings=tuple(findings),
        rules_digest=ruleset.digest,
        app_category=options.app_category,
        **decision.result_fields(),
        privacy=privacy,
    )


def evaluate_facts(
    facts: ApkFacts,
    ruleset: RuleSet,
    options: Options | None = None,
    duration_s: float = 0.0,
    timings: dict[str, float] | None = None,
) -> ScanResult:
    """Rules over facts already read (batch re-evaluation uses this without the APK)."""
    t0 = time.perf_counter()
    result = evaluate(facts, ruleset, options)
    return stamped(result, time.perf_counter() - t0, duration_s, timings)


def stamped(result: ScanResult, rules_s: float, duration_s: float = 0.0,
            timings: dict[str, float] | None = None) -> ScanResult:
    """``result`` with the tool version, the time of evaluation, the duration (``duration_s``
    of reading plus ``rules_s`` of evaluating) and the phase timings."""
    t = dict(timings or {})
    t["rules"] = rules_s
    t.update(result.timings)  # parts of "rules" (fingerprint, known), shown as their own phases
    if result.privacy is not None:  # a part of "rules" too
        t["consent_reach"] = result.privacy.consent.seconds
    return replace(
        result,
        tool_version=__version__,
        scanned_at=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        duration_s=round(duration_s + t["rules"], 3),
        timings={k: round(v, 4) for k, v in t.items()},
    )
