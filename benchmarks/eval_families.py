"""Families and known-sample matching on labelled real APKs: pair precision/recall per threshold.

    python benchmarks/eval_families.py [--bench DIR] [--corpus DIR] [--threshold T] [--pairs]

Every APK of the labelled benchmark (``../shared/benchmark``, ``MANIFEST.tsv``: the
``family_or_type`` column names the family) and the top-level APKs of the corpus
(``../shared/corpus/*.apk``, all taken as unrelated ordinary apps unless they share a
package) is read in this process (static reading only; nothing is copied, installed or
extracted) and fingerprinted as a scan does (:func:`apkscan.similarity.fingerprint`).

Printed:

* for thresholds 0.3 to 0.9: over all pairs of benchmark apps, precision and recall of
  "same family" (score >= threshold) against the manifest's family names, and the number
  of corpus pairs that would link (false links unless the two share a package);
* the positive pairs (same family) with their score and components, and the strongest
  negative pairs (``--pairs`` prints all of them); ``R`` marks a pair that reaches the
  threshold only through the mean of the obfuscation-resistant components
  (:data:`apkscan.similarity.RESISTANT`), not through the mean of every component;
* the known-sample test: a library built from the first half (by file name) of each
  family with two or more samples, queried with the other half (matched or not) and with
  every ordinary app (benign benchmark apps outside those families and the corpus): the
  false-match rate. The look-up is the library's (:func:`apkscan.similarity.lookup`:
  the score, or the share of a sample's core code the app holds, whichever is larger;
  a sample of the app's own package name is a match at any score, counted apart);
* core containment with every app (benchmark and corpus) taken as a library sample in
  turn: how many (sample, app) pairs of the same family, and of different families,
  reach the threshold on containment alone, and the strongest of each.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apkscan import similarity  # noqa: E402
from apkscan.batch.families import similar_pairs  # noqa: E402
from apkscan.errors import ApkscanError  # noqa: E402
from apkscan.extract.apk import extract  # noqa: E402
from apkscan.facts import Fingerprint  # noqa: E402
from apkscan.rules.loader import load_rules  # noqa: E402
from apkscan.sdk import SdkMatcher, dotted_classes  # noqa: E402

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


SIGNERS: dict[str, set[str]] = {}
"""file -> signing certificates that are neither debug nor public test keys (the batch's signer link)."""


def fingerprint_of(path: Path, matcher: SdkMatcher, key: str = "") -> tuple[Fingerprint, str]:
    facts = extract(path)
    hits = matcher.detect(facts, dotted_classes(facts))
    SIGNERS[key or path.name] = {c.sha256 for c in facts.signing.certificates if not (c.debug or c.test_key)}
    return similarity.fingerprint(facts, matcher, hits), facts.manifest.package


def via(comps: dict[str, float], score: float, threshold: float) -> str:
    """``R`` when the pair reaches the threshold only through the mean of the resistant
    components (:func:`apkscan.similarity.score`), not through the mean of every component."""
    every = round(sum(comps.values()) / len(comps), 3) if comps else 0.0
    return " R" if every < threshold <= score else "  "


def components(names: list[str], edges: list[tuple[str, str]]) -> dict[str, str]:
    parent = {n: n for n in names}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    return {n: find(n) for n in names}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = ROOT.parent / "shared"
    ap.add_argument("--bench", type=Path, default=Path(os.environ.get("APKSCAN_BENCHMARK", shared / "benchmark")))
    ap.add_argument("--corpus", type=Path, default=Path(os.environ.get("APKSCAN_CORPUS", shared / "corpus")))
    ap.add_argument("--threshold", type=float, default=similarity.THRESHOLD)
    ap.add_argument("--pairs", action="store_true", help="print every negative pair above 0.2")
    ap.add_argument("--dump", type=Path, help="write every pair's components to this JSON file")
    args = ap.parse_args()

    rules = load_rules()
    matcher = SdkMatcher(rules.sdks)
    t0 = time.perf_counter()
    family: dict[str, str] = {}
    label: dict[str, str] = {}
    fps: dict[str, Fingerprint] = {}
    packages: dict[str, str] = {}
    with (args.bench / "MANIFEST.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            name = row["file"]
            path = args.bench / name
            if not path.exists():
                path = args.bench / "malicious" / name
            if not path.exists():
                continue
            try:
                fps[name], packages[name] = fingerprint_of(path, matcher, name)
            except ApkscanError as exc:
                print(f"skip {name}: {exc}")
                continue
            family[name] = row["family_or_type"].strip()
            label[name] = row["label"]
    corpus: dict[str, Fingerprint] = {}
    for path in sorted(args.corpus.glob("*.apk")):
        try:
            fp, pkg = fingerprint_of(path, matcher)
        except ApkscanError:
            continue
        corpus["corpus/" + path.name] = fp
        packages["corpus/" + path.name] = pkg
    print(
        f"{len(fps)} benchmark APKs, {len(corpus)} corpus APKs fingerprinted in {time.perf_counter() - t0:.1f} s; "
        f"code sketch from {sum(1 for f in fps.values() if f.code_features >= similarity.MIN_FEATURES)} of them"
    )

    names = sorted(fps)
    scored = []
    for a, b in combinations(names, 2):
        s, comps = similarity.similarity(fps[a], fps[b])
        scored.append((a, b, s, comps, family[a] == family[b]))
    cnames = sorted(corpus)
    cscored = []
    for a, b in combinations(cnames, 2):
        s, comps = similarity.similarity(corpus[a], corpus[b])
        cscored.append((a, b, s, comps, packages[a] == packages[b] and packages[a] != ""))
    if args.dump:
        args.dump.write_text(json.dumps([[a, b, comps, same] for a, b, _, comps, same in scored + cscored]))
    positives = sum(1 for x in scored if x[4])
    every_fp = {**fps, **corpus}
    lsh = {(a, b) for a, b, *_ in similar_pairs(every_fp, args.threshold)}
    brute = [(a, b) for a, b, s, *_ in scored + cscored if s >= args.threshold]
    found = sum(1 for a, b in brute if (a, b) in lsh or (b, a) in lsh)
    print(f"the LSH index finds {found} of the {len(brute)} pairs at the threshold that comparing every pair finds")
    print(f"\nbenchmark pairs: {len(scored)} ({positives} same-family); corpus pairs: {len(cscored)}")
    print("threshold  precision  recall   TP  FP  FN   corpus links (same package)")
    for t in THRESHOLDS + ((args.threshold,) if args.threshold not in THRESHOLDS else ()):
        tp = sum(1 for x in scored if x[2] >= t and x[4])
        fp = sum(1 for x in scored if x[2] >= t and not x[4])
        fn = positives - tp
        cl = [x for x in cscored if x[2] >= t]
        prec = tp / (tp + fp) if tp + fp else 1.0
        mark = "  <- used" if abs(t - args.threshold) < 1e-9 else ""
        print(
            f"  {t:.2f}     {prec:6.1%}   {tp / positives if positives else 1:6.1%}  {tp:3d} {fp:3d} {fn:3d}   "
            f"{len(cl)} ({sum(1 for x in cl if x[4])}){mark}"
        )

    # families as a batch forms them: connected groups of similar pairs, package names and shared signers
    sim_edges = [(a, b) for a, b, sc, _, _ in scored if sc >= args.threshold]
    signer_edges = [(a, b) for a, b in combinations(names, 2) if SIGNERS[a] & SIGNERS[b]]
    package_edges = [(a, b) for a, b in combinations(names, 2) if similarity.same_app(packages[a], packages[b])]
    for label_, edges in (("similarity only", sim_edges), ("similarity + same package", sim_edges + package_edges),
                          ("similarity + package + shared signer, as a batch links them",
                           sim_edges + package_edges + signer_edges),
                          ("shared signer only", signer_edges)):
        comp = components(names, edges)
        tp = sum(1 for a, b, *_r, same in scored if same and comp[a] == comp[b])
        fp = sum(1 for a, b, *_r, same in scored if not same and comp[a] == comp[b])
        groups = len({comp[n] for n in names if sum(1 for m in names if comp[m] == comp[n]) > 1})
        print(f"families ({label_}): {groups} groups; pairs in one group: precision "
              f"{tp / max(1, tp + fp):.1%}, recall {tp / max(1, positives):.1%} (TP {tp}, FP {fp})")

    print(f"\nsame-family pairs (threshold {args.threshold}):")
    for a, b, s, comps, same in sorted(scored, key=lambda x: (family[x[0]], -x[2])):
        if same:
            ok = "yes" if s >= args.threshold else "NO "
            print(f"  {ok} {s:.2f}{via(comps, s, args.threshold)}  {a} ~ {b}  {comps}")
    print("\nstrongest other pairs:")
    neg = sorted((x for x in scored + cscored if not x[4]), key=lambda x: -x[2])
    for a, b, s, comps, _ in neg[: 1000 if args.pairs else 10]:
        if args.pairs and s < 0.2:
            break
        print(f"  {s:.2f}{via(comps, s, args.threshold)}  {a} ~ {b}  {comps}")
    linked = [x for x in scored + cscored if x[2] >= args.threshold]
    by_resistant = [x for x in linked if via(x[3], x[2], args.threshold) == " R"]
    print(
        f"\npairs at the threshold: {len(linked)}, {len(by_resistant)} of them through the resistant components "
        f"alone ({sum(1 for x in by_resistant if x[4])} same family)"
    )

    # known-sample library: half of each multi-sample family in, the other half queried
    groups: dict[str, list[str]] = defaultdict(list)
    for n in names:
        groups[family[n]].append(n)
    index = similarity.LshIndex()
    held_out: list[str] = []
    for _fam, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        half = (len(members) + 1) // 2
        for n in members[:half]:
            index.add(n, fps[n], packages[n], SIGNERS[n])
        held_out += members[half:]
    lib_families = {family[k] for k in index.items}
    matched = 0
    print(
        f"\nknown-sample library of {len(index)} samples from {len(lib_families)} families; "
        f"held out {len(held_out)}:"
    )
    by_name = by_signer = 0

    def look(n: str) -> list[tuple[str, float, dict[str, float]]]:
        return index.query(every[n], args.threshold, contained=True, package=packages[n], signers=SIGNERS.get(n, ()))

    every = {**fps, **corpus}
    for n in held_out:
        hits = look(n)
        right = [h for h in hits if family[h[0]] == family[n]]
        matched += bool(right)
        only_link = bool(right) and all(h[1] < args.threshold for h in right)
        named = only_link and any(similarity.PACKAGE in h[2] for h in right)
        by_name += named
        by_signer += only_link and not named
        best = f"{hits[0][1]:.2f} {hits[0][0]}" if hits else "no match"
        how = ", by its package name only" if named else ", by its signing certificate only" if only_link else ""
        print(f"  {'matched' if right else 'MISSED '}  {n}  (best: {best}{how})")
    ordinary = [n for n in names if label[n] == "benign" and family[n] not in lib_families] + cnames
    found = {n: look(n) for n in ordinary}
    false = [n for n in ordinary if any(h[1] >= args.threshold or similarity.PACKAGE in h[2] for h in found[n])]
    keyed = [n for n in ordinary if found[n] and n not in false]
    print(
        f"held-out samples matched: {matched}/{len(held_out)} ({matched - by_name - by_signer} by similarity, "
        f"{by_name} by their package name alone, {by_signer} by their signing certificate alone); ordinary apps "
        f"matched (false matches) by similarity or package name: {len(false)}/{len(ordinary)} = "
        f"{len(false) / max(1, len(ordinary)):.1%}; by a library sample's signing certificate alone (the same "
        f"developer, another product): {len(keyed)}/{len(ordinary)}"
    )
    for n in keyed:
        h = found[n][0]
        print(f"  same certificate: {n} ({family[n] if n in family else packages[n]}) ~ {h[0]} {h[1]:.2f}")
    for n in false:
        h = found[n][0]
        print(f"  false match: {n} ~ {h[0]} {h[1]:.2f} {h[2]}")

    # containment on its own, every app (benchmark and corpus) as a library sample: which apps hold its core?
    held: list[tuple[float, str, str, bool]] = []
    for a in every:
        for b in every:
            if a != b:
                c = similarity.containment(every[a], every[b])
                if c is not None:
                    same = (a in family and family.get(b) == family[a]) or (
                        packages[a] == packages[b] and packages[a] != ""
                    )
                    held.append((c, a, b, same))
    held.sort(reverse=True)
    pos = [x for x in held if x[3]]
    neg = [x for x in held if not x[3]]
    samples = {a for _, a, _, _ in held}
    print(
        f"\ncore containment, every app with a core sketch as a sample ({len(samples)} of {len(every)}; "
        f"{len(held)} (sample, app) pairs told): same family or package {sum(1 for x in pos if x[0] >= args.threshold)}"
        f"/{len(pos)} at {args.threshold}, other {sum(1 for x in neg if x[0] >= args.threshold)}/{len(neg)}"
    )
    for c, a, b, same in pos[:6] + neg[:6]:
        print(f"  {'same ' if same else 'other'} {c:.2f}  {a} in {b}")


if __name__ == "__main__":
    main()
