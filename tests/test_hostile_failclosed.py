"""Fail closed (issue 12): hostile archives built at test time end in a report whose
verdict is at least ``review``, or in a one-line error with its documented exit code,
within the time limit, under the memory budget, writing nothing outside the output folder.

Bombs and padding are cheap to build at any size (one full-flushed deflate block
repeated, tests/hostile.py); where the logic is the same as with the defaults, limits are
lowered to keep the suite short."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from apkscan import api, caps
from apkscan.errors import ExitCode
from apkscan.extract.archive import ApkArchive
from apkscan.limits import Limits
from apkscan.model import Evidence
from apkscan.rules.loader import RuleSet, load_rules
from tests import hostile as h

HUMAN = ("review", "reject")
BUDGET_RSS_KB = 1_000_000
"""Peak RSS allowed for one ``apkscan scan`` child with default limits (about 1 GB)."""

RUN_CHILD = r"""
import json, resource, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": p.returncode, "out": p.stdout, "err": p.stderr, "wall": time.monotonic() - t0,
                  "rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_rules()


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HOME=str(root / "home"), XDG_CACHE_HOME=str(root / "xdg"), TMPDIR=str(root / "tmp"))
    env.pop("APKSCAN_CACHE_DIR", None)
    for d in ("home", "xdg", "tmp"):
        (root / d).mkdir(exist_ok=True)
    return env


