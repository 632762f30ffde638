"""Every string from an APK is inert in every output: HTML escaped, JSON/SARIF valid with
strings intact, no terminal escapes or bidi overrides on the console, CSV cells defused
against formula injection. ``samples/hostile.apk`` carries all of these payloads."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from apkscan.report import render
from tests.conftest import ROOT, SAMPLES

HOSTILE = SAMPLES / "hostile.apk"
PAYLOADS = ("<script>alert(1)</script>", "<svg/onload=alert(4)>", "</td><script>alert(3)</script>")


@pytest.fixture(scope="module")
def hostile(sample_results):  # type: ignore[no-untyped-def]
    return sample_results["hostile"]


def test_hostile_sample_carries_the_payloads(hostile) -> None:  # type: ignore[no-untyped-def]
    m = hostile.facts.manifest
    assert m.label == "<script>alert(1)</script>"
    assert "<svg/onload=alert(4)>" in m.version_name
    assert any("\x1b[" in v for _, _, v in hostile.facts.strings.resources)
    assert any("\u202e" in v for _, _, v in hostile.facts.strings.resources)


def test_html_escapes_everything(hostile) -> None:  # type: ignore[no-untyped-def]
    page = render(hostile, "html")
    for payload in PAYLOADS:
        assert payload not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.replace("<wbr>", "")
    # the only script is our own, hashed in the CSP; no event handler attribute from the APK
    assert len(re.findall(r"<script\b", page, re.I)) == 1
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", page, re.I)
    assert "\x1b" not in page
    assert "javascript:alert" not in re.sub(r"&[a-z#0-9]+;", "", " ".join(re.findall(r'href="([^"]*)"', page)))


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_json_and_sarif_are_valid_with_strings_intact(hostile, fmt: str) -> None:  # type: ignore[no-untyped-def]
    text = render(hostile, fmt)
    doc = json.loads(text)
    flat = json.dumps(doc, ensure_ascii=False)
    if fmt == "json":
        assert doc["app"]["label"] == "<script>alert(1)</script>" or "<script>alert(1)</script>" in flat
        assert "<svg/onload=alert(4)>" in flat
    # raw control characters never appear unescaped in the serialised text
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", text)


def test_console_output_has_no_escapes_or_bidi(tmp_path: Path) -> None:
    env = dict(os.environ, COLUMNS="200", FORCE_COLOR="", TERM="xterm-256color")
    proc = subprocess.run(
        [sys.executable, "-m", "apkscan", "scan", str(HOSTILE), "-o", str(tmp_path / "out"), "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    for stream in (proc.stdout, proc.stderr):
        text = stream.decode("utf-8", errors="replace")
        assert b"\x1b" not in stream
        assert "\u202e" not in text and "\u2066" not in text and "\x07" not in text
    assert b"alert(1)" in proc.stdout or b"hostile" in proc.stdout  # the summary was printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing written beside the output


def test_console_error_line_is_clean(tmp_path: Path) -> None:
    bad = tmp_path / "evil\x1b[31m\u202e.apk"
    bad.write_bytes(b"not a zip \x1b]0;pwned\x07")
    proc = subprocess.run(
        [sys.executable, "-m", "apkscan", "scan", str(bad), "-o", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 5
    assert b"\x1b" not in proc.stderr and "\u202e" not in proc.stderr.decode("utf-8", "replace")
    assert len(proc.stderr.decode().strip().splitlines()) == 1


def _csv_module():  # type: ignore[no-untyped-def]
    try:
        from apkscan.batch import exports
    except ImportError:
        pytest.skip("the batch module (apkscan.batch.exports) is not present")
    return exports


FORMULAS = ["=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C notepad'!A0", "@SUM(1+1)", "\t=1"]


def test_csv_cells_are_defused(hostile) -> None:  # type: ignore[no-untyped-def]
    exports = _csv_module()
    for c in [*FORMULAS, "\r=1"]:
        assert exports.csv_safe(c).startswith("'"), c
    assert exports.csv_safe(42) == 42 and exports.csv_safe("plain") == "plain"
    labels = [hostile.facts.manifest.label, *(v for _, _, v in hostile.facts.strings.resources)]
    labels = [v for v in labels if "\r" not in v]  # bare CR: see the next test
    text = exports.csv_text(["value"], [[v] for v in [*FORMULAS, *labels]])
    for row in list(csv.reader(io.StringIO(text, newline="")))[1:]:
        assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r")), row


def test_csv_bare_carriage_return_is_quoted() -> None:
    exports = _csv_module()
    text = exports.csv_text(["value"], [["ok\r=1+1"]])
    # a spreadsheet splits rows on CR, LF or CRLF outside quotes
    rows = list(csv.reader(io.StringIO(text.replace("\r\n", "\n"), newline=None)))
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), rows


def test_report_names_cannot_escape_the_output_folder() -> None:
    from apkscan.cli import _safe_name

    for hostile_name in ("../../etc/passwd", "..", "/abs", "a\\..\\b", "\x00", "<svg>"):
        name = _safe_name(hostile_name)
        assert "/" not in name and "\\" not in name and name not in ("", ".", "..")
    assert ROOT.exists()
