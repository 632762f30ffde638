"""Report language: ``--lang zh|en`` (default from the locale) and the Chinese texts of the
report pages' own words. Rule texts come from the rule files (``title_zh`` ...), see
:meth:`apkscan.model.Finding.text`.

``ui(lang)`` returns the gettext-style function templates call as ``_("Findings")``: the
English text itself in English, its entry in :data:`ZH` in Chinese. A missing entry falls
back to English and is recorded in :data:`MISSING` (a test renders every page in Chinese and
asserts nothing was missing).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping

from apkscan.verdict import TEXT as VERDICT_TEXT

LANGS = ("zh", "en")


def resolve_lang(value: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """``zh`` or ``en``: ``value`` when given (``zh``, ``zh-CN``, ``zh_CN.UTF-8``, ``en`` ...),
    else the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, in POSIX order of precedence);
    English when none says Chinese."""
    if value:
        low = value.strip().lower()
        if low.startswith("zh"):
            return "zh"
        if low.startswith("en"):
            return "en"
        raise ValueError(f"unknown language {value!r} (use zh or en)")
    env = os.environ if env is None else env
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        loc = env.get(key, "")
        if loc:
            return "zh" if loc.lower().startswith("zh") else "en"
    return "en"


SEVERITY_ZH = {"critical": "严重", "high": "高危", "medium": "中危", "low": "低危", "info": "提示"}
CONFIDENCE_ZH = {"high": "高", "medium": "中", "low": "低"}
CATEGORY_ZH = {
    "fraud": "电信网络诈骗",
    "gambling": "赌博",
    "malware": "恶意程序",
    "personal-data": "个人信息",
    "permissions": "权限",
    "sdk": "第三方SDK",
    "security": "安全",
    "store-policy": "上架规范",
    "tampering": "篡改与加固",
    "analysis": "分析完整性",
}
SOURCE_ZH = {"yaml": "YAML规则", "yara": "YARA规则", "builtin": "内置检查"}
VERDICT_ZH = {level: text[1] for level, text in VERDICT_TEXT.items()}
PROTECTION_ZH = {
    "dangerous": "危险",
    "special": "特殊",
    "normal": "普通",
    "signature": "签名",
    "privileged": "特权",
    "unknown": "未知",
}
EVIDENCE_KIND_ZH = {
    "api-call": "API调用",
    "content-uri": "内容URI",
    "field-ref": "字段引用",
    "field-read": "字段读取",
    "string": "字符串",
    "keyword": "关键词",
    "permission": "权限",
    "component": "组件",
    "manifest": "清单",
    "entry": "安装包条目",
    "class": "类",
    "sdk": "SDK",
    "url": "网址",
    "domain": "域名",
    "certificate": "证书",
    "yara": "YARA",
    "rule": "规则",
    "problem": "问题",
    "tampering": "篡改",
    "native-lib": "原生库",
    "label": "应用名称",
    "meta-data": "meta-data",
    "asset": "资源文件",
    "intent-filter": "Intent过滤器",
    "api-ref": "API引用",
    "policy-text": "隐私政策文本",
    "known-sample": "已知样本",
}

ZH: dict[str, str] = {
    # page and header
    "apkscan report": "apkscan 检测报告",
    "apkscan · Android app security & compliance report": "apkscan · 安卓应用安全与合规检测报告",
    "app icon": "应用图标",
    "no icon": "无图标",
    "(no label)": "（无名称）",
    "Package": "包名",
    "Version": "版本",
    "not declared: minSdk applies": "未声明，按minSdk",
    "File": "文件",
    "SHA-256": "SHA-256",
    "findings": "项发现",
    "app type": "应用类型",
    "Why": "判定依据",
    "By severity": "按严重程度",
    "By category": "按类别",
    "Show only these findings": "仅显示该级别的发现",
    "findings by category": "按类别统计的发现",
    "sections": "目录",
    "Findings": "发现问题",
    "SDKs": "SDK",
    "Personal data": "个人信息",
    "Permissions": "权限",
    "Exported components": "导出组件",
    "Certificates": "证书",
    "URLs & domains": "网址与域名",
    "Archive": "安装包结构",
    "Problems": "读取问题",
    "Scan": "检测信息",
    # filter bar
    "By regulation / reference": "按法规/依据",
    "Severity": "严重程度",
    "Category": "类别",
    "all": "全部",
    "Sort": "排序",
    "severity": "严重程度",
    "category": "类别",
    "rule id": "规则编号",
    "Search findings…": "搜索发现…",
    "search findings": "搜索发现",
    "Reset": "重置",
    "Expand evidence": "展开证据",
    "Shown": "显示",
    "No findings.": "未发现问题。",
    "Findings by category": "按类别分组的发现",
    "Findings by regulation / reference": "按法规/依据分组的发现",
    "(no reference)": "（无引用依据）",
    # finding card
    "confidence": "置信度",
    "source": "来源",
    "tags": "标签",
    "Evidence": "证据",
    "Kind": "类型",
    "Value": "值",
    "Class": "类",
    "Method": "方法",
    "Offset": "偏移",
    "SDK": "SDK",
    "and {n} more": "另有 {n} 项未列出",
    "References": "依据",
    "Remediation": "整改建议",
    "Accepted": "已接受",
    "baseline": "基线",
    "config": "配置",
    "expires": "到期",
    # SDKs
    "Third-party SDKs": "第三方SDK",
    "Vendor": "提供方",
    "Country": "国家/地区",
    "Tracker": "追踪类",
    "Personal data collected": "收集的个人信息",
    "Where found": "发现位置",
    "unidentified SDK": "未识别SDK",
    "a third-party package tree in no catalogue entry": "不在SDK目录中的第三方包",
    "unknown": "未知",
    "reached by its code:": "其代码访问的个人信息：",
    "none reached by its code": "其代码未访问个人信息",
    "matches": "处匹配",
    "classes": "个类",
    "No known SDK detected.": "未检测到已知SDK。",
    "yes": "是",
    "no": "否",
    "app": "应用自身",
    # personal data
    "Personal data reached by code": "代码访问的个人信息",
    "Gating permission": "对应权限",
    "Requested": "是否申请",
    "Attributed to": "归属",
    "API → call site": "API → 调用位置",
    "requested": "已申请",
    "not requested": "未申请",
    "n/a": "不适用",
    "call sites": "个调用位置",
    "No personal-data API reached.": "未访问个人信息相关API。",
    # permissions
    "requested_count": "项已申请",
    "dangerous or special": "项危险或特殊权限",
    "Used in code says whether the code reaches the personal-data category the permission guards.": (
        "“代码中使用”表示代码是否访问了该权限所保护的个人信息类别。"
    ),
    "Permission": "权限",
    "Protection": "保护级别",
    "Data category": "数据类别",
    "Used in code": "代码中使用",
    "Notes": "备注",
    "No permission requested.": "未申请任何权限。",
    # components
    "components are reachable by other apps": "个组件可被其他应用访问",
    "of": "/",
    "Name": "名称",
    "Intent filter actions": "Intent过滤器操作",
    "Priority": "优先级",
    "launcher": "启动入口",
    "(implied)": "（隐式导出）",
    "(disabled)": "（已禁用）",
    "authorities": "authorities",
    "none": "无",
    "Application attributes": "Application属性",
    # signing
    "Signing certificates": "签名证书",
    "Signing schemes": "签名方案",
    "Subject": "主体",
    "Issuer": "签发者",
    "Serial": "序列号",
    "Valid": "有效期",
    "SHA-1": "SHA-1",
    "Key": "密钥",
    "bits": "位",
    "Flags": "标记",
    "debug certificate": "调试证书",
    "AOSP test key": "AOSP测试密钥",
    "No signing certificate found.": "未找到签名证书。",
    # network
    "URLs and domains": "网址与域名",
    "URLs": "个网址",
    "first {n} shown; the JSON report has all": "仅显示前 {n} 个，JSON报告中有全部",
    "URL": "网址",
    "Found in": "发现位置",
    "domains": "个域名",
    "IP addresses": "个IP地址",
    "e-mail addresses": "个电子邮箱地址",
    # archive
    "Archive overview": "安装包结构",
    "Entries": "条目数",
    "Assets": "资源文件数",
    "Dex files": "Dex文件",
    "Native ABIs": "原生库架构",
    "Packers / shells": "加固/外壳",
    "none detected": "未检测到",
    "Path": "路径",
    "Classes": "类数量",
    "Method refs": "方法引用数",
    "Strings": "字符串数",
    "Native libraries": "原生库",
    "Nested payloads": "嵌套载荷",
    "Size": "大小",
    "Depth": "深度",
    "Entries whose content does not match their name": "内容与名称不符的条目",
    "Entry": "条目",
    "Actual content": "实际内容",
    "Tampering": "篡改",
    "Detail": "详情",
    "YARA matches": "YARA匹配",
    "Rule": "规则",
    "Matches": "匹配内容",
    # problems and scan
    "Where": "位置",
    "Message": "信息",
    "rule": "规则",
    "Parts that could not be read were skipped; findings may be incomplete.": (
        "无法读取的部分已跳过；检测结果可能不完整。"
    ),
    "Everything was read; no rule failed.": "全部内容均已读取；没有规则执行失败。",
    "Tool": "工具",
    "Rules digest": "规则摘要",
    "App category": "应用类型",
    "not given": "未指定",
    "Scanned at": "检测时间",
    "Duration": "耗时",
    "Timings": "各阶段耗时",
    "footer": (
        "由 apkscan {version} 生成。仅为静态分析：检测结果反映代码和资源中包含的内容，而非应用运行时的实际行为。"
        "每一项发现都是供审核人员核查的线索，其本身并不构成结论。"
    ),
}

ZH.update(
    {
        # batch dashboard
        "apkscan batch dashboard": "apkscan 批量检测总览",
        "apps": "个应用",
        "{n} apps ({ok} scanned, {failed} failed)": "共 {n} 个应用（已检测 {ok} 个，失败 {failed} 个）",
        "rules": "规则",
        "generated": "生成于",
        "Verdicts": "检测结论",
        "Apps per finding category": "各类别涉及的应用数",
        "Findings by severity": "按严重程度统计",
        "Apps": "应用",
        "Most frequent findings": "最常见的发现",
        "Finding": "发现",
        "Share of scanned apps": "占已检测应用的比例",
        "SDK prevalence": "SDK分布",
        "Filter: package, label, category, rule…": "筛选：包名、名称、类别、规则…",
        "Verdict": "结论",
        "Links": "关联",
        "Show the apps": "显示相关应用",
        "Apps shown": "显示应用",
        "in the graph": "图中",
        "Clusters": "关联分析",
        "cluster-help": (
            "共用签名证书、服务器域名（出现在半数以上应用中的域名及googleapis.com等常见域名不计）、"
            "应用生成器账号ID或包名的应用（同一包名下出现多个签名证书，即为重新签名或仿冒的应用）。"
            "方块为关联项，圆点为应用，颜色表示检测结论；点击方块可突出显示与其关联的应用。"
        ),
        "Apps linked by signer, server domain and app-generator id": "按签名证书、服务器域名和应用生成器ID关联的应用",
        "graph-truncated": "图中显示了最大的若干关联组中的 {shown} 个应用（共 {total} 个）；下方列表列出全部。",
        "Signer": "签名证书",
        "Server domain": "服务器域名",
        "App-generator id": "应用生成器ID",
        "Shared signing certificates": "共用签名证书",
        "Shared server domains": "共用服务器域名",
        "Shared app-generator ids": "共用应用生成器ID",
        "Shared package names": "共用包名",
        "Package name": "包名",
        "Families": "家族",
        "family-help": (
            "指纹相似（自有代码结构、字符串常量、资源文件、网页包，得分不低于 {threshold}）或共用签名证书、"
            "少见服务器域名、应用生成器ID、包名而相连的应用组，见 docs/families.md。"
        ),
        "family": "家族",
        "similar": "指纹相似",
        "signer": "签名证书",
        "domain": "服务器域名",
        "generator": "应用生成器ID",
        "package": "包名",
        "Top categories": "主要类别",
        "Categories, main finding": "类别与主要发现",
        "Label": "应用名称",
        "Report / error": "报告/错误",
        "report": "报告",
        "batch-footer": (
            "由 apkscan 生成。仅为静态分析：检测结论是供审核人员和监管人员核查的线索；关联关系表示共用的技术特征，"
            "并不证明应用属于同一运营者。"
        ),
    }
)

EN: dict[str, str] = {
    "family-help": (
        "Groups of apps linked by similar fingerprints (own code shape, string constants, files, web bundle; "
        "score at least {threshold}) or by a shared signer, a rarely shared server domain, an app-generator id "
        "or a package name (docs/families.md)."
    ),
    "cluster-help": (
        "Apps sharing a signing certificate, a server domain (domains in more than half of the apps and well-known "
        "ones such as googleapis.com are left out), an app-generator account id or a package name (builds of one "
        "package signed with more than one certificate are re-signed or impersonating apps). Squares are the "
        "shared items, dots the apps, coloured by verdict; click a square to highlight its apps."
    ),
    "graph-truncated": "The graph shows {shown} of {total} linked apps (the largest groups); the lists below name all.",
    "batch-footer": (
        "Generated by apkscan. Static analysis only: a verdict is a lead for reviewers and regulators; a link shows "
        "a shared technical trait, not proof that the apps have one operator."
    ),
    "footer": (
        "Generated by apkscan {version}. Static analysis only: findings show what the code and resources contain, "
        "not what the app did at run time. A finding is a lead for a reviewer, not a verdict on its own."
    ),
}
"""English texts of the keyed messages (long ones are looked up by a short key)."""

MISSING: set[str] = set()


def ui(lang: str) -> Callable[..., str]:
    """``_("text", n=3)``: the text in ``lang`` with ``{n}`` ... filled in."""

    def en(text: str, **kw: object) -> str:
        out = EN.get(text, text)
        return out.format(**kw) if kw else out

    def zh(text: str, **kw: object) -> str:
        out = ZH.get(text)
        if out is None:
            MISSING.add(text)
            out = text
        return out.format(**kw) if kw else out

    return zh if lang == "zh" else en


def severity_name(label: str, lang: str) -> str:
    return SEVERITY_ZH.get(label, label) if lang == "zh" else label


def category_name(cat: str, lang: str) -> str:
    return CATEGORY_ZH.get(cat, cat) if lang == "zh" else cat


def term(table: Mapping[str, str], key: str, lang: str) -> str:
    """``key`` translated through ``table`` in Chinese, itself in English."""
    return table.get(key, key) if lang == "zh" else key


BRAND_KIND_ZH = {
    "app": "应用", "app-store": "应用商店", "bank": "银行", "courier": "快递物流", "government": "政务",
    "payment": "支付", "system": "系统", "telecom": "电信运营商",
}


def _brand_zh(m: re.Match[str]) -> str:
    how, name, kind, official, package, glyphs = m.groups()
    how_zh = {"equals": "等同于", "is the name of": "即为"}.get(how) or (
        "包含" + how[len("contains "):] + "，涉及" if how.startswith("contains ") else how)
    return (f"{how_zh}品牌{name}（{BRAND_KIND_ZH.get(kind, kind)}）；官方包名：{official}；本应用：{package}"
            + ("；含形近的西里尔/希腊字母" if glyphs else ""))


_EVIDENCE_PHRASES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    # the words the rule predicates and built-in checks write around the data they found
    (re.compile(r"(equals|is the name of|contains .+?) brand (.+?) \(([a-z-]+)\); official: (.*?); this app: (\S*)"
                r"(; look-alike Cyrillic/Greek letters)?", re.S), _brand_zh),
    (re.compile(r"no code uses it"), lambda m: "没有代码使用它"),
    (re.compile(r"app's own code: (.+) classes"), lambda m: f"应用自身代码：{_bounds_zh(m.group(1))}个类"),
    (re.compile(r"(\d+) classes"), lambda m: f"{m.group(1)}个类"),
    (re.compile(r"content is (\S+), name says otherwise"), lambda m: f"内容为{m.group(1)}，与文件名不符"),
    (re.compile(r"content is (\S+)"), lambda m: f"内容为{m.group(1)}"),
    (re.compile(r"nested (\S+), depth (\d+)"), lambda m: f"嵌套的{m.group(1)}，深度{m.group(2)}"),
    (re.compile(r"prefix (\S+)"), lambda m: f"前缀 {m.group(1)}"),
    (re.compile(r"package (\S+)"), lambda m: f"包名 {m.group(1)}"),
    (re.compile(r"label (.+)", re.S), lambda m: f"应用名称 {m.group(1)}"),
    (re.compile(r"missing: (.+)", re.S), lambda m: f"缺少：{m.group(1)}"),
)


_SDK_MATCH_ZH: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"classes (\S+) \((\d+)\)(, in no catalogue entry)?"),
     lambda m: f"类 {m.group(1)}（{m.group(2)}个）" + ("，不属于目录中的任何SDK" if m.group(3) else "")),
    (re.compile(r"file (.+)", re.S), lambda m: f"文件 {m.group(1)}"),
    (re.compile(r"native (.+)", re.S), lambda m: f"原生库 {m.group(1)}"),
)


def sdk_match_text(text: str, lang: str) -> str:
    """What identified an SDK (``classes com.x.* (32)``, ``file assets/x``) in ``lang``."""
    return _phrase(text, _SDK_MATCH_ZH) if lang == "zh" else text


def _phrase(text: str, table: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...]) -> str:
    """``text`` made by the first pattern of ``table`` that matches all of it; else as it is."""
    for pattern, make in table:
        m = pattern.fullmatch(text)
        if m:
            return make(m)
    return text


_ERRORS_ZH: tuple[tuple[re.Pattern[str], str], ...] = (
    # the endings of the scan errors (apkscan.errors), after the file name
    (re.compile(r"no such file"), "文件不存在"),
    (re.compile(r"cannot open \((.*)\)"), r"无法打开（\1）"),
    (re.compile(r"is a directory, not an APK \(use apkscan batch for folders\)"),
     "是文件夹而不是APK（扫描文件夹请用 apkscan batch）"),
    (re.compile(r"not an APK \(not a ZIP archive: (.*)\)", re.S), r"不是APK（不是ZIP压缩包：\1）"),
    (re.compile(r"not an APK \(ZIP archive without AndroidManifest\.xml\)"),
     "不是APK（ZIP压缩包中没有AndroidManifest.xml）"),
    (re.compile(r"not an APK \((.*)\)", re.S), r"不是APK（\1）"),
    (re.compile(r"an Android App Bundle \(\.aab\), not an APK; build APKs with bundletool first"),
     "是Android App Bundle（.aab）而不是APK；请先用bundletool生成APK"),
    (re.compile(r"split APKs in one archive \(\.apks/\.xapk\); apkscan batch scans the base APK"),
     "是打包在一起的拆分APK（.apks/.xapk）；请用 apkscan batch 扫描其基础APK"),
    (re.compile(r"cannot read the ZIP structure: (.*)", re.S), r"无法读取ZIP结构：\1"),
    (re.compile(r"took longer than (\S+) s; scan stopped"), r"扫描超过 \1 秒，已停止"),
    (re.compile(r"(\d+) bytes exceeds the APK size limit of (\d+)(.*)", re.S), r"\1 字节，超过APK大小上限 \2\3"),
)


def error_text(message: str, lang: str) -> str:
    """A one-line scan error (``PATH: no such file``) in ``lang``: the file name stays, the
    problem is said in Chinese where it is one of apkscan's own messages."""
    if lang != "zh":
        return message
    at = message.find(": ")
    while at >= 0:  # the file name may hold ": " itself: each place it could end is tried
        for pattern, repl in _ERRORS_ZH:
            m = pattern.fullmatch(message, at + 2)
            if m:
                return message[:at] + "：" + m.expand(repl)
        at = message.find(": ", at + 1)
    return message


