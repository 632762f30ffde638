#!/usr/bin/env python3
"""Print what androguard reads from every samples/*.apk, as the Markdown table in README.md.

/path/to/venv/bin/python samples/tools/inspect_samples.py [APK...]
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

from loguru import logger

logger.disable("androguard")
from androguard.core.apk import APK  # noqa: E402


def row(path: Path) -> str:
    apk = APK(str(path))
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    dex = sorted(n for n in names if n.startswith("classes") and n.endswith(".dex"))
    certs = apk.get_certificates()
    subject = certs[0].subject.human_friendly if certs else "-"
    label = (apk.get_app_name() or "").replace("|", "\\|").replace("\n", " ")
    label = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in label)
    return (
        f"| `{path.name}` | {path.stat().st_size:,} | `{apk.get_package()}` | `{label}` "
        f"| `{apk.get_androidversion_code()} / {apk.get_androidversion_name()}` "
        f"| {apk.get_min_sdk_version()} / {apk.get_target_sdk_version()} "
        f"| {len(apk.get_permissions())} | {len(dex)} | {subject} "
        f"| `{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}` |"
    )


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent.parent
    paths = [Path(a) for a in argv] or sorted(here.glob("*.apk"))
    print(
        "| APK | bytes | package | label | versionCode / Name | min / target SDK "
        "| permissions | dex | signer | sha256 (12) |"
    )
    print("| --- | ---: | --- | --- | --- | --- | ---: | ---: | --- | --- |")
    for p in paths:
        print(row(p))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
