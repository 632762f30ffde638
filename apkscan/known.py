"""The known-sample library: labelled fingerprints of confirmed samples, matched by similarity.

A local SQLite database (``known.sqlite`` in :func:`apkscan.runtime.data_dir`) keeps, per sample, its
SHA-256, package, label (``"family / type"``, e.g. ``"SilverLoan / fraud / loan"``), the
finding category the label names, and the fingerprint (:class:`apkscan.facts.Fingerprint`).
``apkscan known add|remove|list|export|import`` edits it; ``scan``, ``batch`` and the
service (:func:`open_default`, :meth:`KnownLibrary.findings`) consult it. The project
ships it empty. See docs/families.md for what a match means.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apkscan import serial, similarity
from apkscan.facts import ApkFacts, Fingerprint
from apkscan.model import CATEGORIES, Evidence, Finding, Reference, Severity
from apkscan.runtime import known_db_path

if TYPE_CHECKING:
    import sqlite3

ILLEGAL = ("fraud", "gambling", "malware")
STRONG = 0.85
"""From this score a match to an illegal-app family is ``critical`` (rejects on its own)."""
MEDIUM = 0.7
"""From this score ``high`` (human review); below it, down to :data:`similarity.THRESHOLD`, ``medium``."""
REFERENCE = Reference(
    "apkscan known-sample library",
    "",
    "Similarity to samples an operator confirmed and labelled (docs/families.md)",
)
CATEGORY_ZH = {"fraud": "诈骗", "gambling": "赌博", "malware": "恶意软件"}




def category_of(label: str) -> str:
    """The finding category a label names: its first ``/``-separated part that is one of
    :data:`apkscan.model.CATEGORIES` (``"Anubis / malware / banker"`` -> ``malware``);
    ``""`` when none does."""
    for part in label.split("/"):
        word = part.strip().lower()
        if word in CATEGORIES:
            return word
    return ""


@dataclass(frozen=True)
class Sample:
    id: int
    sha256: str
    package: str
    label: str
    category: str
    added: str
    fingerprint: Fingerprint
    signers: tuple[str, ...] = ()
    """SHA-256 of the signing certificates that are neither debug nor public test keys
    (empty for a sample added before the library kept them)."""

    @property
    def family(self) -> str:
        """The label's first part (``"Anubis / malware"`` -> ``Anubis``)."""
        return self.label.split("/")[0].strip() or self.label


@dataclass(frozen=True)
class Match:
    sample: Sample
    score: float
    components: dict[str, float]


SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY,
    sha256 TEXT UNIQUE NOT NULL,
    package TEXT NOT NULL,
    label TEXT NOT NULL,
    category TEXT NOT NULL,
    added TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    signers TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS bands (
    key INTEGER NOT NULL,
    sample INTEGER NOT NULL,
    PRIMARY KEY (key, sample)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS links (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    sample INTEGER NOT NULL,
    PRIMARY KEY (kind, value, sample)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
"""``bands``: the LSH keys each sample is indexed under (:meth:`similarity.LshIndex.indexed_keys`),
so that a look-up reads only its candidates' fingerprints, not the whole library; ``links``:
its package name and signers (:func:`similarity.link_keys`); ``meta``: the key scheme the
bands were computed with (:data:`similarity.KEY_SCHEME`; under another they are computed again)."""


class KnownLibrary:
    """The database. A look-up reads the stored LSH bands and links of the library
    (``bands``, ``links``), then only its candidates' fingerprints: a one-off scan against a
    library of 100,000 samples does not load them all. When the bands cannot be used (a
    read-only library written by an older version), it builds an in-memory index of every
    sample instead (:meth:`index`; thread-safe reads)."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        """``read_only``: open the file read-only (a library on a read-only mount)."""
        self.path = path
        self.read_only = read_only
        self._lock = threading.Lock()
        self._index: similarity.LshIndex | None = None
        self._stamp = 0
        self._samples: dict[int, Sample] = {}

    def _connect(self) -> sqlite3.Connection:
        import sqlite3  # not on every scan's import path: only when a library exists

        if self.read_only:
            return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        db.executescript(SCHEMA)
        if "signers" not in {row[1] for row in db.execute("PRAGMA table_info(samples)")}:
            # a library from before the signers were kept (another process may add it first)
            with contextlib.suppress(sqlite3.OperationalError):
                db.execute("ALTER TABLE samples ADD COLUMN signers TEXT NOT NULL DEFAULT ''")
        return db

    # --- the stored index ---

    @staticmethod
    def _link(db: sqlite3.Connection, sample: Sample) -> None:
        db.executemany("INSERT OR IGNORE INTO bands (key, sample) VALUES (?, ?)",
                       ((k, sample.id) for k in similarity.LshIndex.indexed_keys(sample.fingerprint)))
        links = similarity.link_keys(sample.package, sample.signers)
        db.executemany("INSERT OR IGNORE INTO links (kind, value, sample) VALUES (?, ?, ?)",
                       ((kind, value, sample.id) for kind, value in links))

    @staticmethod
    def _unlink(db: sqlite3.Connection, sample: Sample) -> None:
        db.executemany("DELETE FROM bands WHERE key = ? AND sample = ?",
                       ((k, sample.id) for k in similarity.LshIndex.indexed_keys(sample.fingerprint)))
        db.execute("DELETE FROM links WHERE sample = ?", (sample.id,))

    def _bands_ready(self, db: sqlite3.Connection) -> bool:
        """Whether ``bands`` and ``links`` hold every sample under the current key scheme;
        when they do not (a library written before they existed, or under another scheme),
        they are computed again here, unless the library is read-only."""
        import sqlite3

        if self._current(db):
            return True
        if self.read_only:
            return False
        try:
            with db:
                db.execute("DELETE FROM bands")
                db.execute("DELETE FROM links")
                for row in db.execute(f"SELECT {COLUMNS} FROM samples").fetchall():
                    self._link(db, _sample(row))
                db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('keys', ?)", (similarity.KEY_SCHEME,))
        except sqlite3.OperationalError:  # another process holds the library (building them too): not now
            return False
        return True

    @staticmethod
    def _current(db: sqlite3.Connection) -> bool:
        """Whether the bands were computed under the current key scheme."""
        import sqlite3

        try:
            row = db.execute("SELECT value FROM meta WHERE name = 'keys'").fetchone()
        except sqlite3.OperationalError:  # a read-only library from before the stored bands
            return False
        return row is not None and row[0] == similarity.KEY_SCHEME

    def _store(self, db: sqlite3.Connection, sha256: str, row: tuple[Any, ...]) -> Sample:
        """Insert or update the sample ``row`` (package, label, category, added, fingerprint
        JSON, signers) of ``sha256``, and its bands and links."""
        self._bands_ready(db)
        old = db.execute(f"SELECT {COLUMNS} FROM samples WHERE sha256 = ?", (sha256,)).fetchone()
        if old is not None:
            self._unlink(db, _sample(old))
        db.execute(
            "INSERT INTO samples (sha256, package, label, category, added, fingerprint, signers) "
            "VALUES (?,?,?,?,?,?,?) ON CONFLICT(sha256) DO UPDATE SET label=excluded.label, "
            "category=excluded.category, fingerprint=excluded.fingerprint, signers=excluded.signers",
            (sha256, *row),
        )
        sample = _sample(db.execute(f"SELECT {COLUMNS} FROM samples WHERE sha256 = ?", (sha256,)).fetchone())
        # asked now, inside this write: another process may have built the bands meanwhile
        if self._current(db):
            self._link(db, sample)
        return sample

    # --- editing ---

    def add(self, facts: ApkFacts, label: str, category: str = "") -> Sample:
        """Add (or relabel) a sample. Raises ValueError when the label names no category
        and none is given, or the facts carry no fingerprint to match with."""
        category = category or category_of(label)
        if category not in CATEGORIES:
            raise ValueError(
                f"label {label!r} names no finding category; add one of {', '.join(ILLEGAL)} "
                "(e.g. \"SilverLoan / fraud / loan\") or pass --category"
            )
        fp = facts.fingerprint
        if not (fp.code or fp.text or fp.files or fp.fuzzy):
            raise ValueError(f"{facts.file_name}: no fingerprint (was it read by this version of apkscan?)")
        added = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        blob = json.dumps(serial.to_jsonable(fp), separators=(",", ":"))
        signers = ",".join(signers_of(facts))
        with self._connect() as db:
            row = (facts.manifest.package, label.strip(), category, added, blob, signers)
            sample = self._store(db, facts.sha256, row)
        self._index = None
        return sample

    def remove(self, what: str) -> int:
        """Remove samples by SHA-256 (or a unique prefix of 8+ characters), package or exact label."""
        args: tuple[str, ...]
        if len(what) >= 8 and all(c in "0123456789abcdefABCDEF" for c in what):
            where, args = "sha256 LIKE ?", (what.lower() + "%",)
        else:
            where, args = "package = ? OR label = ?", (what, what)
        with self._connect() as db:
            self._bands_ready(db)
            gone = [_sample(r) for r in db.execute(f"SELECT {COLUMNS} FROM samples WHERE {where}", args).fetchall()]
            for sample in gone:  # no band or link may outlive its sample (ids are reused)
                self._unlink(db, sample)
            db.execute(f"DELETE FROM samples WHERE {where}", args)
        self._index = None
        return len(gone)

    def samples(self) -> list[Sample]:
        if not self.path.exists():
            return []
        with self._connect() as db:
            return [_sample(r) for r in db.execute(f"SELECT {COLUMNS} FROM samples ORDER BY label, package, sha256")]

    def export(self) -> dict[str, Any]:
        return {
            "format": "apkscan-known/1",
            "samples": [
                {
                    "sha256": s.sha256,
                    "package": s.package,
                    "label": s.label,
                    "category": s.category,
                    "added": s.added,
                    "fingerprint": serial.to_jsonable(s.fingerprint),
                    "signers": list(s.signers),
                }
                for s in self.samples()
            ],
        }

    def import_(self, doc: dict[str, Any]) -> int:
        if doc.get("format") != "apkscan-known/1" or not isinstance(doc.get("samples"), list):
            raise ValueError("not an apkscan known-sample export (format apkscan-known/1)")
        n = 0
        with self._connect() as db:
            for item in doc["samples"]:
                fp = serial.from_dict(Fingerprint, item["fingerprint"])
                category = str(item.get("category") or category_of(str(item["label"])))
                if category not in CATEGORIES:
                    raise ValueError(f"sample {item.get('sha256')}: unknown category {category!r}")
                signers = item.get("signers") or []
                if not isinstance(signers, list) or not all(_SHA256.fullmatch(str(x)) for x in signers):
                    raise ValueError(f"sample {item.get('sha256')}: signers must be a list of SHA-256 digests")
                self._store(db, str(item["sha256"]).lower(), (
                    str(item.get("package", "")),
                    str(item["label"]),
                    category,
                    str(item.get("added", "")),
                    json.dumps(serial.to_jsonable(fp), separators=(",", ":")),
                    ",".join(x.upper() for x in signers),
                ))
                n += 1
        self._index = None
        return n

    # --- matching ---

    def index(self) -> similarity.LshIndex:
        """An in-memory index of every sample: what a look-up uses when the stored bands
        cannot be (:meth:`match`)."""
        with self._lock:
            try:
                stamp = self.path.stat().st_mtime_ns
            except OSError:
                stamp = 0
            if self._index is None or stamp != self._stamp:  # another process edited it
                self._stamp = stamp
                index = similarity.LshIndex()
                self._samples = {}
                for s in self.samples():
                    self._samples[s.id] = s
                    index.add(s.id, s.fingerprint, s.package, s.signers)
                self._index = index
            return self._index

    def match(
        self, fp: Fingerprint, sha256: str = "", threshold: float = similarity.THRESHOLD, package: str = "",
        signers: tuple[str, ...] = (),
    ) -> list[Match]:
        """Samples similar to ``fp``, and samples of the app's own ``package`` name or
        signed with one of its ``signers`` at any score (the look-up of
        :meth:`similarity.LshIndex.query`, through the stored bands); the app itself, by
        SHA-256, is skipped. Best first."""
        db = self._connect()
        try:
            if not self._bands_ready(db):
                index = self.index()
                hits = index.query(fp, threshold, contained=True, package=package, signers=signers)
                return [Match(self._samples[k], sc, c) for k, sc, c in hits if self._samples[k].sha256 != sha256]
            keys = sorted(similarity.LshIndex.looked_up_keys(fp, contained=True))
            found = {r[0] for r in _rows_in(db, "SELECT DISTINCT sample FROM bands WHERE key IN ({})", keys)}
            linked: dict[int, set[str]] = {}
            for kind, value in similarity.link_keys(package, signers):
                for (sid,) in db.execute("SELECT sample FROM links WHERE kind = ? AND value = ?", (kind, value)):
                    linked.setdefault(sid, set()).add(kind)
            rows = _rows_in(db, f"SELECT {COLUMNS} FROM samples WHERE id IN ({{}})", sorted(found | linked.keys()))
            samples = {s.id: s for s in map(_sample, rows) if s.sha256 != sha256}
        finally:
            db.close()
        fps = {sid: sample.fingerprint for sid, sample in samples.items()}
        return [Match(samples[k], sc, c) for k, sc, c in similarity.rank(fp, fps, linked, threshold, contained=True)]

    def findings(self, facts: ApkFacts) -> list[Finding]:
        """One finding per matched family (:func:`finding`)."""
        signers = signers_of(facts)
        matches = self.match(facts.fingerprint, facts.sha256, package=facts.manifest.package, signers=signers)
        by_family: dict[tuple[str, str], list[Match]] = {}
        for m in matches:
            by_family.setdefault((m.sample.category, m.sample.family), []).append(m)
        return [finding(ms, signers) for ms in by_family.values()]


COLUMNS = "id, sha256, package, label, category, added, fingerprint, signers"


def _rows_in(db: sqlite3.Connection, sql: str, values: list[Any], chunk: int = 500) -> list[Any]:
    """The rows of ``sql`` (its ``{}`` an ``IN`` list) for ``values``, asked ``chunk`` at a
    time (SQLite limits the parameters of one statement)."""
    out: list[Any] = []
    for i in range(0, len(values), chunk):
        part = values[i : i + chunk]
        out += db.execute(sql.format(",".join("?" * len(part))), part).fetchall()
    return out
_SHA256 = re.compile(r"[0-9A-Fa-f]{64}")


def signers_of(facts: ApkFacts) -> tuple[str, ...]:
    """SHA-256 of the app's signing certificates that say who signed it: not the Android
    debug certificate or a public AOSP test key, which anyone can sign with."""
    return tuple(c.sha256 for c in facts.signing.certificates if not c.debug and not c.test_key)


def _sample(row: tuple[Any, ...]) -> Sample:
    sid, sha, package, label, category, added, blob, signers = row
    fp = serial.from_dict(Fingerprint, json.loads(blob))
    return Sample(sid, sha, package, label, category, added, fp, tuple(x for x in str(signers).split(",") if x))


def severity_for(category: str, score: float) -> Severity:
    """Illegal-app families: ``critical`` from :data:`STRONG`, ``high`` from :data:`MEDIUM`,
    else ``medium``. Other categories: ``medium`` from :data:`STRONG`, else ``low``."""
    if category in ILLEGAL:
        if score >= STRONG:
            return Severity.CRITICAL
        return Severity.HIGH if score >= MEDIUM else Severity.MEDIUM
    return Severity.MEDIUM if score >= STRONG else Severity.LOW


COMPONENTS = {
    "code": ("code shape", "代码结构"),
    "api": ("framework APIs", "框架API"),
    "text": ("string constants", "字符串常量"),
    "files": ("bundled files", "资源文件"),
    "shape": ("manifest shape", "清单结构"),
    "keys": ("string resource names", "字符串资源名"),
    "manifest": ("manifest bytes", "清单文件"),
    "resources": ("resource table", "资源表"),
    "web": ("web bundle", "网页包"),
    "dex": ("dex files", "dex文件"),
    similarity.CONTAINS: ("its core code held", "包含其核心代码"),
    similarity.PACKAGE: ("package name", "包名"),
    similarity.SIGNER: ("signing certificate", "签名证书"),
}
"""How a look-up's components read in a finding (``keys`` are resource names, not signing keys)."""


def _components(comps: dict[str, float], zh: bool) -> str:
    ordered = sorted(comps.items(), key=lambda kv: -kv[1])
    sep = "、" if zh else ", "
    return sep.join(f"{COMPONENTS.get(k, (k, k))[1 if zh else 0]} {v:.2f}" for k, v in ordered)


def _signer_note(sample: Sample, app_signers: tuple[str, ...]) -> tuple[str, str, bool]:
    """(English, Chinese, same signer) about the sample's signer against the app's."""
    if not sample.signers:
        return (
            "The library holds no signer for the sample (added before signers were kept, or signed with a debug "
            "or public test key).",
            "样本库中没有该样本的签名证书（添加时尚未记录，或其使用调试证书或公开测试密钥签名）。",
            False,
        )
    if set(sample.signers) & set(app_signers):
        return (
            f"Both are signed with the same key ({sample.signers[0][:16]}...): whoever holds that key built both.",
            f"二者使用同一签名密钥（{sample.signers[0][:16]}...）签名：出自同一密钥持有者。",
            True,
        )
    mine = app_signers[0][:16] + "..." if app_signers else "a debug or public test key"
    mine_zh = app_signers[0][:16] + "..." if app_signers else "调试证书或公开测试密钥"
    return (
        f"They are signed with different keys (sample {sample.signers[0][:16]}..., this app {mine}): a re-signed "
        "build, or an app that took the sample's name.",
        f"二者签名密钥不同（样本 {sample.signers[0][:16]}...，本应用 {mine_zh}）："
        "可能是重新签名的版本，也可能是冒用该样本名称的应用。",
        False,
    )


def finding(matches: list[Match], app_signers: tuple[str, ...] = ()) -> Finding:
    """"Similar to N known samples of family X": the closest sample, the similarity per
    component, and whether the app is signed with the sample's key. When no sample of the
    family is similar and only a link brought them (:meth:`similarity.LshIndex.query`),
    it says which: the app declares their package name (:data:`similarity.PACKAGE`: a
    build that moved far from the samples, or an app that took their name), or carries
    one of their signing certificates (:data:`similarity.SIGNER`: the same key holder
    built it). A package name alone is at most ``medium`` for an illegal-app family (it
    corroborates but never decides a verdict alone); the sample's own key (not a debug or
    test key) makes it ``high`` (a human confirms)."""
    best = matches[0]
    s = best.sample
    n = len(matches)
    comps, comps_zh = _components(best.components, False), _components(best.components, True)
    confidence = "high" if best.score >= STRONG else "medium" if best.score >= MEDIUM else "low"
    samples = "sample" if n == 1 else "samples"
    by_link = best.score < similarity.THRESHOLD  # only a package name or a certificate (query's rule) brought it
    signer, signer_zh, same_key = _signer_note(s, app_signers)
    evidence = tuple(
        Evidence(
            kind="known-sample",
            value=m.sample.sha256,
            detail=f"{m.sample.label}; {m.sample.package}; similarity {m.score:.2f}"
            + ("; same package name" if similarity.PACKAGE in m.components else "")
            + ("; same signing certificate" if similarity.SIGNER in m.components else ""),
        )
        for m in matches[:10]
    )
    zh_cat = CATEGORY_ZH.get(s.category, s.category)
    severity = severity_for(s.category, best.score)
    by_name = any(similarity.PACKAGE in m.components for m in matches)
    if by_link and same_key:
        severity = Severity.HIGH if s.category in ILLEGAL else Severity.MEDIUM
        confidence = "medium"
    if by_link and not by_name:
        title = f"Same signing certificate as {n} known {samples} of {s.family}"
        title_zh = f"与已知{zh_cat}样本家族 {s.family} 的 {n} 个样本签名证书相同"
        description = (
            f"The app carries the signing certificate {s.signers[0][:16]}... of {n} {samples} in the local "
            f"known-sample library labelled {s.label!r}, but its fingerprint is little like theirs: closest "
            f"{s.package or '?'} ({s.sha256[:16]}), similarity {best.score:.2f} ({comps}). Only the holder of "
            "a key signs with it: the same developer or operator built both, as another app of theirs or a "
            "build that a rewrite, packer or obfuscator moved far from the sample. (apkscan reads the "
            "certificate and does not verify the signature. A certificate an app generator's cloud build "
            "gives every customer links unrelated apps the same way: compare the certificate's subject.)"
        )
        description_zh = (
            f"本应用携带的签名证书 {s.signers[0][:16]}... 与本地已知样本库中标记为“{s.label}”的 {n} 个样本相同，"
            f"但指纹相似度低：最接近的样本 {s.package or '?'}（{s.sha256[:16]}），相似度 {best.score:.2f}"
            f"（{comps_zh}）。只有密钥持有者能用该密钥签名：二者出自同一开发者或经营者，可能是其另一款应用，"
            "也可能是经重写、加固或混淆后与样本差异较大的版本。（apkscan 读取证书但不校验签名。"
            "应用生成平台的云打包若为所有用户使用同一证书，也会把无关应用关联起来：请核对证书主体。）"
        )
    elif by_link:
        title = f"Same package name as {n} known {samples} of {s.family}"
        title_zh = f"与已知{zh_cat}样本家族 {s.family} 的 {n} 个样本包名相同"
        description = (
            f"The app declares the package name {s.package} of {n} {samples} in the local known-sample "
            f"library labelled {s.label!r}, but its fingerprint is little like theirs: closest "
            f"{s.sha256[:16]}, similarity {best.score:.2f} ({comps}). Either another build of the same "
            "app that changed much (a rewrite, a new packer or obfuscator), or an app that took the "
            f"sample's name, as impersonating apps take a bank's. {signer}"
        )
        description_zh = (
            f"本应用声明的包名 {s.package} 与本地已知样本库中标记为“{s.label}”的 {n} 个样本相同，"
            f"但指纹相似度低：最接近的样本 {s.sha256[:16]}，相似度 {best.score:.2f}（{comps_zh}）。"
            "可能是同一应用改动较大的另一版本（重写、换用加固或混淆工具），也可能是冒用该包名的应用"
            f"（仿冒应用常冒用银行应用的包名）。{signer_zh}"
        )
    else:
        title = f"Similar to {n} known {samples} of {s.family}"
        title_zh = f"与已知{zh_cat}样本家族 {s.family} 的 {n} 个样本相似"
        description = (
            f"The app's fingerprint is similar to {n} {samples} in the local known-sample library labelled "
            f"{s.label!r}; closest: {s.package or '?'} ({s.sha256[:16]}), similarity {best.score:.2f} "
            f"({comps}). Apps stamped out of one kit keep their code shape, string constants, "
            f"bundled files and web bundle while names, signing keys and servers change. {signer}"
        )
        description_zh = (
            f"本应用的指纹与本地已知样本库中标记为“{s.label}”的 {n} 个样本相似；最接近的样本："
            f"{s.package or '?'}（{s.sha256[:16]}），相似度 {best.score:.2f}（{comps_zh}）。"
            f"同一套源码或打包工具生成的应用，改换名称、签名和服务器后，代码结构、字符串常量、资源文件和网页包仍然相同。{signer_zh}"
        )
    return Finding(
        rule_id=f"KNOWN-{s.category.upper()}",
        title=title,
        title_zh=title_zh,
        severity=severity,
        confidence=confidence,
        category=s.category,
        description=description,
        description_zh=description_zh,
        remediation="Compare the app with the closest sample; confirm or correct the library label.",
        remediation_zh="与最接近的样本比对，确认或更正样本库中的标签。",
        tags=("known-sample", f"family:{s.family}"),
        references=(REFERENCE,),
        evidence=evidence,
        source="builtin",
        fingerprint=f"KNOWN-{s.category.upper()}|{s.family}",
    )


_default: KnownLibrary | None = None
_default_lock = threading.Lock()


def open_default(path: Path | None = None) -> KnownLibrary | None:
    """The library at ``path`` (default :func:`apkscan.runtime.known_db_path`), or None when it does not
    exist (nothing to match). Cached per process; for scan, batch and the service."""
    global _default
    path = path or known_db_path()
    if not path.exists():
        return None
    # SQLite writes a journal beside the file: without write access to both, read only
    read_only = not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))
    with _default_lock:
        if _default is None or _default.path != path or _default.read_only != read_only:
            _default = KnownLibrary(path, read_only)
        return _default
