"""The known-sample library: add, match as a finding, export/import, the CLI; families in a batch."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apkscan import api
from apkscan.engine import Options
from apkscan.known import KnownLibrary, category_of, severity_for
from apkscan.model import Severity

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture()
def library(tmp_path, sample_results):  # type: ignore[no-untyped-def]
    lib = KnownLibrary(tmp_path / "known.sqlite")
    lib.add(sample_results["pii_collector"].facts, "PiiKit / malware / stealer")
    return lib


def test_label_names_the_category() -> None:
    assert category_of("SilverLoan / fraud / loan") == "fraud"
    assert category_of("Anubis / Malware") == "malware"
    assert category_of("just a name") == ""
    assert severity_for("fraud", 0.9) is Severity.CRITICAL
    assert severity_for("gambling", 0.75) is Severity.HIGH
    assert severity_for("malware", 0.55) is Severity.MEDIUM
    assert severity_for("store-policy", 0.9) is Severity.MEDIUM


def test_a_label_without_category_is_refused(tmp_path, sample_results) -> None:  # type: ignore[no-untyped-def]
    lib = KnownLibrary(tmp_path / "k.sqlite")
    with pytest.raises(ValueError, match="category"):
        lib.add(sample_results["clean"].facts, "SomeKit")
    assert lib.add(sample_results["clean"].facts, "SomeKit", "fraud").category == "fraud"


def test_a_rebuild_of_a_known_sample_is_a_finding(library, ruleset) -> None:  # type: ignore[no-untyped-def]
    result = api.scan(SAMPLES / "pii_collector_v2.apk", ruleset, Options(known=library))
    known = [f for f in result.findings if f.rule_id.startswith("KNOWN-")]
    assert len(known) == 1
    f = known[0]
    assert f.rule_id == "KNOWN-MALWARE" and f.category == "malware"
    assert f.severity is Severity.CRITICAL and f.confidence == "high"
    assert "PiiKit" in f.title and "PiiKit" in f.title_zh and f.description_zh
    assert f.evidence[0].kind == "known-sample" and "similarity" in f.evidence[0].detail
    assert result.verdict == "reject"
    # --verbose shows what fingerprinting and the look-up took, as parts of "rules"
    assert {"rules", "fingerprint", "known"} <= set(result.timings)
    assert result.timings["fingerprint"] + result.timings["known"] <= result.timings["rules"]
    plain = api.scan(SAMPLES / "pii_collector_v2.apk", ruleset, Options(fingerprints=False))
    assert "fingerprint" not in plain.timings and "known" not in plain.timings


@pytest.fixture()
def unsigned_library(tmp_path, sample_results):  # type: ignore[no-untyped-def]
    """The sample without its signer (as one added before signers were kept): every sample
    is signed with the project's one key, which would link them all (see
    test_an_app_signed_with_a_known_sample_s_key_is_told)."""
    import dataclasses

    facts = sample_results["pii_collector"].facts
    lib = KnownLibrary(tmp_path / "unsigned.sqlite")
    lib.add(dataclasses.replace(facts, signing=dataclasses.replace(facts.signing, certificates=())), "PiiKit / malware")
    return lib


def test_unrelated_apps_and_the_sample_itself_do_not_match(unsigned_library, library, ruleset) -> None:  # type: ignore[no-untyped-def]
    for name in ("clean", "fraud_loan", "tracker", "pii_collector"):
        result = api.scan(SAMPLES / f"{name}.apk", ruleset, Options(known=unsigned_library))
        assert not [f for f in result.findings if f.rule_id.startswith("KNOWN-")], name
    # the sample is not its own match, not even through its own key
    result = api.scan(SAMPLES / "pii_collector.apk", ruleset, Options(known=library))
    assert not [f for f in result.findings if f.rule_id.startswith("KNOWN-")]


def test_an_app_signed_with_a_known_sample_s_key_is_told(library, unsigned_library, ruleset) -> None:  # type: ignore[no-untyped-def]
    """An app unlike every known sample but signed with one's certificate (here: every
    sample is signed with the project's key) is reported as such, ``high`` for an
    illegal-app family: only the key's holder signs with it, so a human confirms."""
    from apkscan.known import signers_of
    from apkscan.report.i18n import evidence_text

    plain = api.scan(SAMPLES / "clean.apk", ruleset, Options(known=unsigned_library))
    result = api.scan(SAMPLES / "clean.apk", ruleset, Options(known=library))
    known = [f for f in result.findings if f.rule_id.startswith("KNOWN-")]
    assert len(known) == 1
    f = known[0]
    key = signers_of(result.facts)[0]
    assert f.title == "Same signing certificate as 1 known sample of PiiKit" and "签名证书相同" in f.title_zh
    assert f.severity is Severity.HIGH and f.confidence == "medium"
    assert key[:16] in f.description and key[:16] in f.description_zh
    assert "signing certificate 1.00" in f.description and "签名证书 1.00" in f.description_zh
    assert "same signing certificate" in f.evidence[0].detail and "same package name" not in f.evidence[0].detail
    assert evidence_text(f.evidence[0].detail, "known-sample", "zh").endswith("；签名证书相同")
    assert plain.verdict in ("pass", "fix") and result.verdict == "review"


