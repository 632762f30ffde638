"""Verdicts over an unlabelled folder of APKs (the real-world corpus): how many pass, need
fixes, go to review or are rejected, and for each app not `pass`/`fix` the illegal-app,
tampering and analysis findings at medium or above that sent it there.

    python benchmarks/corpus_verdicts.py [DIR ...]     (default ../shared/corpus, recursive)

A corpus of ordinary apps should see no `reject`; `review` should be tampered, packed or
incomplete files. Unreadable inputs are counted as `error`.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WATCH = ("fraud", "gambling", "malware", "analysis", "tampering")


def main() -> int:
    default = Path(os.environ.get("APKSCAN_CORPUS", ROOT.parent / "shared" / "corpus"))
    dirs = [Path(a) for a in sys.argv[1:]] or [default]
    files = sorted(p for d in dirs for p in d.rglob("*.apk") if p.is_file())
    if not files:
        print(f"corpus_verdicts: no APKs under {', '.join(map(str, dirs))}", file=sys.stderr)
        return 2

    from apkscan import api
    from apkscan.errors import ApkscanError
    from apkscan.model import Severity
    from apkscan.rules.loader import load_rules

    ruleset = load_rules()
    counts: Counter[str] = Counter()
    lines: list[str] = []
    for path in files:
        try:
            result = api.scan(path, ruleset, timeout=120)
        except ApkscanError:
            counts["error"] += 1
            continue
        counts[result.verdict] += 1
        if result.verdict in ("review", "reject"):
            why = [f"{f.rule_id}:{f.severity.label}" for f in result.findings
                   if f.category in WATCH and f.severity >= Severity.MEDIUM]
            lines.append(f"  {result.verdict:<6} {path.name[:50]:<50} {' '.join(why)}")
    print(f"{len(files)} files: " + ", ".join(f"{v} {counts[v]}" for v in ("pass", "fix", "review", "reject", "error")))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
