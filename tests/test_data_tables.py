"""Consistency checks for the data tables under rules/data/.

pi_apis.yaml (personal-data API map), app_types.yaml (the 39 app types of the 2021
rules on necessary personal information) and permissions.yaml (Android permissions)
refer to each other; these tests keep the references closed and the formats valid.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DATA = Path(__file__).resolve().parent.parent / "rules" / "data"

CATEGORY_IDS = set(
    [
        "device-id",
        "advertising-id",
        "phone-number",
        "location",
        "cell-info",
        "wifi",
        "bluetooth",
        "contacts",
        "call-log",
        "sms",
        "calendar",
        "accounts",
        "installed-apps",
        "clipboard",
        "camera",
        "microphone",
        "screen-capture",
        "accessibility",
        "notifications",
        "photos-media",
        "sensors",
        "usage-stats",
        "health",
        "overlay",
        "calls",
        "device-admin",
    ]
)
PROTECTIONS = {"normal", "dangerous", "signature", "special", "privileged"}
MEMBER_RE = re.compile(r"^L[A-Za-z0-9_$/]+;->[A-Za-z0-9_$<>]+$")
KEBAB_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PERMISSION_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")


def _load(name: str) -> dict[str, Any]:
    with (DATA / name).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), name
    assert data.get("version") == 1, name
    return data


@pytest.fixture(scope="module")
def pi() -> dict[str, Any]:
    return _load("pi_apis.yaml")


@pytest.fixture(scope="module")
def app_types() -> dict[str, Any]:
    return _load("app_types.yaml")


@pytest.fixture(scope="module")
def perms() -> dict[str, Any]:
    data = _load("permissions.yaml")
    assert isinstance(data["permissions"], dict)
    return data["permissions"]


# ---------------------------------------------------------------- pi_apis.yaml


def test_categories_are_the_closed_vocabulary(pi: dict[str, Any]) -> None:
    cats = pi["categories"]
    assert set(cats) == CATEGORY_IDS
    for cid, cat in cats.items():
        assert cat["name"] and cat["name_zh"], cid
        assert isinstance(cat["permission"], str), cid


def _entries(pi: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return (
        [("apis", e) for e in pi["apis"]]
        + [("uris", e) for e in pi["uris"]]
        + [("fields", e) for e in pi["fields"]]
    )


def test_every_entry_uses_a_defined_category(pi: dict[str, Any]) -> None:
    for section, entry in _entries(pi):
        assert entry["category"] in pi["categories"], (section, entry)
        assert isinstance(entry["permission"], str), (section, entry)


def test_api_and_field_references_are_smali_members(pi: dict[str, Any]) -> None:
    assert len(pi["apis"]) >= 100
    for entry in pi["apis"]:
        assert MEMBER_RE.match(entry["api"]), entry["api"]
        if "requires_string" in entry:
            assert isinstance(entry["requires_string"], str) and entry["requires_string"]
    for entry in pi["fields"]:
        assert MEMBER_RE.match(entry["field"]), entry["field"]
    for entry in pi["uris"]:
        assert entry["uri"].startswith("content://"), entry["uri"]


def test_an_api_names_only_a_rule_of_its_category(pi: dict[str, Any]) -> None:
    """``rule:`` on an API says which of its category's rules its call sites fold into
    (apkscan.engine._merge_pi_findings): never a rule the category does not name."""
    named = [e for section in ("apis", "uris", "fields") for e in pi[section] if "rule" in e]
    assert named, "the SMS parsing APIs name PI-SMS-002, the SMS provider's URIs PI-SMS-001"
    for entry in named:
        assert entry["rule"] in (pi["categories"][entry["category"]].get("rules") or []), entry


def test_no_duplicate_entries(pi: dict[str, Any]) -> None:
    for section, key in (("apis", "api"), ("uris", "uri"), ("fields", "field")):
        values = [e[key] for e in pi[section]]
        dupes = {v for v in values if values.count(v) > 1}
        assert not dupes, (section, dupes)


def test_prefix_overlaps_stay_in_one_category(pi: dict[str, Any]) -> None:
    # "api" is matched as a prefix of "Lcls;->name(args)ret": an entry that is a prefix of
    # another (getSimOperator / getSimOperatorName) must not put the longer one in another
    # category.
    apis = [(e["api"], e["category"]) for e in pi["apis"]]
    for short, cat in apis:
        for long_, other in apis:
            if long_ != short and long_.startswith(short):
                assert cat == other, (short, long_)


def test_android_id_and_serial_need_their_strings(pi: dict[str, Any]) -> None:
    by_api = {e["api"]: e for e in pi["apis"]}
    android_id = by_api["Landroid/provider/Settings$Secure;->getString"]
    assert android_id["requires_string"] == "android_id"
    assert by_api["Landroid/os/SystemProperties;->get"]["requires_string"] == "ro.serialno"


# -------------------------------------------------------------- app_types.yaml


def test_app_types_are_the_39_numbered_types(app_types: dict[str, Any]) -> None:
    types = app_types["types"]
    assert [t["number"] for t in types] == list(range(1, 40))
    ids = [t["id"] for t in types]
    assert len(set(ids)) == 39
    for t in types:
        assert KEBAB_RE.match(t["id"]), t["id"]
        assert t["name_zh"].endswith("类") and t["name"] and t["basic_function_zh"], t["id"]
        assert isinstance(t["verified"], bool), t["id"]


def test_app_type_categories_are_defined(app_types: dict[str, Any], pi: dict[str, Any]) -> None:
    for t in app_types["types"]:
        assert set(t["necessary"]) <= set(pi["categories"]), t["id"]
        assert set(t.get("user_provided", [])) <= set(pi["categories"]), t["id"]


def test_no_pi_types(app_types: dict[str, Any]) -> None:
    # the rules list 13 types whose basic function needs no personal information
    none = [t for t in app_types["types"] if t["no_pi_needed"]]
    assert len(none) == 13
    for t in none:
        assert t["necessary"] == [] and t["permissions"] == [] and t["necessary_zh"] == "", t["id"]


def test_app_type_permissions_follow_from_necessary(
    app_types: dict[str, Any], perms: dict[str, Any]
) -> None:
    for t in app_types["types"]:
        for name in t["permissions"]:
            assert name in perms, (t["id"], name)
            assert perms[name]["protection"] == "dangerous", (t["id"], name)
            assert perms[name]["category"] in t["necessary"], (t["id"], name)


# ------------------------------------------------------------ permissions.yaml


def test_permission_entries(perms: dict[str, Any], pi: dict[str, Any]) -> None:
    for name, p in perms.items():
        assert PERMISSION_RE.match(name), name
        assert p["protection"] in PROTECTIONS, name
        assert p["category"] == "" or p["category"] in pi["categories"], name
        assert p["name_zh"], name
        if "added" in p:
            assert isinstance(p["added"], int) and 1 <= p["added"] <= 36, name


def test_protection_agrees_with_declared_level(perms: dict[str, Any]) -> None:
    for name, p in perms.items():
        flags = set(p["level"].split("|"))
        prot = p["protection"]
        if prot == "dangerous":
            assert "dangerous" in flags, name
        elif prot == "normal":
            assert "normal" in flags, name
        elif prot == "special":
            assert "appop" in flags or name.split(".")[-1].startswith("BIND_"), name
        elif prot == "privileged":
            assert "privileged" in flags, name
        else:
            assert "signature" in flags and "privileged" not in flags, name
        assert ("dangerous" in flags) == (prot == "dangerous"), name


REQUIRED = {
    "dangerous": [
        "READ_MEDIA_IMAGES",
        "READ_MEDIA_VIDEO",
        "READ_MEDIA_AUDIO",
        "READ_MEDIA_VISUAL_USER_SELECTED",
        "POST_NOTIFICATIONS",
        "NEARBY_WIFI_DEVICES",
        "BLUETOOTH_SCAN",
        "BLUETOOTH_CONNECT",
        "BLUETOOTH_ADVERTISE",
        "BODY_SENSORS",
        "BODY_SENSORS_BACKGROUND",
        "ACTIVITY_RECOGNITION",
        "ACCESS_BACKGROUND_LOCATION",
        "ACCESS_MEDIA_LOCATION",
        "READ_PHONE_NUMBERS",
        "ANSWER_PHONE_CALLS",
        "UWB_RANGING",
        "READ_SMS",
        "READ_CONTACTS",
        "READ_CALL_LOG",
        "ACCESS_FINE_LOCATION",
        "CAMERA",
        "RECORD_AUDIO",
        "READ_PHONE_STATE",
        "READ_CALENDAR",
    ],
    "special": [
        "SYSTEM_ALERT_WINDOW",
        "WRITE_SETTINGS",
        "MANAGE_EXTERNAL_STORAGE",
        "REQUEST_INSTALL_PACKAGES",
        "PACKAGE_USAGE_STATS",
        "BIND_ACCESSIBILITY_SERVICE",
        "BIND_NOTIFICATION_LISTENER_SERVICE",
        "BIND_DEVICE_ADMIN",
        "SCHEDULE_EXACT_ALARM",
        "BIND_VPN_SERVICE",
        "USE_FULL_SCREEN_INTENT",
    ],
    "normal": [
        "INTERNET",
        "ACCESS_NETWORK_STATE",
        "ACCESS_WIFI_STATE",
        "WAKE_LOCK",
        "VIBRATE",
        "FOREGROUND_SERVICE",
        "RECEIVE_BOOT_COMPLETED",
        "QUERY_ALL_PACKAGES",
        "MANAGE_OWN_CALLS",
        "REQUEST_IGNORE_BATTERY_OPTIMIZATIONS",
    ],
    "privileged": ["READ_PRIVILEGED_PHONE_STATE", "INSTALL_PACKAGES", "WRITE_SECURE_SETTINGS"],
}


@pytest.mark.parametrize("protection", sorted(REQUIRED))
def test_required_permissions_present(perms: dict[str, Any], protection: str) -> None:
    for short in REQUIRED[protection]:
        name = "android.permission." + short
        assert name in perms, name
        assert perms[name]["protection"] == protection, name


def test_referenced_permissions_exist(
    pi: dict[str, Any], app_types: dict[str, Any], perms: dict[str, Any]
) -> None:
    referenced = {c["permission"] for c in pi["categories"].values()}
    referenced |= {e["permission"] for _, e in _entries(pi)}
    for t in app_types["types"]:
        referenced |= set(t["permissions"])
    referenced.discard("")
    missing = sorted(referenced - set(perms))
    assert not missing, missing
