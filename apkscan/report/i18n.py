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

ZH.update({
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
        "共用签名证书、服务器域名（出现在半数以上应用中的域名及googleapis.com等常见域名不计）"
        "或应用生成器账号ID的应用。方块为关联项，圆点为应用，颜色表示检测结论；点击方块可突出显示与其关联的应用。"
    ),
    "Apps linked by signer, server domain and app-generator id": "按签名证书、服务器域名和应用生成器ID关联的应用",
    "graph-truncated": "图中显示了最大的若干关联组中的 {shown} 个应用（共 {total} 个）；下方列表列出全部。",
    "Signer": "签名证书",
    "Server domain": "服务器域名",
    "App-generator id": "应用生成器ID",
    "Shared signing certificates": "共用签名证书",
    "Shared server domains": "共用服务器域名",
    "Shared app-generator ids": "共用应用生成器ID",
    "Families": "家族",
    "family-help": (
        "指纹相似（自有代码结构、字符串常量、资源文件、网页包，得分不低于 {threshold}）或共用签名证书、"
        "少见服务器域名、应用生成器ID而相连的应用组，见 docs/families.md。"
    ),
    "family": "家族",
    "similar": "指纹相似",
    "signer": "签名证书",
    "domain": "服务器域名",
    "generator": "应用生成器ID",
    "Top categories": "主要类别",
    "Label": "应用名称",
    "Report / error": "报告/错误",
    "report": "报告",
    "batch-footer": (
        "由 apkscan 生成。仅为静态分析：检测结论是供审核人员和监管人员核查的线索；关联关系表示共用的技术特征，"
        "并不证明应用属于同一运营者。"
    ),
})

EN: dict[str, str] = {
    "family-help": (
        "Groups of apps linked by similar fingerprints (own code shape, string constants, files, web bundle; "
        "score at least {threshold}) or by a shared signer, a rarely shared server domain or an app-generator id "
        "(docs/families.md)."
    ),
    "cluster-help": (
        "Apps sharing a signing certificate, a server domain (domains in more than half of the apps and well-known "
        "ones such as googleapis.com are left out) or an app-generator account id. Squares are the shared items, "
        "dots the apps, coloured by verdict; click a square to highlight its apps."
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
