"""Find the inputs of a batch: a folder (searched recursively) or a list file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from apkscan.batch.bundle import INPUT_SUFFIXES
from apkscan.errors import InputNotFound, UsageError


def _walk(folder: Path) -> list[Path]:
    out: list[Path] = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.lower().endswith(INPUT_SUFFIXES):
                p = Path(root) / name
                if p.is_file():
                    out.append(p)
    return out


def _is_archive(path: Path) -> bool:
    """A ZIP (an APK, a split set), by its first bytes: a list file is text."""
    try:
        with path.open("rb") as f:
            return f.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def find_inputs(source: Path, exclude: Path | None = None) -> list[Path]:
    """Every ``.apk``/``.apks``/``.xapk`` under ``source`` (a folder), ``source`` itself
    when it is a ZIP archive (one APK), or the paths listed in ``source`` (a text file: one
    path per line, ``#`` comments; relative paths are relative to the list file's folder; a
    listed folder is searched recursively; a listed file is taken whatever its name).
    ``exclude`` (the output folder) is skipped."""
    if not source.exists():
        raise InputNotFound(f"{source}: no such folder or list file")
    if source.is_dir():
        found = _walk(source)
    elif _is_archive(source):
        found = [source]  # one APK (or .apks/.xapk) given as the input: a batch of one
    else:
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{source}: cannot read the list file ({exc})") from None
        found = []
        for n, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            p = Path(line)
            if not p.is_absolute():
                p = source.parent / p
            try:
                mode = os.stat(p).st_mode  # one call for what is_dir() and is_file() asked
            except (OSError, ValueError):
                mode = 0
            if stat.S_ISDIR(mode):
                found.extend(_walk(p))
            elif stat.S_ISREG(mode):
                found.append(p)
            else:
                raise UsageError(f"{source}:{n}: {line}: no such file")
    # resolved as strings (what Path.resolve does, without a Path per step): the inputs
    # are listed on every run, a rule change's included
    ex = os.path.realpath(exclude) if exclude is not None else None
    inside = None if ex is None else ex.rstrip(os.sep) + os.sep
    folders: dict[str, str] = {}
    seen: set[str] = set()
    out: list[Path] = []
    for p in found:
        head, tail = os.path.split(p)
        if tail in ("", ".", "..") or os.path.islink(p):
            r = os.path.realpath(p)
        else:  # the folder resolved once for all its files
            folder = folders.get(head)
            if folder is None:
                folder = folders[head] = os.path.realpath(head or ".")
            r = os.path.join(folder, tail)
        if r in seen or (inside is not None and (r == ex or r.startswith(inside))):
            continue
        seen.add(r)
        out.append(Path(r))
    return out
