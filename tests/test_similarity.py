"""Similarity fingerprints, the MinHash sketches, the C passes against Python, the LSH index."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apkscan import serial, similarity
from apkscan.extract import fingerprint as fz
from apkscan.facts import ApkFacts, Fingerprint
from apkscan.sdk import SdkMatcher, dotted_classes

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture(scope="module")
def fps(sample_results):  # type: ignore[no-untyped-def]
    return {name: r.facts.fingerprint for name, r in sample_results.items()}


def test_minhash_estimates_jaccard() -> None:
    rng = random.Random(1)
    a = [rng.getrandbits(64) for _ in range(4000)]
    b = a[:3000] + [rng.getrandbits(64) for _ in range(1000)]  # J = 3000 / 5000 = 0.6
    assert similarity.jaccard(similarity.minhash(a), similarity.minhash(a)) == 1.0
    assert abs(similarity.jaccard(similarity.minhash(a), similarity.minhash(b)) - 0.6) < 0.15
    c = [rng.getrandbits(64) for _ in range(4000)]
    assert similarity.jaccard(similarity.minhash(a), similarity.minhash(c)) < 0.1
    assert similarity.minhash([]) == ()
    assert len(similarity.minhash([5])) == similarity.K  # densified: every slot filled


def test_every_sample_has_fuzzy_hashes_and_sketches(fps) -> None:  # type: ignore[no-untyped-def]
    if not fz.available():
        pytest.skip("py-tlsh not installed")
    for name, fp in fps.items():
        parts = {c.split(":")[0] for c, _ in fp.fuzzy}
        assert {"manifest", "dex"} <= parts, name
        tlsh = [d for c, d in fp.fuzzy if c not in (similarity.KEYS, similarity.CORE)]
        assert all(d.startswith("T1") and len(d) == 72 for d in tlsh), name
        assert all(similarity.unpack_bottom(d)[0] for c, d in fp.fuzzy if c == similarity.CORE), name
        assert all(similarity.unpack_sketch(d)[0] for c, d in fp.fuzzy if c == similarity.KEYS), name
        assert fp.api, name


def test_large_entries_are_sampled_in_windows() -> None:
    data = random.Random(2).randbytes(3 << 20)
    sampled = fz.sample(data)
    assert len(sampled) == fz.SAMPLE_BYTES
    width = fz.SAMPLE_BYTES // fz.WINDOWS
    assert sampled[:1000] == data[:1000] and sampled[-1000:] in data[-(width + fz.WINDOWS) :]
    assert fz.sample(data[:1000]) == data[:1000]
    if fz.available():
        assert fz.distance(fz.fuzzy_hash(data), fz.fuzzy_hash(data)) == 0
    assert fz.fuzzy_hash(b"short") == ""


def test_fingerprint_survives_the_facts_round_trip(sample_results) -> None:  # type: ignore[no-untyped-def]
    facts = sample_results["fraud_loan"].facts
    back = serial.from_dict(ApkFacts, serial.to_jsonable(facts))
    assert back.fingerprint == facts.fingerprint
    assert isinstance(back.fingerprint.code, tuple)


def test_native_passes_equal_python(sample_results, ruleset) -> None:  # type: ignore[no-untyped-def]
    if similarity._native is None:
        pytest.skip("apkscan._simfast not built")
    native = similarity._native
    try:
        for name in ("fraud_loan", "multidex", "tracker", "banker"):
            facts = sample_results[name].facts
            matcher = SdkMatcher(ruleset.sdks)
            matcher.detect(facts, dotted_classes(facts))
            similarity._native = native
            fast = similarity.fingerprint(facts, matcher)
            similarity._native = None
            slow = similarity.fingerprint(facts, matcher)
            assert fast == slow, name
    finally:
        similarity._native = native


@pytest.mark.corpus
def test_native_passes_equal_python_on_the_corpus(corpus, ruleset) -> None:  # type: ignore[no-untyped-def]
    """The whole fingerprint, C passes against Python, on the 13-dex workload and the
    corpus's top-level APKs (thousands of entries, tens of thousands of methods)."""
    from apkscan.errors import ApkscanError
    from apkscan.extract.apk import extract

    if similarity._native is None:
        pytest.skip("apkscan._simfast not built")
    native = similarity._native
    paths = [corpus / "large" / "cmp_mixed_13dex.apk", *sorted(corpus.glob("*.apk"))[:40]]
    checked = 0
    try:
        for path in paths:
            try:
                facts = extract(path, fingerprints=False)
            except ApkscanError:
                continue
            matcher = SdkMatcher(ruleset.sdks)
            hits = matcher.detect(facts, dotted_classes(facts))
            similarity._native = native
            fast = similarity.fingerprint(facts, matcher, hits)
            similarity._native = None
            slow = similarity.fingerprint(facts, matcher, hits)
            similarity._native = native
            assert fast == slow, path.name
            checked += bool(fast.code)
    finally:
        similarity._native = native
    assert checked >= 20


