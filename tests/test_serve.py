"""``apkscan serve`` end to end: the real service on a loopback port, real HTTP uploads.

Three services are started (each loads the rules and warms its workers once): the main
one for uploads, reports, search, dedup, tokens, size limit, bomb and crash; one with a
tight rate and queue limit; one stopped with jobs queued and started again (resume).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="apkscan serve needs the [serve] extra")
pytest.importorskip("uvicorn", reason="apkscan serve needs the [serve] extra")

import hostile as h
from serve_util import Server, cli, request, upload, upload_multipart

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_APKS = sorted(SAMPLES.glob("*.apk"))
pytestmark = pytest.mark.skipif(not SAMPLE_APKS, reason="samples not built (samples/build.sh)")

CRASHER = (h.with_entries([h.entry("assets/crash-me.txt", b"this one kills its worker")], sample="clean")
           if (SAMPLES / "clean.apk").exists() else b"")  # (the tests skip without samples)
CRASH_SHA = hashlib.sha256(CRASHER).hexdigest()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("serve")
    # the batch workers' test hook: the upload stored under this hash kills its worker
    srv = Server(data, "-j", "2", "--max-upload-mb", "3", "--rate", "0", "--timeout", "60",
                 env={"APKSCAN_BATCH_TEST_HOOK": f"crash:{CRASH_SHA[:24]}"})
    try:
        srv.wait_ready(srv.token)
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def expected() -> dict[str, str]:
    """Each sample's verdict from the library, the same rules in the same process kind."""
    from apkscan.api import scan

    return {p.name: scan(p).verdict for p in SAMPLE_APKS}


def test_first_token_printed_and_hashed(server: Server) -> None:
    assert server.token.startswith("aps_")
    db = sqlite3.connect(server.data / "serve.db")
    rows = [tuple(r) for r in db.execute("SELECT * FROM tokens")]
    db.close()
    assert rows and not any(server.token in str(v) for r in rows for v in r)  # only the SHA-256 is stored
    assert any(hashlib.sha256(server.token.encode()).hexdigest() in r for r in rows)


def test_every_sample_uploaded_gets_its_verdict(server: Server, expected: dict[str, str]) -> None:
    for apk in SAMPLE_APKS:
        code, body = upload(server, server.token, apk.read_bytes(), apk.name)
        assert code in (200, 202), body
        assert body["status"] == "done", body
        assert body["verdict"] == expected[apk.name], apk.name
        assert body["id"] == body["sha256"] == hashlib.sha256(apk.read_bytes()).hexdigest()
        assert body["verdict_reason"]["en"] and body["verdict_reason"]["zh"]
        t = body["timings"]
        assert {"receive_s", "queue_s", "scan_s", "total_s"} <= set(t) and "rules" in t["phases"]
        # content-addressed: the upload is stored under its hash, never under the client's name
        assert (server.data / "uploads" / body["sha256"][:2] / f"{body['sha256']}.apk").is_file()
        assert not list(server.data.rglob(apk.name))
    assert expected["fraud_loan.apk"] == "reject" and expected["clean.apk"] == "pass"


def _uploaded(server: Server, *names: str) -> None:
    """The samples are in the server's store, whichever tests ran before (xdist spreads
    them), and the store is written (search lists what is stored)."""
    for name in names:
        code, body = upload(server, server.token, (SAMPLES / name).read_bytes(), name)
        assert code in (200, 201, 202) and body["status"] == "done", body
        # the verdict comes before the store is written; a report request waits for it
        assert request(server.url + body["reports"]["json"], server.token)[0] == 200


