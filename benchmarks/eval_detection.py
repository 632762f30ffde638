"""Detection quality on a labelled set of real APKs: verdicts per label, SDK recall, misses.

    python benchmarks/eval_detection.py [--bench DIR] [--manifest FILE] [--only GLOB]
                                        [--json OUT] [--timeout S] [--quiet]

Reads a manifest in the format of ``../shared/benchmark/MANIFEST.tsv`` (tab-separated,
header row; columns ``file``, ``label`` and ``expected_sdks`` are used; ``file`` is
relative to the manifest's folder, malicious ones under ``malicious/``). Every APK is
scanned in this process with the built-in rules (static reading only: nothing is
installed, run or extracted) and the script prints:

* the label x verdict matrix;
* for malicious and gambling apps the share rejected; for benign apps the share rejected
  and the share that pass or only need fixes (``pass`` + ``fix``);
* SDK recall against ``expected_sdks`` (names matched loosely against the catalogue's ids,
  names and vendors);
* one line per miss (a malicious or gambling app not rejected, a benign app rejected or
  sent to human review) with the findings that decided the verdict.

The benchmark folder defaults to ``../shared/benchmark`` beside the checkout, or
``$APKSCAN_BENCHMARK``. The APKs are never copied anywhere.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VERDICTS = ("pass", "fix", "review", "reject", "error")
LABELS = ("malicious", "gambling", "benign")

# Expected-SDK names in the manifest that differ from the catalogue's wording: the
# manifest's name -> words any of which identifies the SDK in our hits.
ALIASES: dict[str, tuple[str, ...]] = {
    "okhttp3": ("okhttp",),
    "retrofit2": ("retrofit",),
    "rxjava": ("rxjava",),
    "gson": ("gson",),
    "glide": ("glide",),
    "alibaba fastjson": ("fastjson",),
    "huawei hms (legacy)": ("huawei",),
    "huawei hms": ("huawei", "hms"),
    "weibo sdk (legacy)": ("weibo",),
    "weibo sdk": ("weibo",),
    "jpush (jiguang)": ("jpush",),
    "alipay sdk": ("alipay",),
    "facebook soloader": ("soloader",),
    "facebook login": ("facebook",),
    "facebook share": ("facebook",),
    "fresco": ("fresco",),
    "firebase": ("firebase",),
    "mobtech core": ("mobtech-core",),  # the shared com.mob.tools / com.mob.commons core, not any Mob* product
}


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9\u4e00-\u9fff]+", "", text.lower())


def expected_sdks(cell: str) -> list[str]:
    """``"X (official demo); from class prefixes (>=3 classes): A, B"`` -> [X, A, B]."""
    names: list[str] = []
    for part in cell.split(";"):
        part = part.strip()
        if not part:
            continue
        if ":" in part:
            names += [n.strip() for n in part.split(":", 1)[1].split(",") if n.strip()]
        else:
            names.append(re.sub(r"\s*\(official demo\)\s*$", "", part).strip())
    return list(dict.fromkeys(names))


def sdk_found(name: str, hits: list[dict[str, Any]]) -> bool:
    words = ALIASES.get(name.lower())
    keys = [norm(" ".join(str(h.get(k, "")) for k in ("id", "name", "name_zh", "vendor"))) for h in hits]
    if words:
        return any(norm(w) in k for w in words for k in keys)
    want = norm(name)
    if any(want in k for k in keys):
        return True
    # "MobTech MobLink" -> every word (vendor and product) must appear in one hit
    tokens = [norm(t) for t in re.split(r"[\s()/-]+", name) if norm(t) and norm(t) not in ("sdk",)]
    return any(all(t in k for t in tokens) for k in keys)


def deciding(result: Any, limit: int = 4) -> str:
    """The findings that decided the verdict, most severe first."""
    reason = getattr(result, "verdict_reason", None)
    top = sorted(result.findings, key=lambda f: -int(f.severity))[:limit]
    text = ", ".join(f"{f.rule_id}({f.severity.label})" for f in top) or "no findings"
    return f"{reason} | {text}" if reason else text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("APKSCAN_BENCHMARK", ROOT.parent / "shared" / "benchmark"))
    ap.add_argument("--bench", type=Path, default=default, help="benchmark folder (default %(default)s)")
    ap.add_argument("--manifest", type=Path, help="manifest file (default BENCH/MANIFEST.tsv)")
    ap.add_argument("--only", default="*", help="scan only files whose name matches this glob")
    ap.add_argument("--json", type=Path, help="also write per-app results as JSON here")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per APK")
    ap.add_argument("--quiet", action="store_true", help="print only the summary")
    args = ap.parse_args()
    manifest = args.manifest or args.bench / "MANIFEST.tsv"
    if not manifest.is_file():
        print(f"eval_detection: no manifest at {manifest} (pass --bench or set APKSCAN_BENCHMARK)", file=sys.stderr)
        return 2
    with manifest.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if fnmatch.fnmatch(r["file"], args.only)]

    from dataclasses import asdict

    from apkscan import api
    from apkscan.errors import ApkscanError
    from apkscan.rules.loader import load_rules

    ruleset = load_rules()
    matrix: dict[str, Counter[str]] = {label: Counter() for label in LABELS}
    misses: list[str] = []
    sdk_want = sdk_got = 0
    sdk_missed: list[str] = []
    per_app: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    for row in rows:
        name, label = row["file"], row["label"]
        path = manifest.parent / name
        if not path.is_file():
            path = manifest.parent / "malicious" / name
        try:
            result = api.scan(path, ruleset, timeout=args.timeout)
        except ApkscanError as exc:
            matrix.setdefault(label, Counter())["error"] += 1
            misses.append(f"ERROR   {label:<9} {name}: {exc}")
            per_app.append({"file": name, "label": label, "verdict": "error", "error": str(exc)})
            continue
        v = result.verdict
        matrix.setdefault(label, Counter())[v] += 1
        hits = [asdict(s) for s in result.sdks]
        want = expected_sdks(row.get("expected_sdks", ""))
        missing = [n for n in want if not sdk_found(n, hits)]
        sdk_want += len(want)
        sdk_got += len(want) - len(missing)
        sdk_missed += [f"{name}: {n}" for n in missing]
        bad = (label in ("malicious", "gambling") and v != "reject") or (label == "benign" and v in ("reject",
                                                                                                    "review"))
        if bad:
            misses.append(f"{v:<7} {label:<9} {name}: {deciding(result)}")
        if not args.quiet:
            print(f"{v:<7} {label:<9} {result.duration_s:5.2f}s {name}", flush=True)
        per_app.append(
            {
                "file": name,
                "label": label,
                "verdict": v,
                "reason": getattr(result, "verdict_reason", ""),
                "findings": [[f.rule_id, f.severity.label] for f in result.findings],
                "sdks": [h["id"] for h in hits],
                "sdk_missing": missing,
            }
        )
        del result
    wall = time.perf_counter() - t_start

    print()
    print(f"{len(rows)} APKs from {manifest}, {wall:.1f} s, rules {ruleset.digest}")
    print(f"{'label':<10}" + "".join(f"{v:>8}" for v in VERDICTS) + f"{'total':>8}")
    for label in LABELS:
        c = matrix.get(label, Counter())
        print(f"{label:<10}" + "".join(f"{c[v]:>8}" for v in VERDICTS) + f"{sum(c.values()):>8}")

    def share(label: str, verdicts: tuple[str, ...]) -> str:
        c = matrix.get(label, Counter())
        n = sum(c.values())
        k = sum(c[v] for v in verdicts)
        return f"{k}/{n} = {100 * k / n:.0f}%" if n else "n/a"

    print()
    print(f"malicious rejected:          {share('malicious', ('reject',))}   (target >= 90%)")
    print(f"gambling rejected:           {share('gambling', ('reject',))}   (target >= 80%)")
    print(f"benign rejected:             {share('benign', ('reject',))}   (target 0)")
    print(f"benign pass or fix only:     {share('benign', ('pass', 'fix'))}   (target >= 70%)")
    recall = f"{sdk_got}/{sdk_want} = {100 * sdk_got / sdk_want:.0f}%" if sdk_want else "n/a"
    print(f"SDK recall (expected_sdks):  {recall}   (target >= 95%)")
    if misses:
        print("\nmisses (verdict, label, file: reason | deciding findings):")
        for m in misses:
            print("  " + m)
    if sdk_missed:
        print("\nexpected SDKs not found:")
        for m in sdk_missed:
            print("  " + m)
    if args.json:
        args.json.write_text(json.dumps(per_app, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
