"""Signing schemes and signer certificates.

v1 (JAR) certificates come from ``META-INF/*.RSA|DSA|EC`` PKCS#7 blocks; v2/v3/v3.1 from
the APK Signing Block just before the central directory. The block is parsed here with
bounds checks on every length, because a hostile upload controls each of them.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

from asn1crypto import cms, x509

from apkscan.facts import Certificate, Problem, Signing, Tamper

SIG_MAGIC = b"APK Sig Block 42"
V2_ID = 0x7109871A
V3_ID = 0xF05368C0
V31_ID = 0x1B93AD61

# The public AOSP test keys (build/target/product/security: testkey, platform, shared,
# media) all carry the subject E=android@android.com, CN=Android, O=Android,
# L=Mountain View; apps signed with them can be re-signed by anyone.


def _u32(data: bytes, pos: int) -> int:
    return int(struct.unpack_from("<I", data, pos)[0])


def _length_prefixed(data: bytes, pos: int, end: int) -> tuple[bytes, int]:
    """Read a uint32-length-prefixed slice; raise ValueError when it overruns ``end``."""
    if pos + 4 > end:
        raise ValueError("length prefix past end")
    n = _u32(data, pos)
    start = pos + 4
    if start + n > end:
        raise ValueError(f"length {n} at {pos} overruns its block")
    return data[start : start + n], start + n


def _sequence(blob: bytes) -> list[bytes]:
    """A sequence of length-prefixed items."""
    items: list[bytes] = []
    pos = 0
    while pos < len(blob):
        item, pos = _length_prefixed(blob, pos, len(blob))
        items.append(item)
        if len(items) > 10_000:
            raise ValueError("too many items")
    return items


def signing_block(data: bytes, cd_offset: int) -> dict[int, bytes]:
    """Pairs of the APK Signing Block (id -> value); {} when there is none."""
    if cd_offset < 32 or cd_offset > len(data):
        return {}
    if data[cd_offset - 16 : cd_offset] != SIG_MAGIC:
        return {}
    size = struct.unpack_from("<Q", data, cd_offset - 24)[0]
    start = cd_offset - size - 8
    if size < 24 or start < 0:
        raise ValueError(f"signing block size {size} does not fit before the central directory")
    if struct.unpack_from("<Q", data, start)[0] != size:
        raise ValueError("signing block sizes at start and end differ")
    pairs: dict[int, bytes] = {}
    pos, end = start + 8, cd_offset - 24
    while pos + 12 <= end:
        n = struct.unpack_from("<Q", data, pos)[0]
        if n < 4 or pos + 8 + n > end:
            raise ValueError(f"signing block pair of length {n} at {pos} overruns the block")
        key = _u32(data, pos + 8)
        pairs.setdefault(key, data[pos + 12 : pos + 8 + n])
        pos += 8 + n
    return pairs


def _v2_v3_certs(value: bytes) -> list[bytes]:
    """DER certificates of every signer in a v2/v3 signature scheme block."""
    certs: list[bytes] = []
    signers, _ = _length_prefixed(value, 0, len(value))
    for signer in _sequence(signers):
        signed_data, _ = _length_prefixed(signer, 0, len(signer))
        _digests, pos = _length_prefixed(signed_data, 0, len(signed_data))
        cert_seq, _ = _length_prefixed(signed_data, pos, len(signed_data))
        certs.extend(_sequence(cert_seq))
    return certs


def _name(name: x509.Name) -> str:
    try:
        return str(name.human_friendly)
    except Exception:
        return "(unreadable name)"


def describe(der: bytes) -> Certificate:
    cert = x509.Certificate.load(der)
    tbs = cert["tbs_certificate"]
    subject = _name(cert.subject)
    try:
        algo = str(cert.public_key.algorithm).upper()
        bits: int | None = int(cert.public_key.bit_size)
    except Exception:
        algo, bits = "unknown", None
    try:
        not_before = cert.not_valid_before.isoformat()
        not_after = cert.not_valid_after.isoformat()
    except Exception:
        not_before = not_after = ""
    return Certificate(
        subject=subject,
        issuer=_name(cert.issuer),
        serial=format(int(tbs["serial_number"].native), "x"),
        not_before=not_before,
        not_after=not_after,
        sha256=hashlib.sha256(der).hexdigest().upper(),
        sha1=hashlib.sha1(der).hexdigest().upper(),
        key_algorithm=algo,
        key_size=bits,
        debug=_is_debug(cert),
        test_key=_is_test_key(cert),
    )


def _attrs(cert: x509.Certificate) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        for key, value in cert.subject.native.items():
            out[str(key)] = str(value)
    except Exception:
        pass
    return out


def _is_debug(cert: x509.Certificate) -> bool:
    return _attrs(cert).get("common_name") == "Android Debug"


def _is_test_key(cert: x509.Certificate) -> bool:
    a = _attrs(cert)
    return (
        a.get("email_address") == "android@android.com"
        and a.get("common_name") == "Android"
        and a.get("organization_name") == "Android"
        and a.get("locality_name") == "Mountain View"
    )


def _v1_certs(blocks: Iterable[tuple[str, bytes]]) -> list[bytes]:
    out: list[bytes] = []
    for _, blob in blocks:
        info = cms.ContentInfo.load(blob)
        signed = info["content"]
        for c in signed["certificates"] or []:
            if c.name == "certificate":
                out.append(c.chosen.dump())
    return out


def read_signing(
    data: bytes, cd_offset: int, v1_blocks: list[tuple[str, bytes]], has_v1_manifest: bool
) -> tuple[Signing, list[Tamper], list[Problem]]:
    """Schemes present and certificates (deduplicated, v3 first, then v2, then v1)."""
    schemes: list[str] = []
    ders: list[bytes] = []
    tampering: list[Tamper] = []
    problems: list[Problem] = []
    try:
        pairs = signing_block(data, cd_offset)
    except (ValueError, struct.error) as exc:
        pairs = {}
        tampering.append(Tamper("signing-block", "", str(exc)))
    for key, label in ((V31_ID, "v3.1"), (V3_ID, "v3"), (V2_ID, "v2")):
        if key in pairs:
            schemes.append(label)
            try:
                ders.extend(_v2_v3_certs(pairs[key]))
            except (ValueError, struct.error) as exc:
                problems.append(Problem("signing-block", "signature", f"{label}: {exc}"))
    if v1_blocks and has_v1_manifest:
        schemes.append("v1")
        try:
            ders.extend(_v1_certs(v1_blocks))
        except Exception as exc:
            problems.append(Problem(v1_blocks[0][0], "signature", f"v1 PKCS#7 unreadable: {exc!r}"[:200]))
    certs: list[Certificate] = []
    seen: set[bytes] = set()
    for der in ders:
        if der in seen:
            continue
        seen.add(der)
        try:
            certs.append(describe(der))
        except Exception as exc:
            problems.append(Problem("signature", "certificate", f"unreadable certificate: {exc!r}"[:200]))
    order = {"v1": 0, "v2": 1, "v3": 2, "v3.1": 3}
    return Signing(tuple(sorted(schemes, key=order.__getitem__)), tuple(certs)), tampering, problems