def test_reports_in_three_formats(server: Server) -> None:
    _uploaded(server, "fraud_loan.apk")
    sha = hashlib.sha256((SAMPLES / "fraud_loan.apk").read_bytes()).hexdigest()
    code, status = request(f"{server.url}/api/v1/scans/{sha}", server.token)
    assert code == 200 and status["status"] == "done"
    code, doc = request(server.url + status["reports"]["json"], server.token)
    assert code == 200 and doc["verdict"] == "reject" and doc["app"]["package"] == "org.apkscan.sample.fraudloan"
    code, sarif = request(server.url + status["reports"]["sarif"], server.token)
    assert code == 200 and sarif["version"] == "2.1.0"
    code, html = request(server.url + status["reports"]["html"], server.token)
    assert code == 200 and b"<html" in html[:200] and "极速贷".encode() in html
    # answered before its reports existed: a report asked for at once waits for them
    fresh = h.with_entries([h.entry("assets/fresh.txt", b"new")], sample="fraud_loan")
    code, body = upload(server, server.token, fresh, "fresh.apk")
    assert body["status"] == "done"
    code, doc = request(server.url + body["reports"]["json"], server.token)
    assert code == 200 and doc["verdict"] == body["verdict"]
    _, st = request(f"{server.url}/api/v1/scans/{body['id']}", server.token)
    assert {"write_s", "done_s"} <= set(st["timings"])


def test_dedup_answers_from_the_store(server: Server) -> None:
    data = (SAMPLES / "clean.apk").read_bytes()
    _, first = upload(server, server.token, data, "clean.apk")
    _, jobs_before = request(server.url + "/api/v1/jobs", server.token)
    code2, again = upload(server, server.token, data, "renamed-copy.apk", wait=0)
    assert code2 == 200 and again["duplicate"] is True and again["status"] == "done"
    assert again["id"] == first["id"] and again["verdict"] == first["verdict"]
    _, jobs_after = request(server.url + "/api/v1/jobs", server.token)
    assert len(jobs_after["jobs"]) == len(jobs_before["jobs"])


def test_multipart_upload(server: Server) -> None:
    data = (SAMPLES / "gambling.apk").read_bytes()
    code, body = upload_multipart(server, server.token, data, "../../etc/passwd")
    assert code in (200, 202) and body["status"] == "done"
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert not (server.data.parent / "etc").exists()


def test_search(server: Server) -> None:
    _uploaded(server, "fraud_loan.apk", "clean.apk")
    fraud = hashlib.sha256((SAMPLES / "fraud_loan.apk").read_bytes()).hexdigest()
    clean = hashlib.sha256((SAMPLES / "clean.apk").read_bytes()).hexdigest()

    def shas(query: str) -> set[str]:
        code, body = request(f"{server.url}/api/v1/scans?{query}", server.token)
        assert code == 200, body
        return {s["sha256"] for s in body["scans"]}

    assert fraud in shas("verdict=reject") and clean not in shas("verdict=reject")
    assert shas("package=sample.clean") == {clean}
    assert shas(f"sha256={fraud[:12]}") == {fraud}
    assert fraud in shas("finding=PROFILE-FRAUD-*") and clean not in shas("finding=PROFILE-FRAUD-*")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert clean in shas(f"since={today}") and not shas("until=2000-01-01")
    code, body = request(f"{server.url}/api/v1/scans?sdk=nonexistent-sdk-xyz", server.token)
    assert code == 200 and body["scans"] == []


def test_diff_of_two_versions(server: Server) -> None:
    old, new = SAMPLES / "pii_collector.apk", SAMPLES / "pii_collector_v2.apk"
    if not new.exists():
        pytest.skip("no second version sample")
    a, b = (hashlib.sha256(p.read_bytes()).hexdigest() for p in (old, new))
    for p in (old, new):  # on its own (-k diff) as after the other tests: both versions are in the store
        code, _ = upload(server, server.token, p.read_bytes(), p.name)
        assert code in (200, 201), code
    code, d = request(f"{server.url}/api/v1/diff?old={a}&new={b}", server.token)
    assert code == 200 and isinstance(d, dict) and d
    code, page = request(f"{server.url}/ui/diff?old={a}&new={b}", server.token)
    assert code == 200 and b"<html" in page[:300]
    # the scan page of the new version links the diff from the older one
    code, page = request(f"{server.url}/ui/scans/{b}", server.token)
    assert code == 200 and f"/ui/diff?old={a}&amp;new={b}".encode() in page


