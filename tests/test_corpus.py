"""Real-world APKs from ../shared/corpus (skipped where absent): agreement with androguard,
and every file ends with a report or a one-line error, never a traceback."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from loguru import logger

from apkscan.errors import ApkscanError
from apkscan.extract.apk import extract
from tests.conftest import corpus_dir

logger.disable("androguard")
pytestmark = pytest.mark.corpus


def _all_files() -> list[Path]:
    root = corpus_dir()
    if root is None:
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".apk", ".aab"))


def _top_level() -> list[Path]:
    root = corpus_dir()
    return sorted(root.glob("*.apk")) if root else []


def _androguard(path: Path):  # type: ignore[no-untyped-def]
    from androguard.core.apk import APK

    try:
        a = APK(str(path))
    except Exception:
        return None
    return a if a.is_valid_APK() else None


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


@pytest.mark.parametrize(
    "path",
    _top_level() + sorted((corpus_dir() or Path("/nonexistent")).glob("apksig/*.apk")),
    ids=lambda p: p.name,
)
def test_manifest_agrees_with_androguard(path: Path) -> None:
    a = _androguard(path)
    if a is None:
        pytest.skip("androguard's APK() cannot read this file")
    try:
        facts = extract(path)
    except ApkscanError as exc:
        pytest.fail(f"androguard reads it but apkscan said: {exc}")
    m = facts.manifest
    assert m.package == (a.get_package() or "")
    assert m.version_code == (a.get_androidversion_code() or "")
    assert m.version_name == (a.get_androidversion_name() or "")
    assert m.min_sdk == _int_or_none(a.get_min_sdk_version())
    assert m.target_sdk == _int_or_none(a.get_target_sdk_version())
    # androguard lists <uses-permission> only; apkscan also keeps <uses-permission-sdk-23>.
    assert sorted({p.name for p in m.permissions if not p.sdk23}) == sorted(set(a.get_permissions()))


def test_known_sdks_are_identified(corpus: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    from apkscan import api

    expect = {
        "sdk_bugly_hotfix_demo_app-release.apk": {"bugly-crash", "tinker"},
        "sdk_amap_map3d_game_demo.apk": {"amap-maps"},
        "exodus_blooddonation.apk": {"admob"},
        "cordova_admob_app-debug.apk": {"cordova"},
        "cordova_facebook_login_app-debug.apk": {"cordova", "facebook-login"},
        "realapp_com.orekie.search-110.apk": {"bugly-crash"},
    }
    for name, ids in expect.items():
        found = {s.id for s in api.scan(corpus / name, ruleset).sdks}
        assert ids <= found, (name, sorted(found))
    termux = api.scan(corpus / "realapp_com.termux.api-44.apk", ruleset)
    assert not [s.id for s in termux.sdks if s.tracker]


def test_every_corpus_file_in_process(corpus: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    from apkscan import api

    outcomes: dict[str, int] = {"report": 0, "error": 0}
    for path in _all_files():
        try:
            api.scan(path, ruleset)
            outcomes["report"] += 1
        except ApkscanError as exc:
            msg = str(exc)
            assert "\n" not in msg and path.name in msg, msg
            outcomes["error"] += 1
    assert outcomes["report"] > 300, outcomes


@pytest.mark.slow
def test_cli_over_whole_corpus(corpus: Path, tmp_path: Path) -> None:
    files = _all_files()
    proc = subprocess.run(
        [sys.executable, "-m", "apkscan", "scan", *map(str, files), "-o", str(tmp_path), "-f", "json", "-q"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    reported = {json.loads(p.read_text())["app"]["sha256"] for p in tmp_path.glob("*.json")}
    for f in files:
        in_error = any(line.startswith(f"error: {f}:") for line in errors)
        has_report = hashlib.sha256(f.read_bytes()).hexdigest() in reported
        assert in_error != has_report, f"{f}: error={in_error} report={has_report}"
    assert len(reported) > 300


def test_defined_permission_levels(corpus: Path) -> None:
    facts = extract(corpus / "realapp_com.termux.api-44.apk")
    levels = {p.name: p.protection_level for p in facts.manifest.defined_permissions}
    assert levels.get("com.termux.sharedfiles.READ") == "signature", levels
