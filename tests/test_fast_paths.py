"""The fast paths taken for speed give exactly what the plain way gives.

Each shortcut (URLs found from "://", the text sniff, the one-line JSON layout, the
parsed-YAML cache, bytes blobs for RE2) is checked against the straightforward code it
replaces, on generated inputs and on the samples."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from apkscan.engine import evaluate
from apkscan.errors import RuleLoadError
from apkscan.extract import fingerprint as fingerprint_mod
from apkscan.extract.archive import _looks_text
from apkscan.extract.text import URL_RE, TextHarvest, _textfast, find_urls
from apkscan.report.json_report import dumps
from apkscan.rules import data as data_mod
from apkscan.rules.loader import load_rules

needs_textfast = pytest.mark.skipif(_textfast is None, reason="the C extension apkscan.extract._textfast is not built")
URLISH = st.text(alphabet=list("hHtTpPsSfwW:/.a1 \n\"'<@-_?=#x"), max_size=80)


@settings(max_examples=3000, deadline=None)
@given(URLISH)
def test_find_urls_equals_the_regex_scan(text: str) -> None:
    assert list(find_urls(text)) == [m.group(0) for m in URL_RE.finditer(text)]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "://",
        "http://",
        "see http://a.example/x?u=https://b.example/y and ftp://c.example",
        "xhttp://no-boundary.example",
        "HTTPS://UPPER.EXAMPLE/p",
        "ws://a wss://b.example:443/s",
        "h" * 5000 + "://x",
        "https://" + "a" * 2100,
    ],
)
def test_find_urls_edge_cases(text: str) -> None:
    assert list(find_urls(text)) == [m.group(0) for m in URL_RE.finditer(text)]


def _looks_text_plain(head: bytes) -> bool:
    """The sniff as first written: one Python-level test per character."""
    if b"\x00" in head:
        return False
    text = head.decode("utf-8", "ignore")
    if len(text.encode("utf-8")) < len(head) - 3:
        return False
    printable = sum(1 for c in text if c.isprintable() or c in "\t\r\n\f")
    return bool(text) and printable >= 0.95 * len(text)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.binary(max_size=80), st.text(max_size=80).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_text_sniff_equals_the_plain_count(head: bytes) -> None:
    assert _looks_text(head) == _looks_text_plain(head)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=1000, deadline=None)
@given(JSONISH)
def test_report_layout_is_the_same_json(doc: object) -> None:
    assert json.loads(dumps(doc)) == doc


def test_report_layout_keeps_deep_values_on_one_line() -> None:
    doc = {"facts": {"archive": {"entries": [{"name": "a", "size": 1}, {"name": "b", "size": 2}]}}, "tags": ["x", "y"]}
    text = dumps(doc)
    assert '{"name": "a", "size": 1}' in text.splitlines()[4]
    assert '"tags": ["x", "y"]' in text


def test_parsed_yaml_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = load_rules()
    cached = list((tmp_path / "cache" / "apkscan" / "yaml").glob("*.json"))
    assert cached, "the built-in packs were not cached"
    second = load_rules()
    assert second.digest == first.digest
    assert [r.id for r in second.rules] == [r.id for r in first.rules]
    # A corrupt cache file is parsed again, not trusted.
    for f in cached:
        f.write_text("{not json", encoding="utf-8")
    third = load_rules()
    assert [r.id for r in third.rules] == [r.id for r in first.rules]


def test_cache_never_hides_a_yaml_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    rules = tmp_path / "rules"
    rules.mkdir()
    bad = rules / "bad.yaml"
    bad.write_text("rules:\n  - id: X\n    title: [unclosed\n", encoding="utf-8")
    for _ in range(2):  # the second time would hit a cache if errors were cached
        with pytest.raises(RuleLoadError, match=r"bad\.yaml:\d+: invalid YAML"):
            load_rules([rules], include_builtin=False)


def test_only_plain_json_documents_are_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    raw = b"when: 2021-09-01\n1: one\n"
    parsed = data_mod.cached_parse(raw, "safe", lambda t: yaml.safe_load(t))
    assert parsed == data_mod.cached_parse(raw, "safe", lambda t: yaml.safe_load(t))
    assert not list((tmp_path / "apkscan" / "yaml").glob("*.json"))  # dates and int keys do not round-trip


def test_regex_set_prefilter_changes_no_finding(ruleset, sample_results) -> None:  # type: ignore[no-untyped-def]
    """The RE2 set pass only skips regexes that cannot match: the findings are the same
    as when every regex scans every blob."""
    assert ruleset.blob_patterns, "the built-in packs have regex rules"
    plain = dataclasses.replace(ruleset, blob_patterns=())
    for name, result in sample_results.items():
        fast = evaluate(result.facts, ruleset)
        slow = evaluate(result.facts, plain)
        assert [(f.rule_id, f.evidence) for f in fast.findings] == [
            (f.rule_id, f.evidence) for f in slow.findings
        ], name


def test_androguard_public_resources_table_is_androguard_s_own() -> None:
    """The table apkscan preloads equals what androguard's module builds on import (run in
    a fresh interpreter, where nothing has been preloaded)."""
    import subprocess
    import sys

    from apkscan.extract import _androguard_public, manifest

    manifest._androguard()  # imports androguard's AXML module, registering the preloaded table first

    code = (
        "import json; from androguard.core.resources import public as p; "
        "print(json.dumps([p._public_res, {k: {d: {str(a): b for a, b in m.items()} for d, m in v.items()} "
        "for k, v in p.SYSTEM_RESOURCES.items()}]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    theirs_table, theirs_system = json.loads(out)
    mod = sys.modules[_androguard_public.MODULE]
    assert mod._public_res == theirs_table
    assert _androguard_public.preload() is False  # already registered: never built twice
    ours = mod.SYSTEM_RESOURCES
    assert {k: {d: {str(a): b for a, b in m.items()} for d, m in v.items()} for k, v in ours.items()} == theirs_system


def _facts_or_error(path: Path, background: bool, spec: object) -> object:
    from apkscan.errors import ApkscanError
    from apkscan.extract.apk import extract
    from apkscan.serial import to_jsonable

    try:
        return to_jsonable(extract(path, None, None, spec, background=background))  # type: ignore[arg-type]
    except ApkscanError as exc:
        return f"{type(exc).__name__}: {exc}"


def test_background_thread_changes_no_fact_on_mutants(tmp_path: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    """Dex entries inflated ahead on the helper thread, YARA and SHA-256 there too: the facts
    (tampering notes and problems in their order included) equal a run on one thread, on
    hostile mutants of the samples (ZIP fields, dex entries, splices, truncation)."""
    from apkscan.api import yara_spec
    from tests.fuzz.mutate import Mutator, load_seeds

    spec = yara_spec(ruleset)
    mutator = Mutator(load_seeds(corpus=False))
    path = tmp_path / "m.apk"
    for i in range(150):
        path.write_bytes(mutator.generate(7, i).data)
        assert _facts_or_error(path, True, spec) == _facts_or_error(path, False, spec), f"mutant 7/{i}"


@pytest.mark.corpus
def test_background_thread_changes_no_fact_on_the_corpus(corpus: Path, ruleset) -> None:  # type: ignore[no-untyped-def]
    from apkscan.api import yara_spec

    spec = yara_spec(ruleset)
    files = sorted(p for p in [*corpus.glob("*"), *corpus.glob("apksig/*")] if p.is_file() and p.suffix != ".md")
    files = [p for p in files if p.stat().st_size <= 8 << 20]
    assert len(files) > 50
    for p in files:
        assert _facts_or_error(p, True, spec) == _facts_or_error(p, False, spec), p.name


@settings(max_examples=500, deadline=None)
@given(st.lists(st.binary(max_size=6).map(lambda b: b.replace(b"\0", b"x")), min_size=1, max_size=40))
def test_blob_offsets_map_to_the_same_string_by_index_or_by_count(parts: list[bytes]) -> None:
    """A hit is mapped to its string by bisecting the string starts; that gives the same
    string as counting the separators before the offset, for every offset."""
    import bisect
    from array import array

    from apkscan.rules.context import SEP_BYTE, TextBlob

    data = SEP_BYTE.join(parts)
    blob = TextBlob(data, array("I", range(len(parts))))
    for pos in range(len(data) + 1):
        assert bisect.bisect_right(blob._starts, pos) == data.count(SEP_BYTE, 0, pos)


def _blob_pair(texts: list[str], normalised: bool) -> None:
    """The C-built blobs equal the Python-built ones: bytes, string indices and starts."""
    from apkscan.rules.context import TextBlob, TextList

    items = TextList(texts, [(len(texts), "f")])
    fast = TextBlob.split(items, normalised, native=True)
    plain = TextBlob.split(items, normalised, native=False)
    assert fast[0].starts is not None  # the C builder hands its starts over
    for a, b in zip(fast, plain, strict=True):
        assert (a.data, a.index) == (b.data, b.index)
        assert a._starts == TextBlob(b.data, b.index)._starts


TEXTS = st.lists(st.text(alphabet=list("aZ\x00 Ω，（ＡｂéÉß1ﬁ\u0301"), max_size=8), max_size=30)


@needs_textfast
@settings(max_examples=1500, deadline=None)
@given(TEXTS, st.booleans())
def test_native_blob_equals_the_python_blob(texts: list[str], normalised: bool) -> None:
    _blob_pair(texts, normalised)


@needs_textfast
def test_native_blob_equals_the_python_blob_on_the_samples(sample_results) -> None:  # type: ignore[no-untyped-def]
    for result in sample_results.values():
        facts = result.facts
        _blob_pair([s for d in facts.dex for s in d.strings], True)
        _blob_pair([t for _, t in facts.strings.assets], True)


def test_nfkc_string_by_string_equals_the_whole() -> None:
    """Normalising each NUL-separated string on its own gives the whole text's NFKC."""
    import unicodedata

    from apkscan.rules.context import SEP, _nfkc

    parts = ["，ａ", "e\u0301", "\u0301x", "ﬁ", "한", "\u1100\u1161", "plain", ""]
    whole = SEP.join(parts)
    assert SEP.join(map(_nfkc, parts)) == unicodedata.normalize("NFKC", whole)