METHODISH = st.text(alphabet=list("La/b$c;->xé中/$;"), max_size=14)


@settings(max_examples=400, deadline=None)
@given(st.lists(METHODISH, min_size=1, max_size=30).map(lambda m: tuple(sorted(m))),
       st.lists(METHODISH.map(lambda t: "L" + t + "/"), max_size=5))
def test_native_method_flags_equal_python(methods: tuple[str, ...], extra: list[str]) -> None:
    """The package-level cache of the C pass changes no flag: any names (sorted like a
    dex's, or not), prefixes at package, class and nested-class level, non-ASCII."""
    if similarity._native is None:
        pytest.skip("apkscan._simfast not built")
    exclude = frozenset({"La/", "La/b$", "Lc/d;", "Lé/", "L中/x$", *extra})
    platform = frozenset({"La/b/", "Lx;", "La$"})
    for ms in (methods, tuple(reversed(methods))):
        fast = similarity._native.method_flags(ms, exclude, platform)
        assert fast == similarity._method_flags_py(ms, exclude, platform)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=300))
def test_native_minhash_equals_python(features: list[int]) -> None:
    """Any 64-bit features, 2**64 - 1 (the empty slot's own value) included."""
    if similarity._native is None:
        pytest.skip("apkscan._simfast not built")
    assert similarity.minhash(features) == similarity._minhash_py(features)
    assert similarity.minhash([2**64 - 1, *features]) == similarity._minhash_py([2**64 - 1, *features])


def test_the_native_passes_called_are_the_ones_the_extension_has() -> None:
    """similarity falls back to Python when the built extension lacks a pass it calls (an
    editable install updated without a rebuild); the list names every pass it calls."""
    import re

    if similarity._native is None:
        pytest.skip("apkscan._simfast not built")
    source = Path(similarity.__file__).read_text(encoding="utf-8")
    called = set(re.findall(r"_native\.(\w+)", source))
    assert called == set(similarity.NATIVE_PASSES)
    assert all(hasattr(similarity._native, name) for name in called)


def test_catalogued_sdk_code_is_not_the_apps_own(sample_results, ruleset) -> None:  # type: ignore[no-untyped-def]
    facts = sample_results["tracker"].facts
    matcher = SdkMatcher(ruleset.sdks)
    matcher.detect(facts, dotted_classes(facts))
    exclude = similarity._excluded_prefixes(facts, matcher)
    assert "Landroidx/" in exclude
    with_sdks = similarity.code_features(facts, None)
    without = similarity.code_features(facts, matcher)
    assert len(without[1]) <= len(with_sdks[1])


def test_an_sdk_named_by_its_classes_owns_their_package(sample_results) -> None:  # type: ignore[no-untyped-def]
    from apkscan.model import SdkHit

    def hit(*matched: str) -> SdkHit:
        return SdkHit("x", "X", "", "", "network", "", False, (), "", matched)

    facts = sample_results["tracker"].facts
    out = similarity._excluded_prefixes(facts, None, [hit("classes okio.Buffer.* (4)", "classes okio.Okio.* (5)")])
    assert {"Lokio/Buffer;", "Lokio/Okio$", "Lokio/"} <= out  # okio.Sink, okio.ByteString ... are okio's too
    one = similarity._excluded_prefixes(facts, None, [hit("classes com.Leadbolt.* (1)", "classes com.x.sdk.* (9)")])
    assert "Lcom/" not in one and "Lcom/Leadbolt;" in one and "Lcom/x/sdk/" in one
    assert "Lcom/android/tools/" in one  # build tooling (Instant Run) is no app's own code


def test_rebuilds_are_similar_and_unrelated_apps_are_not(fps) -> None:  # type: ignore[no-untyped-def]
    score, comps = similarity.similarity(fps["pii_collector"], fps["pii_collector_v2"])
    assert score >= similarity.THRESHOLD, comps
    for other in ("fraud_loan", "banker", "gambling", "tracker"):
        s, comps = similarity.similarity(fps["pii_collector"], fps[other])
        assert s < similarity.THRESHOLD, (other, comps)