def test_tokens_refused_and_roles(server: Server) -> None:
    url = server.url + "/api/v1/scans"
    assert request(url)[0] == 401
    assert request(url, "aps_not-a-real-token")[0] == 401
    assert request(url, data=b"PK", method="POST")[0] == 401
    created = cli("token", "create", "--data", str(server.data), "--role", "read", "--name", "auditor")
    assert created.returncode == 0, created.stderr
    reader = created.stdout.strip()
    assert request(url, reader)[0] == 200
    code, page = request(server.url + "/ui/", reader)  # a read token is sent from the upload page to history
    assert code == 200 and b'id="history"' in page
    code, body = request(url, reader, data=b"PK\x05\x06" + bytes(18), method="POST")
    assert code == 403 and "role" in body["error"]
    sub = cli("token", "create", "--data", str(server.data), "--role", "submit").stdout.strip()
    assert request(url, sub)[0] == 403  # submit cannot search
    listed = cli("token", "list", "--data", str(server.data))
    ident = next(line.split()[0] for line in listed.stdout.splitlines() if "auditor" in line)
    assert cli("token", "revoke", ident, "--data", str(server.data)).returncode == 0
    assert request(url, reader)[0] == 401  # refused from the next request on
    assert cli("token", "revoke", ident, "--data", str(server.data)).returncode == 2
    # pages redirect to the sign-in page, which asks for a token
    code, page = request(server.url + "/ui/login")
    assert code == 200 and b'name="token"' in page


def test_size_limit(server: Server) -> None:
    code, body = upload(server, server.token, os.urandom(4 << 20), "big.apk", wait=0)
    assert code == 413 and "limit" in body["error"]
    assert not list((server.data / "uploads" / "tmp").iterdir())  # the partial file is gone
    code, body = upload_multipart(server, server.token, b"PK", "small.apk", note=b"x" * (5 << 20))
    assert code == 413  # every part counts
    assert request(server.url + "/api/v1/health", server.token)[0] == 200


def test_bomb_fails_closed_and_service_stays_up(server: Server) -> None:
    bomb = h.with_entries([h.bomb("classes.dex", 1024)], sample="clean")
    assert len(bomb) < 3 << 20
    code, body = upload(server, server.token, bomb, "bomb.apk")
    assert code in (200, 202), body
    assert body["status"] in ("done", "failed")
    if body["status"] == "done":
        assert body["verdict"] in ("review", "reject")  # never pass or fix on a bomb
    code, health = request(server.url + "/api/v1/health", server.token)
    assert code == 200 and health["status"] == "ready"
    code, again = upload(server, server.token, (SAMPLES / "tracker.apk").read_bytes(), "tracker.apk")
    assert again["status"] == "done"


def test_worker_crash_fails_one_job_only(server: Server) -> None:
    _, body = upload(server, server.token, CRASHER, "crasher.apk")
    assert body["status"] == "failed" and body["error_kind"] == "crash", body
    for _ in range(100):  # the dead worker is replaced right after its job is answered
        _, health = request(server.url + "/api/v1/health", server.token)
        if health["workers_replaced"] >= 1:
            break
        time.sleep(0.1)
    assert health["workers_replaced"] >= 1 and health["status"] == "ready"
    code, again = upload(server, server.token, CRASHER, "crasher.apk")
    assert code == 200 and again["duplicate"] is True and again["status"] == "failed"  # from the store
    code, retried = request(f"{server.url}/api/v1/scans?retry=1&wait=60", server.token, data=CRASHER, method="POST")
    assert retried["duplicate"] is False and retried["error_kind"] == "crash"  # scanned again
    _, ok = upload(server, server.token, (SAMPLES / "lottery.apk").read_bytes(), "lottery.apk")
    assert ok["status"] == "done"