_BATCH_ERRORS_ZH: tuple[tuple[str, str], ...] = (
    ("not an APK: ", "不是APK："),
    ("broken APK: ", "安装包损坏："),
    ("cannot open: ", "无法打开："),
)
_DETAILS_ZH: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"not a ZIP archive: (.*)", re.S), r"不是ZIP压缩包：\1"),
    (re.compile(r"ZIP archive without AndroidManifest\.xml"), "ZIP压缩包中没有AndroidManifest.xml"),
    (re.compile(r"a Git LFS pointer file"), "Git LFS指针文件"),
    (re.compile(r"cannot read the ZIP structure: (.*)", re.S), r"无法读取ZIP结构：\1"),
)


def batch_error_text(error: str, lang: str) -> str:
    """A batch failure reason (``not an APK: not a ZIP archive: ...``, as the store keeps
    it) in ``lang``: apkscan's own words in Chinese, the reader's details as they are."""
    if lang != "zh":
        return error
    timeout = re.fullmatch(r"timeout after (\S+) s", error)
    if timeout:
        return f"超时（{timeout.group(1)} 秒）"
    for head, zh in _BATCH_ERRORS_ZH:
        if error.startswith(head):
            rest = error[len(head):]
            for pattern, repl in _DETAILS_ZH:
                rest = pattern.sub(repl, rest)
            return zh + rest
    return error