def test_gil_switch_interval_is_short_during_extraction_and_restored_after(tmp_path: Path) -> None:
    import sys

    from apkscan.errors import BrokenApk
    from apkscan.extract import apk as apk_mod
    from apkscan.runtime import HANDOFF_INTERVAL

    seen: list[float] = []
    real = apk_mod._extract

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(sys.getswitchinterval())
        return real(*args, **kwargs)

    before = sys.getswitchinterval()
    apk_mod._extract = spy
    try:
        apk_mod.extract(Path(__file__).parent.parent / "samples" / "clean.apk")
        bad = tmp_path / "bad.apk"
        bad.write_bytes(b"PK\x03\x04" + b"\0" * 40)
        with pytest.raises(BrokenApk):
            apk_mod.extract(bad)
        apk_mod.extract(Path(__file__).parent.parent / "samples" / "clean.apk", background=False)
    finally:
        apk_mod._extract = real
    assert seen[:2] == pytest.approx([HANDOFF_INTERVAL] * 2)
    assert seen[2] == before  # no helper thread, nothing to hand off to
    assert sys.getswitchinterval() == before


PICK_TEXTS = st.lists(st.text(alphabet=list("h:/@.19a٣Ω\x00 "), max_size=24), max_size=30)


def _harvest_both_ways(fill: Callable[[TextHarvest], None]) -> tuple[TextHarvest, TextHarvest]:
    """Two harvests filled by ``fill``: with the C passes, then with the Python ones."""
    from apkscan.extract import text

    out = []
    real = text.NATIVE_TEXT
    try:
        for native in (True, False):
            text.NATIVE_TEXT = native
            out.append(text.TextHarvest())
            fill(out[-1])
    finally:
        text.NATIVE_TEXT = real
    return out[0], out[1]


