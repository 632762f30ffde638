"""The results store: one SQLite file (WAL mode) keyed by APK sha256 and rule-set digest.

Only the batch parent writes; every APK is one transaction, so an interrupted run keeps
everything finished before it. The schema is documented in docs/batch.md.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from apkscan.batch.worker import Payload
from apkscan.facts import FACTS_READER

SCHEMA_VERSION = "1"

WELL_KNOWN_DOMAINS = (
    "android.com", "google.com", "googleapis.com", "gstatic.com", "googlesyndication.com",
    "doubleclick.net", "firebaseio.com", "w3.org", "apache.org", "github.com", "xmlpull.org",
    "example.com", "example.org", "example.net", "schema.org", "mozilla.org", "jquery.com",
    "facebook.com", "apple.com", "microsoft.com", "ietf.org", "openxmlformats.org", "adobe.com",
    "youtube.com", "kotlinlang.org", "json.org", "localhost",
)
"""Domains that say nothing about who is behind an app; never used for clustering."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (
  path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
  sha256 TEXT NOT NULL, seen_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);
CREATE TABLE IF NOT EXISTS apks (
  sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, size INTEGER, kind TEXT,
  package TEXT, label TEXT, version_name TEXT, version_code TEXT, signer_sha256 TEXT,
  status TEXT NOT NULL CHECK (status IN ('ok', 'failed')), error_kind TEXT, error TEXT,
  scanned_at TEXT, duration REAL, inner_sha256 TEXT, base_entry TEXT, splits TEXT,
  report_stem TEXT, tool_version TEXT, rules_digest TEXT);