def _bounds_zh(text: str) -> str:
    parts = {"at least": "至少", "at most": "至多"}
    out = [parts[w] + n for w, n in re.findall(r"(at least|at most) (\d+)", text)]
    return "、".join(out) or text


_GENERATED_KINDS = frozenset(("class", "manifest", "entry", "policy-text", "permission"))
"""Evidence kinds whose value or detail apkscan writes itself; others (a string, a URL, a
keyword match) hold the app's data, which is never translated."""


_ANY_KIND_PHRASES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    # details apkscan writes beside data of any kind (an API it references, a component's
    # name, an entry's path)
    (re.compile(r"defined in the APK; no call to it seen"), lambda m: "在APK中定义；未见对它的调用"),
    (re.compile(r"defined in the APK; no read of it seen"), lambda m: "在APK中定义；未见读取"),
    (  # predicates.NAME_IN_CODE
        re.compile(r"a name in the code, not a string it loads: (.*)", re.S),
        lambda m: "代码中的名称（非代码加载的字符串）：" + m.group(1),
    ),
    (re.compile(r"(\d+) of (\d+) components have no code in the APK's dex files"),
     lambda m: f"{m.group(2)}个组件中有{m.group(1)}个在APK的dex文件中没有代码"),
    (re.compile(r"(\d+) bytes of no known format; deflate keeps (\d+)% of it \(high entropy: encrypted\)"),
     lambda m: f"{m.group(1)}字节，格式未知；压缩后仍为原大小的{m.group(2)}%（高熵：已加密）"),
    (re.compile(r"(\d+) bytes, named (\S+) but of no known format \(encrypted or obfuscated code\)"),
     lambda m: f"{m.group(1)}字节，名为{m.group(2)}但格式未知（加密或混淆的代码）"),
)