def test_lsh_index_finds_what_brute_force_finds(fps) -> None:  # type: ignore[no-untyped-def]
    from apkscan.batch.families import brute_force_pairs

    index = similarity.LshIndex()
    for name, fp in fps.items():
        index.add(name, fp)
    hits = index.query(fps["pii_collector_v2"])
    assert hits[0][0] == "pii_collector_v2" and hits[0][1] == 1.0
    assert "pii_collector" in [h[0] for h in hits]
    index.remove("pii_collector")
    assert "pii_collector" not in [h[0] for h in index.query(fps["pii_collector_v2"])]
    lsh = {frozenset((p.a, p.b)) for p in similarity.similar_pairs(fps)}
    brute = {frozenset((a, b)) for a, b, *_ in brute_force_pairs(fps)}
    assert frozenset(("pii_collector", "pii_collector_v2")) in lsh & brute
    assert lsh <= brute  # every pair the index reports is scored like brute force does
    assert len(lsh) >= len(brute) // 2  # banding is probabilistic: most, not all (docs/families.md)


def test_lsh_index_links_by_package_and_signer_at_any_score(fps) -> None:  # type: ignore[no-untyped-def]
    """An indexed app of the asked package name or signing certificate is returned below
    the threshold, with that component; removing or re-adding it leaves no stale link."""
    index = similarity.LshIndex()
    index.add("kit", fps["pii_collector"], "org.kit.app", ["AA" * 32, "BB" * 32])
    index.add("demo", fps["tracker"], "com.example.demo", ["CC" * 32])  # a placeholder name links nothing
    clean = fps["clean"]
    assert index.query(clean) == []
    ((key, score, comps),) = index.query(clean, signers=["BB" * 32])
    assert key == "kit" and score < similarity.THRESHOLD and comps[similarity.SIGNER] == 1.0
    assert similarity.PACKAGE not in comps
    ((key, _, comps),) = index.query(clean, package="org.kit.app", signers=["AA" * 32])
    assert comps[similarity.PACKAGE] == comps[similarity.SIGNER] == 1.0
    assert index.query(clean, package="com.example.demo") == []
    assert [k for k, *_ in index.query(clean, signers=["CC" * 32])] == ["demo"]
    index.add("kit", fps["pii_collector"], "org.kit.app")  # re-added without its signers
    assert index.query(clean, signers=["AA" * 32]) == [] and len(index) == 2
    index.remove("kit")
    assert index.query(clean, package="org.kit.app") == [] and ("package", "org.kit.app") not in index.links


def test_a_renamed_kit_keeps_its_sketch(fps) -> None:  # type: ignore[no-untyped-def]
    fp = fps["fraud_loan"]
    resigned = replace(fp, fuzzy=tuple((c, d) for c, d in fp.fuzzy if c != "manifest"))
    score, comps = similarity.similarity(fp, resigned)
    assert score == 1.0 and "manifest" not in comps
    assert similarity.score({"api": 1.0}) == 0.0  # one component is not enough


def test_empty_fingerprint_compares_to_nothing() -> None:
    assert similarity.similarity(Fingerprint(), Fingerprint()) == (0.0, {})


def test_binary_web_assets_are_not_fuzzy_hashed() -> None:
    assert fz.looks_like_text('{"a": [1, 2]}\n<html>\t</html>')
    assert fz.looks_like_text("彩票开奖".encode("gbk").decode("utf-8", "replace") * 50)  # GBK text stays text
    payload = random.Random(3).randbytes(8000).decode("utf-8", "replace")
    assert not fz.looks_like_text(payload) and not fz.looks_like_text("")
    hashes = fz.FuzzyHashes()
    hashes.add_web("assets/tR.json", payload)
    assert hashes.result() == ()


# --- resource names (keys) and the obfuscation-resistant score -----------------------


def test_resource_names_are_sketched_without_library_strings(sample_results) -> None:  # type: ignore[no-untyped-def]
    facts = sample_results["fraud_loan"].facts
    own = [("", f"loan_form_field_{i}", "x") for i in range(30)]
    library = [("", f"abc_action_{i}", "x") for i in range(50)] + [("", "app_name", "Loan"), ("zh", "app_name", "贷")]
    with_keys = replace(facts, strings=replace(facts.strings, resources=tuple(own + library)))
    assert len(similarity.key_features(with_keys)) == 30  # AppCompat's names and app_name left out
    fp = similarity.fingerprint(with_keys)
    packed = dict(fp.fuzzy)[similarity.KEYS]
    sketch, n = similarity.unpack_sketch(packed)
    assert n == 30 and len(sketch) == similarity.K
    assert similarity.pack_sketch(sketch, n) == packed
    assert similarity.fingerprint(replace(with_keys, fingerprint=fp)) == fp  # computed twice: one entry
    assert similarity.unpack_sketch("MH3:zz") == ((), 0)
    assert similarity.unpack_sketch("T1" + "0" * 70) == ((), 0)
    rebranded = tuple((loc, name, "Other brand") for loc, name, _ in own)
    renamed = replace(with_keys, strings=replace(facts.strings, resources=rebranded))
    assert similarity.components(fp, similarity.fingerprint(renamed))["keys"] == 1.0  # values do not count


