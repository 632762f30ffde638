"""Families in a batch store, and the version check of apps that come back (issue 16).

A family is a connected group of apps linked by any of:

* ``similar``: a similarity score (:func:`apkscan.similarity.similarity`) at or above
  the threshold (:data:`apkscan.similarity.THRESHOLD`, measured in docs/families.md);
  candidate pairs come from the LSH index, never from comparing every pair;
* ``signer``: the same signing certificate (not a debug or public AOSP test key);
* ``domain``: the same server domain, when few apps use it (at most :data:`DOMAIN_MAX_APPS`
  and a quarter of the store, well-known domains ignored): a CDN or SDK host says nothing;
* ``generator``: the same app-generator account (DCloud ``__UNI__`` id, APICloud id);
* ``package``: the same package name (:func:`apkscan.similarity.app_package`: not a
  placeholder that unrelated apps share): builds of one app, however far a rewrite moved
  them, or an app that took another's name (as the known-sample library links them).

:func:`update` recomputes the ``families`` and ``family_evidence`` tables; with a Dask
scheduler address the candidate pairs are scored on the cluster.
:func:`version_changes` compares an app with the previous build of the same package in
the store: how far code, assets, web bundle, servers, SDKs and signer moved.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations, pairwise
from typing import Any

from apkscan import similarity
from apkscan.batch.store import Store, now
from apkscan.facts import Fingerprint
from apkscan.serial import from_dict

DOMAIN_MAX_APPS = 20
MAX_GROUP_LINKS = 200
"""A shared signer/domain/generator id links its apps in a chain (n - 1 edges, not all
pairs); the first this many links of each are kept as evidence."""


@dataclass
class Family:
    id: int
    members: list[str]
    evidence: list[tuple[str, str, str, str, float]] = field(default_factory=list)
    """(kind, value, app a, app b, score): ``similar`` (value: the components as JSON),
    ``signer``, ``domain``, ``generator`` or ``package``."""


def load_fingerprints(store: Store) -> dict[str, Fingerprint]:
    out: dict[str, Fingerprint] = {}
    for row in store.iter_rows(
        "SELECT f.sha256, f.data FROM fingerprints f JOIN apks a ON a.sha256 = f.sha256 WHERE a.status = 'ok'"
    ):
        out[str(row[0])] = from_dict(Fingerprint, json.loads(row[1]))
    return out


def link_groups(store: Store) -> list[tuple[str, str, list[str]]]:
    """(kind, value, apps) of the shared signers, rare domains, generator ids and package names."""
    groups: list[tuple[str, str, list[str]]] = []
    for row in store.iter_rows(
        "SELECT cert_sha256, GROUP_CONCAT(sha256) FROM certs WHERE debug = 0 AND test_key = 0 "
        "GROUP BY cert_sha256 HAVING COUNT(DISTINCT sha256) > 1"
    ):
        groups.append(("signer", str(row[0]), sorted(set(str(row[1]).split(",")))))
    n_ok = store.db.execute("SELECT COUNT(*) FROM apks WHERE status = 'ok'").fetchone()[0] or 0
    cap = min(DOMAIN_MAX_APPS, max(2, n_ok // 4))
    for row in store.iter_rows(
        "SELECT d.domain, GROUP_CONCAT(d.sha256) FROM domains d "
        "WHERE NOT EXISTS (SELECT 1 FROM ignored_domains i WHERE d.domain = i.domain "
        "OR d.domain LIKE '%.' || i.domain) GROUP BY d.domain "
        "HAVING COUNT(DISTINCT d.sha256) > 1 AND COUNT(DISTINCT d.sha256) <= ?",
        (cap,),
    ):
        groups.append(("domain", str(row[0]), sorted(set(str(row[1]).split(",")))))
    for row in store.iter_rows(
        "SELECT kind || ':' || id, GROUP_CONCAT(sha256) FROM generator_ids GROUP BY kind, id "
        "HAVING COUNT(DISTINCT sha256) > 1"
    ):
        groups.append(("generator", str(row[0]), sorted(set(str(row[1]).split(",")))))
    for row in store.iter_rows(
        "SELECT package, GROUP_CONCAT(sha256) FROM apks WHERE status = 'ok' AND package <> '' "
        "GROUP BY package HAVING COUNT(DISTINCT sha256) > 1"
    ):
        if similarity.app_package(str(row[0])):
            groups.append(("package", str(row[0]), sorted(set(str(row[1]).split(",")))))
    return groups


def _score_chunk(pairs: list[tuple[str, str]], fps: dict[str, Fingerprint], threshold: float) -> list[Any]:
    out = []
    for a, b in pairs:
        s, comps = similarity.similarity(fps[a], fps[b])
        if s >= threshold:
            out.append((a, b, s, comps))
    return out


def candidate_pairs(fps: dict[str, Fingerprint]) -> list[tuple[str, str]]:
    """Pairs that share at least one LSH band of one sketch (each pair once)."""
    index = similarity.LshIndex()
    pairs: list[tuple[str, str]] = []
    for key in sorted(fps):
        fp = fps[key]
        pairs += [(other, key) for other in sorted(index.candidates(fp))]
        index.add(key, fp)
    return pairs


def similar_pairs(
    fps: dict[str, Fingerprint], threshold: float = similarity.THRESHOLD, scheduler: str | None = None,
    chunk: int = 20000,
) -> list[tuple[str, str, float, dict[str, float]]]:
    pairs = candidate_pairs(fps)
    if not scheduler or not pairs:
        return _score_chunk(pairs, fps, threshold)
    import distributed  # an optional dependency (apkscan[batch])

    dist: Any = distributed
    client: Any = dist.Client(scheduler, timeout="20s")
    try:
        futures = []
        for i in range(0, len(pairs), chunk):
            part = pairs[i : i + chunk]
            keys = {k for p in part for k in p}
            futures.append(client.submit(_score_chunk, part, {k: fps[k] for k in keys}, threshold, pure=False))
        out: list[tuple[str, str, float, dict[str, float]]] = []
        for f in futures:
            out += f.result()
        return out
    finally:
        client.close()


def compute(
    store: Store, threshold: float = similarity.THRESHOLD, scheduler: str | None = None
) -> list[Family]:
    """The families of the store (groups of two or more apps), largest first."""
    fps = load_fingerprints(store)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    edges: list[tuple[str, str, str, str, float]] = []
    if scheduler:
        for a, b, s, comps in similar_pairs(fps, threshold, scheduler):
            union(a, b)
            edges.append(("similar", json.dumps(comps, sort_keys=True), a, b, s))
    else:
        # a candidate pair already in one group is not scored: a kit of 1,000 clones costs
        # about 1,000 comparisons instead of 500,000 (the evidence is a spanning forest)
        for a, b in candidate_pairs(fps):
            if find(a) == find(b):
                continue
            s, comps = similarity.similarity(fps[a], fps[b])
            if s >= threshold:
                union(a, b)
                edges.append(("similar", json.dumps(comps, sort_keys=True), a, b, s))
    for kind, value, apps in link_groups(store):
        for i, (a, b) in enumerate(pairwise(apps)):
            union(a, b)
            if i < MAX_GROUP_LINKS:
                edges.append((kind, value, a, b, 1.0))
    members: dict[str, list[str]] = defaultdict(list)
    for x in list(parent):
        members[find(x)].append(x)
    groups = sorted((sorted(m) for m in members.values() if len(m) > 1), key=lambda m: (-len(m), m[0]))
    fam_of = {sha: i + 1 for i, m in enumerate(groups) for sha in m}
    families = [Family(i + 1, m) for i, m in enumerate(groups)]
    for e in edges:
        families[fam_of[e[2]] - 1].evidence.append(e)
    return families


def write(store: Store, families: list[Family]) -> None:
    with store.db:
        store.db.execute("DELETE FROM families")
        store.db.execute("DELETE FROM family_evidence")
        store.db.executemany("INSERT INTO families(family, sha256) VALUES (?, ?)",
                             [(f.id, sha) for f in families for sha in f.members])
        store.db.executemany(
            "INSERT INTO family_evidence(family, kind, value, a, b, score) VALUES (?, ?, ?, ?, ?, ?)",
            [(f.id, *e) for f in families for e in f.evidence],
        )


def update(store: Store, threshold: float = similarity.THRESHOLD, scheduler: str | None = None) -> list[Family]:
    families = compute(store, threshold, scheduler)
    write(store, families)
    return families


def summary(store: Store) -> list[dict[str, Any]]:
    """Per family: id, size, members (package, label, version, verdict), the shared evidence
    (kind, value, how many links) and the verdict counts: what the dashboard and
    ``apkscan query --family all`` show."""
    out: dict[int, dict[str, Any]] = {}
    for row in store.iter_rows(
        "SELECT f.family, a.sha256, a.package, a.label, a.version_name, r.verdict FROM families f "
        "JOIN apks a ON a.sha256 = f.sha256 LEFT JOIN current_results r ON r.sha256 = f.sha256 "
        "ORDER BY f.family, a.package, a.sha256"
    ):
        fam = out.setdefault(int(row[0]), {"family": int(row[0]), "members": [], "evidence": [], "verdicts": {}})
        fam["members"].append(
            {"sha256": row[1], "package": row[2], "label": row[3], "version": row[4], "verdict": row[5] or ""}
        )
        v = row[5] or "none"
        fam["verdicts"][v] = fam["verdicts"].get(v, 0) + 1
    for row in store.iter_rows(
        "SELECT family, kind, CASE WHEN kind = 'similar' THEN '' ELSE value END AS v, COUNT(*), MAX(score) "
        "FROM family_evidence GROUP BY family, kind, v ORDER BY family, kind, COUNT(*) DESC"
    ):
        found = out.get(int(row[0]))
        if found is not None:
            found["evidence"].append({"kind": row[1], "value": row[2], "links": row[3], "best": row[4]})
    for fam in out.values():
        fam["size"] = len(fam["members"])
    return sorted(out.values(), key=lambda f: (-f["size"], f["family"]))


# --- version check ----------------------------------------------------------------------


def _set(store: Store, sql: str, sha: str) -> set[str]:
    return {str(r[0]) for r in store.iter_rows(sql, (sha,))}


def version_changes(store: Store, sha256: str) -> dict[str, Any] | None:
    """How far this build moved from the latest other build of its package in the store
    (None when there is none): similarity per component (1 = unchanged), and the servers,
    SDKs and signers added and removed. ``swapped`` names the components under 0.5."""
    row = store.db.execute(
        "SELECT package, data FROM fingerprints WHERE sha256 = ?", (sha256,)
    ).fetchone()
    if row is None or not row[0]:
        return None
    prev = store.db.execute(
        "SELECT f.sha256, f.data FROM fingerprints f JOIN apks a ON a.sha256 = f.sha256 "
        "WHERE f.package = ? AND f.sha256 <> ? AND a.status = 'ok' ORDER BY a.scanned_at DESC LIMIT 1",
        (row[0], sha256),
    ).fetchone()
    if prev is None:
        return None
    new_fp = from_dict(Fingerprint, json.loads(row[1]))
    old_fp = from_dict(Fingerprint, json.loads(prev[1]))
    score, comps = similarity.similarity(new_fp, old_fp)
    old, new = str(prev[0]), sha256
    digest = "(SELECT value FROM meta WHERE key = 'rules_digest')"

    def moved(sql: str) -> dict[str, list[str]]:
        a, b = _set(store, sql, old), _set(store, sql, new)
        return {"added": sorted(b - a), "removed": sorted(a - b)}

    signer = moved("SELECT cert_sha256 FROM certs WHERE sha256 = ?")
    return {
        "package": row[0],
        "sha256": new,
        "previous": old,
        "score": score,
        "components": comps,
        "swapped": sorted(k for k, v in comps.items() if v < 0.5),
        "domains": moved("SELECT domain FROM domains WHERE sha256 = ?"),
        "sdks": moved(f"SELECT sdk_id FROM sdks WHERE sha256 = ? AND rules_digest = {digest}"),
        "signer_changed": bool(signer["added"] or signer["removed"]),
        "signers": signer,
    }


def record_versions(store: Store, shas: list[str]) -> int:
    """Store :func:`version_changes` of each of ``shas`` that has an earlier build; the count."""
    n = 0
    with store.db:
        for sha in shas:
            change = version_changes(store, sha)
            if change is None:
                continue
            store.db.execute(
                "INSERT OR REPLACE INTO versions(sha256, package, previous_sha256, data, compared_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (sha, change["package"], change["previous"], json.dumps(change, ensure_ascii=False), now()),
            )
            n += 1
    return n


def brute_force_pairs(
    fps: dict[str, Fingerprint], threshold: float = similarity.THRESHOLD
) -> list[tuple[str, str, float, dict[str, float]]]:
    """Every pair scored (the baseline the LSH index is measured against)."""
    return _score_chunk(list(combinations(sorted(fps), 2)), fps, threshold)
