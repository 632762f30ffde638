"""The service's pages in real headless Chromium: sign in with a token, upload a sample
through the upload page's file input, see the verdict, open the report; no page error
and no request that leaves the loopback service."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="apkscan serve needs the [serve] extra")
pytest.importorskip("websocket", reason="the browser test needs websocket-client")

from serve_util import Server
from test_html_browser import Browser, find_chromium

pytestmark = pytest.mark.browser
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("serve-ui"), "-j", "1", "--rate", "0")
    try:
        srv.wait_ready(srv.token)
        yield srv
    finally:
        srv.stop()


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


def navigate(browser: Browser, url: str) -> None:
    browser.events.clear()
    browser.page("Page.navigate", {"url": url})
    browser.wait_event("Page.loadEventFired")
    browser.eval("1")
    time.sleep(0.2)
    assert browser.errors() == [], url  # no script error, no content-security-policy report


def wait_for(browser: Browser, expression: str, timeout: float = 90) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = browser.eval(expression)
        except RuntimeError:  # the page is navigating
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(expression)


def test_upload_page_shows_the_verdict(server: Server, browser: Browser) -> None:
    browser.page("Emulation.setDeviceMetricsOverride",
                 {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    navigate(browser, server.url + "/ui/")
    assert "/ui/login" in browser.eval("location.pathname")  # no token yet: the page asks for one

    # a wrong token is refused
    browser.eval("document.getElementById('token').value = 'aps_wrong'")
    browser.eval("document.getElementById('signin').click()")
    wait_for(browser, "document.getElementById('bad') !== null")

    browser.eval(f"document.getElementById('token').value = {server.token!r}")
    browser.eval("document.getElementById('signin').click()")
    wait_for(browser, "document.body.dataset.page === 'upload'")
    browser.eval("1")
    assert browser.errors() == []

    sample = SAMPLES / "fraud_loan.apk"
    doc = browser.page("DOM.getDocument", {"depth": 0})
    node = browser.page("DOM.querySelector", {"nodeId": doc["root"]["nodeId"], "selector": "#files"})
    browser.page("DOM.setFileInputFiles", {"nodeId": node["nodeId"], "files": [str(sample.resolve())]})
    status = wait_for(browser, "(() => { const li = document.querySelector('#uploads li');"
                               " return li && ['done', 'failed', 'error'].includes(li.dataset.status)"
                               " ? li.dataset.status : ''; })()")
    assert status == "done"
    verdict = browser.eval("document.querySelector('#uploads [data-verdict]').dataset.verdict")
    text = browser.eval("document.querySelector('#uploads li').innerText")
    assert verdict == "reject"
    assert "建议驳回" in text and "PROFILE-FRAUD" in text
    assert browser.eval("document.querySelector('#uploads li progress').value") == 1
    browser.screenshot(ARTIFACTS / "serve-upload.png")

    # several files at once: one row, one progress bar and one verdict each
    two = [SAMPLES / "clean.apk", SAMPLES / "gambling.apk"]
    browser.page("DOM.setFileInputFiles", {"nodeId": node["nodeId"], "files": [str(p.resolve()) for p in two]})
    wait_for(browser, "[...document.querySelectorAll('#uploads li')].length === 3 && "
                      "[...document.querySelectorAll('#uploads li')].every(li => li.dataset.status === 'done')")
    verdicts = browser.eval("[...document.querySelectorAll('#uploads [data-verdict]')].map(e => e.dataset.verdict)")
    from apkscan.api import scan

    assert verdicts == ["reject", *(scan(p).verdict for p in two)]

    # drag and drop: a file dropped on the zone is uploaded the same way
    dropped = base64.b64encode((SAMPLES / "tracker.apk").read_bytes()).decode()
    browser.eval(f"""(() => {{
        const bytes = Uint8Array.from(atob('{dropped}'), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'dropped.apk'));
        document.getElementById('drop').dispatchEvent(new DragEvent('drop', {{dataTransfer: dt, bubbles: true,
                                                                             cancelable: true}}));
    }})()""")
    wait_for(browser, "(() => { const li = [...document.querySelectorAll('#uploads li')][3];"
                      " return li && li.dataset.status === 'done'; })()")
    assert browser.eval("[...document.querySelectorAll('#uploads li')][3].querySelector('.name').textContent") \
        == "dropped.apk"

    # the scan page and the HTML report open from the link, with the session cookie
    sha = hashlib.sha256(sample.read_bytes()).hexdigest()
    navigate(browser, f"{server.url}/ui/scans/{sha}")
    assert browser.eval("document.getElementById('verdict').textContent").startswith("reject")
    assert browser.eval("document.getElementById('reason-zh').textContent")
    navigate(browser, f"{server.url}/ui/scans/{sha}/report.html")
    assert browser.eval("document.getElementById('app-label').textContent") == "极速贷"

    # the queue page fills itself from the API
    navigate(browser, server.url + "/ui/queue")
    wait_for(browser, f"document.querySelector('#jobs tr[data-sha=\"{sha}\"]') !== null", 10)
    assert browser.errors() == []
    navigate(browser, server.url + "/ui/dashboard/")
    assert "极速贷" in browser.eval("document.body.innerText")
    navigate(browser, server.url + "/ui/history?verdict=reject")
    assert browser.eval(f"document.querySelector('#history tr[data-sha=\"{sha}\"]') !== null")
    browser.screenshot(ARTIFACTS / "serve-history.png")
    assert browser.errors() == []
    assert browser.dialogs() == []
    outside = [u for u in browser.requests() if not u.startswith((server.url, "data:"))]
    assert outside == []