def test_crash_among_other_jobs_loses_none(server: Server) -> None:
    others = [h.with_entries([h.entry(f"assets/other-{i}.txt", b"x")], sample="tracker") for i in range(4)]
    code, body = request(f"{server.url}/api/v1/scans?retry=1", server.token, data=CRASHER, method="POST")
    assert code == 202
    ids = [upload(server, server.token, data, f"other-{i}.apk", wait=0)[1]["id"] for i, data in enumerate(others)]
    for sha in ids:
        _, st = request(f"{server.url}/api/v1/scans/{sha}?wait=60", server.token)
        assert st["status"] == "done", st
    _, st = request(f"{server.url}/api/v1/scans/{body['id']}?wait=60", server.token)
    assert st["status"] == "failed" and st["error_kind"] == "crash"


def test_not_an_apk_is_a_failed_scan(server: Server) -> None:
    _, body = upload(server, server.token, b"hello, not a zip" * 10, "notes.txt")
    assert body["status"] == "failed" and body["error_kind"] == "not-apk"
    assert upload(server, server.token, b"", "empty.apk")[0] == 400


def test_openapi_pages_dashboard_and_query(server: Server) -> None:
    code, spec = request(server.url + "/api/v1/openapi.json", server.token)
    assert code == 200 and spec["openapi"].startswith("3.") and "/api/v1/scans" in spec["paths"]
    for page in ("/ui/", "/ui/queue", "/ui/history?verdict=reject", "/ui/dashboard/"):
        code, html = request(server.url + page, server.token)
        assert code == 200 and b"Content-Security-Policy" in html, page
    code, html = request(server.url + "/ui/history?verdict=reject", server.token)
    assert "极速贷".encode() in html
    # the store is the batch one: apkscan query reads the service's data folder
    out = cli("query", str(server.data), "--finding", "PROFILE-FRAUD-*", "--format", "json")
    assert out.returncode == 0 and "org.apkscan.sample.fraudloan" in out.stdout


def test_reevaluate(server: Server) -> None:
    sha = hashlib.sha256((SAMPLES / "banker.apk").read_bytes()).hexdigest()
    code, body = request(f"{server.url}/api/v1/scans/{sha}/reevaluate", server.token, data=b"", method="POST")
    assert code == 202 and body["queued"] == [sha]
    code, st = request(f"{server.url}/api/v1/scans/{sha}?wait=60", server.token)
    assert st["status"] == "done" and st["verdict"] == "reject"


def test_facts_from_an_older_reader_are_scanned_again_not_reevaluated(server: Server) -> None:
    """Facts an older reader stored lack what it records now (dex field reads): judged on
    them, an app could get a milder verdict than a fresh scan gives. The kept upload is
    read again; with the upload gone, the service asks for it instead of judging."""
    from apkscan.facts import FACTS_READER

    apk = SAMPLES / "locker.apk"
    sha = hashlib.sha256(apk.read_bytes()).hexdigest()
    code, body = upload(server, server.token, apk.read_bytes(), apk.name)
    assert code in (200, 202) and body["status"] == "done", body
    store = server.data / "apkscan.db"

    def reader() -> str:
        db = sqlite3.connect(store)
        try:
            return str(db.execute("SELECT tool_version FROM facts WHERE sha256 = ?", (sha,)).fetchone()[0])
        finally:
            db.close()

    def stored_by_current_reader() -> bool:
        # a verdict is answered as soon as the worker has it; the store is written just after
        deadline = time.monotonic() + 30
        while not reader().endswith(f" facts/{FACTS_READER}") and time.monotonic() < deadline:
            time.sleep(0.05)
        return reader().endswith(f" facts/{FACTS_READER}")

    def make_old() -> None:
        db = sqlite3.connect(store)
        try:
            with db:  # as after an upgrade: facts by the old reader, no result under the new rules
                db.execute("UPDATE facts SET tool_version = '0.1.0' WHERE sha256 = ?", (sha,))
                db.execute("DELETE FROM results WHERE sha256 = ?", (sha,))
        finally:
            db.close()

    assert stored_by_current_reader()
    make_old()
    code, body = request(f"{server.url}/api/v1/scans/{sha}/reevaluate", server.token, data=b"", method="POST")
    assert code == 202 and body["queued"] == [sha]
    code, st = request(f"{server.url}/api/v1/scans/{sha}?wait=60", server.token)
    assert st["status"] == "done" and st["verdict"] == "reject"
    assert stored_by_current_reader()  # read again, not re-evaluated

    kept = server.data / "uploads" / sha[:2] / f"{sha}.apk"
    make_old()
    kept.unlink()
    try:
        code, body = request(f"{server.url}/api/v1/scans/{sha}/reevaluate", server.token, data=b"", method="POST")
        assert code == 409 and "upload the APK again" in body["error"], body
        assert reader() == "0.1.0"
    finally:
        kept.write_bytes(apk.read_bytes())
    # an upload of the same bytes is scanned in full, not answered from the old facts
    code, body = upload(server, server.token, apk.read_bytes(), apk.name)
    assert code in (200, 202) and body["status"] == "done" and body["verdict"] == "reject", body
    assert stored_by_current_reader()


