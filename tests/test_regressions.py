"""Inputs found by fuzzing and probing (``tests/fuzz``) that crashed, hung or hid the
manifest; each is built here in code from ``samples/clean.apk`` and must now end with a
report within a few seconds."""

from __future__ import annotations

import struct
import time
from pathlib import Path

from apkscan import api
from apkscan.extract.manifest import check_axml_structure, prune_deep_elements, read_manifest
from tests.conftest import SAMPLES
from tests.fuzz.mutate import Entry, chunks, entries_of, write_zip

CLEAN = (SAMPLES / "clean.apk").read_bytes()
PACKAGE = "org.apkscan.sample.clean"


def _manifest() -> bytes:
    entries = entries_of(CLEAN)
    assert entries is not None
    return entries[0].data


def _with_manifest(axml: bytes) -> bytes:
    entries = entries_of(CLEAN)
    assert entries is not None
    entries[0] = Entry(b"AndroidManifest.xml", axml)
    return write_zip(entries)


def _deep_manifest(levels: int) -> bytes:
    """The first child element of <manifest> opened ``levels`` more times, never closed."""
    man = bytearray(_manifest())
    pos, _, _, size = [c for c in chunks(man) if c[1] == 0x0102][1]
    man[pos:pos] = bytes(man[pos : pos + size]) * levels
    struct.pack_into("<I", man, 4, len(man))
    return bytes(man)


def test_deeply_nested_manifest_is_fast(tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    """50,000 nested elements (a 19 KB APK) took 98 s: androguard's XML builder is
    quadratic in the depth. Elements below depth 64 are now dropped before parsing."""
    p = tmp_path / "deep.apk"
    p.write_bytes(_with_manifest(_deep_manifest(50_000)))
    assert p.stat().st_size < 40_000
    t0 = time.perf_counter()
    r = api.scan(p, ruleset, timeout=60)
    assert time.perf_counter() - t0 < 10
    assert r.facts.manifest.package == PACKAGE
    assert "TAMPER-AXML-NESTING" in {f.rule_id for f in r.findings}


def test_pruning_keeps_shallow_documents_intact() -> None:
    man = _manifest()
    assert prune_deep_elements(man) == man
    deep = _deep_manifest(200)
    pruned = prune_deep_elements(deep)
    assert len(pruned) < len(deep)
    assert struct.unpack_from("<I", pruned, 4)[0] == len(pruned)
    assert not [t for t in check_axml_structure(pruned) if t.kind == "axml-nesting"]


def test_string_pool_header_size_does_not_hide_the_manifest() -> None:
    """A 32-byte string pool header (Android reads the offsets after headerSize) made
    androguard read every string shifted by one: the manifest was lost."""
    man = bytearray(_manifest())
    pos, _, hsize, size = next(c for c in chunks(man) if c[1] == 0x0001)
    man[pos + hsize : pos + hsize] = b"\x00" * 4
    struct.pack_into("<HI", man, pos + 2, hsize + 4, size + 4)
    (start,) = struct.unpack_from("<I", man, pos + 20)
    struct.pack_into("<I", man, pos + 20, start + 4)
    struct.pack_into("<I", man, 4, len(man))
    r = read_manifest(bytes(man), None)
    assert r.manifest.package == PACKAGE
    assert any(t.kind == "axml-string-pool" for t in r.tampering)


def test_string_offset_outside_pool_does_not_hide_the_manifest() -> None:
    """One string offset past the pool made androguard raise struct.error for the whole
    document, while Android only loses that string."""
    man = bytearray(_manifest())
    pos, _, hsize, _ = next(c for c in chunks(man) if c[1] == 0x0001)
    (count,) = struct.unpack_from("<I", man, pos + 8)
    struct.pack_into("<I", man, pos + hsize + 4 * (count - 1), 0x00FFFFF0)
    r = read_manifest(bytes(man), None)
    assert r.manifest.package == PACKAGE
    assert any(t.kind == "axml-string-pool" for t in r.tampering)


def test_committed_regression_inputs(tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    """Any small file saved under tests/data/regressions/ ends with a report or a one-line error."""
    from apkscan.errors import ApkscanError

    folder = Path(__file__).parent / "data" / "regressions"
    for p in sorted(folder.glob("*.apk")):
        assert p.stat().st_size <= 16 << 10, f"{p.name}: keep regression inputs small"
        try:
            api.scan(p, ruleset, timeout=30)
        except ApkscanError as exc:
            assert "\n" not in str(exc)


def test_androguard_prints_do_not_reach_stdout(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The seed-3 fuzz campaign printed 'We are out of bound with this complex entry.
    Count: 32' on stdout: androguard ``print``s while parsing a hostile resources.arsc.
    ``read_manifest`` now swallows anything its parsers print."""
    import apkscan.extract.manifest as manifest

    axml = manifest._androguard()  # androguard's parsers, imported when first needed
    real = axml.ARSCParser

    def noisy(data: bytes):  # type: ignore[no-untyped-def]
        print("We are out of bound with this complex entry. Count: 32")
        return real(data)

    monkeypatch.setattr(axml, "ARSCParser", noisy)
    entries = entries_of(CLEAN)
    assert entries is not None
    arsc = next(e.data for e in entries if e.name == b"resources.arsc")
    r = read_manifest(_manifest(), arsc)
    assert r.manifest.package == PACKAGE
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