def _harvest_pair(texts: list[str] | tuple[str, ...]) -> None:
    """The harvest with the C filters finds what it finds with the Python ones."""
    from apkscan.extract import text

    with_scheme, maybe_ips, with_at = text.pick(texts, native=True)
    assert list(with_scheme) == [t for t in texts if "://" in t]
    assert list(with_at) == [t for t in texts if "@" in t]
    assert set(maybe_ips) >= {t for t in texts if 7 <= len(t) <= 21 and t[0].isdigit()}
    fast, plain = _harvest_both_ways(lambda h: h.add("x", texts))
    assert (fast.urls, fast.ips, fast.emails, fast.domains) == (plain.urls, plain.ips, plain.emails, plain.domains)


@needs_textfast
@settings(max_examples=1500, deadline=None)
@given(PICK_TEXTS)
def test_native_picks_equal_the_python_filters(texts: list[str]) -> None:
    _harvest_pair(texts)
    _harvest_pair(tuple(texts))


@needs_textfast
def test_native_picks_equal_the_python_filters_on_the_samples(sample_results) -> None:  # type: ignore[no-untyped-def]
    for result in sample_results.values():
        for dex in result.facts.dex:
            _harvest_pair(dex.strings)
    _harvest_pair(["1.2.3.4", "8.8.8.8", "x@y.cn", "https://a.example.cn/x", "٣.٣.٣.٣", "8.8.8.8:53"])


IP_TEXT = st.text(alphabet=list("0123456789....٣ ax\n/:\"'"), max_size=60)


@needs_textfast
@settings(max_examples=4000, deadline=None)
@given(IP_TEXT)
def test_native_ip_runs_find_every_ascii_match_of_the_regex(text: str) -> None:
    from apkscan.extract import text as text_mod

    def spans(native: bool) -> list[tuple[int, int]]:
        return [m.span() for m in text_mod.ip_matches(text, native) if m.group(0).isascii()]

    assert spans(True) == spans(False)
    fast, plain = _harvest_both_ways(lambda h: h.add_text("a", text))
    assert fast.ips == plain.ips


@needs_textfast
@pytest.mark.parametrize(
    "text",
    ["8.8.8.8", "x 8.8.8.8 y", "1.2.3.4.5", "١8.8.8.8", "8.8.8.8١", "8.8.8.88", "8.8.8.8888", "..8.8.8.8", "8.8.8.8."],
)
def test_native_ip_runs_edge_cases(text: str) -> None:
    from apkscan.extract import text as text_mod

    def spans(native: bool) -> list[tuple[int, int]]:
        return [m.span() for m in text_mod.ip_matches(text, native) if m.group(0).isascii()]

    assert spans(True) == spans(False)