_TAMPER_PHRASES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    # the tampering details the archive, manifest, resource, dex and signing readers write
    # (the commonest over the corpus; names, offsets and numbers are kept as they are)
    (re.compile(r"control character in name (.+)", re.S), lambda m: f"文件名含控制字符 {m.group(1)}"),
    (
        re.compile(r"central directory (\d+)\+(\d+) runs past the EOCD at (\d+) "
                   r"\(Android: bad offsets, not installable\)"),
        lambda m: f"中央目录 {m.group(1)}+{m.group(2)} 越过位于 {m.group(3)} 的目录结束记录"
        "（Android：偏移错误，无法安装）",
    ),
    (re.compile(r"signing block sizes at start and end differ"), lambda m: "签名块首尾记录的大小不一致"),
    (
        re.compile(r"EOCD at (\d+), (\d+) bytes before the end of the file \(archive comment of (\d+) bytes; "
                   r"APK tools never write one\)"),
        lambda m: f"目录结束记录位于 {m.group(1)}，距文件末尾 {m.group(2)} 字节"
        f"（含 {m.group(3)} 字节的压缩包注释；APK打包工具从不写入注释）",
    ),
    (
        re.compile(r"EOCD at (\d+): ([+-]\d+) bytes after EOCD and its (\d+)-byte comment "
                   r"\(recent Android rejects trailing bytes\)"),
        lambda m: f"目录结束记录位于 {m.group(1)}：其后（含 {m.group(3)} 字节注释）还有 {m.group(2)} 字节"
        "（新版Android拒绝尾随数据）",
    ),
    (
        re.compile(r"(\d+) class_defs share class_data with another class"),
        lambda m: f"{m.group(1)}个类定义与其他类共用类数据",
    ),
    (
        re.compile(r"(\d+) methods share a code item with another method"),
        lambda m: f"{m.group(1)}个方法与其他方法共用代码",
    ),
    (
        re.compile(r"(field and method|proto) names too large for the file; names shortened"),
        lambda m: ("方法原型" if m.group(1) == "proto" else "字段和方法") + "名称超出文件可容纳的大小；已截短",
    ),
    (re.compile(r"XML looks packed"), lambda m: "XML疑似经过加固处理"),
    (
        re.compile(r"local header differs from the central directory: (.+)", re.S),
        lambda m: f"本地文件头与中央目录不一致：{m.group(1)}",
    ),
    (
        re.compile(r"(\d+) bytes between the central directory and the EOCD"),
        lambda m: f"中央目录与目录结束记录之间有 {m.group(1)} 字节",
    ),
    (
        re.compile(r"EOCD declares (\d+) entries, central directory holds (\d+)"
                   r"( \(Android reads only the declared count\))?"),
        lambda m: f"目录结束记录声明 {m.group(1)} 个条目，中央目录有 {m.group(2)} 个"
        + ("（Android只读取声明的数量）" if m.group(3) else ""),
    ),
    (
        re.compile(r"compression method (\d+) \(Android reads it as (.+); zip tools fail\)", re.S),
        lambda m: f"压缩方法 {m.group(1)}（Android"
        + ("按存储读取" if m.group(2) == "stored" else "可解压则按deflate读取、否则按存储读取")
        + "；zip工具读取失败）",
    ),
    (
        re.compile(r"first chunk type 0x([0-9a-f]+), expected 0x0003"),
        lambda m: f"首个数据块类型为 0x{m.group(1)}，应为 0x0003",
    ),
    (
        re.compile(r"(\d+) string offsets point outside the string data"),
        lambda m: f"{m.group(1)}个字符串偏移指向字符串数据之外",
    ),
    (
        re.compile(r"chunk (0x[0-9a-f]+) at (\d+) has size 0"),
        lambda m: f"位于 {m.group(2)} 的数据块 {m.group(1)} 大小为0",
    ),
    (
        re.compile(r"package (.+): (\d+) resource or type names are paths \((.+)\)", re.S),
        lambda m: f"资源包 {m.group(1)}：{m.group(2)}个资源或类型名称是路径（{m.group(3)}）",
    ),
    (
        re.compile(r"element <(.+)> carries a namespace; Android ignores it", re.S),
        lambda m: f"元素 <{m.group(1)}> 带有命名空间；Android会忽略它",
    ),
    (
        re.compile(r"declares (\d+) bytes from (\d+) compressed \(ratio above (\d+)\); not inflated"),
        lambda m: f"声明由 {m.group(2)} 字节压缩数据解压出 {m.group(1)} 字节（压缩比超过 {m.group(3)}）；未解压",
    ),
    (
        re.compile(r"CRC-32 of the data ([0-9a-f]+) differs from the declared ([0-9a-f]+)"),
        lambda m: f"数据的CRC-32为 {m.group(1)}，与声明的 {m.group(2)} 不符",
    ),
    (
        re.compile(r"name appears again as record (\d+) \(first is record (\d+)\); Android refuses the archive, "
                   r"other tools may read either copy"),
        lambda m: f"文件名在第 {m.group(1)} 条记录再次出现（首次为第 {m.group(2)} 条）；"
        "Android拒绝该压缩包，其他工具可能读取任一副本",
    ),
    (
        re.compile(r"name (.+) escapes the extraction folder \(absolute, drive letter or '\.\.'\)", re.S),
        lambda m: f"文件名 {m.group(1)} 会越出解压目录（绝对路径、盘符或“..”）",
    ),
)

