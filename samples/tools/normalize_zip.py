#!/usr/bin/env python3
"""Rewrite an APK (or make a JAR) so that its bytes depend only on its contents.

apktool stamps every entry with the build time and orders ``res/`` and ``assets/`` in
file-system order; this rewrites the archive with a fixed order (AndroidManifest.xml,
classes*.dex, resources.arsc, then everything else by name), a fixed timestamp, fixed
attributes and a fixed deflate level, keeping each entry's stored/deflated choice.

    normalize_zip.py IN.apk OUT.apk           normalize an archive
    normalize_zip.py --jar OUT.jar FILE=NAME  make an archive holding FILE as NAME
"""

from __future__ import annotations

import re
import sys
import zipfile

EPOCH = (1980, 1, 1, 0, 0, 0)

# Entry names that no file system should hold (they break a checkout on Windows): the
# source tree keeps a safe name and the archive gets the hostile one.
RENAMES = {"assets/hostile-entry-name.txt": 'assets/"><svg onload=alert(5)>.txt'}


def _order(name: str) -> tuple[int, int, str]:
    if name == "AndroidManifest.xml":
        return (0, 0, name)
    m = re.fullmatch(r"classes(\d*)\.dex", name)
    if m:
        return (1, int(m.group(1) or 1), name)
    if name == "resources.arsc":
        return (2, 0, name)
    return (3, 0, name)


def _write(out: zipfile.ZipFile, name: str, data: bytes, method: int) -> None:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.compress_type = method
    info.create_system = 0
    info.external_attr = 0
    out.writestr(info, data, compresslevel=9 if method == zipfile.ZIP_DEFLATED else None)


def normalize(src: str, dst: str) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        infos = [i for i in zin.infolist() if not i.is_dir()]
        named = [(RENAMES.get(i.filename, i.filename), i) for i in infos]
        for name, info in sorted(named, key=lambda p: _order(p[0])):
            _write(zout, name, zin.read(info), info.compress_type)


def make_jar(dst: str, members: list[str]) -> None:
    with zipfile.ZipFile(dst, "w") as zout:
        for member in sorted(members, key=lambda m: m.split("=", 1)[1]):
            path, name = member.split("=", 1)
            with open(path, "rb") as fh:
                _write(zout, name, fh.read(), zipfile.ZIP_DEFLATED)


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "--jar":
        make_jar(argv[1], argv[2:])
        return 0
    if len(argv) == 2:
        normalize(argv[0], argv[1])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
