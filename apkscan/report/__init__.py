"""Reports: each ``render(result) -> str``; only the CLI writes files."""

from __future__ import annotations

from apkscan.model import ScanResult


def render(result: ScanResult, fmt: str, full_facts: bool = False) -> str:
    if fmt == "json":
        from apkscan.report import json_report

        return json_report.render(result, full_facts=full_facts)
    if fmt == "sarif":
        from apkscan.report import sarif

        return sarif.render([result])
    if fmt == "html":
        from apkscan.report import html

        return html.render(result)
    raise ValueError(f"unknown format {fmt!r}")