def test_fingerprints_stored_before_the_resource_names_still_compare(fps) -> None:  # type: ignore[no-untyped-def]
    fp = fps["pii_collector"]
    old = replace(fp, fuzzy=tuple((c, d) for c, d in fp.fuzzy if c != similarity.KEYS))
    score, comps = similarity.similarity(old, fps["pii_collector_v2"])
    assert similarity.KEYS not in comps and score >= similarity.THRESHOLD


def _sketch(rng: random.Random, shared: list[int], own: int) -> tuple[int, ...]:
    return similarity.minhash(shared + [rng.getrandbits(64) for _ in range(own)])


def test_differently_obfuscated_builds_link_through_resistant_components() -> None:
    rng = random.Random(7)
    keys = [rng.getrandbits(64) for _ in range(200)]
    shape = [rng.getrandbits(64) for _ in range(40)]
    res = fz.fuzzy_hash(rng.randbytes(20000)) if fz.available() else ""

    def build(k_own: int, s_own: int) -> Fingerprint:
        fuzzy = [("manifest", fz.fuzzy_hash(rng.randbytes(3000)) if fz.available() else "")]
        fuzzy += [("resources", res), (similarity.KEYS, similarity.pack_sketch(_sketch(rng, keys, k_own), 200 + k_own))]
        code = [rng.getrandbits(64) for _ in range(500)]  # every build obfuscated anew: nothing shared
        return Fingerprint(
            fuzzy=tuple((c, d) for c, d in fuzzy if d),
            code=similarity.minhash(code), code_features=500, api=similarity.minhash(code[:100]), api_features=100,
            text=similarity.minhash(code[:300]), text_features=300,
            shape=_sketch(rng, shape, s_own), shape_features=40 + s_own,
        )

    a, b = build(10, 2), build(10, 2)
    score, comps = similarity.similarity(a, b)
    assert comps["code"] < 0.2 and comps["keys"] > 0.7 and comps["shape"] > 0.7, comps
    assert score >= similarity.THRESHOLD, comps
    assert sum(comps.values()) / len(comps) < similarity.THRESHOLD  # the plain mean would miss them
    # one resistant component agreeing is not enough
    one = replace(b, shape=similarity.minhash([rng.getrandbits(64) for _ in range(40)]),
                  fuzzy=tuple((c, d) for c, d in b.fuzzy if c != "resources"))
    assert similarity.similarity(a, one)[0] < similarity.THRESHOLD
    assert similarity.score({"keys": 1.0, "code": 0.0, "api": 0.0}) == pytest.approx(1 / 3, abs=0.001)
    assert similarity.score({"keys": 0.9, "shape": 0.7, "code": 0.0}) == 0.8
    # the index finds them although their code shares no band
    index = similarity.LshIndex()
    index.add("a", a)
    assert index.query(b)[0][0] == "a"


# --- the app's core and containment (the known-sample look-up) -------------------------


def test_bottom_sketch_estimates_containment() -> None:
    rng = random.Random(11)
    kit = [rng.getrandbits(64) for _ in range(600)]

    def fp(features: list[int]) -> Fingerprint:
        return Fingerprint(fuzzy=((similarity.CORE, similarity.pack_bottom(features)),))

    sample = fp(kit)
    carrier = fp(kit[:480] + [rng.getrandbits(64) for _ in range(3000)])  # 80% of the kit beside 3,000 others
    unrelated = fp([rng.getrandbits(64) for _ in range(3000)])
    held = similarity.containment(sample, carrier)
    assert held is not None and abs(held - 0.8) < 0.15
    assert similarity.containment(sample, sample) == 1.0
    assert (similarity.containment(sample, unrelated) or 0.0) < 0.1
    # the carrier's core is five times the kit: Jaccard is low, containment is not
    assert similarity.containment(carrier, sample) is not None and similarity.containment(carrier, sample) < 0.3
    assert similarity.containment(fp(kit[:50]), carrier) is None  # a small core is not looked for
    huge = fp(kit + [rng.getrandbits(64) for _ in range(200_000)])
    assert similarity.containment(sample, huge) is None  # too few of the kit's hashes in the range both cover
    assert similarity.containment(Fingerprint(), carrier) is None  # stored before the core sketch
    values, n = similarity.unpack_bottom(sample.fuzzy[0][1])
    assert n == 600 and len(values) == similarity.CORE_K and list(values) == sorted(values)
    assert similarity.unpack_bottom("BK3:zz") == ((), 0) and similarity.unpack_bottom("MH3:00") == ((), 0)