def apkscan(root: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    """Run the CLI in a child of a child: the wall time, exit code, output and the peak
    RSS of the apkscan process alone (RUSAGE_CHILDREN of the middle process)."""
    cmd = [sys.executable, "-c", RUN_CHILD, sys.executable, "-m", "apkscan", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env or _env(root), timeout=300)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def written_outside(root: Path, before: set[str], out: Path, allowed: tuple[str, ...] = ("xdg/",)) -> list[str]:
    """New files under ``root`` that are not in the output folder (nor the rule cache)."""
    rel_out = str(out.relative_to(root))
    return sorted(
        p for p in snapshot(root) - before
        if not (p == rel_out or p.startswith(rel_out + "/") or p.startswith(allowed)
                or p in {a.rstrip("/") for a in allowed})
    )


def report(out: Path) -> dict[str, object]:
    files = sorted(out.glob("*.json"))
    assert len(files) == 1, files
    return dict(json.loads(files[0].read_text(encoding="utf-8")))


def digest(rep: dict[str, object]) -> str:
    return str(rep["scan"]["rules_digest"])  # type: ignore[index]


def ids(result_or_report: object, *cats: str) -> set[str]:
    if isinstance(result_or_report, dict):
        return {str(f["rule_id"]) for f in result_or_report["findings"] if not cats or f["category"] in cats}
    findings = result_or_report.findings  # type: ignore[attr-defined]
    return {f.rule_id for f in findings if not cats or f.category in cats}


def scan_bytes(tmp: Path, data: bytes, ruleset: RuleSet, **kw: object) -> object:
    path = h.write(tmp / "in.apk", data)
    return api.scan(path, ruleset, timeout=60, **kw)  # type: ignore[arg-type]


# --- 2. a zip bomb is a tampering finding whichever entry carries it ----------------------
BOMB_ENTRIES = ["classes.dex", "classes2.dex", "assets/page.html", "assets/blob.bin", "lib/arm64-v8a/libx.so"]
HEADERS = {"honest": None, "lies-4MiB": 4 << 20, "lies-511MiB": 511 << 20}


@pytest.mark.parametrize("header", list(HEADERS))
@pytest.mark.parametrize("name", BOMB_ENTRIES)
def test_bomb_in_any_entry_is_tampering(tmp_path: Path, ruleset: RuleSet, name: str, header: str) -> None:
    data = h.with_entries([h.bomb(name, 1024, declared=HEADERS[header])], sample="clean")
    t0 = time.monotonic()
    result = scan_bytes(tmp_path, data, ruleset)
    assert time.monotonic() - t0 < 10
    assert "TAMPER-ZIP-BOMB" in ids(result), ids(result)
    assert result.verdict in HUMAN  # type: ignore[attr-defined]


def test_clean_sample_stays_clean_of_analysis_findings(tmp_path: Path, ruleset: RuleSet) -> None:
    result = scan_bytes(tmp_path, (h.SAMPLES / "clean.apk").read_bytes(), ruleset)
    assert not ids(result, "analysis", "tampering")


# --- 1 and 3: padding under the ratio limit, the memory budget, scan == batch -------------
def test_padding_under_ratio_limit_bounded_and_never_ok_with_less(tmp_path: Path) -> None:
    """fraud_loan plus seven 200 MiB dex entries at about 1:900 (1.7 MB on disk), default
    limits: the inflate budget stops after two; what was not read is an analysis finding;
    the genuine dex still rejects; peak RSS stays under the budget; scan and batch agree."""
    dex = zipfile.ZipFile(h.SAMPLES / "fraud_loan.apk").read("classes.dex")
    extra = [h.padding(f"classes{i}.dex", 200, head=dex) for i in range(2, 9)]
    inputs = tmp_path / "in"
    inputs.mkdir()
    h.write(inputs / "padded.apk", h.with_entries(extra))
    env = _env(tmp_path)
    before = snapshot(tmp_path)
    run = apkscan(tmp_path, "scan", "in/padded.apk", "-o", "out", "-f", "json", "-q", "--timeout", "60", env=env)
    assert run["rc"] == 0, run
    assert float(run["wall"]) < 62  # type: ignore[arg-type]
    assert int(run["rss_kb"]) < BUDGET_RSS_KB, run["rss_kb"]  # type: ignore[call-overload]
    rep = report(tmp_path / "out")
    assert rep["verdict"] == "reject"
    assert "ANALYSIS-LIMIT-TOTAL-BYTES" in ids(rep)
    assert not written_outside(tmp_path, before, tmp_path / "out")

    run = apkscan(tmp_path, "batch", "in", "-o", "bout", "-j", "1", "-q", "--timeout", "60", "-f", "json", env=env)
    assert run["rc"] == 0, run
    rows = [json.loads(line) for line in (tmp_path / "bout" / "findings.jsonl").read_text().splitlines() if line]
    verdicts = {r.get("verdict") for r in rows if "verdict" in r}
    db_csv = (tmp_path / "bout" / "apps.csv").read_text()
    assert ",ok,reject," in db_csv or verdicts == {"reject"}, db_csv
    assert not written_outside(tmp_path, before, tmp_path / "bout", ("xdg/", "out/"))


def test_nest_three_wide_five_deep(tmp_path: Path) -> None:
    leaf = h.build([*h.sample_entries("fraud_loan"), h.padding("assets/pad.bin", 40)])
    h.write(tmp_path / "nest.apk", h.nest(3, 5, leaf))
    run = apkscan(tmp_path, "scan", "nest.apk", "-o", "out", "-f", "json", "-q", "--timeout", "30")
    assert run["rc"] == 0 and float(run["wall"]) < 32, run  # type: ignore[arg-type]
    assert int(run["rss_kb"]) < BUDGET_RSS_KB  # type: ignore[call-overload]
    rep = report(tmp_path / "out")
    assert rep["verdict"] in HUMAN
    assert {"TAMPER-ZIP-BOMB", "ANALYSIS-LIMIT-DEPTH"} <= ids(rep)


def test_lowered_total_budget_is_an_analysis_finding(tmp_path: Path, ruleset: RuleSet) -> None:
    # media: no YARA read inflates them first, so only the bomb probe does, under the budget
    extra = [h.padding(f"assets/p{i}.mp4", 8) for i in range(4)]
    data = h.with_entries(extra, sample="clean")
    limits = Limits(max_total_bytes=12 << 20)
    result = scan_bytes(tmp_path, data, ruleset, limits=limits)
    assert "ANALYSIS-LIMIT-TOTAL-BYTES" in ids(result)
    assert result.verdict in HUMAN  # type: ignore[attr-defined]


def test_a_lowered_limit_is_no_evidence_about_the_app(tmp_path: Path, ruleset: RuleSet) -> None:
    """A limit set below its default (--limit) still leaves what it stopped unanalysed
    (review at least), but it is not evidence about the app: an ordinary dex it refused
    is not a zip bomb, the classes in it are not "missing" (no hidden-component or
    stager signal), and its ANALYSIS-LIMIT finding corroborates no illegal-app signal, so
    the banker sample is not rejected on what was never read."""
    from apkscan.verdict import LOWERED_LIMIT_TAG

    for name in ("banker", "clean"):
        data = (h.SAMPLES / f"{name}.apk").read_bytes()
        result = scan_bytes(tmp_path, data, ruleset, limits=Limits(max_entry_bytes=1024))
        found = {f.rule_id: f for f in result.findings}  # type: ignore[attr-defined]
        assert LOWERED_LIMIT_TAG in found["ANALYSIS-LIMIT-ENTRY-SIZE"].tags
        assert result.verdict == "review", (name, result.verdict_reason)  # type: ignore[attr-defined]
        assert not {"TAMPER-ZIP-BOMB", "MAL-DROPPER-002", "MAL-DROPPER-003", "MAL-STAGER-001"} & found.keys()
    # the same dex left unread at the default limits (a declared bomb) still counts
    bomb = h.with_entries([h.bomb("classes2.dex", 1024)], sample="banker")
    assert "TAMPER-ZIP-BOMB" in ids(scan_bytes(tmp_path, bomb, ruleset))


def test_limit_values_and_the_manifest_past_an_entry_limit(tmp_path: Path) -> None:
    """--limit max_ratio=1.5 is refused (a whole number; it was read as 1), and a manifest
    past --limit max_entries is a limit (exit 6), not "not an APK" (exit 5)."""
    apk = str(h.SAMPLES / "clean.apk")
    run = apkscan(tmp_path, "scan", apk, "-o", "out", "--limit", "max_ratio=1.5")
    assert run["rc"] == 2 and "whole number" in str(run["err"]), run
    later = tmp_path / "later.apk"  # the manifest after another entry
    with zipfile.ZipFile(apk) as src, zipfile.ZipFile(later, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("assets/first.txt", "an entry before the manifest")
        for info in src.infolist():
            out.writestr(info, src.read(info))
    run = apkscan(tmp_path, "scan", str(later), "-o", "out", "--limit", "max_entries=1")
    assert run["rc"] == ExitCode.BROKEN_APK, run
    assert "not among the first 1 entries" in str(run["err"]), run


def test_text_asset_past_its_limit_is_an_analysis_finding(tmp_path: Path, ruleset: RuleSet) -> None:
    text = os.urandom(2 << 20).translate(bytes(b"ab"[i & 1] for i in range(256)))
    data = h.with_entries([h.entry("assets/www/app.js", text)], sample="clean")
    result = scan_bytes(tmp_path, data, ruleset, limits=Limits(max_text_asset_bytes=1 << 20))
    assert "ANALYSIS-LIMIT-TEXT-ASSET" in ids(result)
    assert result.verdict in HUMAN  # type: ignore[attr-defined]


def test_memory_error_in_dex_listing_is_never_swallowed(
    tmp_path: Path, ruleset: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(self: ApkArchive) -> list[tuple[str, bytes]]:
        raise MemoryError

    monkeypatch.setattr(ApkArchive, "nested_dex", boom)
    result = scan_bytes(tmp_path, (h.SAMPLES / "clean.apk").read_bytes(), ruleset)
    assert "ANALYSIS-MEMORY" in ids(result)
    assert result.verdict in HUMAN  # type: ignore[attr-defined]

    from apkscan.batch import worker

    path = h.write(tmp_path / "m.apk", (h.SAMPLES / "clean.apk").read_bytes())
    payload = worker.process({"kind": "scan", "key": "k", "path": str(path)}, ruleset, ("json",))
    assert payload["status"] == "failed" and payload["error_kind"] == "memory" and payload["restart"]


def test_manifest_inflating_to_100_mb(tmp_path: Path, ruleset: RuleSet) -> None:
    axml = zipfile.ZipFile(h.SAMPLES / "clean.apk").read("AndroidManifest.xml")
    big = h.padding("AndroidManifest.xml", 100, head=axml)
    t0 = time.monotonic()
    result = scan_bytes(tmp_path, h.with_entries([big], sample="clean"), ruleset)
    assert time.monotonic() - t0 < 15
    assert "ANALYSIS-LIMIT-MANIFEST-SIZE" in ids(result)
    assert result.verdict in HUMAN  # type: ignore[attr-defined]


# --- 9. tampering that hides in counts and extra fields ------------------------------------
def _patched(sample: str, name: str, patch: object) -> bytes:
    entries = h.sample_entries(sample)
    out = []
    for e in entries:
        if e.name == name:
            data = bytearray(zipfile.ZipFile(h.SAMPLES / f"{sample}.apk").read(name))
            patch(data)  # type: ignore[operator]
            e = h.entry(name, bytes(data))
        out.append(e)
    return h.build(out)


def test_dex_map_count_absurd(tmp_path: Path, ruleset: RuleSet) -> None:
    def patch(d: bytearray) -> None:
        map_off = int.from_bytes(d[0x34:0x38], "little")
        d[map_off : map_off + 4] = (0x0FFFFFFF).to_bytes(4, "little")

    result = scan_bytes(tmp_path, _patched("clean", "classes.dex", patch), ruleset)
    assert "TAMPER-DEX-MAP-COUNT" in ids(result)
    assert result.verdict in HUMAN  # type: ignore[attr-defined]


def test_arsc_counts_absurd(tmp_path: Path, ruleset: RuleSet) -> None:
    def patch(d: bytearray) -> None:
        d[8:12] = b"\xff\xff\xff\xff"  # package count
        d[12 + 8 : 12 + 12] = b"\xff\xff\xff\xff"  # global string pool: string count

    t0 = time.monotonic()
    result = scan_bytes(tmp_path, _patched("clean", "resources.arsc", patch), ruleset)
    assert time.monotonic() - t0 < 10
    assert {"TAMPER-ARSC-COUNT", "ANALYSIS-LIMIT-ARSC-COUNTS"} <= ids(result)
    assert result.verdict in HUMAN  # type: ignore[attr-defined]


def test_local_extra_hiding_a_second_manifest(tmp_path: Path, ruleset: RuleSet) -> None:
    entries = h.sample_entries("clean")
    fake = zipfile.ZipFile(h.SAMPLES / "fraud_loan.apk").read("AndroidManifest.xml")
    extra = (0xCAFE).to_bytes(2, "little") + len(fake).to_bytes(2, "little") + fake
    entries = [replace(e, local_extra=extra) if e.name == "AndroidManifest.xml" else e for e in entries]
    result = scan_bytes(tmp_path, h.build(entries), ruleset)
    assert "TAMPER-ZIP-EXTRA-HIDDEN-DATA" in ids(result)
    assert result.verdict in HUMAN  # type: ignore[attr-defined]


# --- 4. --timeout ends the work, YARA helper included -------------------------------------
SLOW_YARA = """
rule slow_scan {
  meta:
    id = "TEST-SLOW-001"
    title = "slow"
    description = "a deliberately slow rule"
    severity = "low"
    category = "security"
    targets = "assets"
  strings:
    $a = { 61 [0-200] 62 [0-200] 63 }
  condition:
    $a
}
"""


def test_timeout_ends_the_process_with_a_slow_yara_rule(tmp_path: Path) -> None:
    (tmp_path / "slow").mkdir()
    (tmp_path / "slow" / "slow.yar").write_text(SLOW_YARA)
    text = os.urandom(24 << 20).translate(bytes(b"ab"[i & 1] for i in range(256)))
    h.write(tmp_path / "s.apk", h.with_entries([h.entry("assets/data.txt", text)], sample="clean"))
    run = apkscan(tmp_path, "scan", "s.apk", "--rules", "slow", "--timeout", "3", "-o", "out", "-q")
    assert run["rc"] == int(ExitCode.BROKEN_APK), run
    # The rule alone runs about 30 s here: ending well before that shows the deadline
    # worked. The margin absorbs interpreter start and a loaded CI machine (this is a
    # check of behaviour, not a speed measurement).
    assert float(run["wall"]) < 3 + 12, run  # type: ignore[arg-type]
    assert "took longer than 3 s" in str(run["err"]) and len(str(run["err"]).strip().splitlines()) == 1


# --- 5. a cache that cannot lie ----------------------------------------------------------
def test_poisoned_cache_is_rebuilt_and_a_forged_one_changes_the_digest(tmp_path: Path) -> None:
    import hashlib

    env = _env(tmp_path)
    env["APKSCAN_CACHE_DIR"] = str(tmp_path / "cache")
    sample = str(h.SAMPLES / "fraud_loan.apk")
    run = apkscan(tmp_path, "scan", sample, "-o", "o1", "-f", "json", "-q", env=env)
    genuine = report(tmp_path / "o1")
    assert run["rc"] == 0 and genuine["verdict"] == "reject"
    poisoned = 0
    for p in (tmp_path / "cache" / "yaml").glob("*.json"):
        doc = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and isinstance(doc.get("rules"), list):
            for rule in doc["rules"]:
                rule["enabled"] = False
            p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            poisoned += 1
    assert poisoned
    apkscan(tmp_path, "scan", sample, "-o", "o2", "-f", "json", "-q", env=env)
    again = report(tmp_path / "o2")
    assert again["verdict"] == "reject" and digest(again) == digest(genuine)
    assert len(again["findings"]) == len(genuine["findings"])  # type: ignore[arg-type]
    # an attacker who also rewrites the index: the report names other rules than the genuine ones
    for p in (tmp_path / "cache" / "yaml").glob("*.json"):
        doc = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and isinstance(doc.get("rules"), list):
            for rule in doc["rules"]:
                rule["enabled"] = False
            raw = json.dumps(doc, ensure_ascii=False).encode()
            p.write_bytes(raw)
            p.with_name(p.name + ".sha256").write_text(hashlib.sha256(raw).hexdigest())
    apkscan(tmp_path, "scan", sample, "-o", "o3", "-f", "json", "-q", env=env)
    forged = report(tmp_path / "o3")
    assert digest(forged) != digest(genuine)
    run = apkscan(tmp_path, "scan", sample, "-o", "o4", "-f", "json", "-q", "--no-cache", env=env)
    assert digest(report(tmp_path / "o4")) == digest(genuine) and run["rc"] == 0


def test_unusable_cache_folder_is_no_error(tmp_path: Path) -> None:
    env = _env(tmp_path)
    (tmp_path / "notadir").write_text("x")
    env["APKSCAN_CACHE_DIR"] = str(tmp_path / "notadir" / "cache")
    run = apkscan(tmp_path, "scan", str(h.SAMPLES / "clean.apk"), "-o", "out", "-q", env=env)
    assert run["rc"] == 0 and not str(run["err"]).strip(), run


# --- 6. safe writes ------------------------------------------------------------------------
def test_symlink_at_the_report_name_is_never_followed(tmp_path: Path) -> None:
    run = apkscan(tmp_path, "scan", str(h.SAMPLES / "clean.apk"), "-o", "out", "-f", "json", "-q")
    assert run["rc"] == 0
    target = next((tmp_path / "out").glob("*.json"))
    target.unlink()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target.symlink_to(victim)
    run = apkscan(tmp_path, "scan", str(h.SAMPLES / "clean.apk"), "-o", "out", "-f", "json", "-q")
    assert run["rc"] == int(ExitCode.OUTPUT), run
    assert victim.read_text() == "precious" and target.is_symlink()
    assert "symbolic link" in str(run["err"]) and len(str(run["err"]).strip().splitlines()) == 1


def test_batch_refuses_planted_links_in_its_output(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    h.write(tmp_path / "in" / "clean.apk", (h.SAMPLES / "clean.apk").read_bytes())
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "reports").symlink_to(tmp_path / "elsewhere")
    run = apkscan(tmp_path, "batch", "in", "-o", "out", "-j", "1", "-q")
    assert run["rc"] == int(ExitCode.OUTPUT) and "symbolic link" in str(run["err"]), run
    assert not list((tmp_path / "elsewhere").iterdir())


def test_two_runs_on_one_output_folder(tmp_path: Path) -> None:
    from apkscan.report.safe import OutputLock

    (tmp_path / "out").mkdir()
    with OutputLock(tmp_path / "out"):
        run = apkscan(tmp_path, "scan", str(h.SAMPLES / "clean.apk"), "-o", "out", "-q")
    assert run["rc"] == int(ExitCode.OUTPUT) and "another apkscan run" in str(run["err"]), run
    assert len(str(run["err"]).strip().splitlines()) == 1


def test_bundle_base_is_never_written_to_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from apkscan.batch import worker

    bundle = h.build([h.entry("base.apk", (h.SAMPLES / "fraud_loan.apk").read_bytes(), stored=True),
                      h.entry("split_config.en.apk", (h.SAMPLES / "clean.apk").read_bytes(), stored=True)])
    path = h.write(tmp_path / "app.apks", bundle)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    payload = worker.process({"kind": "scan", "key": "k", "path": str(path)}, load_rules(), ("json",))
    assert payload["status"] == "ok" and payload["verdict"] == "reject"
    assert payload["apk"]["base_entry"] == "base.apk"
    assert not list(tmpdir.iterdir())


# --- 7. one-line errors with the documented exit codes --------------------------------------
def test_diff_output_is_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "FILE").write_text("x")
    run = apkscan(tmp_path, "diff", str(h.SAMPLES / "clean.apk"), str(h.SAMPLES / "fraud_loan.apk"), "-o", "FILE")
    assert run["rc"] == int(ExitCode.OUTPUT), run
    assert len(str(run["err"]).strip().splitlines()) == 1 and "Traceback" not in str(run["err"])
    assert (tmp_path / "FILE").read_text() == "x"


def test_output_folder_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("x")
    run = apkscan(tmp_path, "scan", str(h.SAMPLES / "clean.apk"), "-o", "out", "-q")
    assert run["rc"] == int(ExitCode.OUTPUT) and len(str(run["err"]).strip().splitlines()) == 1


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_output_folder(tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    run = apkscan(tmp_path, "scan", str(h.SAMPLES / "clean.apk"), "-o", "ro", "-q")
    assert run["rc"] == int(ExitCode.OUTPUT) and len(str(run["err"]).strip().splitlines()) == 1


def test_backreference_rule_is_one_line_without_re2_log(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "r.yaml").write_text(
        "rules:\n- id: TEST-BACKREF-001\n  title: t\n  description: d\n  severity: low\n  confidence: low\n"
        "  category: security\n  match:\n    regex: {pattern: '(a)\\1', in: [dex]}\n"
    )
    run = apkscan(tmp_path, "rules", "validate", "r")
    assert run["rc"] == int(ExitCode.BAD_RULES), run
    err = str(run["err"]).strip().splitlines()
    assert len(err) == 1 and "re2.cc" not in err[0] and "TEST-BACKREF-001" in err[0]


# --- 8. caps with counts, no YARA noise, control characters neutralised ---------------------
def test_findings_and_evidence_capped_with_counts(
    tmp_path: Path, ruleset: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apkscan.report import render

    monkeypatch.setattr(caps, "MAX_FINDINGS", 10)
    monkeypatch.setattr(caps, "MAX_EVIDENCE", 3)
    result = scan_bytes(tmp_path, (h.SAMPLES / "fraud_loan.apk").read_bytes(), ruleset)
    assert len(result.findings) == 10  # type: ignore[attr-defined]
    cap = next(f for f in result.findings if f.rule_id == "ANALYSIS-FINDINGS-CAP")  # type: ignore[attr-defined]
    assert cap.category == "analysis" and result.verdict == "reject"  # type: ignore[attr-defined]
    capped = [f for f in result.findings if f.evidence_total]  # type: ignore[attr-defined]
    assert capped and all(len(f.evidence) == 3 < f.evidence_total for f in capped)
    html = render(result, "html")  # type: ignore[arg-type]
    assert "more (另有" in html
    assert '"evidence_total"' in render(result, "json")  # type: ignore[arg-type]


def test_yara_match_flood_is_not_printed(tmp_path: Path) -> None:
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "flood.yar").write_text(SLOW_YARA.replace("slow_scan", "flood").replace(
        "TEST-SLOW-001", "TEST-FLOOD-001").replace("{ 61 [0-200] 62 [0-200] 63 }", '"a"'))
    text = os.urandom(4 << 20).translate(bytes(b"ab"[i & 1] for i in range(256)))  # not a bomb
    h.write(tmp_path / "f.apk", h.with_entries([h.entry("assets/a.txt", text)], sample="clean"))
    run = apkscan(tmp_path, "scan", "f.apk", "--rules", "y", "-o", "out", "-f", "json", "-q")
    assert run["rc"] == 0 and not str(run["err"]).strip(), run
    assert "TEST-FLOOD-001" in ids(report(tmp_path / "out"))


HOSTILE_TEXT = "evil\x1b[2J\x07label\u202etxt.exe\u2066x\r\n=cmd"


def test_control_characters_neutralised(tmp_path: Path, ruleset: RuleSet) -> None:
    from apkscan.batch.exports import csv_text
    from apkscan.report import render
    from apkscan.report.console import clean

    result = scan_bytes(tmp_path, (h.SAMPLES / "fraud_loan.apk").read_bytes(), ruleset)
    f0 = result.findings[0]  # type: ignore[attr-defined]
    hostile = replace(f0, title=HOSTILE_TEXT, evidence=(Evidence("string", HOSTILE_TEXT, file=HOSTILE_TEXT),))
    manifest = replace(result.facts.manifest, labels=(("", HOSTILE_TEXT),))  # type: ignore[attr-defined]
    result = replace(result, findings=(hostile, *result.findings[1:]),  # type: ignore[attr-defined]
                     facts=replace(result.facts, manifest=manifest))  # type: ignore[attr-defined]
    html = render(result, "html")
    for bad in ("\x1b", "\x07", "\u202e", "\u2066", "\r"):
        assert bad not in html
        assert bad not in csv_text(["label"], [[HOSTILE_TEXT]]).replace("\r\n", "\n")  # rows end in CRLF
        assert bad not in clean(HOSTILE_TEXT, 400)
    assert csv_text(["x"], [["=cmd"]]).splitlines()[1].startswith("'=")