# --- limits: rate and queue --------------------------------------------------------------------


def test_rate_and_queue_limits(tmp_path: Path) -> None:
    slow = h.with_entries([h.entry("assets/slow-one.txt", b"sleeps")], sample="clean")
    slow_sha = hashlib.sha256(slow).hexdigest()
    srv = Server(tmp_path / "d", "-j", "1", "--rate", "2", "--queue-max", "1",
                 env={"APKSCAN_BATCH_TEST_HOOK": f"sleep:{slow_sha[:24]}:20"})
    try:
        srv.wait_ready(srv.token)
        assert upload(srv, srv.token, slow, "slow.apk", wait=0)[0] == 202      # running
        for _ in range(50):
            if request(srv.url + "/api/v1/jobs", srv.token)[1]["running"] == 1:
                break
            time.sleep(0.1)
        data = (SAMPLES / "clean.apk").read_bytes()
        assert upload(srv, srv.token, data, "a.apk", wait=0)[0] == 202          # queued (1 waiting)
        code, body = upload(srv, srv.token, (SAMPLES / "tracker.apk").read_bytes(), "b.apk", wait=0)
        assert code == 429 and "rate limit" in body["error"]
        other = cli("token", "create", "--data", str(srv.data), "--role", "submit").stdout.strip()
        code, body = upload(srv, other, (SAMPLES / "tracker.apk").read_bytes(), "b.apk", wait=0)
        assert code == 503 and "queue is full" in body["error"]
    finally:
        srv.stop()


# --- restart ---------------------------------------------------------------------------------


def test_jobs_queued_before_a_restart_are_resumed(tmp_path: Path) -> None:
    slow = h.with_entries([h.entry("assets/slow-two.txt", b"sleeps")], sample="clean")
    slow_sha = hashlib.sha256(slow).hexdigest()
    data = tmp_path / "d"
    srv = Server(data, "-j", "1", "--rate", "0", env={"APKSCAN_BATCH_TEST_HOOK": f"sleep:{slow_sha[:24]}:60"})
    token = srv.token
    queued: dict[str, Any] = {}
    try:
        srv.wait_ready(token)
        assert upload(srv, token, slow, "slow.apk", wait=0)[0] == 202
        for name in ("fraud_loan.apk", "gambling.apk"):
            code, body = upload(srv, token, (SAMPLES / name).read_bytes(), name, wait=0)
            assert code == 202 and body["status"] == "queued"
            queued[name] = body["id"]
    finally:
        assert srv.stop() == 0
    again = Server(data, "-j", "1", "--rate", "0")
    try:
        assert any("resumed 3 job" in line for line in again.lines), again.lines
        again.wait_ready(token)  # the token survives the restart
        for name, sha in queued.items():
            code, st = request(f"{again.url}/api/v1/scans/{sha}?wait=60", token)
            assert code == 200 and st["status"] == "done", (name, st)
        code, st = request(f"{again.url}/api/v1/scans/{slow_sha}?wait=60", token)
        assert st["status"] == "done" and st["verdict"] == "pass"
    finally:
        assert again.stop() == 0

    # new rules: stored scans are stale until their facts are evaluated again (no APK read)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "extra.yaml").write_text(EXTRA_RULE, encoding="utf-8")
    third = Server(data, "-j", "1", "--rate", "0", "--rules", str(rules))
    try:
        third.wait_ready(token)
        sha = queued["fraud_loan.apk"]
        assert request(f"{third.url}/api/v1/scans/{sha}", token)[1]["status"] == "stale"
        assert request(f"{third.url}/api/v1/scans/{sha}/report.json", token)[0] == 404
        code, body = request(f"{third.url}/api/v1/reevaluate", token, data=b"", method="POST")
        assert code == 202 and set(body["queued"]) == {*queued.values(), slow_sha}
        code, st = request(f"{third.url}/api/v1/scans/{sha}?wait=60", token)
        assert st["status"] == "done" and st["verdict"] == "reject"
        code, doc = request(f"{third.url}/api/v1/scans/{sha}/report.json", token)
        assert "TEST-SERVE-001" in {f["rule_id"] for f in doc["findings"]}
    finally:
        third.stop()


