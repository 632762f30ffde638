"""The HTML report in a real headless Chromium, driven over the DevTools protocol.

Needs a Chromium binary (Debian: ``apt-get install -y chromium``) and the
``websocket-client`` package; skipped with a reason when either is missing. Nothing is
downloaded: Chromium runs with background networking off and the page is a local file.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apkscan.model import ScanResult
from apkscan.report.html import render

pytestmark = pytest.mark.browser

websocket = pytest.importorskip("websocket", reason="the browser test needs websocket-client")

ARTIFACTS = Path(__file__).parent / "artifacts"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--metrics-recording-only",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.access(path, os.X_OK):
            return path
    return None


class Browser:
    """A tiny Chrome DevTools Protocol client: one page, flat session, events recorded."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="apkscan-chromium-")
        self.proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        ws_url = self._wait_for_endpoint()
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.page(f"{domain}.enable")

    def _wait_for_endpoint(self) -> str:
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 30
        seen: list[str] = []
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                if self.proc.poll() is not None:
                    break
                continue
            seen.append(line)
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                return m.group(1)
        self.close()
        raise RuntimeError("Chromium did not start:\n" + "".join(seen[-20:]))

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 30) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result") or {})
            self._event(reply)
        raise TimeoutError(method)

    def page(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.call(method, params, self.session)

    def _event(self, msg: dict[str, Any]) -> None:
        if "method" not in msg:
            return
        self.events.append(msg)
        if msg["method"] == "Page.javascriptDialogOpening":
            # Never leave the page blocked on a dialog; the test asserts none opened.
            self.ws.send(json.dumps({"id": -1, "sessionId": self.session,
                                     "method": "Page.handleJavaScriptDialog",
                                     "params": {"accept": False}}))

    def wait_event(self, name: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        self.ws.settimeout(1)
        try:
            while time.monotonic() < deadline:
                for ev in self.events:
                    if ev["method"] == name:
                        return ev
                try:
                    self._event(json.loads(self.ws.recv()))
                except websocket.WebSocketTimeoutException:
                    continue
        finally:
            self.ws.settimeout(30)
        raise TimeoutError(name)

    def load(self, path: Path, width: int = 1280, height: int = 900) -> None:
        self.events.clear()
        self.page("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        self.page("Page.navigate", {"url": path.resolve().as_uri()})
        self.wait_event("Page.loadEventFired")
        self.eval("1")  # drain events queued during load
        time.sleep(0.2)
        self.eval("1")

    def eval(self, expression: str) -> Any:
        out = self.page("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True})
        if "exceptionDetails" in out:
            raise RuntimeError(f"{expression}: {out['exceptionDetails']}")
        return out["result"].get("value")

    def screenshot(self, dest: Path, full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        data = self.page("Page.captureScreenshot", params)["data"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(base64.b64decode(data))

    # --- what the tests look at ----------------------------------------------------------

    def errors(self) -> list[str]:
        out = []
        for ev in self.events:
            p = ev.get("params", {})
            if ev["method"] == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails"))[:500])
            elif ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(json.dumps(p.get("args"))[:500])
            elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(str(p["entry"].get("text"))[:500])
        return out

    def dialogs(self) -> list[str]:
        return [str(ev["params"].get("message")) for ev in self.events
                if ev["method"] == "Page.javascriptDialogOpening"]

    def requests(self) -> list[str]:
        return [str(ev["params"]["request"]["url"]) for ev in self.events
                if ev["method"] == "Network.requestWillBeSent"]

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium not found (apt-get install -y chromium)")
    b = Browser(binary)
    try:
        yield b
    finally:
        b.close()


def write(result: ScanResult, tmp_path: Path, name: str = "report.html") -> Path:
    path = tmp_path / name
    path.write_text(render(result), encoding="utf-8")
    return path


VISIBLE = "[...document.querySelectorAll('#view-category .finding')].filter(e => e.offsetParent !== null).length"


def test_loads_without_errors_and_filters(browser: Browser, tmp_path: Path) -> None:
    from test_html_report import build_result

    browser.load(write(build_result(), tmp_path))
    assert browser.errors() == []
    assert browser.dialogs() == []
    assert [u for u in browser.requests() if not u.startswith(("file:", "data:"))] == []
    assert browser.eval("document.documentElement.classList.contains('js')") is True
    assert browser.eval("document.getElementById('filterbar').hidden") is False
    assert browser.eval(VISIBLE) == 6
    # the reference view is a tab: hidden until chosen
    assert browser.eval("document.getElementById('view-reference').offsetParent === null")

    # severity: drop medium (2 findings) and info (1)
    browser.eval("document.querySelector('input[name=sev][value=medium]').click()")
    assert browser.eval(VISIBLE) == 4
    browser.eval("document.querySelector('input[name=sev][value=info]').click()")
    assert browser.eval(VISIBLE) == 3
    assert browser.eval("document.getElementById('f-count').textContent") == "3 / 6"
    # empty category groups are hidden with their findings
    assert browser.eval("document.querySelector('[data-group][data-key=sdk]').hidden") is True

    # free-text search (over the whole finding: title, evidence, description)
    browser.eval("""(() => { const s = document.getElementById('f-search');
        s.value = '解冻金'; s.dispatchEvent(new Event('input')); })()""")
    assert browser.eval(VISIBLE) == 1
    browser.eval("document.getElementById('f-reset').click()")
    assert browser.eval(VISIBLE) == 6

    # category filter
    browser.eval("""(() => { const s = document.getElementById('f-category');
        s.value = 'fraud'; s.dispatchEvent(new Event('change')); })()""")
    assert browser.eval(VISIBLE) == 2
    browser.eval("document.getElementById('f-reset').click()")

    # a severity count in the header shows only that severity
    browser.eval("document.querySelector('[data-only-sev=medium]').click()")
    assert browser.eval(VISIBLE) == 2
    browser.eval("document.getElementById('f-reset').click()")

    # sort by rule id: every group's findings in rule-id order
    browser.eval("""(() => { const s = document.getElementById('f-sort');
        s.value = 'rule'; s.dispatchEvent(new Event('change')); })()""")
    rules = browser.eval("[...document.querySelectorAll('[data-key=\"personal-data\"] .finding')]"
                         ".map(e => e.dataset.rule)")
    assert rules == sorted(rules) == ["PI-CONTACTS-001", "PI-SMS-001"]
    groups = browser.eval("[...document.querySelectorAll('#view-category > [data-group]')]"
                          ".map(e => e.dataset.key)")
    assert groups == sorted(groups)

    # tabs: the reference view replaces the category view; its rows follow the filter
    browser.eval("document.querySelector('button[data-view=reference]').click()")
    assert browser.eval("document.getElementById('view-category').offsetParent === null")
    refs = "document.querySelectorAll('#view-reference li[data-mirror]')"
    total_rows = browser.eval(f"{refs}.length")
    browser.eval("document.querySelector('input[name=sev][value=critical]').click()")
    visible_rows = browser.eval(f"[...{refs}].filter(e => e.offsetParent !== null).length")
    assert 0 < visible_rows < total_rows
    browser.eval("document.getElementById('f-reset').click()")
    browser.eval("document.querySelector('button[data-view=category]').click()")
    assert browser.errors() == []


def test_hostile_result_runs_nothing(browser: Browser, tmp_path: Path) -> None:
    from test_html_report import HOSTILE_LABEL, HOSTILE_VALUE, hostile_result

    browser.load(write(hostile_result(), tmp_path, "hostile.html"))
    assert browser.dialogs() == []
    assert browser.errors() == []
    assert browser.eval("document.querySelectorAll('img[src=x]').length") == 0
    assert browser.eval("document.querySelectorAll('script').length") == 1
    assert browser.eval("document.getElementById('app-label').textContent") == HOSTILE_LABEL
    text = browser.eval("document.body.innerText")
    assert HOSTILE_LABEL in text and HOSTILE_VALUE in text
    assert [u for u in browser.requests() if not u.startswith(("file:", "data:"))] == []
    # the filter still works over hostile text
    browser.eval(f"""(() => {{ const s = document.getElementById('f-search');
        s.value = {json.dumps(HOSTILE_VALUE)}; s.dispatchEvent(new Event('input')); }})()""")
    assert browser.eval(VISIBLE) == 1
    assert browser.dialogs() == []


def test_csp_blocks_injected_script(browser: Browser, tmp_path: Path) -> None:
    """Belt and braces: if an escaping bug ever let a script element through, the CSP
    (script allowed by hash only) would still stop it."""
    from test_html_report import build_result

    page = render(build_result()).replace(
        "<main", '<script>alert("csp")</script><img src="https://example.invalid/x.png"><main', 1)
    path = tmp_path / "injected.html"
    path.write_text(page, encoding="utf-8")
    browser.load(path)
    assert browser.dialogs() == []
    # the request is attempted and blocked by the CSP before anything leaves the machine
    blocked = {ev["params"]["requestId"] for ev in browser.events
               if ev["method"] == "Network.loadingFailed"
               and ev["params"].get("blockedReason") == "csp"}
    attempted = {ev["params"]["requestId"] for ev in browser.events
                 if ev["method"] == "Network.requestWillBeSent"
                 and ev["params"]["request"]["url"].startswith("http")}
    assert attempted and attempted <= blocked
    assert not any(ev["method"] == "Network.responseReceived"
                   and ev["params"]["response"]["url"].startswith("http") for ev in browser.events)
    assert any("Content Security Policy" in e for e in browser.errors())
    # our own script still ran
    assert browser.eval("document.documentElement.classList.contains('js')") is True


def test_everything_shown_without_javascript(browser: Browser, tmp_path: Path) -> None:
    from test_html_report import build_result

    browser.page("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.load(write(build_result(), tmp_path, "nojs.html"))
        assert browser.errors() == []
        visible = "(sel) => [...document.querySelectorAll(sel)].filter(e => e.offsetParent !== null).length"
        # Runtime.evaluate still runs while page scripts are disabled
        assert browser.eval(f"({visible})('#view-category .finding')") == 6
        assert browser.eval(f"({visible})('#view-reference li[data-mirror]')") >= 6
        assert browser.eval("document.getElementById('filterbar').offsetParent") is None
        assert browser.eval("document.documentElement.classList.contains('js')") is False
    finally:
        browser.page("Emulation.setScriptExecutionDisabled", {"value": False})


def test_print_layout(browser: Browser, tmp_path: Path) -> None:
    from test_html_report import build_result

    browser.load(write(build_result(), tmp_path, "print.html"))
    browser.page("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert browser.eval("getComputedStyle(document.getElementById('filterbar')).display") == "none"
        assert browser.eval(VISIBLE) == 6
    finally:
        browser.page("Emulation.setEmulatedMedia", {"media": ""})


def test_screenshot(browser: Browser, tmp_path: Path) -> None:
    from test_html_report import build_result

    browser.load(write(build_result(), tmp_path))
    dest = ARTIFACTS / "report.png"
    browser.screenshot(dest)
    assert dest.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Chinese renders with a real font (a missing font falls back to boxes of equal width)
    widths = browser.eval("""(() => { const c = document.createElement('canvas').getContext('2d');
        c.font = '16px ' + getComputedStyle(document.body).fontFamily;
        return [c.measureText('极').width, c.measureText('速').width]; })()""")
    assert widths[0] > 0


SAMPLE_APKS = sorted(SAMPLES.glob("*.apk"))


@pytest.mark.skipif(not SAMPLE_APKS, reason="samples not built (samples/build.sh)")
@pytest.mark.parametrize("apk", SAMPLE_APKS, ids=[p.stem for p in SAMPLE_APKS])
def test_real_sample(browser: Browser, tmp_path: Path, apk: Path) -> None:
    from apkscan.api import scan

    result = scan(apk)
    browser.load(write(result, tmp_path, f"{apk.stem}.html"))
    assert browser.errors() == []
    assert browser.dialogs() == []
    assert browser.eval("document.querySelectorAll('script').length") == 1
    assert browser.eval(VISIBLE) == len(result.findings)
    if result.facts.manifest.label:
        shown = browser.eval("document.getElementById('app-label').textContent")
        assert shown == result.facts.manifest.label
    browser.screenshot(ARTIFACTS / f"{apk.stem}.png")


def main(argv: list[str]) -> int:
    """``python tests/test_html_browser.py REPORT.html OUT.png [WIDTH HEIGHT]``: a screenshot
    of the top of a report (how docs/report.png is made)."""
    if len(argv) not in (2, 4):
        print(main.__doc__)
        return 2
    binary = find_chromium()
    if binary is None:
        print("Chromium not found (apt-get install -y chromium)")
        return 1
    width, height = (int(argv[2]), int(argv[3])) if len(argv) == 4 else (1280, 1000)
    b = Browser(binary)
    try:
        b.load(Path(argv[0]), width, height)
        for err in b.errors():
            print("console error:", err)
        b.screenshot(Path(argv[1]))
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
