"""Near-neighbour search and clustering speed: the LSH index against brute force, in one run.

    python benchmarks/bench_similarity.py [--seeds DIR] [--sizes 1000,10000,100000] [--cluster 10000]
                                          [--queries 200] [--brute-queries 5] [--brute-cluster 1000]
                                          [--no-stored] [--stored-queries 50]

Synthetic fingerprints are derived from real ones: the top-level APKs of the corpus
(``../shared/corpus/*.apk``, or ``--seeds``) are fingerprinted as a scan does, then mutated
(a share of each MinHash slot and of each TLSH digest's hex digits replaced at random):
"family" mutants keep 70-95% of their seed, "background" ones 0-30%. Printed:

* matching one app against libraries of each size: LSH index (mean and p95 over
  ``--queries`` look-ups, half of them mutants of a library member, half unrelated apps;
  how many candidates were scored; how many matched) beside brute force (every sample
  scored, mean of ``--brute-queries`` look-ups), and the growth factor per tenfold library;
* the same libraries written to a known-sample database (``known.sqlite``): the seconds
  its first use takes to compute the stored bands, the file size, and a look-up as one
  ``apkscan scan`` makes it (open the file, read the bands of the app's keys, then only the
  candidates' fingerprints; the first ``--stored-queries`` queries);
* clustering ``--cluster`` apps (all similar pairs) with the index, beside brute force over
  ``--brute-cluster`` apps (every pair scored) extrapolated to ``--cluster`` by the pair count
  (quadratic), and the pairs each finds on that subset (the index's recall of brute force).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apkscan import similarity  # noqa: E402
from apkscan.batch.families import brute_force_pairs, similar_pairs  # noqa: E402
from apkscan.errors import ApkscanError  # noqa: E402
from apkscan.extract.apk import extract  # noqa: E402
from apkscan.facts import Fingerprint  # noqa: E402
from apkscan.rules.loader import load_rules  # noqa: E402
from apkscan.sdk import SdkMatcher, dotted_classes  # noqa: E402

HEX = "0123456789ABCDEF"


def seeds(folder: Path) -> list[Fingerprint]:
    matcher = SdkMatcher(load_rules().sdks)
    out = []
    for path in sorted(folder.glob("*.apk")):
        try:
            facts = extract(path)
        except ApkscanError:
            continue
        matcher.detect(facts, dotted_classes(facts))
        fp = similarity.fingerprint(facts, matcher)
        if fp.code or fp.api or fp.files or fp.text:
            out.append(fp)
    return out


def mutate(fp: Fingerprint, keep: float, rng: random.Random) -> Fingerprint:
    def sketch(s: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(v if rng.random() < keep else rng.getrandbits(64) for v in s)

    def digest(d: str) -> str:
        body = "".join(c if rng.random() < keep else rng.choice(HEX) for c in d[8:])
        return d[:8] + body

    return replace(
        fp,
        code=sketch(fp.code), api=sketch(fp.api), text=sketch(fp.text), files=sketch(fp.files),
        shape=sketch(fp.shape),
        fuzzy=tuple((c, digest(d)) for c, d in fp.fuzzy),
    )


def synthetic(base: list[Fingerprint], n: int, rng: random.Random, family_share: float = 0.5) -> list[Fingerprint]:
    """``n`` mutants: ``family_share`` of them in families of about 10 around a family
    root (itself a light mutant of a seed), the rest unrelated background apps."""
    out: list[Fingerprint] = []
    n_family = int(n * family_share)
    while len(out) < n_family:
        root = mutate(rng.choice(base), rng.uniform(0.3, 0.6), rng)
        for _ in range(rng.randint(5, 15)):
            out.append(mutate(root, rng.uniform(0.7, 0.95), rng))
    out = out[:n_family]
    while len(out) < n:
        out.append(mutate(rng.choice(base), rng.uniform(0.0, 0.3), rng))
    rng.shuffle(out)
    return out


def stored_library(lib: list[Fingerprint], queries: list[Fingerprint]) -> tuple[list[float], int, int, float]:
    """Per look-up seconds, matches, file size and the seconds the first look-up took to
    build the stored bands, for ``lib`` written as a known-sample library (rows inserted
    as a library from before the bands would hold them: the first use computes them)."""
    import sqlite3
    import tempfile

    from apkscan import serial
    from apkscan.known import SCHEMA, KnownLibrary

    folder = Path(tempfile.mkdtemp(prefix="apkscan-bench-stored-"))
    path = folder / "known.sqlite"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    with db:
        db.executemany(
            "INSERT INTO samples (sha256, package, label, category, added, fingerprint, signers) "
            "VALUES (?,?,?,?,?,?,?)",
            ((f"{i:064x}", f"org.synthetic.app{i}", f"Kit{i % 500} / fraud", "fraud", "",
              json.dumps(serial.to_jsonable(fp), separators=(",", ":")), "") for i, fp in enumerate(lib)),
        )
    db.close()
    t = time.perf_counter()
    KnownLibrary(path).match(queries[0])
    built = time.perf_counter() - t
    times, matched = [], 0
    for q in queries:
        t = time.perf_counter()
        matched += bool(KnownLibrary(path).match(q))
        times.append(time.perf_counter() - t)
    size = path.stat().st_size
    shutil.rmtree(folder)
    return times, matched, size, built


def ms(values: list[float]) -> str:
    v = sorted(values)
    return f"mean {statistics.fmean(v) * 1000:6.2f} ms, p95 {v[int(0.95 * (len(v) - 1))] * 1000:6.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    corpus = Path(os.environ.get("APKSCAN_CORPUS", ROOT.parent / "shared" / "corpus"))
    ap.add_argument("--seeds", type=Path, default=corpus)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--cluster", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--brute-queries", type=int, default=5)
    ap.add_argument("--brute-cluster", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--no-stored", action="store_true",
                    help="skip the stored libraries (about 1 GB of disk at 100,000)")
    ap.add_argument("--stored-queries", type=int, default=50)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    base = seeds(args.seeds)
    print(f"{len(base)} real fingerprints from {args.seeds} in {time.perf_counter() - t0:.1f} s; "
          f"threshold {similarity.THRESHOLD}, {similarity.BANDS} bands x {similarity.ROWS} rows per sketch")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print("\nmatching one app against a library (queries: mutants of library members and unrelated apps)")
    print("  library     LSH index (per look-up)                                        brute force   build")
    previous = None
    stored: list[tuple[int, list[float], int, int, float]] = []
    for n in sizes:
        lib = synthetic(base, n, rng)
        t = time.perf_counter()
        index = similarity.LshIndex()
        for i, fp in enumerate(lib):
            index.add(i, fp)
        build = time.perf_counter() - t
        queries = [mutate(lib[rng.randrange(n)], 0.8, rng) if k % 2 else mutate(rng.choice(base), 0.1, rng)
                   for k in range(args.queries)]
        lsh_t, hits, cands = [], 0, 0
        for q in queries:
            t = time.perf_counter()
            hits += bool(index.query(q))
            lsh_t.append(time.perf_counter() - t)
            cands += len(index.candidates(q))
        brute_t = []
        for q in queries[: args.brute_queries]:
            t = time.perf_counter()
            [s for s in (similarity.similarity(q, fp)[0] for fp in lib) if s >= similarity.THRESHOLD]
            brute_t.append(time.perf_counter() - t)
        mean = statistics.fmean(lsh_t)
        growth = f"  x{mean / previous:.1f} per tenfold" if previous else ""
        previous = mean
        print(f"  {n:>7,}   {ms(lsh_t)}, {cands / len(queries):5.1f} scored, {hits:3d}/{len(queries)} matched   "
              f"{statistics.fmean(brute_t) * 1000:8.1f} ms   {build:5.1f} s{growth}")
        del index
        if not args.no_stored:
            stored.append((n, *stored_library(lib, queries[: args.stored_queries])))
        del lib

    if stored:
        print("\nthe same libraries stored (known.sqlite): a look-up as one `apkscan scan` makes it, opening the file, "
              "reading the bands\nof its keys, then only its candidates' fingerprints (the known-sample look-up, "
              "core containment included)")
        print("  library     per look-up                                   matched   file     bands built")
        previous = None
        for n, times, matched, size, built in stored:
            mean = statistics.fmean(times)
            growth = f"  x{mean / previous:.1f} per tenfold" if previous else ""
            previous = mean
            print(f"  {n:>7,}   {ms(times)}   {matched:3d}/{len(times)}   {size / 1e6:6.0f} MB  {built:6.1f} s{growth}")

    print(f"\nclustering {args.cluster:,} synthetic apps (every pair at or above the threshold)")
    apps = {f"app{i:06d}": fp for i, fp in enumerate(synthetic(base, args.cluster, rng))}
    t = time.perf_counter()
    pairs = similar_pairs(apps)
    lsh_s = time.perf_counter() - t
    print(f"  LSH index:   {lsh_s:8.1f} s  {len(pairs):,} similar pairs")
    sub = dict(list(apps.items())[: args.brute_cluster])
    t = time.perf_counter()
    brute = brute_force_pairs(sub)
    brute_s = time.perf_counter() - t
    n_sub, n_all = len(sub), len(apps)
    factor = (n_all * (n_all - 1)) / max(1, n_sub * (n_sub - 1))
    lsh_sub = similar_pairs(sub)
    found = {(a, b) for a, b, *_ in lsh_sub} | {(b, a) for a, b, *_ in lsh_sub}
    recall = sum(1 for a, b, *_ in brute if (a, b) in found) / max(1, len(brute))
    print(f"  brute force: {brute_s:8.1f} s over {n_sub:,} apps ({len(brute):,} pairs) -> "
          f"{brute_s * factor:,.0f} s extrapolated to {n_all:,} apps (x{factor:.0f} pairs)")
    print(f"  on those {n_sub:,} apps the index finds {recall:.1%} of brute force's pairs")


if __name__ == "__main__":
    main()