EXTRA_RULE = """rules:
  - id: TEST-SERVE-001
    title: Requests internet access (a rule added to change the rules digest)
    title_zh: 申请网络访问权限
    description: A test rule.
    description_zh: 测试规则。
    severity: info
    confidence: high
    category: store-policy
    match:
      permission: INTERNET
    tests:
      positive:
        - permissions: [INTERNET]
      negative:
        - permissions: [CAMERA]
"""


# --- Dask ---------------------------------------------------------------------------------------


def test_scheduler_sends_the_work_to_dask(tmp_path: Path, expected: dict[str, str]) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=":0") as cluster:
        srv = Server(tmp_path / "d", "--scheduler", cluster.scheduler_address, "--rate", "0")
        try:
            assert "dask workers" in srv.lines[0]
            srv.wait_ready(srv.token)
            for name in ("fraud_loan.apk", "clean.apk"):
                _, body = upload(srv, srv.token, (SAMPLES / name).read_bytes(), name)
                assert body["status"] == "done" and body["verdict"] == expected[name], body
        finally:
            assert srv.stop() == 0


def test_busy_port_is_a_usage_error_and_makes_no_token(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = cli("serve", "--data", str(tmp_path), "--port", str(port))
    assert res.returncode == 2 and "cannot listen" in res.stderr
    assert cli("token", "list", "--data", str(tmp_path)).stdout == ""
    assert cli("serve", "--data", str(tmp_path), "--max-upload-mb", "0").returncode == 2


def test_rules_changed_on_disk_keep_the_service_up(tmp_path: Path) -> None:
    """A replacement worker that sees other rules than the service's refuses to start: the
    other worker goes on, health says why, and it is tried again later."""
    rules = tmp_path / "rules"
    rules.mkdir()
    rule = rules / "extra.yaml"
    rule.write_text(EXTRA_RULE, encoding="utf-8")
    srv = Server(tmp_path / "d", "-j", "2", "--rate", "0", "--rules", str(rules),
                 env={"APKSCAN_BATCH_TEST_HOOK": f"crash:{CRASH_SHA[:24]}"})
    try:
        srv.wait_ready(srv.token)
        rule.write_text(EXTRA_RULE.replace("severity: info", "severity: low"), encoding="utf-8")
        _, body = upload(srv, srv.token, CRASHER, "crasher.apk")
        assert body["status"] == "failed" and body["error_kind"] == "crash"
        for _ in range(100):
            _, health = request(srv.url + "/api/v1/health", srv.token)
            if health["warning"]:
                break
            time.sleep(0.1)
        assert "differ" in health["warning"] and health["status"] == "ready"
        _, ok = upload(srv, srv.token, (SAMPLES / "fraud_loan.apk").read_bytes(), "fraud_loan.apk")
        assert ok["status"] == "done" and ok["verdict"] == "reject"
        rule.write_text(EXTRA_RULE, encoding="utf-8")  # back as the service loaded them
        for _ in range(150):
            _, health = request(srv.url + "/api/v1/health", srv.token)
            if not health["warning"]:
                break
            time.sleep(0.1)
        assert health["warning"] is None
    finally:
        assert srv.stop() == 0