_KNOWN_PHRASES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"(.*); (\S*); similarity ([\d.]+)(; same package name)?(; same signing certificate)?", re.S),
        lambda m: f"{m.group(1)}；{m.group(2)}；相似度 {m.group(3)}" + ("；包名相同" if m.group(4) else "")
        + ("；签名证书相同" if m.group(5) else ""),
    ),
)


_KIND_PHRASES: dict[str, tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...]] = {
    "tampering": _TAMPER_PHRASES,
    "known-sample": _KNOWN_PHRASES,
    **dict.fromkeys(_GENERATED_KINDS, _EVIDENCE_PHRASES),
}
"""Evidence kind -> the phrases apkscan writes in its value or detail (other kinds hold
only the app's data)."""


def evidence_text(text: str, kind: str, lang: str) -> str:
    """An evidence value or detail in ``lang``: the phrases apkscan itself writes around
    what it found ("app's own code: at most 300 classes", "content is dex") in Chinese;
    the data itself (an API, a string, a file name, a library label) is never translated."""
    if lang != "zh" or not text:
        return text
    phrased = _phrase(text, _ANY_KIND_PHRASES)
    return phrased if phrased != text else _phrase(text, _KIND_PHRASES.get(kind, ()))


__all__ = [
    "CATEGORY_ZH",
    "LANGS",
    "SEVERITY_ZH",
    "ZH",
    "category_name",
    "resolve_lang",
    "severity_name",
    "term",
    "ui",
]