def test_the_core_is_where_the_manifest_components_are(sample_results, ruleset) -> None:  # type: ignore[no-untyped-def]
    from apkscan.facts import Component

    facts = sample_results["tracker"].facts
    matcher = SdkMatcher(ruleset.sdks)
    hits = matcher.detect(facts, dotted_classes(facts))
    exclude = similarity._excluded_prefixes(facts, matcher, hits)
    assert similarity.core_prefixes(facts, exclude) == {"Lorg/apkscan/"}
    sdk = Component(kind="service", name="androidx.work.impl.background.systemjob.SystemJobService", exported=False,
                    exported_explicit=False, permission=None)
    tool = Component(kind="provider", name="com.android.tools.ir.server.InstantRunContentProvider", exported=False,
                     exported_explicit=False, permission=None)
    more = replace(facts, manifest=replace(facts.manifest, components=(*facts.manifest.components, sdk, tool)))
    assert similarity.core_prefixes(more, exclude) == {"Lorg/apkscan/"}  # library components are no core
    core: list[int] = []
    shapes, _, texts = similarity.code_features(facts, matcher, hits, core)
    assert 0 < len(set(core)) <= len(shapes) + len(texts)
    # the methods under a core prefix, found by bisection, are those a prefix test finds
    for dex in facts.dex:
        flags, _ = similarity._method_flags_py(dex.methods, exclude, similarity.PLATFORM)
        by_test = bytes(int(f == 1 and m.startswith("Lorg/apkscan/")) for f, m in zip(flags, dex.methods, strict=True))
        assert similarity._core_flags(dex.methods, flags, frozenset({"Lorg/apkscan/"})) == by_test


def test_a_kit_inside_a_larger_app_is_found_by_the_lookup(sample_results, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """pii_collector's code and components carried inside tracker's: the pair is not
    similar, but the look-up finds the kit's core inside the carrier (the bundled samples
    are small, so the minimum core size is lowered for them)."""
    monkeypatch.setattr(similarity, "MIN_CORE", 10)
    monkeypatch.setattr(similarity, "MIN_SHARED_RANGE", 10)
    kit, host = sample_results["pii_collector"].facts, sample_results["tracker"].facts
    carrier = replace(
        host,
        sha256="0" * 64,
        dex=host.dex + tuple(replace(d, path="assets/payload.jar!" + d.path) for d in kit.dex),
        manifest=replace(host.manifest, components=host.manifest.components + kit.manifest.components),
        fingerprint=replace(host.fingerprint, fuzzy=()),
    )
    fp = similarity.fingerprint(carrier)
    sample = similarity.fingerprint(kit)
    assert similarity.similarity(fp, sample)[0] < similarity.THRESHOLD
    score, comps = similarity.lookup(fp, sample)
    assert comps[similarity.CONTAINS] >= 0.9 and score >= similarity.THRESHOLD, comps
    index = similarity.LshIndex()
    index.add("kit", sample)
    assert [h[0] for h in index.query(fp, contained=True)] == ["kit"]
    assert index.query(fp) == []  # the pairwise score alone does not link them
    for other in ("clean", "fraud_loan", "banker", "gambling"):
        assert index.query(sample_results[other].facts.fingerprint, contained=True) == [], other
    index.remove("kit")
    assert not index.buckets


def test_the_kmin_pair_of_the_benchmark(ruleset) -> None:  # type: ignore[no-untyped-def]
    """A real case, when ../shared/benchmark is present: the second Kmin sample carries the
    first one's code beside 400 other classes (read statically, nothing copied)."""
    root = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmark"
    names = ("malicious_ashishb_Kmin_231696FF.apk", "malicious_ashishb_Kmin_9D5752F2.apk")
    paths = [next((p for p in (root / n, root / "malicious" / n) if p.exists()), None) for n in names]
    if None in paths:
        pytest.skip("../shared/benchmark not present")
    from apkscan.extract.apk import extract

    matcher = SdkMatcher(ruleset.sdks)
    kit, carrier = (similarity.fingerprint(f, matcher, matcher.detect(f, dotted_classes(f)))
                    for f in (extract(p) for p in paths if p))
    assert similarity.similarity(kit, carrier)[0] < similarity.THRESHOLD
    score, comps = similarity.lookup(carrier, kit)
    assert comps[similarity.CONTAINS] >= 0.6 and score >= similarity.THRESHOLD, comps