CREATE TABLE IF NOT EXISTS facts (
  sha256 TEXT PRIMARY KEY REFERENCES apks(sha256), yara_digest TEXT, yara_rules_digest TEXT,
  extracted_at TEXT, tool_version TEXT, raw_size INTEGER, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS results (
  sha256 TEXT NOT NULL, rules_digest TEXT NOT NULL, verdict TEXT,
  critical INTEGER, high INTEGER, medium INTEGER, low INTEGER, info INTEGER,
  counts TEXT, findings TEXT, sdks TEXT, data_access TEXT, rule_errors TEXT,
  evaluated_at TEXT, duration REAL, yara_stale INTEGER DEFAULT 0, report_stem TEXT,
  PRIMARY KEY (sha256, rules_digest));
CREATE TABLE IF NOT EXISTS findings (
  sha256 TEXT NOT NULL, rules_digest TEXT NOT NULL, rule_id TEXT NOT NULL, severity TEXT,
  category TEXT, title TEXT, confidence TEXT);
CREATE INDEX IF NOT EXISTS findings_rule ON findings(rule_id, rules_digest);
CREATE INDEX IF NOT EXISTS findings_sha ON findings(sha256, rules_digest);
CREATE TABLE IF NOT EXISTS sdks (
  sha256 TEXT NOT NULL, rules_digest TEXT NOT NULL, sdk_id TEXT NOT NULL, name TEXT, category TEXT,
  PRIMARY KEY (sha256, rules_digest, sdk_id));
CREATE INDEX IF NOT EXISTS sdks_id ON sdks(sdk_id, rules_digest);
CREATE TABLE IF NOT EXISTS domains (sha256 TEXT NOT NULL, domain TEXT NOT NULL, PRIMARY KEY (sha256, domain));
CREATE INDEX IF NOT EXISTS domains_domain ON domains(domain);
CREATE TABLE IF NOT EXISTS certs (
  sha256 TEXT NOT NULL, cert_sha256 TEXT NOT NULL, subject TEXT, debug INTEGER, test_key INTEGER,
  PRIMARY KEY (sha256, cert_sha256));
CREATE INDEX IF NOT EXISTS certs_cert ON certs(cert_sha256);
CREATE TABLE IF NOT EXISTS generator_ids (
  sha256 TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, source TEXT,
  PRIMARY KEY (sha256, kind, id));
CREATE INDEX IF NOT EXISTS generator_ids_id ON generator_ids(kind, id);
CREATE TABLE IF NOT EXISTS ignored_domains (domain TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS fingerprints (
  sha256 TEXT PRIMARY KEY, package TEXT, version_code TEXT, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS fingerprints_package ON fingerprints(package);
CREATE TABLE IF NOT EXISTS families (
  family INTEGER NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (family, sha256));
CREATE INDEX IF NOT EXISTS families_sha ON families(sha256);
CREATE TABLE IF NOT EXISTS family_evidence (
  family INTEGER NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, a TEXT, b TEXT, score REAL);
CREATE TABLE IF NOT EXISTS app_tokens (sha256 TEXT PRIMARY KEY, permissions TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
  sha256 TEXT PRIMARY KEY, package TEXT NOT NULL, previous_sha256 TEXT NOT NULL, data TEXT NOT NULL,
  compared_at TEXT);

CREATE VIEW IF NOT EXISTS current_results AS
  SELECT r.* FROM results r
  WHERE r.rules_digest = (SELECT value FROM meta WHERE key = 'rules_digest');
CREATE VIEW IF NOT EXISTS apps_with_finding AS
  SELECT f.rule_id, f.severity, f.category, f.title, a.sha256, a.package, a.label,
         a.version_name, a.path
  FROM findings f JOIN apks a ON a.sha256 = f.sha256
  WHERE f.rules_digest = (SELECT value FROM meta WHERE key = 'rules_digest');
CREATE VIEW IF NOT EXISTS apps_per_sdk AS
  SELECT s.sdk_id, s.name, s.category, COUNT(DISTINCT s.sha256) AS apps,
         GROUP_CONCAT(DISTINCT a.package) AS packages
  FROM sdks s JOIN apks a ON a.sha256 = s.sha256
  WHERE s.rules_digest = (SELECT value FROM meta WHERE key = 'rules_digest')
  GROUP BY s.sdk_id ORDER BY apps DESC, s.sdk_id;
CREATE VIEW IF NOT EXISTS shared_certificates AS
  SELECT c.cert_sha256, MAX(c.subject) AS subject, MAX(c.debug) AS debug, MAX(c.test_key) AS test_key,
         COUNT(DISTINCT c.sha256) AS apps, GROUP_CONCAT(DISTINCT a.package) AS packages
  FROM certs c JOIN apks a ON a.sha256 = c.sha256
  GROUP BY c.cert_sha256 HAVING COUNT(DISTINCT c.sha256) > 1 ORDER BY apps DESC;
CREATE VIEW IF NOT EXISTS shared_domains AS
  SELECT d.domain, COUNT(DISTINCT d.sha256) AS apps, GROUP_CONCAT(DISTINCT a.package) AS packages
  FROM domains d JOIN apks a ON a.sha256 = d.sha256
  WHERE NOT EXISTS (SELECT 1 FROM ignored_domains i
                    WHERE d.domain = i.domain OR d.domain LIKE '%.' || i.domain)
  GROUP BY d.domain
  HAVING COUNT(DISTINCT d.sha256) > 1
     AND COUNT(DISTINCT d.sha256) * 2 <= (SELECT COUNT(*) FROM apks WHERE status = 'ok')
  ORDER BY apps DESC, d.domain;
CREATE VIEW IF NOT EXISTS shared_generator_ids AS
  SELECT g.kind, g.id, COUNT(DISTINCT g.sha256) AS apps, GROUP_CONCAT(DISTINCT a.package) AS packages
  FROM generator_ids g JOIN apks a ON a.sha256 = g.sha256
  GROUP BY g.kind, g.id HAVING COUNT(DISTINCT g.sha256) > 1 ORDER BY apps DESC;
CREATE VIEW IF NOT EXISTS shared_packages AS
  SELECT package, COUNT(*) AS apps, COUNT(DISTINCT signer_sha256) AS signers,
         GROUP_CONCAT(version_name, ' ') AS versions
  FROM apks WHERE status = 'ok' AND package <> ''
  GROUP BY package HAVING COUNT(*) > 1 ORDER BY signers DESC, apps DESC, package;
"""


def now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class Store:
    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self._checkpointer: threading.Thread | None = None
        if readonly:
            self.db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            self.db.execute("PRAGMA query_only = ON")
        else:
            self.db = sqlite3.connect(str(path), timeout=60)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            # 64 MiB of page cache at most (the default is 2): a rule change copies every carried
            # result (a few MB of findings text) in one transaction and the exports read them back
            self.db.execute("PRAGMA cache_size = -65536")
            with self.db:
                self.db.executescript(SCHEMA)
                self.db.executemany("INSERT OR IGNORE INTO ignored_domains(domain) VALUES (?)",
                                    [(d,) for d in WELL_KNOWN_DOMAINS])
                self.db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                                (SCHEMA_VERSION,))
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.join()
        self.db.close()

    def checkpoint_in_background(self) -> None:
        """Copy the write-ahead log into the database file (SQLite's passive checkpoint, from
        a second connection in a thread) while this process goes on: after a large write
        (a rule change's carried results, a few MB) the copy and its disk syncs would
        otherwise stall the next commit that crosses the auto-checkpoint threshold, or the
        close. A checkpoint that cannot run now is left to those. :meth:`close` waits."""
        if self._checkpointer is not None and self._checkpointer.is_alive():
            return

        def run() -> None:
            try:
                con = sqlite3.connect(str(self.path), timeout=0)
                try:
                    con.execute("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    con.close()
            except sqlite3.Error:
                pass

        self._checkpointer = threading.Thread(target=run, name="apkscan-store-checkpoint", daemon=True)
        self._checkpointer.start()

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # --- hashing cache ---------------------------------------------------------------
    def cached_hashes(self) -> dict[str, tuple[int, int, str]]:
        """Path -> (size, mtime_ns, sha256) of every file seen (read at once: a run looks up
        every input, one query each cost more than the rest of a rule change's planning)."""
        rows = self.db.execute("SELECT path, size, mtime_ns, sha256 FROM files")
        return {str(p): (s, m, str(h)) for p, s, m, h in rows}

    def remember_files(self, rows: list[tuple[str, int, int, str]]) -> None:
        stamp = now()
        with self.db:
            self.db.executemany(
                "INSERT INTO files(path, size, mtime_ns, sha256, seen_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
                "sha256 = excluded.sha256, seen_at = excluded.seen_at",
                [(*r, stamp) for r in rows],
            )

    # --- what to do ------------------------------------------------------------------
    def states(self, digest: str) -> dict[str, str]:
        """sha256 -> ``result`` (done for this digest), ``failed``, ``facts`` (re-evaluate) or
        ``stale`` (facts from an older reader: scan again) for every APK the store knows (read
        at once); an APK it does not know is ``new``."""
        out: dict[str, str] = {}
        for sha, tool_version in self.db.execute("SELECT sha256, tool_version FROM facts"):
            # facts from an older reader lack what it now records: read the APK again
            out[sha] = "facts" if str(tool_version or "").endswith(f" facts/{FACTS_READER}") else "stale"
        for (sha,) in self.db.execute("SELECT sha256 FROM apks WHERE status = 'failed'"):
            out[sha] = "failed"
        for (sha,) in self.db.execute("SELECT sha256 FROM results WHERE rules_digest = ?", (digest,)):
            out[sha] = "result"
        return out

    def facts_blob(self, sha256: str) -> tuple[bytes, str] | None:
        row = self.db.execute("SELECT data, yara_rules_digest FROM facts WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else (bytes(row[0]), str(row[1] or ""))

    def report_stem(self, sha256: str, stem: str) -> str:
        row = self.db.execute("SELECT report_stem FROM apks WHERE sha256 = ?", (sha256,)).fetchone()
        if row is not None and row[0]:
            return str(row[0])
        clash = self.db.execute("SELECT 1 FROM apks WHERE report_stem = ? AND sha256 <> ?",
                                (stem, sha256)).fetchone()
        return f"{stem}-{sha256[:8]}" if clash else stem

    # --- writes (one transaction per APK) ---------------------------------------------
    def write_failure(self, sha256: str, path: str, size: int, payload: Payload, digest: str) -> None:
        with self.db:
            self.db.execute(
                "INSERT INTO apks(sha256, path, size, status, error_kind, error, scanned_at, duration, "
                "rules_digest) VALUES (?, ?, ?, 'failed', ?, ?, ?, ?, ?) "
                "ON CONFLICT(sha256) DO UPDATE SET path = excluded.path, size = excluded.size, "
                "status = 'failed', error_kind = excluded.error_kind, error = excluded.error, "
                "scanned_at = excluded.scanned_at, duration = excluded.duration, "
                "rules_digest = excluded.rules_digest",
                (sha256, path, size, payload.get("error_kind"), payload.get("error"), now(),
                 payload.get("duration"), digest),
            )

    def write_scan(self, sha256: str, path: str, size: int, payload: Payload, digest: str,
                   yara_rules_digest: str, stem: str) -> None:
        apk = payload["apk"]
        with self.db:
            self.db.execute(
                "INSERT INTO apks(sha256, path, size, kind, package, label, version_name, version_code, "
                "signer_sha256, status, error_kind, error, scanned_at, duration, inner_sha256, base_entry, "
                "splits, report_stem, tool_version, rules_digest) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok', NULL, NULL, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(sha256) DO UPDATE SET path = excluded.path, size = excluded.size, "
                "kind = excluded.kind, package = excluded.package, label = excluded.label, "
                "version_name = excluded.version_name, version_code = excluded.version_code, "
                "signer_sha256 = excluded.signer_sha256, status = 'ok', error_kind = NULL, error = NULL, "
                "scanned_at = excluded.scanned_at, duration = excluded.duration, "
                "inner_sha256 = excluded.inner_sha256, base_entry = excluded.base_entry, "
                "splits = excluded.splits, report_stem = excluded.report_stem, "
                "tool_version = excluded.tool_version, rules_digest = excluded.rules_digest",
                (sha256, path, size, apk.get("kind", "apk"), apk["package"], apk["label"],
                 apk["version_name"], apk["version_code"], apk["signer_sha256"], payload["scanned_at"],
                 payload["duration"], apk["inner_sha256"], apk.get("base_entry", ""),
                 json.dumps(apk.get("splits", [])), stem, payload["tool_version"], digest),
            )
            self.db.execute(
                "INSERT OR REPLACE INTO facts(sha256, yara_digest, yara_rules_digest, extracted_at, "
                "tool_version, raw_size, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sha256, payload["yara_digest"], yara_rules_digest, payload["scanned_at"],
                 f"{payload['tool_version']} facts/{FACTS_READER}", payload["facts_raw_size"], payload["facts_z"]),
            )
            for table in ("domains", "certs", "generator_ids"):
                self.db.execute(f"DELETE FROM {table} WHERE sha256 = ?", (sha256,))
            self.db.executemany("INSERT OR IGNORE INTO domains(sha256, domain) VALUES (?, ?)",
                                [(sha256, d) for d in payload["domains"]])
            self.db.executemany(
                "INSERT OR IGNORE INTO certs(sha256, cert_sha256, subject, debug, test_key) VALUES (?, ?, ?, ?, ?)",
                [(sha256, *c) for c in payload["certs"]])
            self.db.executemany(
                "INSERT OR IGNORE INTO generator_ids(sha256, kind, id, source) VALUES (?, ?, ?, ?)",
                [(sha256, *g) for g in payload["generator_ids"]])
            self._write_result(sha256, payload, digest, stem, yara_stale=False)
            self._write_fingerprint(sha256, payload)

    def write_reeval(self, sha256: str, payload: Payload, digest: str, stem: str, yara_stale: bool) -> None:
        with self.db:
            self._write_result(sha256, payload, digest, stem, yara_stale)
            self._write_fingerprint(sha256, payload)

    def _write_fingerprint(self, sha256: str, payload: Payload) -> None:
        """The app's similarity fingerprint (issue 16; JSON of :class:`~apkscan.facts.Fingerprint`)."""
        fp = payload.get("fingerprint")
        if fp is None:
            return
        data = json.dumps(fp, separators=(",", ":"))
        old = self.db.execute("SELECT data FROM fingerprints WHERE sha256 = ?", (sha256,)).fetchone()
        if old is None or old[0] != data:  # the families rest on it: recomputed after this run
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('families', '0')")
        self.db.execute(
            "INSERT INTO fingerprints(sha256, package, version_code, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(sha256) DO UPDATE SET package = excluded.package, "
            "version_code = excluded.version_code, data = excluded.data",
            (sha256, payload.get("fp_package", ""), payload.get("fp_version_code", ""), data),
        )
        perms = payload.get("fp_permissions")
        if perms is not None:  # what apkscan.batch.incremental checks a changed rule against
            self.db.execute("INSERT OR REPLACE INTO app_tokens(sha256, permissions) VALUES (?, ?)",
                            (sha256, json.dumps(perms)))

    def _write_result(self, sha256: str, payload: Payload, digest: str, stem: str, yara_stale: bool) -> None:
        counts = payload["counts"]
        self.db.execute(
            "INSERT OR REPLACE INTO results(sha256, rules_digest, verdict, critical, high, medium, low, info, "
            "counts, findings, sdks, data_access, rule_errors, evaluated_at, duration, yara_stale, report_stem) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sha256, digest, payload["verdict"], counts.get("critical", 0), counts.get("high", 0),
             counts.get("medium", 0), counts.get("low", 0), counts.get("info", 0), json.dumps(counts),
             json.dumps(payload["findings"], ensure_ascii=False), json.dumps(payload["sdks"], ensure_ascii=False),
             json.dumps(payload["data_access"], ensure_ascii=False),
             json.dumps(payload["rule_errors"], ensure_ascii=False), now(), payload["duration"],
             int(yara_stale), stem),
        )
        self.db.execute("DELETE FROM findings WHERE sha256 = ? AND rules_digest = ?", (sha256, digest))
        self.db.execute("DELETE FROM sdks WHERE sha256 = ? AND rules_digest = ?", (sha256, digest))
        self.db.executemany(
            "INSERT INTO findings(sha256, rules_digest, rule_id, severity, category, title, confidence) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", [(sha256, digest, *r) for r in payload["finding_rows"]])
        self.db.executemany(
            "INSERT OR IGNORE INTO sdks(sha256, rules_digest, sdk_id, name, category) VALUES (?, ?, ?, ?, ?)",
            [(sha256, digest, *r) for r in payload["sdk_rows"]])

    # --- reads -----------------------------------------------------------------------
    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(self.db.execute(sql, params))

    def iter_rows(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[sqlite3.Row]:
        yield from self.db.execute(sql, params)

