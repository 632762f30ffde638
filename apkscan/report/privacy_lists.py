"""The two draft lists of a scan, in Chinese, as CSV and JSON a developer can paste into a
privacy policy: 已收集个人信息清单 (what the app itself collects) and 第三方信息共享清单
(one row per third-party SDK), in the columns Chinese apps publish.

CSV files start with a UTF-8 byte-order mark (spreadsheet programs then read Chinese
correctly) and neutralise cells that a spreadsheet would run as a formula: every value
here can come from the APK or its policy text, which are hostile input.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from apkscan.model import ScanResult
from apkscan.rules.privacy import CollectedRow, SharingRow, category_zh

COLLECTED_COLUMNS = (
    "业务功能及使用目的",
    "个人信息类型",
    "个人信息字段",
    "系统权限",
    "权限名称",
    "隐私政策已声明",
    "代码位置",
)
SHARING_COLUMNS = (
    "SDK名称",
    "SDK包名",
    "第三方主体名称",
    "使用目的",
    "收集个人信息类型",
    "系统权限",
    "共享方式",
    "第三方隐私政策链接",
    "隐私政策已列明",
)
SHARE_METHOD_ZH = "SDK本地采集"
YES_NO = {True: "是", False: "否"}


def collected_row(r: CollectedRow) -> dict[str, str]:
    return dict(
        zip(
            COLLECTED_COLUMNS,
            (
                r.function_zh,
                r.type_zh,
                r.fields_zh,
                r.permission or "无",
                r.permission_zh,
                YES_NO[r.declared],
                "；".join(r.sites),
            ),
            strict=True,
        )
    )


def sharing_row(r: SharingRow) -> dict[str, str]:
    return dict(
        zip(
            SHARING_COLUMNS,
            (
                r.name_zh,
                "、".join(r.packages),
                r.vendor,
                r.purpose_zh,
                r.types_zh,
                "、".join(r.permissions) or "无",
                SHARE_METHOD_ZH,
                r.policy_url,
                YES_NO[r.listed],
            ),
            strict=True,
        )
    )


def lists_dict(result: ScanResult) -> dict[str, Any]:
    """Both lists plus what they were drawn from (JSON export and the report's section)."""
    pr = result.privacy
    if pr is None:
        return {"collected": [], "sharing": []}
    return {
        "app": {
            "package": result.facts.manifest.package,
            "label": result.facts.manifest.label,
            "version": result.facts.manifest.version_name,
            "sha256": result.facts.sha256,
        },
        "note": "由apkscan根据静态分析结果起草：业务功能与使用目的须由开发者核对补充；"
        "SDK的个人信息类型包括代码中可见的和SDK厂商文档声明的。",
        "collected": [{**collected_row(r), "data_type": r.data_type, "seen_in_code": True} for r in pr.collected],
        "sharing": [
            {
                **sharing_row(r),
                "sdk_id": r.sdk,
                "types_seen_in_code": [category_zh(c) for c in r.types_seen],
                "types_documented_by_vendor": [category_zh(c) for c in r.types_documented],
            }
            for r in pr.sharing
        ],
    }


def _safe_cell(value: str) -> str:
    """A cell that starts like a formula is prefixed with ' (shown as text)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([_safe_cell(str(row.get(c, ""))) for c in columns])
    return "\ufeff" + buf.getvalue()


def collected_csv(result: ScanResult) -> str:
    rows = [collected_row(r) for r in result.privacy.collected] if result.privacy else []
    return to_csv(COLLECTED_COLUMNS, rows)


def sharing_csv(result: ScanResult) -> str:
    rows = [sharing_row(r) for r in result.privacy.sharing] if result.privacy else []
    return to_csv(SHARING_COLUMNS, rows)


def write_lists(result: ScanResult, folder: Path, stem: str) -> list[Path]:
    """``STEM-collected.csv``, ``STEM-sharing.csv`` and ``STEM-lists.json`` in ``folder``."""
    from apkscan.report.safe import write_atomic  # never through a symlink

    out = [folder / f"{stem}-collected.csv", folder / f"{stem}-sharing.csv", folder / f"{stem}-lists.json"]
    write_atomic(out[0], collected_csv(result))
    write_atomic(out[1], sharing_csv(result))
    write_atomic(out[2], json.dumps(lists_dict(result), ensure_ascii=False, indent=1) + "\n")
    return out


def privacy_json(result: ScanResult) -> dict[str, Any] | None:
    """The report's ``privacy`` section: where the policy came from, what was read from it,
    the two lists and the pre-consent candidates."""
    from apkscan.serial import to_jsonable

    pr = result.privacy
    if pr is None:
        return None
    return {
        "policy": {
            "found": bool(pr.policy.where),
            "given": pr.policy.given,
            "sources": [{"where": w, "kind": k, "chars": n} for w, k, n in pr.policy.where],
            "urls": [{"url": u, "where": w} for u, w in pr.policy.urls],
        },
        "reading": to_jsonable(pr.reading),
        "lists": lists_dict(result),
        # the walk's duration is in scan.timings (consent_reach): the rest is stable across runs
        "consent": {k: v for k, v in to_jsonable(pr.consent).items() if k != "seconds"},
        "finding_ids": list(pr.finding_ids),
    }
