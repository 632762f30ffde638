"""End to end on the committed samples: facts, findings, CLI behaviour and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from apkscan.cli import app
from apkscan.errors import ExitCode
from apkscan.model import Severity
from apkscan.report import json_report
from tests.conftest import ROOT, SAMPLES

SCHEMA = json.loads((ROOT / "apkscan" / "schemas" / "report.schema.json").read_text())
runner = CliRunner()


def test_samples_exist() -> None:
    names = {p.stem for p in SAMPLES.glob("*.apk")}
    assert {"clean", "pii_collector", "fraud_loan", "gambling", "multidex", "hostile"} <= names


def test_identity_and_manifest(sample_results) -> None:  # type: ignore[no-untyped-def]
    r = sample_results["fraud_loan"]
    m = r.facts.manifest
    assert m.package == "org.apkscan.sample.fraudloan"
    assert m.label == "极速贷"
    assert ("en", "Quick Loan") in m.labels
    assert (m.min_sdk, m.target_sdk) == (21, 33)
    assert m.flag("usesCleartextTraffic") == "true"
    assert m.launcher
    assert len(r.facts.sha256) == 64


def test_signing_facts(sample_results) -> None:  # type: ignore[no-untyped-def]
    clean = sample_results["clean"].facts.signing
    assert set(clean.schemes) >= {"v1", "v2", "v3"}
    cert = clean.certificates[0]
    assert "apkscan test" in cert.subject
    assert len(cert.sha256) == 64 and len(cert.sha1) == 40
    assert cert.key_algorithm == "RSA" and cert.key_size
    assert not cert.debug
    hostile = sample_results["hostile"].facts.signing.certificates[0]
    assert hostile.debug


def test_exported_components_computed_as_android_does(sample_results) -> None:  # type: ignore[no-untyped-def]
    comps = {c.name: c for c in sample_results["pii_collector"].facts.manifest.components}
    receivers = [c for c in comps.values() if c.kind == "receiver"]
    sms = [
        c for c in receivers if any("android.provider.Telephony.SMS_RECEIVED" in f.actions for f in c.intent_filters)
    ]
    assert sms and sms[0].exported and not sms[0].permission
    assert max(f.priority for f in sms[0].intent_filters) >= 1000


def test_multidex_and_nested_payloads(sample_results) -> None:  # type: ignore[no-untyped-def]
    f = sample_results["multidex"].facts
    paths = [d.path for d in f.dex]
    assert paths[:3] == ["classes.dex", "classes2.dex", "classes3.dex"]
    assert any("!" in p or p.startswith("assets/") for p in paths), paths
    assert f.archive.nested
    assert any(kind == "dex" for _, kind in f.archive.mismatched)


def test_call_sites_attributed_to_sdk_and_app(sample_results) -> None:  # type: ignore[no-untyped-def]
    r = sample_results["pii_collector"]
    access = {a.category: a for a in r.data_access}
    assert {"device-id", "contacts", "sms", "location", "installed-apps"} <= set(access)
    dev = access["device-id"].sites
    assert any(e.sdk == "umeng-analytics" for e in dev), dev
    assert any(e.sdk == "" and e.class_name.startswith("org.apkscan") for e in dev), dev
    assert all(e.class_name and e.method for e in dev if e.kind == "api-call")
    sdk_ids = {s.id for s in r.sdks}
    assert {"umeng-analytics", "jpush"} <= sdk_ids


def test_urls_and_domains(sample_results) -> None:  # type: ignore[no-untyped-def]
    s = sample_results["fraud_loan"].facts.strings
    assert "kefu.example-loan.cn" in s.domains
    assert "203.0.113.7" in s.ips
    assert any(u.startswith("http://203.0.113.7") for u, _ in s.urls)


@pytest.mark.parametrize("name", ["clean", "pii_collector", "fraud_loan", "gambling", "multidex", "hostile"])
def test_json_report_matches_schema(sample_results, name: str) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(json_report.render(sample_results[name]))
    jsonschema.validate(doc, SCHEMA)
    full = json.loads(json_report.render(sample_results[name], full_facts=True))
    jsonschema.validate(full, SCHEMA)
    assert full["facts"]["dex"][0]["method_refs"]


def test_every_finding_says_what_where_why_and_which_rule(sample_results) -> None:  # type: ignore[no-untyped-def]
    for result in sample_results.values():
        for f in result.findings:
            assert f.rule_id and f.title and f.description, f
            assert f.references, f.rule_id
            assert f.evidence, f.rule_id
            assert len(f.fingerprint) == 32


def test_json_evidence_total_counts_what_was_found(sample_results) -> None:  # type: ignore[no-untyped-def]
    """``evidence_total`` is how many evidence items the check found: never 0 beside a
    non-empty list (a consumer read 0 as "none")."""
    doc = json.loads(json_report.render(sample_results["fraud_loan"]))
    assert doc["findings"]
    for f in doc["findings"]:
        assert f["evidence_total"] >= len(f["evidence"]) > 0, f["rule_id"]


def test_evidence_from_markup_reads_as_text(sample_results) -> None:  # type: ignore[no-untyped-def]
    """The text around a keyword in an HTML asset is given without its tags (a keyword that
    occurs only inside a tag, such as href="#pk10", keeps the markup that holds it)."""
    html_ev = {e.value: e for f in sample_results["gambling"].findings for e in f.evidence
               if e.file.endswith(".html") and e.kind == "string" and e.detail}
    text = html_ev["重庆时时彩"].detail
    assert "重庆时时彩" in text and "<" not in text and ">" not in text, text
    assert 'href="#pk10"' in html_ev["pk10"].detail


def test_resource_string_evidence_names_its_resource(sample_results) -> None:  # type: ignore[no-untyped-def]
    """A keyword or pattern found in resources.arsc names the string resource holding it
    (its place there, as a class and method are a dex string's), with the locale of a
    translation, then the text around the keyword."""
    by_rule = {f.rule_id: f for f in sample_results["fraud_loan"].findings}
    details = {(e.value, e.detail) for e in by_rule["FR-LOAN-002"].evidence if e.file == "resources.arsc"}
    assert ("借款额度", "string/quota: 借款额度：50000元，申请放款后按期还款") in details, details
    assert any(d.startswith("string/quota [en]: ") for v, d in details if v == "loan amount"), details
    every = [e for r in sample_results.values() for f in r.findings for e in f.evidence]
    assert all(e.detail.startswith("string/") for e in every if e.file == "resources.arsc" and e.kind == "string")


def test_clean_sample_has_no_high_findings(sample_results) -> None:  # type: ignore[no-untyped-def]
    clean = sample_results["clean"]
    assert not [f.rule_id for f in clean.findings if f.severity >= Severity.HIGH]
    assert clean.verdict == "pass"
    assert not clean.rule_errors


def test_fraud_and_gambling_samples_are_rejected(sample_results) -> None:  # type: ignore[no-untyped-def]
    assert sample_results["fraud_loan"].verdict == "reject"
    assert sample_results["gambling"].verdict == "reject"
    assert sample_results["pii_collector"].verdict in ("review", "reject")


def test_fingerprints_stable_across_rescans(ruleset, sample_results) -> None:  # type: ignore[no-untyped-def]
    from apkscan import api

    again = api.scan(SAMPLES / "pii_collector.apk", ruleset)
    assert [f.fingerprint for f in again.findings] == [f.fingerprint for f in sample_results["pii_collector"].findings]


# -- CLI -------------------------------------------------------------------------------
def test_cli_scan_writes_reports(tmp_path: Path) -> None:
    res = runner.invoke(app, ["scan", str(SAMPLES / "clean.apk"), "-o", str(tmp_path), "-f", "json,sarif,html"])
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "org.apkscan.sample.clean-1.2.0.html",
        "org.apkscan.sample.clean-1.2.0.json",
        "org.apkscan.sample.clean-1.2.0.sarif",
    ]
    assert "report:" in res.output


def test_cli_version() -> None:
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.startswith("apkscan ")
    assert "dex reader: " in res.output  # native, or pure Python without a compiler


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "apkscan", *args], capture_output=True, text=True, timeout=300)


def test_cli_missing_file_exit_code(tmp_path: Path) -> None:
    p = _run("scan", str(tmp_path / "nope.apk"), "-o", str(tmp_path))
    assert p.returncode == ExitCode.NOT_FOUND
    assert p.stderr.strip().count("\n") == 0 and "nope.apk" in p.stderr and "no such file" in p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize("args", [["rules", "list"], ["scan", str(SAMPLES / "fraud_loan.apk"), "--fail-on", "high"]])
def test_a_closed_output_pipe_is_not_a_finding(tmp_path: Path, args: list[str]) -> None:
    """`apkscan ... | head`: the reader closes the pipe; the command stops with 141 (as a
    tool ended by SIGPIPE), not 1, which CI reads as "a finding at or above --fail-on"; no
    traceback. Reports written before stay."""
    cmd = [sys.executable, "-m", "apkscan", *args]
    if args[0] == "scan":
        cmd += ["-o", str(tmp_path), "-f", "json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command writes its first line
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, stderr
    assert "Traceback" not in stderr


def test_cli_not_an_apk_exit_code(tmp_path: Path) -> None:
    txt = tmp_path / "readme.apk"
    txt.write_text("version https://git-lfs.github.com/spec/v1\n")
    p = _run("scan", str(txt), "-o", str(tmp_path))
    assert p.returncode == ExitCode.NOT_APK, p.stderr
    assert "readme.apk" in p.stderr and "not an APK" in p.stderr
    zipped = tmp_path / "nomanifest.apk"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("index.html", "<p>casino</p>")
    p = _run("scan", str(zipped), "-o", str(tmp_path))
    assert p.returncode == ExitCode.NOT_APK and "without AndroidManifest.xml" in p.stderr


def test_cli_broken_apk_exit_code(tmp_path: Path) -> None:
    broken = tmp_path / "truncated.apk"
    broken.write_bytes((SAMPLES / "clean.apk").read_bytes()[:3000])
    p = _run("scan", str(broken), "-o", str(tmp_path))
    assert p.returncode == ExitCode.BROKEN_APK, p.stderr
    assert "truncated.apk" in p.stderr and p.stderr.strip().count("\n") == 0


def test_cli_batch_of_mixed_inputs_goes_on(tmp_path: Path) -> None:
    bad = tmp_path / "bad.apk"
    bad.write_text("hello")
    p = _run("scan", str(bad), str(SAMPLES / "clean.apk"), "-o", str(tmp_path / "out"), "-f", "json")
    assert p.returncode == ExitCode.NOT_APK
    assert (tmp_path / "out" / "org.apkscan.sample.clean-1.2.0.json").exists()


def test_cli_bad_flag_values(tmp_path: Path) -> None:
    p = _run("scan", str(SAMPLES / "clean.apk"), "-o", str(tmp_path), "--format", "pdf")
    assert p.returncode == ExitCode.USAGE and "--format" in p.stderr
    p = _run("scan", str(SAMPLES / "clean.apk"), "-o", str(tmp_path), "--fail-on", "severe")
    assert p.returncode == ExitCode.USAGE and "--fail-on" in p.stderr
    p = _run("scan", str(SAMPLES / "clean.apk"), "-o", str(tmp_path), "--category", "spaceship")
    assert p.returncode == ExitCode.USAGE and "--category" in p.stderr


def test_cli_fail_on_and_baseline(tmp_path: Path) -> None:
    apk = str(SAMPLES / "pii_collector.apk")
    p = _run("scan", apk, "-o", str(tmp_path), "-f", "json", "--fail-on", "high", "-q")
    assert p.returncode == ExitCode.FINDINGS, p.stderr
    report = next(tmp_path.glob("*.json"))
    base = tmp_path / "baseline.json"
    p = _run(
        "baseline",
        "create",
        str(report),
        "-o",
        str(base),
        "--reason",
        "legacy SDK, removal planned",
        "--expires",
        "2099-01-01",
    )
    assert p.returncode == 0, p.stderr
    p = _run("scan", apk, "-o", str(tmp_path), "-f", "json", "--fail-on", "high", "--baseline", str(base), "-q")
    assert p.returncode == ExitCode.OK, p.stderr
    expired = json.loads(base.read_text())
    for e in expired["accepted"]:
        e["expires"] = "2001-01-01"
    base.write_text(json.dumps(expired))
    p = _run("scan", apk, "-o", str(tmp_path), "-f", "json", "--fail-on", "high", "--baseline", str(base), "-q")
    assert p.returncode == ExitCode.FINDINGS


def test_cli_category_necessity(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        ["scan", str(SAMPLES / "pii_collector.apk"), "-o", str(tmp_path), "-f", "json", "--category", "map-navigation"],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(next(tmp_path.glob("*.json")).read_text())
    ids = {f["rule_id"] for f in doc["findings"]}
    assert "PI-NECESSITY-CONTACTS" in ids
    assert "PI-NECESSITY-LOCATION" not in ids
    assert doc["scan"]["app_category"] == "map-navigation"


def test_diff_between_versions(tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["diff", str(SAMPLES / "clean.apk"), str(SAMPLES / "pii_collector.apk"), "-o", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    d = json.loads((tmp_path / "diff.json").read_text())
    assert "android.permission.READ_SMS" in d["permissions"]["added"]
    assert "sms" in d["personal_data"]["added"]
    assert any(s.startswith("umeng-analytics") for s in d["sdks"]["added"])
    new = {f["rule_id"] for f in d["findings"]["new"]}
    # the clean app's "no bundled policy to check" note gives way to PI-POLICY-001 once the app
    # asks for personal data: the same missing policy, now a finding; nothing else is fixed
    assert "PI-POLICY-001" in new
    assert {f["rule_id"] for f in d["findings"]["fixed"]} <= {"PRIV-POLICY-NONE"}
    assert (tmp_path / "diff.html").read_text().count("<script") == 0


def test_permission_protection_levels_are_named() -> None:
    from apkscan.extract.manifest import protection_name

    assert protection_name("0x00000002") == "signature"
    assert protection_name("0x12") == "signature|privileged"
    assert protection_name("1") == "dangerous"
    assert protection_name(None) == "normal"


def test_cli_limits_are_configurable(tmp_path: Path) -> None:
    from apkscan.cli import parse_limits

    limits = parse_limits(["max_apk_bytes=2G", "max_depth=5", "phase_seconds=1.5"])
    assert (limits.max_apk_bytes, limits.max_depth, limits.phase_seconds) == (2 << 30, 5, 1.5)
    p = _run("scan", str(SAMPLES / "clean.apk"), "-o", str(tmp_path), "--limit", "max_apk_bytes=1k")
    assert p.returncode == ExitCode.BROKEN_APK and "exceeds the APK size limit" in p.stderr
    p = _run("scan", str(SAMPLES / "clean.apk"), "-o", str(tmp_path), "--limit", "max_bogus=1")
    assert p.returncode == ExitCode.USAGE and "--limit" in p.stderr


def test_cli_scan_leaves_the_garbage_collector_on(tmp_path: Path) -> None:
    """The collector is paused per APK (scan and reports) and on again after each, also
    after a bad one."""
    import gc

    bad = tmp_path / "bad.apk"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    res = runner.invoke(app, ["scan", str(SAMPLES / "clean.apk"), str(bad), "-o", str(tmp_path), "-q"])
    assert res.exit_code == 6  # the bad file's code; the good one still got its report
    assert len(list(tmp_path.glob("*.json"))) == 1
    assert gc.isenabled()


def test_debug_lets_androguard_log_and_the_default_keeps_it_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from loguru import logger

    from apkscan.extract import manifest

    monkeypatch.setattr(manifest, "ANDROGUARD_LOG", False)
    try:
        res = runner.invoke(app, ["scan", str(SAMPLES / "clean.apk"), "-o", str(tmp_path), "-q", "--debug"])
        assert res.exit_code == 0, res.output
        assert manifest.ANDROGUARD_LOG
        assert "androguard.core.axml" in res.output + capfd.readouterr().err
    finally:
        logger.disable("androguard")
        logger.remove()
        manifest.ANDROGUARD_LOG = False
    res = runner.invoke(app, ["scan", str(SAMPLES / "clean.apk"), "-o", str(tmp_path), "-q"])
    assert res.exit_code == 0
    assert "androguard" not in capfd.readouterr().err + res.output


def test_a_quiet_scan_does_not_import_rich(tmp_path: Path) -> None:
    """rich (0.02-0.03 s to import) is loaded only when something is printed."""
    import subprocess
    import sys

    # main() ends the process after a scan (apkscan.cli._exit), so the imports are read
    # from Python's own import log
    cmd = [sys.executable, "-X", "importtime", "-m", "apkscan", "scan", str(SAMPLES / "clean.apk")]
    run = subprocess.run([*cmd, "-o", str(tmp_path), "-q"], capture_output=True, text=True, check=True)
    imported = [line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")]
    assert "apkscan.api" in imported, run.stderr[-500:]
    assert not any(m.split(".")[0] == "rich" for m in imported)
    assert list(tmp_path.glob("*.json"))


def test_several_apks_each_say_why_and_a_total_line(tmp_path: Path) -> None:
    apks = [SAMPLES / "clean.apk", SAMPLES / "banker.apk", tmp_path / "missing.apk"]
    res = runner.invoke(app, ["scan", *map(str, apks), "-o", str(tmp_path / "out"), "-f", "json"])
    assert res.exit_code == 4, res.output
    out = " ".join(res.output.split())
    assert "reject banker.apk: illegal-app finding" in out and "pass clean.apk: no finding" in out
    assert "3 APKs: reject 1, pass 1, error 1" in out
