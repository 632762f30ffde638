"""The service's web pages: self-contained HTML (no external file, font or script), one
inline script allowed by its hash, every APK-derived string escaped by jinja2.

Each label is shown in English and Chinese. The policy is the reports' one plus what a
page that talks to its own server needs: ``connect-src 'self'`` (uploads, status) and
``form-action 'self'`` (login, search).
"""

from __future__ import annotations

import base64
import functools
import hashlib
from importlib import resources
from typing import Any

import jinja2
from starlette.responses import HTMLResponse

from apkscan.report.safe import html_finalize

VERDICT_ZH = {"pass": "通过", "fix": "需整改", "review": "需人工复核", "reject": "建议驳回"}
STATUS_ZH = {"queued": "排队中", "running": "扫描中", "done": "完成", "failed": "失败", "stale": "待重新评估"}


@functools.cache
def script() -> str:
    return resources.files("apkscan.serve").joinpath("templates", "ui.js").read_text("utf-8").strip()


@functools.cache
def csp() -> str:
    digest = base64.b64encode(hashlib.sha256(script().encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; connect-src 'self'; base-uri 'none'; form-action 'self'"
    )


@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("apkscan.serve", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=html_finalize,
    )
    env.globals.update(verdict_zh=VERDICT_ZH, status_zh=STATUS_ZH)
    return env


def page(name: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
    html = _env().get_template(f"{name}.html").render(page=name, script=script(), csp=csp(), **ctx)
    # frame-ancestors only works in the header (a <meta> policy with it is an error in the console)
    return HTMLResponse(html, status_code=status,
                        headers={"Content-Security-Policy": csp() + "; frame-ancestors 'none'"})