def test_text_scans_on_a_helper_thread_give_what_they_give_inline(ruleset, sample_results) -> None:  # type: ignore[no-untyped-def]
    """Keyword hits, where each was found, and the regex-set candidates are the same with
    the text passes on a helper thread as with them run when first needed."""
    from concurrent.futures import ThreadPoolExecutor

    from apkscan.engine import all_watched
    from apkscan.rules.context import Context
    from apkscan.sdk import SdkMatcher

    matcher = SdkMatcher(ruleset.sdks)
    args = (all_watched(ruleset), ruleset.keyword_forms, ruleset.blob_patterns)
    hits = 0
    for result in sample_results.values():
        with ThreadPoolExecutor(1) as pool:
            threaded = Context(result.facts, matcher, *args, pool=pool)
            inline = Context(result.facts, matcher, *args)
            assert threaded.keyword_hits == inline.keyword_hits
            assert threaded._keyword_at == inline._keyword_at
            assert threaded.regex_candidates == inline.regex_candidates
            hits += sum(map(len, inline.keyword_hits.values()))
    assert hits > 20  # the fraud and gambling samples do hold keywords


def test_a_warm_cache_scan_does_not_import_pyyaml(tmp_path: Path) -> None:
    """PyYAML is imported only to parse a file the parsed-YAML cache does not hold."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from apkscan import api; "
        f"api.scan(Path({str(Path(__file__).parent.parent / 'samples' / 'clean.apk')!r})); "
        "print('yaml' in sys.modules)"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True) for _ in range(2)]
    assert [r.stdout.strip() for r in runs] == ["True", "False"], [r.stderr[-500:] for r in runs]


def test_pure_python_mode_writes_the_same_reports(tmp_path: Path) -> None:
    """Every sample's JSON report is the same with the C extensions as with
    APKSCAN_PURE_PYTHON=1 (all the pure-Python fallbacks), apart from the clock."""
    import os
    import subprocess
    import sys

    samples = sorted((Path(__file__).parent.parent / "samples").glob("*.apk"))
    env = {k: v for k, v in os.environ.items() if k != "APKSCAN_PURE_PYTHON"}
    reports = []
    for pure in (False, True):
        out = tmp_path / ("pure" if pure else "native")
        run_env = {**env, "APKSCAN_PURE_PYTHON": "1"} if pure else env
        cmd = [sys.executable, "-m", "apkscan", "scan", *map(str, samples), "-o", str(out), "-f", "json", "-q"]
        subprocess.run(cmd, env=run_env, capture_output=True, check=False)
        version = subprocess.run(
            [sys.executable, "-m", "apkscan", "--version"], env=run_env, capture_output=True, text=True, check=True
        )
        assert ("pure Python" in version.stdout) == pure or _textfast is None
        docs = {}
        for p in sorted(out.glob("*.json")):
            doc = json.loads(p.read_text(encoding="utf-8"))
            for key in ("timings", "scanned_at", "duration_s"):
                doc["scan"].pop(key)
            docs[p.name] = doc
        reports.append(docs)
    assert len(reports[0]) == len(samples)
    assert reports[0] == reports[1]


# --- the fast binary XML reader (apkscan.extract.binxml) -------------------------------------


def _element_tree(el: Any) -> tuple[str, dict[str, str], list[Any], list[tuple[str, int]]]:
    """The element's tag, attributes and children, and what ``iter()`` gives below it (the
    tag and attribute count of each element, in document order)."""
    return (
        el.tag,
        dict(el.attrib),
        [_element_tree(c) for c in el if isinstance(c.tag, str)],
        [(e.tag, len(e.attrib)) for e in el.iter() if isinstance(e.tag, str)],
    )


def _androguard_tree(data: bytes) -> object:
    """What androguard's printer gives for ``data``: (tree, packed), or the exception's name."""
    import contextlib
    import io

    from apkscan.extract import manifest

    axml = manifest._androguard()
    axml.logger = manifest._NO_LOG
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            printer = axml.AXMLPrinter(data)
            root = printer.get_xml_obj() if printer.is_valid() else None
            return (None if root is None else _element_tree(root)), bool(printer.is_packed())
    except Exception as exc:
        return type(exc).__name__


def _fast_tree(data: bytes) -> object:
    """What apkscan.extract.binxml gives: (tree, packed) in androguard's shape, or None."""
    from apkscan.extract import binxml

    got = binxml.parse(data)
    return None if got is None else (_element_tree(got[0]), got[1])