def test_a_build_that_declares_a_known_sample_s_package_is_told(tmp_path, sample_results, ruleset) -> None:  # type: ignore[no-untyped-def]
    """A sample of the app's own package name is reported even when the fingerprints are
    unlike (a rewrite, a new packer, or an app that took the name): a medium finding that
    says so and leaves the verdict to the app's other findings; high (a human confirms)
    when the app is also signed with the sample's own key. The finding says which."""
    import dataclasses

    from apkscan import similarity
    from apkscan.known import signers_of

    banker = sample_results["banker"].facts
    manifest = dataclasses.replace(banker.manifest, package="org.apkscan.sample.pii")
    renamed = dataclasses.replace(banker, manifest=manifest)
    assert signers_of(renamed) == signers_of(sample_results["pii_collector"].facts) != ()  # the samples' own key
    unsigned = dataclasses.replace(renamed, signing=dataclasses.replace(banker.signing, certificates=()))
    lib = KnownLibrary(tmp_path / "known.sqlite")
    lib.add(unsigned, "OldPii / malware / stealer")
    assert lib.samples()[0].signers == ()
    plain = api.scan(SAMPLES / "pii_collector.apk", ruleset, Options())
    result = api.scan(SAMPLES / "pii_collector.apk", ruleset, Options(known=lib))
    known = [f for f in result.findings if f.rule_id.startswith("KNOWN-")]
    assert len(known) == 1
    f = known[0]
    assert f.rule_id == "KNOWN-MALWARE" and f.severity is Severity.MEDIUM and f.confidence == "low"
    assert f.title == "Same package name as 1 known sample of OldPii" and "包名相同" in f.title_zh
    assert "org.apkscan.sample.pii" in f.description and "holds no signer" in f.description
    assert "package name 1.00" in f.description and "包名 1.00" in f.description_zh
    assert "same package name" in f.evidence[0].detail
    assert result.verdict == plain.verdict  # a medium match decides nothing alone
    # the same name and the sample's own key: whoever holds the key built both
    keyed = KnownLibrary(tmp_path / "keyed.sqlite")
    keyed.add(renamed, "OldPii / malware / stealer")
    assert keyed.samples()[0].signers == signers_of(renamed)
    same = next(f for f in api.scan(SAMPLES / "pii_collector.apk", ruleset, Options(known=keyed)).findings
                if f.rule_id == "KNOWN-MALWARE")
    assert same.severity is Severity.HIGH and "same key" in same.description and "同一签名密钥" in same.description_zh
    doc = keyed.export()
    assert doc["samples"][0]["signers"] == list(signers_of(renamed))
    again = KnownLibrary(tmp_path / "again.sqlite")
    assert again.import_(doc) == 1 and again.samples()[0].signers == signers_of(renamed)
    # another package is no match; nor is a placeholder name that unrelated apps share
    other = api.scan(SAMPLES / "clean.apk", ruleset, Options(known=lib))
    assert not [f for f in other.findings if f.rule_id.startswith("KNOWN-")]
    assert similarity.same_app("org.apkscan.sample.pii", "org.apkscan.sample.pii")
    for placeholder in ("com.example.myapplication", "io.cordova.hellocordova", "com.test", "app", ""):
        assert not similarity.same_app(placeholder, placeholder)
    index = similarity.LshIndex()
    index.add("s", renamed.fingerprint, "com.example.myapplication")
    app = sample_results["pii_collector"].facts.fingerprint
    assert index.query(app, contained=True, package="com.example.myapplication") == []


