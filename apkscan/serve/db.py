"""``serve.db``: API tokens (only their SHA-256 is stored) and the job queue.

Tokens are 256-bit random strings (``aps_`` + 43 URL-safe characters), so a plain SHA-256
is enough to store them: there is no password to guess. A token has one role:

- ``submit``: upload APKs and read the status and reports of a scan by its id;
- ``read``: every read (status, reports, search, diff, queue, dashboard);
- ``admin``: everything, including re-evaluation.

Each thread uses its own connection (WAL mode, so the request thread and the worker
thread never block each other for long).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROLES = ("submit", "read", "admin")
TOKEN_PREFIX = "aps_"
DB_NAME = "serve.db"

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('submit', 'read', 'admin')),
  hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, revoked_at TEXT, last_used_at TEXT);
CREATE TABLE IF NOT EXISTS jobs (
  sha256 TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('scan', 'reeval')),
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
  ext TEXT NOT NULL, size INTEGER NOT NULL, filename TEXT, token_id TEXT,
  submitted_at TEXT NOT NULL, started_at TEXT, finished_at TEXT,
  verdict TEXT, reason TEXT, reason_zh TEXT, error_kind TEXT, error TEXT, timings TEXT, summary TEXT);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, seq);
"""


def now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Token:
    id: str
    name: str
    role: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None

    def allows(self, role: str) -> bool:
        """``admin`` may do everything; ``read`` and ``submit`` only their own part."""
        return self.role == "admin" or self.role == role


class ServeDB:
    def __init__(self, data: Path) -> None:
        self.path = data / DB_NAME
        self._local = threading.local()
        with self.db:
            self.db.executescript(SCHEMA)

    @property
    def db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=30)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- tokens ------------------------------------------------------------------------
    def create_token(self, role: str, name: str = "") -> tuple[Token, str]:
        """A new token; the clear text is returned once and never stored."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r} (use {', '.join(ROLES)})")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        ident = secrets.token_hex(4)
        stamp = now()
        with self.db:
            self.db.execute("INSERT INTO tokens(id, name, role, hash, created_at) VALUES (?, ?, ?, ?, ?)",
                            (ident, name or role, role, token_hash(secret), stamp))
        return Token(ident, name or role, role, stamp, None, None), secret

    def tokens(self) -> list[Token]:
        return [Token(r["id"], r["name"], r["role"], r["created_at"], r["revoked_at"], r["last_used_at"])
                for r in self.db.execute("SELECT * FROM tokens ORDER BY created_at, id")]

    def active_tokens(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM tokens WHERE revoked_at IS NULL").fetchone()[0])

    def revoke(self, ident: str) -> bool:
        with self.db:
            cur = self.db.execute("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                  (now(), ident))
        return cur.rowcount > 0

    def check(self, secret: str) -> Token | None:
        """The active token with this clear text, or None."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        row = self.db.execute("SELECT * FROM tokens WHERE hash = ? AND revoked_at IS NULL",
                              (token_hash(secret),)).fetchone()
        if row is None:
            return None
        return Token(row["id"], row["name"], row["role"], row["created_at"], None, row["last_used_at"])

    # --- jobs --------------------------------------------------------------------------
    def job(self, sha256: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM jobs WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else _job(row)

    def add_job(self, sha256: str, kind: str, ext: str, size: int, filename: str, token_id: str,
                timings: dict[str, float]) -> None:
        """Queue (or queue again) the job of one upload."""
        with self.db:
            seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()[0]
            self.db.execute(
                "INSERT INTO jobs(sha256, seq, kind, status, ext, size, filename, token_id, submitted_at, timings) "
                "VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET seq = excluded.seq, "
                "kind = excluded.kind, status = 'queued', submitted_at = excluded.submitted_at, started_at = NULL, "
                "finished_at = NULL, verdict = NULL, reason = NULL, reason_zh = NULL, error_kind = NULL, error = NULL, "
                "summary = NULL, "
                "timings = excluded.timings",
                (sha256, seq, kind, ext, size, filename, token_id, now(), json.dumps(timings)))

    def add_done(self, sha256: str, ext: str, size: int, filename: str, token_id: str, status: str,
                 verdict: str | None, error_kind: str | None, error: str | None) -> None:
        """A row for an upload answered from the store (scanned by an earlier run or batch)."""
        with self.db:
            seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()[0]
            stamp = now()
            self.db.execute(
                "INSERT OR IGNORE INTO jobs(sha256, seq, kind, status, ext, size, filename, token_id, submitted_at, "
                "finished_at, verdict, error_kind, error, timings) VALUES (?, ?, 'scan', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "'{}')", (sha256, seq, status, ext, size, filename, token_id, stamp, stamp, verdict, error_kind, error))

    def start_job(self, sha256: str) -> None:
        with self.db:
            self.db.execute("UPDATE jobs SET status = 'running', started_at = ? WHERE sha256 = ?", (now(), sha256))

    def finish_job(self, sha256: str, status: str, verdict: str | None, error_kind: str | None,
                   error: str | None, timings: dict[str, Any], reason: tuple[str, str] | None = None,
                   summary: dict[str, Any] | None = None) -> None:
        """Record the end of a job (``summary``: package, label, versions, counts and report
        stem, known before the store is written); a second call merges its timings."""
        with self.db:
            old = self.db.execute("SELECT timings, reason, reason_zh, summary FROM jobs WHERE sha256 = ?",
                                  (sha256,)).fetchone()
            merged = json.loads(old[0] or "{}") if old is not None else {}
            merged.update(timings)
            if reason is None:
                reason = (old[1] or "", old[2] or "") if old is not None else ("", "")
            kept = summary if summary is not None else (json.loads(old[3]) if old is not None and old[3] else None)
            self.db.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, verdict = ?, error_kind = ?, error = ?, timings = ?, "
                "reason = ?, reason_zh = ?, summary = ? WHERE sha256 = ?",
                (status, now(), verdict, error_kind, error, json.dumps(merged), reason[0], reason[1],
                 None if kept is None else json.dumps(kept, ensure_ascii=False), sha256))

    def pending(self) -> list[dict[str, Any]]:
        """Jobs queued or running when the service stopped, oldest first (resumed at start)."""
        return [_job(r) for r in self.db.execute(
            "SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY seq")]

    def recent(self, limit: int = 100, status: str | None = None) -> list[dict[str, Any]]:
        if status:
            rows = self.db.execute("SELECT * FROM jobs WHERE status = ? ORDER BY seq DESC LIMIT ?", (status, limit))
        else:
            rows = self.db.execute("SELECT * FROM jobs ORDER BY seq DESC LIMIT ?", (limit,))
        return [_job(r) for r in rows]


def _job(row: sqlite3.Row) -> dict[str, Any]:
    job = dict(row)
    job["timings"] = json.loads(job.get("timings") or "{}")
    job["summary"] = json.loads(job["summary"]) if job.get("summary") else None
    return job