def _binary_xml(apks: list[Path], per_apk: int) -> list[tuple[str, bytes]]:
    """The manifest and up to ``per_apk`` compiled XML resources of each APK."""
    import zipfile

    out: list[tuple[str, bytes]] = []
    for apk in apks:
        try:
            with zipfile.ZipFile(apk) as z:
                names = [i.filename for i in z.infolist()]
                wanted = ["AndroidManifest.xml"] if "AndroidManifest.xml" in names else []
                wanted += [n for n in names if n.startswith("res/") and n.endswith(".xml")][:per_apk]
                for name in wanted:
                    with contextlib.suppress(Exception):
                        data = z.read(name)
                        if data.startswith(b"\x03\x00"):
                            out.append((f"{apk.name}!{name}", data))
        except (zipfile.BadZipFile, OSError):
            continue
    return out


def _check_binary_xml(files: list[tuple[str, bytes]]) -> int:
    fast = 0
    for where, data in files:
        got = _fast_tree(data)
        if got is not None:
            fast += 1
            assert got == _androguard_tree(data), where
    return fast


def test_binxml_reads_the_samples_as_androguard_does() -> None:
    """Every binary XML file of the samples that the fast reader takes gives androguard's
    tree and packed flag; every sample's manifest is taken."""
    samples = sorted((Path(__file__).parent.parent / "samples").glob("*.apk"))
    files = _binary_xml(samples, 200)
    manifests = [(w, d) for w, d in files if w.endswith("!AndroidManifest.xml") and "hostile" not in w]
    assert _check_binary_xml(files) >= len(manifests)
    assert all(_fast_tree(d) is not None for _, d in manifests)


@pytest.mark.corpus
def test_binxml_reads_the_corpus_as_androguard_does(corpus: Path) -> None:
    files = _binary_xml(sorted(corpus.rglob("*.apk")), 25)
    assert _check_binary_xml(files) > len(files) // 2


def test_binxml_on_mutants_gives_androguard_s_tree_or_leaves_it_to_androguard() -> None:
    """Hostile binary XML (chunk headers, string pools, element and attribute records,
    namespaces, whole chunks and bytes mutated): the fast reader gives androguard's tree or
    nothing."""
    import zipfile

    from tests.fuzz.mutate import inner_mutation

    samples = Path(__file__).parent.parent / "samples"
    seeds = [zipfile.ZipFile(samples / n).read("AndroidManifest.xml") for n in ("clean.apk", "banker.apk")]
    rng = random.Random(16)
    taken = 0
    for i in range(1500):
        data, desc = inner_mutation("AndroidManifest.xml", seeds[i % 2], rng)
        got = _fast_tree(data)
        if got is not None:
            taken += 1
            assert got == _androguard_tree(data), f"mutant {i}: {desc}"
    assert taken > 50  # harmless mutations (a line number, an unused string) are still read fast


def test_binxml_system_attributes_are_androguard_s() -> None:
    from apkscan.extract import binxml, manifest

    manifest._androguard()
    from androguard.core.resources import public

    assert binxml.system_attributes() == public.SYSTEM_RESOURCES["attributes"]["inverse"]


def test_binxml_values_are_androguard_s() -> None:
    """Every value type androguard formats (floats, dimensions, fractions, colours, ints)."""
    from apkscan.extract import binxml, manifest

    axml = manifest._androguard()
    rng = random.Random(3)
    kinds = [0, 1, 2, 4, 5, 6, 7, 8, 0x10, 0x11, 0x12, 0x1C, 0x1D, 0x1E, 0x1F, 0x20]
    for _ in range(3000):
        kind = rng.choice(kinds)
        data = rng.choice((0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x01010001, rng.getrandbits(32)))
        try:
            theirs: object = axml.format_value(kind, data)
        except IndexError:
            theirs = "gives up"
        try:
            ours: object = binxml.format_value(kind, data, "<string>")
        except binxml._GiveUp:
            ours = "gives up"
        assert ours == theirs, (kind, data)


def test_read_manifest_is_the_same_with_the_fast_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """The manifest facts (and problems, tampering notes) of every sample are the same
    whether its binary XML is read by binxml or by androguard."""
    import zipfile

    from apkscan.extract import binxml, manifest

    results = []
    for apk in sorted((Path(__file__).parent.parent / "samples").glob("*.apk")):
        with zipfile.ZipFile(apk) as z:
            names = z.namelist()
            axml = z.read("AndroidManifest.xml")
            arsc = z.read("resources.arsc") if "resources.arsc" in names else None
        results.append((apk.name, axml, arsc, manifest.read_manifest(axml, arsc)))
    monkeypatch.setattr(binxml, "parse", lambda data: None)
    for name, axml, arsc, fast in results:
        assert manifest.read_manifest(axml, arsc) == fast, name