def test_export_import_remove(tmp_path, library) -> None:  # type: ignore[no-untyped-def]
    doc = library.export()
    assert doc["format"] == "apkscan-known/1" and len(doc["samples"]) == 1
    other = KnownLibrary(tmp_path / "other.sqlite")
    assert other.import_(json.loads(json.dumps(doc))) == 1
    (s,) = other.samples()
    assert s.label == "PiiKit / malware / stealer" and s.fingerprint == library.samples()[0].fingerprint
    with pytest.raises(ValueError):
        other.import_({"format": "something else"})
    assert other.remove(s.sha256[:12]) == 1 and other.samples() == []


def test_cli_known(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from apkscan.cli import app

    monkeypatch.setenv("APKSCAN_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    res = runner.invoke(app, ["known", "add", str(SAMPLES / "pii_collector.apk"), "--label", "PiiKit / malware"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "data" / "known.sqlite").is_file()
    res = runner.invoke(app, ["known", "list", "--json"])
    assert json.loads(res.output)[0]["category"] == "malware"
    res = runner.invoke(app, ["known", "export", "-o", str(tmp_path / "lib.json")])
    assert res.exit_code == 0
    res = runner.invoke(app, ["known", "add", str(SAMPLES / "clean.apk"), "--label", "no category"])
    assert res.exit_code == 2
    out = tmp_path / "out"
    res = runner.invoke(app, ["scan", str(SAMPLES / "pii_collector_v2.apk"), "-o", str(out), "-f", "json", "-q"])
    report = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    assert "KNOWN-MALWARE" in [f["rule_id"] for f in report["findings"]]
    res = runner.invoke(app, ["known", "remove", "PiiKit / malware"])
    assert res.exit_code == 0 and "removed 1" in res.output
    res = runner.invoke(app, ["known", "import", str(tmp_path / "lib.json")])
    assert res.exit_code == 0 and "imported 1" in res.output
    # a hand-edited export with a signer that is no SHA-256: one line naming the file, exit 2
    doc = json.loads((tmp_path / "lib.json").read_text(encoding="utf-8"))
    doc["samples"][0]["signers"] = ["not-a-digest"]
    (tmp_path / "bad.json").write_text(json.dumps(doc), encoding="utf-8")
    res = runner.invoke(app, ["known", "import", str(tmp_path / "bad.json")])
    assert res.exit_code == 2 and "bad.json" in res.output and "signers must be a list of SHA-256" in res.output
    assert res.output.strip().count("\n") == 0


def test_batch_families_versions_and_query(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from apkscan.cli import app

    monkeypatch.setenv("APKSCAN_DATA_DIR", str(tmp_path / "data"))
    src = tmp_path / "in"
    src.mkdir()
    for name in ("pii_collector", "pii_collector_v2", "clean"):
        shutil.copy(SAMPLES / f"{name}.apk", src / f"{name}.apk")
    out = tmp_path / "out"
    runner = CliRunner()
    res = runner.invoke(app, ["batch", str(src), "-o", str(out), "-j", "1", "-f", "none", "-q"])
    assert res.exit_code == 0, res.output
    db = sqlite3.connect(out / "apkscan.db")
    assert db.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0] == 3
    kinds = {r[0] for r in db.execute("SELECT kind FROM family_evidence")}
    assert {"similar", "signer"} <= kinds  # the samples share the test key; the two pii builds their code
    (versions,) = db.execute("SELECT COUNT(*) FROM versions").fetchone()
    assert versions >= 1
    change = json.loads(db.execute("SELECT data FROM versions").fetchone()[0])
    assert change["package"] == "org.apkscan.sample.pii" and change["signer_changed"] is False
    fams = json.loads((out / "families.json").read_text(encoding="utf-8"))
    assert fams[0]["size"] == 3 and sum(fams[0]["verdicts"].values()) == 3
    res = runner.invoke(app, ["query", str(out), "--family", "all", "-f", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["size"] == 3
    res = runner.invoke(app, ["query", str(out), "--family", "org.apkscan.sample.clean", "-f", "csv"])
    assert res.exit_code == 0 and "org.apkscan.sample.pii" in res.output
    res = runner.invoke(app, ["query", str(out), "--family", "nope"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["query", str(out), "--versions", "-f", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert rows and rows[0]["package"] == "org.apkscan.sample.pii" and rows[0]["signer_changed"] is False


def test_links_ignore_debug_keys_common_domains_and_placeholder_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from apkscan.batch import families
    from apkscan.batch.store import Store

    store = Store(tmp_path / "s.db")
    db = store.db
    with db:
        for i in range(12):
            db.execute("INSERT INTO apks(sha256, path, status) VALUES (?, ?, 'ok')", (f"app{i:02d}", f"/x/{i}.apk"))
        # two builds of one app (a rewrite: nothing else links them), and a placeholder name
        db.executemany("INSERT INTO apks(sha256, path, status, package) VALUES (?, ?, ?, ?)", [
            ("app12", "/x/12.apk", "ok", "cn.kit.lottery"), ("app13", "/x/13.apk", "ok", "cn.kit.lottery"),
            ("app14", "/x/14.apk", "ok", "com.example.myapplication"),
            ("app15", "/x/15.apk", "ok", "com.example.myapplication"),
            ("app16", "/x/16.apk", "failed", "cn.kit.lottery"),
        ])
        db.executemany("INSERT INTO certs(sha256, cert_sha256, subject, debug, test_key) VALUES (?, ?, '', ?, ?)", [
            ("app00", "KIT", 0, 0), ("app01", "KIT", 0, 0),
            ("app02", "DEBUG", 1, 0), ("app03", "DEBUG", 1, 0),
            ("app04", "AOSP", 0, 1), ("app05", "AOSP", 0, 1),
        ])
        db.executemany("INSERT INTO domains(sha256, domain) VALUES (?, ?)", [
            ("app06", "pay.kit-example.cn"), ("app07", "pay.kit-example.cn"),
            ("app08", "maps.googleapis.com"), ("app09", "maps.googleapis.com"),
        ] + [(f"app{i:02d}", "cdn.everyone.example") for i in range(12)])
        db.executemany("INSERT INTO generator_ids(sha256, kind, id, source) VALUES (?, 'dcloud', ?, '')", [
            ("app10", "__UNI__ABCDEF1"), ("app11", "__UNI__ABCDEF1"),
        ])
    groups = {(k, v): apps for k, v, apps in families.link_groups(store)}
    assert groups == {
        ("signer", "KIT"): ["app00", "app01"],
        ("domain", "pay.kit-example.cn"): ["app06", "app07"],
        ("generator", "dcloud:__UNI__ABCDEF1"): ["app10", "app11"],
        ("package", "cn.kit.lottery"): ["app12", "app13"],
    }
    fams = families.update(store)
    assert sorted(len(f.members) for f in fams) == [2, 2, 2, 2]
    assert {e[0] for f in fams for e in f.evidence} == {"signer", "domain", "generator", "package"}
    store.close()


def test_a_shell_that_swaps_its_bundle_stands_out(tmp_path, sample_results) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from apkscan import serial
    from apkscan.batch import families
    from apkscan.batch.store import Store

    fp = sample_results["fraud_loan"].facts.fingerprint
    assert any(c == "web" for c, _ in fp.fuzzy)
    other = sample_results["gambling"].facts.fingerprint  # another app's web bundle and files
    swapped = replace(
        fp,
        fuzzy=tuple((c, d) for c, d in fp.fuzzy if c != "web") + tuple((c, d) for c, d in other.fuzzy if c == "web"),
        files=other.files, files_features=other.files_features,
    )
    store = Store(tmp_path / "s.db")
    with store.db:
        for sha, when, f in (("old", "2026-01-01T00:00:00+00:00", fp), ("new", "2026-02-01T00:00:00+00:00", swapped)):
            store.db.execute("INSERT INTO apks(sha256, path, status, scanned_at) VALUES (?, ?, 'ok', ?)",
                             (sha, f"/x/{sha}.apk", when))
            store.db.execute("INSERT INTO fingerprints(sha256, package, version_code, data) VALUES (?, 'p', '1', ?)",
                             (sha, json.dumps(serial.to_jsonable(f))))
        store.db.execute("INSERT INTO domains(sha256, domain) VALUES ('new', 'pay.example-new.cn')")
    change = families.version_changes(store, "new")
    assert change is not None and change["previous"] == "old"
    assert "web" in change["swapped"] and "web" in change["components"]
    assert change["components"].get("api", 1.0) == 1.0  # the code did not move
    assert change["domains"]["added"] == ["pay.example-new.cn"]
    assert families.record_versions(store, ["new", "old"]) == 2
    store.close()


def test_a_library_from_before_signers_were_kept_still_opens(tmp_path, library) -> None:  # type: ignore[no-untyped-def]
    """A known.sqlite written before the signers column gains it on first use; its samples
    match as before, with no signer."""
    old = tmp_path / "old.sqlite"
    row = library.export()["samples"][0]
    db = sqlite3.connect(old)
    db.execute(
        "CREATE TABLE samples (id INTEGER PRIMARY KEY, sha256 TEXT UNIQUE NOT NULL, package TEXT NOT NULL, "
        "label TEXT NOT NULL, category TEXT NOT NULL, added TEXT NOT NULL, fingerprint TEXT NOT NULL)"
    )
    db.execute(
        "INSERT INTO samples (sha256, package, label, category, added, fingerprint) VALUES (?,?,?,?,?,?)",
        (row["sha256"], row["package"], row["label"], row["category"], row["added"], json.dumps(row["fingerprint"])),
    )
    db.commit()
    db.close()
    samples = KnownLibrary(old).samples()
    assert len(samples) == 1 and samples[0].signers == () and samples[0].label == row["label"]


def _answers(lib: KnownLibrary, sample_results) -> list[list[tuple[str, float, dict[str, float]]]]:  # type: ignore[no-untyped-def]
    from apkscan.known import signers_of

    out = []
    for result in sample_results.values():
        f = result.facts
        out.append([(m.sample.sha256, m.score, m.components)
                    for m in lib.match(f.fingerprint, f.sha256, package=f.manifest.package, signers=signers_of(f))])
    return out


def test_stored_bands_answer_as_an_index_of_every_sample(tmp_path, sample_results) -> None:  # type: ignore[no-untyped-def]
    """A look-up reads the stored bands and links, then only its candidates; it answers
    as an in-memory index of every sample does (a read-only library written before the
    bands existed uses one). A writable library from before gets its bands on first use,
    and again when the key scheme changes; remove and relabel leave no stale band."""
    from apkscan import similarity

    path = tmp_path / "known.sqlite"
    lib = KnownLibrary(path)
    for name, label in (("pii_collector", "PiiKit / malware"), ("banker", "Bank / malware"),
                        ("fraud_loan", "Loan / fraud"), ("gambling", "Bet / gambling")):
        lib.add(sample_results[name].facts, label)
    stored = _answers(lib, sample_results)
    assert any(stored) and sum(len(a) for a in stored) >= 4

    def count(p: Path, sql: str, *args: object) -> int:
        db = sqlite3.connect(p)
        try:
            return int(db.execute(sql, args).fetchone()[0])
        finally:
            db.close()

    old = tmp_path / "old.sqlite"
    shutil.copy(path, old)
    db = sqlite3.connect(old)
    db.executescript("DELETE FROM bands; DELETE FROM links; DROP TABLE meta;")
    db.commit()
    db.close()
    assert _answers(KnownLibrary(old, read_only=True), sample_results) == stored  # the in-memory index
    assert count(old, "SELECT COUNT(*) FROM bands") == 0  # nothing written
    assert _answers(KnownLibrary(old), sample_results) == stored  # writable: the bands are built
    assert count(old, "SELECT COUNT(*) FROM bands") == count(path, "SELECT COUNT(*) FROM bands") > 0
    db = sqlite3.connect(old)
    db.execute("UPDATE meta SET value = '0:another scheme' WHERE name = 'keys'")
    db.commit()
    db.close()
    assert _answers(KnownLibrary(old), sample_results) == stored
    db = sqlite3.connect(old)
    assert db.execute("SELECT value FROM meta WHERE name = 'keys'").fetchone()[0] == similarity.KEY_SCHEME
    db.close()

    pii = sample_results["pii_collector"].facts
    sid = next(s.id for s in lib.samples() if s.sha256 == pii.sha256)
    lib.add(pii, "PiiKit / malware / stealer")  # relabelled: the same bands, once
    assert count(path, "SELECT COUNT(*) FROM bands WHERE sample = ?", sid) == len(
        similarity.LshIndex.indexed_keys(pii.fingerprint))
    assert lib.remove(pii.sha256[:12]) == 1
    assert count(path, "SELECT COUNT(*) FROM bands WHERE sample = ?", sid) == 0
    assert count(path, "SELECT COUNT(*) FROM links WHERE sample = ?", sid) == 0
    assert pii.sha256 not in {m.sample.sha256 for m in lib.match(pii.fingerprint)}
