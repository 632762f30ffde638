"""Privacy-policy checks on real APKs: which bundle a policy, what was read from it, and
the inconsistencies and pre-consent candidates reported (issue 14).

    python benchmarks/eval_privacy.py [DIR ...] [--only GLOB] [--json OUT] [--all]

Scans every ``*.apk`` of the folders (default ``../shared/corpus`` and
``../shared/benchmark`` with its ``malicious/`` subfolder) in this process, reading
bytes only (nothing is installed, run or extracted), and prints per app with a policy:
its sources, the data types, SDKs and permissions read, the failed text checks, the
undeclared data types, the unlisted SDKs and the pre-consent candidates; then totals.
``--all`` prints apps without a policy too. ``--json OUT`` writes the same as data, for
a hand check (docs/privacy-policy.md records one).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apkscan.api import scan  # noqa: E402
from apkscan.errors import ApkscanError  # noqa: E402
from apkscan.rules.loader import load_rules  # noqa: E402


def apks(dirs: list[Path], only: str | None) -> list[Path]:
    out: list[Path] = []
    for d in dirs:
        for sub in (d, d / "malicious"):
            if sub.is_dir():
                out += sorted(p for p in sub.glob("*.apk") if p.is_file())
    if only:
        out = [p for p in out if fnmatch.fnmatch(p.name, only)]
    return out


def summary(path: Path, result: Any) -> dict[str, Any]:
    pr = result.privacy
    reading = pr.reading if pr else None
    out: dict[str, Any] = {
        "file": path.name,
        "package": result.facts.manifest.package,
        "verdict": result.verdict,
        "policy": [list(w) for w in pr.policy.where] if pr else [],
        "policy_urls": [u for u, _ in pr.policy.urls[:5]] if pr else [],
        "consent_seconds": pr.consent.seconds if pr else 0,
        "chains": [
            {
                "kind": c.kind,
                "sdk": c.sdk,
                "category": c.category,
                "entry": c.entry,
                "gated": c.gated,
                "chain": list(c.chain),
            }
            for c in (pr.consent.chains if pr else ())
        ],
        "findings": {},
    }
    if reading is not None:
        out["declared_types"] = [d.key for d in reading.data_types]
        out["declared_sdks"] = [d.key for d in reading.sdks]
        out["declared_permissions"] = [d.key for d in reading.permissions]
        out["failed_checks"] = [c.id for c in reading.checks if not c.passed]
    for f in result.findings:
        if f.rule_id.startswith("PRIV-"):
            out["findings"][f.rule_id] = [e.detail or e.value for e in f.evidence][:12]
    if pr:
        out["sharing"] = [[r.sdk, r.listed, r.types_zh] for r in pr.sharing]
        out["collected"] = [[r.data_type, r.declared] for r in pr.collected]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="*", type=Path)
    ap.add_argument("--only")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--all", action="store_true")
    args = ap.parse_args(argv)
    dirs = args.dirs or [ROOT.parent / "shared" / "corpus", ROOT.parent / "shared" / "benchmark"]
    ruleset = load_rules()
    rows = []
    t0 = time.perf_counter()
    errors = 0
    for p in apks(dirs, args.only):
        try:
            result = scan(p, ruleset, timeout=120)
        except ApkscanError:
            errors += 1
            continue
        rows.append(summary(p, result))
    with_policy = [r for r in rows if r["policy"]]
    for r in rows if args.all else with_policy:
        print(f"== {r['file']} ({r['package']}) verdict {r['verdict']}")
        for where, kind, chars in r["policy"]:
            print(f"   policy: {where} [{kind}, {chars} chars]")
        if not r["policy"]:
            print(f"   no policy; urls: {', '.join(r['policy_urls']) or '-'}")
        for k in ("declared_types", "declared_sdks", "declared_permissions", "failed_checks"):
            if k in r:
                print(f"   {k}: {', '.join(r[k]) or '-'}")
        for rid, ev in sorted(r["findings"].items()):
            print(f"   {rid}: {'; '.join(str(e)[:150] for e in ev[:6])}")
    counts: dict[str, int] = {}
    for r in rows:
        for rid in r["findings"]:
            counts[rid] = counts.get(rid, 0) + 1
    secs = [r["consent_seconds"] for r in rows]
    print(
        f"\n{len(rows)} APKs scanned ({errors} not scannable) in {time.perf_counter() - t0:.1f}s; "
        f"{len(with_policy)} bundle a privacy policy; reachability max {max(secs or [0]):.3f}s, "
        f"total {sum(secs):.2f}s"
    )
    for rid, n in sorted(counts.items()):
        print(f"   {rid}: {n} apps")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