def test_a_scan_with_a_well_formed_manifest_does_not_import_androguard(tmp_path: Path) -> None:
    """androguard's AXML module (and lxml, loguru) is imported only for what the fast
    reader leaves to it: here, the sample's resources.arsc."""
    import subprocess
    import sys

    code = (
        "import sys, zipfile; from apkscan.extract.manifest import read_manifest; "
        f"z = zipfile.ZipFile({str(Path(__file__).parent.parent / 'samples' / 'clean.apk')!r}); "
        "r = read_manifest(z.read('AndroidManifest.xml'), None); "
        "print(bool(r.manifest.package), [m for m in ('androguard.core.axml', 'lxml', 'loguru') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True []"


# --- the zip-bomb probe in C (apkscan.extract._zipfast) ---------------------------------------


def _raw_deflate(data: bytes, level: int = 6) -> bytes:
    import zlib

    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _probe_streams() -> list[bytes]:
    """Bombs, size lies, corrupt, cut and trailing-garbage deflate streams, and mutants."""
    rng = random.Random(11)
    noise = rng.randbytes(150_000)
    bomb = _raw_deflate(b"\0" * (12 << 20), 9)
    text = _raw_deflate(b"ab" * 2_000_000)
    corrupt = bytearray(_raw_deflate(noise + b"x" * 50_000))
    corrupt[len(corrupt) // 2] ^= 0xFF
    streams = [bomb, bomb + b"garbage" * 5, _raw_deflate(noise), text, text[: len(text) // 2], bytes(corrupt)]
    streams += [rng.randbytes(3000), b""]
    for _ in range(150):
        alphabet = rng.choice((2, 16, 256))
        stream = bytearray(_raw_deflate(bytes(rng.randrange(alphabet) for _ in range(rng.randrange(1, 9000)))))
        for _ in range(rng.randrange(3)):
            stream[rng.randrange(len(stream))] = rng.randrange(256)
        if rng.random() < 0.3:
            stream = stream[: rng.randrange(len(stream))]
        streams.append(bytes(stream))
    return streams


def test_native_probe_equals_the_python_probe() -> None:
    """_zipfast.probe gives, stream by stream, what the Python probe gives: bytes out, how
    it ended (done, ratio, corrupt) and the input used when the ratio stopped it; and it
    stops a batch at the budget where the Python loop stops."""
    from apkscan.extract import archive

    if archive._zipfast is None:
        pytest.skip("the C extension apkscan.extract._zipfast is not built")
    native = archive._zipfast.probe
    floor, chunk, in_chunk = archive._RATIO_FLOOR, archive._CHUNK, archive._IN_CHUNK
    streams = _probe_streams()
    data = b"HEAD" + b"".join(streams) + b"TAIL"
    jobs: list[tuple[int, int, int]] = []
    at = 4
    for s in streams:
        jobs.append((at, at + len(s), 1 << 20))
        at += len(s)
    for limit in (0, 1, 63, 4096, 1 << 20, 64 << 20):
        for ratio in (1000, 3, 0):
            batch = [(a, b, limit) for a, b, _ in jobs]
            ours = native(data, batch, ratio, floor, chunk, in_chunk, 1 << 62, 0, 0.0)
            theirs = archive._probe_jobs(memoryview(data), batch, ratio, 1 << 62, 0, 0.0)
            assert ours == theirs, (limit, ratio)
    cap = 3 << 20  # room for the first few streams only
    ours = native(data, jobs, 1000, floor, chunk, in_chunk, cap, 7, 0.0)
    assert ours == archive._probe_jobs(memoryview(data), jobs, 1000, cap, 7, 0.0)
    assert ours[2] == 1  # the budget stopped it
    late = native(data, jobs, 1000, floor, chunk, in_chunk, 1 << 62, 0, 1e-9)
    assert late == ([], 0, 2, 0)  # past the deadline before the first job


@pytest.mark.parametrize("native", [True, False])
def test_probe_finds_bombs_and_size_lies_with_either_implementation(
    native: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The archive's probe of unread entries, in C and in Python, records the same notes."""
    import io
    import zipfile

    from apkscan.extract import archive
    from apkscan.limits import Limits

    if native and archive._zipfast is None:
        pytest.skip("the C extension apkscan.extract._zipfast is not built")
    monkeypatch.setattr(archive, "ZIP_NATIVE", native)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("AndroidManifest.xml", b"x")
        z.writestr("assets/bomb.bin", b"\0" * (30 << 20))
        z.writestr("assets/ok.png", random.Random(1).randbytes(5000))
    arc = archive.ApkArchive.from_bytes(buf.getvalue(), "t.apk", Limits())
    arc.probe_unread()
    kinds = sorted((t.kind, t.entry) for t in arc.tampering)
    assert ("zip-bomb", "assets/bomb.bin") in kinds
    assert all(t.entry != "assets/ok.png" for t in arc.tampering)


def _heads_agree(arc: Any) -> int:
    from apkscan.extract import archive

    recs = [r for r in arc._recs if r.data_start >= 0 and r.usize and not r.name.endswith("/") and r.deflate]
    heads = arc._deflated_heads()
    for rec in recs:
        try:
            plain: bytes | None = arc._head(rec, archive._SNIFF_BYTES)
        except archive.EntryError:
            plain = None
        assert heads[rec.index] == plain, rec.name
    return len(recs)


def test_native_heads_equal_the_python_heads() -> None:
    """_zipfast.heads gives the bytes the content sniff reads (or None where Python's zlib
    raises) for every deflated entry of the samples and of archives with corrupt data."""
    import io
    import zipfile

    from apkscan.extract import archive
    from apkscan.limits import Limits

    if archive._zipfast is None:
        pytest.skip("the C extension apkscan.extract._zipfast is not built")
    checked = 0
    for apk in sorted((Path(__file__).parent.parent / "samples").glob("*.apk")):
        checked += _heads_agree(archive.ApkArchive.open(apk, Limits()))
    rng = random.Random(5)
    for _ in range(200):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for k in range(5):
                alphabet = rng.choice((2, 20, 256))
                z.writestr(f"e{k}", bytes(rng.randrange(alphabet) for _ in range(rng.randrange(0, 3000))))
        data = bytearray(buf.getvalue())
        for _ in range(rng.randrange(1, 20)):
            data[rng.randrange(len(data) // 2)] = rng.randrange(256)
        try:
            arc = archive.ApkArchive.from_bytes(bytes(data), "m.zip", Limits())
        except (archive.ArchiveError, archive.LimitExceeded):
            continue
        checked += _heads_agree(arc)
    assert checked > 500


@pytest.mark.corpus
def test_native_heads_equal_the_python_heads_on_the_corpus(corpus: Path) -> None:
    from apkscan.extract import archive
    from apkscan.limits import Limits

    if archive._zipfast is None:
        pytest.skip("the C extension apkscan.extract._zipfast is not built")
    checked = 0
    for apk in sorted(corpus.rglob("*.apk")):
        try:
            arc = archive.ApkArchive.open(apk, Limits())
        except (archive.ArchiveError, archive.LimitExceeded):
            continue
        checked += _heads_agree(arc)
    assert checked > 1000


def _archive_reading(data: bytes, native: bool, monkeypatch: pytest.MonkeyPatch, max_entries: int = 60) -> object:
    """Records, tampering and problems of one archive read with or without the C reader
    of central directory records (or the error that stopped it)."""
    from apkscan.extract import archive
    from apkscan.limits import Limits

    monkeypatch.setattr(archive, "ZIP_NATIVE", native)
    try:
        arc = archive.ApkArchive.from_bytes(data, "m.apk", Limits(max_entries=max_entries))
    except (archive.ArchiveError, archive.LimitExceeded) as exc:
        return repr(exc)
    recs = [
        (r.index, r.name, r.raw_name, r.method, r.flags, r.crc, r.csize, r.usize, r.lho, r.data_start, r.deflate)
        for r in arc._recs
    ]
    return recs, list(arc.tampering), list(arc.problems), arc._budget.entries


def test_native_records_equal_the_python_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """_zipfast.records reads what _parse_cd reads, and leaves every record with anything
    unusual in it (names, extras, methods, flags, local headers that differ, duplicates,
    zip bombs, the entry limit) to the Python reading: the same records, tampering and
    problems, in the same order, on the samples and on thousands of damaged copies."""
    from apkscan.extract import archive

    if archive._zipfast is None:
        pytest.skip("the C extension apkscan.extract._zipfast is not built")
    bases = [p.read_bytes() for p in sorted((Path(__file__).parent.parent / "samples").glob("*.apk"))]
    for data in bases:
        assert _archive_reading(data, True, monkeypatch) == _archive_reading(data, False, monkeypatch)
    rng = random.Random(11)
    for _ in range(1500):
        data = bytearray(rng.choice(bases))
        cd = data.find(b"PK\x01\x02")
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(cd, len(data)) if rng.random() < 0.7 else rng.randrange(min(len(data), 400))
            data[at] = rng.choice((0, 1, 0x08, 0x2E, 0x2F, 0x3A, 0x5C, 0x7F, 0xFF, rng.randrange(256)))
        limit = rng.choice((3, 60))
        fast = _archive_reading(bytes(data), True, monkeypatch, limit)
        assert fast == _archive_reading(bytes(data), False, monkeypatch, limit)


@pytest.mark.corpus
def test_native_records_equal_the_python_reading_on_the_corpus(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same on every file of the corpus, its malformed and tampered APKs included."""
    from apkscan.extract import archive

    if archive._zipfast is None:
        pytest.skip("the C extension apkscan.extract._zipfast is not built")
    checked = 0
    for path in sorted(p for p in corpus.rglob("*") if p.is_file() and p.stat().st_size < (64 << 20)):
        data = path.read_bytes()
        fast = _archive_reading(data, True, monkeypatch, 100_000)
        assert fast == _archive_reading(data, False, monkeypatch, 100_000), path.name
        checked += not isinstance(fast, str)
    assert checked > 300


HEADS = st.one_of(
    st.binary(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40).map(str.encode),
    st.text(max_size=20).map(str.encode),
    st.sampled_from((b"dex\n035", b"PK\x03\x04", b"PK\x05\x06", b"\x7fELF", b"\x03\x00\x08\x00", b"\x00\x00\x08\x00",
                     b"\x02\x00\x0c\x00", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"\x03\x00\x08")).flatmap(
        lambda magic: st.binary(max_size=12).map(lambda tail: magic + tail)
    ),
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(HEADS, max_size=8))
def test_native_sniff_equals_the_python_sniff(heads: list[bytes]) -> None:
    """_zipfast.sniff gives archive.sniff's kind of every head it decides, and leaves only
    heads with non-ASCII bytes (and no magic number or NUL) to Python."""
    from apkscan.extract import archive

    if archive._zipfast is None:
        pytest.skip("the C extension apkscan.extract._zipfast is not built")
    for head, kind in zip(heads, archive._zipfast.sniff(heads), strict=True):
        if kind is None:
            assert any(b >= 0x80 for b in head) and b"\x00" not in head
        else:
            assert kind == archive.sniff(head), head


@pytest.mark.corpus
def test_entry_kinds_are_the_same_with_the_native_sniff(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every entry of the samples and the corpus gets the same kind from the C passes
    (heads and sniff) as from the Python reading."""
    from apkscan.extract import archive
    from apkscan.limits import Limits

    if archive._zipfast is None:
        pytest.skip("the C extension apkscan.extract._zipfast is not built")
    paths = [*sorted((Path(__file__).parent.parent / "samples").glob("*.apk")), *sorted(corpus.rglob("*.apk"))]
    checked = 0
    for path in paths:
        kinds = []
        for native in (True, False):
            monkeypatch.setattr(archive, "ZIP_NATIVE", native)
            try:
                arc = archive.ApkArchive.open(path, Limits())
            except (archive.ArchiveError, archive.LimitExceeded):
                break
            kinds.append([e.kind for e in arc.entries])
        if kinds:
            assert kinds[0] == kinds[1], path.name
            checked += len(kinds[0])
    assert checked > 5_000


def _tlsh_pair(data: bytes) -> tuple[str, str]:
    """(the C digest, py-tlsh's digest with its "TNULL" as "")."""
    import tlsh

    ref = str(tlsh.hash(data))
    return fingerprint_mod._native.tlsh(data), "" if ref.startswith("TNULL") else ref


needs_tlshfast = pytest.mark.skipif(
    fingerprint_mod._native is None,
    reason="the C extension apkscan.extract._tlshfast is not built",
)


@needs_tlshfast
@settings(max_examples=1500, deadline=None)
@given(st.one_of(
    st.binary(max_size=4000),
    st.lists(st.sampled_from([b"a", b"b", b"\0", b"xyz"]), max_size=900).map(b"".join),
))
def test_native_tlsh_equals_py_tlsh(data: bytes) -> None:
    """Any bytes, uniform runs and short inputs included (no digest under 50 bytes, or
    when half the buckets or fewer are used)."""
    ours, theirs = _tlsh_pair(data)
    assert ours == theirs


@needs_tlshfast
def test_native_tlsh_equals_py_tlsh_at_every_length_class_boundary() -> None:
    """The length class in the digest changes at fixed lengths: both sides of each one, up
    to the largest input the extractor hashes (fingerprint.SAMPLE_THRESHOLD)."""
    fingerprint = fingerprint_mod
    rng = random.Random(5)
    data = rng.randbytes(fingerprint.SAMPLE_THRESHOLD + 2)
    lengths = {50, 51, fingerprint.SAMPLE_BYTES, fingerprint.SAMPLE_THRESHOLD}
    n = 50
    while n < fingerprint.SAMPLE_THRESHOLD:  # each boundary found where py-tlsh's L moves
        lengths |= {n, n + 1}
        n = int(n * 1.1) + 1
    for n in sorted(lengths):
        ours, theirs = _tlsh_pair(data[:n])
        assert ours == theirs, n


@needs_tlshfast
@pytest.mark.corpus
def test_native_tlsh_equals_py_tlsh_on_real_entries(corpus: Path) -> None:
    """Every entry of the samples and of the corpus's top-level APKs, as the extractor
    hashes it (sampled when large)."""
    import zipfile

    fingerprint = fingerprint_mod
    paths = [*sorted((Path(__file__).parent.parent / "samples").glob("*.apk")), *sorted(corpus.glob("*.apk"))]
    checked = 0
    for path in paths:
        try:
            with zipfile.ZipFile(path) as z:
                for info in z.infolist()[:400]:
                    if info.file_size > 16 << 20:
                        continue
                    try:
                        part = fingerprint.sample(z.read(info))
                    except Exception:  # a damaged entry of a tampered file: nothing to hash
                        continue
                    ours, theirs = _tlsh_pair(part)
                    assert ours == theirs, f"{path.name}!{info.filename}"
                    checked += 1
        except zipfile.BadZipFile:
            continue
    assert checked > 5_000
