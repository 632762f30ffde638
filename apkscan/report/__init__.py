"""Reports: each ``render(result) -> str``; only the CLI writes files."""

from __future__ import annotations

from apkscan.model import ScanResult


def render(result: ScanResult, fmt: str, full_facts: bool = False, lang: str = "en") -> str:
    """``fmt`` (json, sarif, html) of one result; ``lang`` (``zh`` or ``en``) chooses the
    language of the HTML page and the SARIF texts (JSON carries both)."""
    if fmt == "json":
        from apkscan.report import json_report

        return json_report.render(result, full_facts=full_facts)
    if fmt == "sarif":
        from apkscan.report import sarif

        return sarif.render([result], lang=lang)
    if fmt == "html":
        from apkscan.report import html

        return html.render(result, lang)
    raise ValueError(f"unknown format {fmt!r}")