REFERENCE_ZH: dict[str, str] = {
    "apkscan known-sample library": "apkscan 本地已知样本库",
    "Android 14 behaviour change: exact alarms denied by default": "Android 14行为变更：默认拒绝精确闹钟",
    "Android 14 behaviour change: limits on full-screen intents": "Android 14行为变更：限制全屏Intent",
    "Android 14: foreground service types are required": "Android 14：必须声明前台服务类型",
    "Android: Intent.ACTION_NEW_OUTGOING_CALL (deprecated; CallRedirectionService needs the user-granted role)": (
        "Android文档：Intent.ACTION_NEW_OUTGOING_CALL（已弃用；CallRedirectionService需用户授予角色）"
    ),
    "Android: RoleManager (ROLE_SMS)": "Android文档：RoleManager（ROLE_SMS短信角色）",
    "Android: SMS Retriever API (read one code without SMS permissions)": (
        "Android文档：SMS Retriever API（无需短信权限读取一条验证码）"
    ),
    "Android: permissions with protectionLevel signature|privileged": (
        "Android文档：保护级别为signature|privileged的权限"
    ),
    "GB/T 41391-2022 Annex E (permissions of low relevance per service type)": (
        "GB/T 41391-2022 附录E（各服务类型关联度低的权限）"
    ),
    "GB/T 41391-2022 Annex F (non-changeable unique device identifiers)": (
        "GB/T 41391-2022 附录F（不可变更的设备唯一标识符）"
    ),
    "GB/T 41391-2022 信息安全技术 移动互联网应用程序(App)收集个人信息基本要求": (
        "GB/T 41391-2022《信息安全技术 移动互联网应用程序（App）收集个人信息基本要求》"
    ),
    "Google Play Deceptive Behavior policy": "Google Play政策：欺骗行为",
    "Google Play Protect: malware categories (trojan, spyware, SMS fraud, phishing, backdoor)": (
        "Google Play保护机制：恶意软件类别（木马、间谍软件、短信欺诈、钓鱼、后门）"
    ),
    "Google Play: Device and Network Abuse policy": "Google Play政策：滥用设备和网络",
    "Google Play: Financial Services policy (personal loans)": "Google Play政策：金融服务（个人贷款）",
    "Google Play: Foreground service types declaration": "Google Play：前台服务类型声明",
    "Google Play: Impersonation policy": "Google Play政策：冒充行为",
    "Google Play: Malware policy": "Google Play政策：恶意软件",
    "Google Play: Malware policy (droppers, hidden behaviour)": ("Google Play政策：恶意软件（投放器、隐藏行为）"),
    "Google Play: Monetization and Ads policy (loot-box odds disclosure)": (
        "Google Play政策：创收与广告（开箱概率披露）"
    ),
    "Google Play: Permissions and APIs that access sensitive information": "Google Play政策：访问敏感信息的权限和API",
    "Google Play: Photo and Video Permissions policy": "Google Play政策：照片和视频权限",
    "Google Play: Real-Money Gambling, Games, and Contests policy": "Google Play政策：真钱赌博、游戏和竞赛",
    "Google Play: SMS and Call Log permissions policy": "Google Play政策：短信和通话记录权限",
    "Google Play: Stalkerware policy": "Google Play政策：跟踪软件",
    "Google Play: Target API level requirements": "Google Play：目标API级别要求",
    "Google Play: Understanding location in the background permissions": "Google Play：后台位置权限说明",
    "Google Play: Use of All files access (MANAGE_EXTERNAL_STORAGE) permission": (
        "Google Play：所有文件访问权限（MANAGE_EXTERNAL_STORAGE）的使用"
    ),
    "Google Play: Use of SMS or Call Log permission groups": "Google Play：短信或通话记录权限组的使用",
    "Google Play: Use of the AccessibilityService API": "Google Play：AccessibilityService API的使用",
    "Google Play: Use of the REQUEST_INSTALL_PACKAGES permission": "Google Play：REQUEST_INSTALL_PACKAGES权限的使用",
    "Google Play: Use of the broad package visibility (QUERY_ALL_PACKAGES) permission": (
        "Google Play：广泛软件包可见性（QUERY_ALL_PACKAGES）权限的使用"
    ),
    "MITRE ATT&CK Mobile T1624.001 Event Triggered Execution: Broadcast Receivers": (
        "MITRE ATT&CK移动端 T1624.001 事件触发执行：广播接收器"
    ),
    "MITRE ATT&CK Mobile T1626 Abuse Elevation Control Mechanism": "MITRE ATT&CK移动端 T1626 滥用权限提升控制机制",
    "MITRE ATT&CK Mobile T1471 Data Encrypted for Impact": "MITRE ATT&CK移动端 T1471 为造成破坏而加密数据",
    "Google Play Protect: malware categories (ransomware)": "Google Play保护机制：恶意软件类别（勒索软件）",
    "MPS 2022 five fraud types (冒充公检法)": "公安部2022年公布的五类高发诈骗（冒充公检法）",
    "MPS 2022 five fraud types (刷单返利)": "公安部2022年公布的五类高发诈骗（刷单返利）",
    "MPS 2022 five fraud types (虚假网络贷款)": "公安部2022年公布的五类高发诈骗（虚假网络贷款）",
    "MPS 2022-05-11: five high-incidence fraud types (刷单返利, 虚假投资理财, 虚假网络贷款, 冒充客服, 冒充公检法)": (
        "公安部2022年5月11日公布的五类高发电信网络诈骗（刷单返利、虚假投资理财、虚假网络贷款、冒充客服、冒充公检法）"
    ),
    "OWASP MASVS-CODE-4 (code loaded at run time)": "OWASP MASVS-CODE-4（运行时加载的代码）",
    "OWASP MASVS-RESILIENCE-3 (obfuscation)": "OWASP MASVS-RESILIENCE-3（代码混淆）",
    "PIPL Art. 6": "《个人信息保护法》第六条",
    "PIPL Art. 17 (notice before processing)": "《个人信息保护法》第十七条（处理前告知）",
    "PIPL Art. 23 (separate consent to provide PI to another handler)": (
        "《个人信息保护法》第二十三条（向其他个人信息处理者提供个人信息须取得单独同意）"
    ),
    "PIPL Art. 24 (non-personalised option for automated decisions / targeted push)": (
        "《个人信息保护法》第二十四条（自动化决策、定向推送须提供不针对个人特征的选项）"
    ),
    "PIPL Art. 28-29 (sensitive PI: specific purpose, necessity, separate consent)": (
        "《个人信息保护法》第二十八至二十九条（敏感个人信息：特定目的、充分必要性、单独同意）"
    ),
    "PIPL Art. 51 (security measures)": "《个人信息保护法》第五十一条（安全保护措施）",
    "PIPL Art. 6 (minimum necessary), Art. 28-29 (sensitive PI)": (
        "《个人信息保护法》第六条（最小必要）、第二十八至二十九条（敏感个人信息）"
    ),
    "PIPL Art. 6 (purpose limitation, minimum necessary collection)": (
        "《个人信息保护法》第六条（目的限制、最小必要收集）"
    ),
    "TC260 网络安全标准实践指南—App使用软件开发工具包(SDK)安全指引 (2020)": (
        "全国信安标委《网络安全标准实践指南—App使用软件开发工具包（SDK）安全指引》（2020）"
    ),
    "TC260 网络安全标准实践指南—App系统权限申请使用指南 (2020)": (
        "全国信安标委《网络安全标准实践指南—App系统权限申请使用指南》（2020）"
    ),
    "Unicode TR #39: Unicode Security Mechanisms (confusables, mixed-script detection)": (
        "Unicode技术报告第39号：Unicode安全机制（易混淆字符、混合文字检测）"
    ),
    "apkscan docs/security.md": "apkscan 文档 docs/security.md",
    "中华人民共和国刑法 (Criminal Law) Art. 253-1 侵犯公民个人信息罪": (
        "《中华人民共和国刑法》第二百五十三条之一 侵犯公民个人信息罪"
    ),
    "中华人民共和国刑法 (Criminal Law) Art. 285 "
    "(非法控制计算机信息系统; 提供侵入、非法控制计算机信息系统程序、工具罪)": (
        "《中华人民共和国刑法》第二百八十五条（非法控制计算机信息系统罪；提供侵入、非法控制计算机信息系统程序、工具罪）"
    ),
    "中华人民共和国刑法 (Criminal Law) Art. 285-286 (illegally obtaining computer data; destructive programs)": (
        "《中华人民共和国刑法》第二百八十五至二百八十六条（非法获取计算机信息系统数据；破坏性程序）"
    ),
    "中华人民共和国刑法 (Criminal Law) Art. 286 (制作、传播计算机病毒等破坏性程序)": (
        "《中华人民共和国刑法》第二百八十六条（制作、传播计算机病毒等破坏性程序）"
    ),
    "中华人民共和国刑法 (Criminal Law) Art. 286 破坏计算机信息系统罪": (
        "《中华人民共和国刑法》第二百八十六条 破坏计算机信息系统罪"
    ),
    "中华人民共和国刑法 (Criminal Law) Art. 303 赌博罪 / 开设赌场罪": (
        "《中华人民共和国刑法》第三百零三条 赌博罪、开设赌场罪"
    ),
    "中华人民共和国刑法 Art. 303": "《中华人民共和国刑法》第三百零三条",
    "中华人民共和国网络安全法 (Cybersecurity Law): network operators' duty to take technical measures against "
    "intrusion and data leakage": "《中华人民共和国网络安全法》：网络运营者采取技术措施防范入侵和数据泄露的义务",
    "儿童个人信息网络保护规定 (CAC, 2019)": "《儿童个人信息网络保护规定》（国家网信办，2019）",
    "反电信网络诈骗法 Art. 14": "《反电信网络诈骗法》第十四条",
    "反电信网络诈骗法 Art. 14 (devices/software for caller-ID change, batch accounts, SMS verification platforms)": (
        "《反电信网络诈骗法》第十四条（改号、批量账号、接码平台等设备和软件）"
    ),
    "反电信网络诈骗法 Art. 23": "《反电信网络诈骗法》第二十三条",
    "反电信网络诈骗法 Art. 23 (app filing; packaging/distribution providers verify developer and function)": (
        "《反电信网络诈骗法》第二十三条（App备案；封装、分发服务提供者核验开发者和功能）"
    ),
    "反电信网络诈骗法 Art. 24 (domain resolution and redirection)": "《反电信网络诈骗法》第二十四条（域名解析和跳转）",
    "反电信网络诈骗法 Art. 25": "《反电信网络诈骗法》第二十五条",
    "反电信网络诈骗法 Art. 25 (no support for fraud incl. laundering via virtual currency)": (
        "《反电信网络诈骗法》第二十五条（不得为诈骗提供支持，包括通过虚拟货币洗钱）"
    ),
    "反电信网络诈骗法 Art. 25 (no support for fraud incl. software that collects others' data)": (
        "《反电信网络诈骗法》第二十五条（不得为诈骗提供支持，包括收集他人信息的软件）"
    ),
    "反电信网络诈骗法 Art. 31": "《反电信网络诈骗法》第三十一条",
    "反电信网络诈骗法 Art. 31 (no selling/renting of SMS ports, payment or internet accounts)": (
        "《反电信网络诈骗法》第三十一条（不得出售、出租短信端口、支付账户或互联网账号）"
    ),
    "反电信网络诈骗法": "《反电信网络诈骗法》",
    "反电信网络诈骗法 (2022)": "《反电信网络诈骗法》（2022）",
    "工业和信息化部 关于进一步提升移动互联网应用服务能力的通知 (2023; no hidden icons or uninstall obstruction)": (
        "工业和信息化部《关于进一步提升移动互联网应用服务能力的通知》（2023；不得隐藏图标或阻碍卸载）"
    ),
    "文化部关于规范网络游戏运营加强事中事后监管工作的通知 Art. 6 (random draws: publish items and probabilities)": (
        "文化部《关于规范网络游戏运营加强事中事后监管工作的通知》第六条（随机抽取：公示道具和概率）"
    ),
    "最高人民法院、"
    "最高人民检察院 关于办理赌博刑事案件具体应用法律若干问题的解释 Art. 2 (acting as agent of a gambling site and "
    "taking bets is running a gambling house), Art. 4 (payment settlement for gambling is complicity)": (
        "最高人民法院、"
        "最高人民检察院《关于办理赌博刑事案件具体应用法律若干问题的解释》第二条（担任赌博网站代理并接受投注的，"
        "属于开设赌场）、第四条（为赌博提供资金结算的，以共犯论处）"
    ),
}
"""Chinese citations for the references of the built-in rules, shown in Chinese pages (the
reference id itself stays the key of the 'by regulation' view and of SARIF). A reference
without an entry is shown as it is (the OWASP MASVS control ids are)."""


def reference_name(ref_id: str, lang: str) -> str:
    return REFERENCE_ZH.get(ref_id, ref_id) if lang == "zh" else ref_id


SDK_CATEGORY_ZH: dict[str, str] = {
    "ads": "广告",
    "utility": "工具",
    "ui": "界面组件",
    "analytics": "统计分析",
    "share-login": "分享/第三方登录",
    "network": "网络",
    "risk-control": "风控",
    "push": "推送",
    "crash-reporting": "崩溃监测",
    "payment": "支付",
    "rtc": "实时音视频",
    "attribution": "归因",
    "maps": "地图",
    "development": "开发框架",
    "hotfix": "热修复",
    "hybrid-framework": "跨平台框架",
    "app-generator": "应用生成器",
    "im": "即时通讯",
    "customer-service": "客服",
    "game-engine": "游戏引擎",
    "oaid": "OAID",
    "web3": "区块链",
    "location": "定位",
    "packer": "加固",
    "social": "社交",
    "unidentified": "未识别",
}
"""SDK catalogue categories in Chinese (a category without one is shown by its id)."""
