"""Load and validate a rule set: YAML rules, YARA rules, keyword sets and SDK catalogues.

Validation happens here, before any APK is read; every error names ``file:line``, the rule
id and the exact problem, and raises :class:`RuleLoadError` (exit code 3).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yara

from apkscan.errors import RuleLoadError
from apkscan.model import CATEGORIES, CONFIDENCES, Reference, Severity
from apkscan.rules.data import builtin_dir, cache_dir, cached_parse, read_cache, write_cache
from apkscan.rules.predicates import TRADITIONAL, CompileEnv, Pred, PredicateError, compile_pred
from apkscan.sdk import Sdk, parse_catalogue
from apkscan.verdict import ILLEGAL

RULE_KEYS = {
    "id",
    "title",
    "description",
    "severity",
    "confidence",
    "category",
    "tags",
    "references",
    "remediation",
    "title_zh",
    "description_zh",
    "remediation_zh",
    "match",
    "tests",
    "enabled",
}
REQUIRED_KEYS = ("id", "title", "description", "severity", "category", "match")
YARA_META = {
    "id",
    "title",
    "description",
    "severity",
    "confidence",
    "category",
    "tags",
    "references",
    "remediation",
    "title_zh",
    "description_zh",
    "remediation_zh",
    "targets",
}
ZH_KEYS = ("title_zh", "description_zh", "remediation_zh")
"""Chinese texts every rule carries (``apkscan rules validate`` fails a rule without one;
a scan still loads it and shows the English text)."""
YARA_TARGETS = {"dex", "native", "assets", "resources", "nested", "all"}
ENGINE_VERSION = "1"
"""Part of the rules digest: bump when predicate semantics change."""


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    description: str
    severity: Severity
    confidence: str
    category: str
    tags: tuple[str, ...]
    references: tuple[Reference, ...]
    remediation: str
    match: Pred = field(compare=False, hash=False, repr=False)
    tests: dict[str, list[dict[str, Any]]] = field(compare=False, hash=False, repr=False)
    file: str = ""
    line: int = 0
    depends: frozenset[str] = frozenset()
    source: str = "yaml"
    title_zh: str = ""
    description_zh: str = ""
    remediation_zh: str = ""


@dataclass(frozen=True)
class YaraMeta:
    id: str
    title: str
    description: str
    severity: Severity
    confidence: str
    category: str
    tags: tuple[str, ...]
    references: tuple[Reference, ...]
    remediation: str
    targets: frozenset[str]
    identifier: str
    title_zh: str = ""
    description_zh: str = ""
    remediation_zh: str = ""


@dataclass
class RuleSet:
    rules: list[Rule]
    yara: Any  # yara.Rules | None
    yara_meta: dict[str, YaraMeta]
    keyword_sets: dict[str, list[str]]
    sdks: list[Sdk]
    watched_apis: set[str]
    keyword_forms: frozenset[str]
    digest: str
    files: list[str]
    blob_patterns: tuple[bytes, ...] = ()
    builtin_checks: bool = True
    """The engine's built-in checks (the personal-data map PI-MAP-*, the necessity checks)
    run; false for a rule set of only the user's folders (``--rules-only``). The
    fail-closed ANALYSIS-* and TAMPER-* checks always run."""

    def rule(self, rule_id: str) -> Rule | YaraMeta | None:
        for r in self.rules:
            if r.id == rule_id:
                return r
        for m in self.yara_meta.values():
            if m.id == rule_id:
                return m
        return None


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k != "__line__"}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _load_lines(path: Path, raw: bytes | None = None, used: list[str] | None = None) -> Any:
    try:
        data = path.read_bytes() if raw is None else raw
        return cached_parse(data, "lines", functools.partial(_parse_lines, path), used)
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleLoadError(f"{path}: cannot read: {exc}") from None


def _parse_lines(path: Path, text: str) -> Any:
    from apkscan.rules import yamlparse  # PyYAML only when the cache has no parse

    return yamlparse.parse_lines(path, text)


def _refs(value: Any, where: str) -> tuple[Reference, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(Reference(id=v.strip()) for v in value.split(";") if v.strip())
    if not isinstance(value, list):
        raise RuleLoadError(f"{where}: references must be a list")
    out = []
    for item in value:
        if isinstance(item, str):
            out.append(Reference(id=item))
        elif isinstance(item, dict) and "id" in item:
            extra = set(item) - {"id", "url", "title", "__line__"}
            if extra:
                raise RuleLoadError(f"{where}: unknown key {sorted(extra)[0]!r} in a reference")
            out.append(
                Reference(
                    id=str(item["id"]), url=str(item.get("url", "") or ""), title=str(item.get("title", "") or "")
                )
            )
        else:
            raise RuleLoadError(f"{where}: a reference is a string or a mapping with 'id'")
    return tuple(out)


def _key_line(path: Path, start: int, keys: list[str]) -> int:
    """The line of ``keys`` (a path such as ``["match", "all", "regex"]``) inside the rule
    that starts at line ``start``: each key is looked for from the line of the one before,
    within the rule (before the next ``- `` item at the rule's indentation). ``start``
    where the text is unreadable or a key is not found. A small scan of the text: the
    parsed documents only remember where each mapping starts."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return start
    if not 0 < start <= len(lines):
        return start
    first = lines[start - 1]
    item_indent = len(first) - len(first.lstrip())
    end = len(lines)
    for no in range(start, len(lines)):
        text = lines[no]
        if text.strip() and not text.lstrip().startswith("#"):
            ind = len(text) - len(text.lstrip())
            if ind < item_indent or (ind == item_indent and text.lstrip().startswith("-")):
                end = no
                break
    found, pos = start, start - 1
    for key in keys:
        pattern = re.compile(r"(^|[\s{,-])[\"']?" + re.escape(key) + r"[\"']?\s*:")
        for no in range(pos, end):
            if pattern.search(lines[no].split("#", 1)[0]):
                found, pos = no + 1, no
                break
        else:
            break
    return found


_PRED_PATH = re.compile(r"^([A-Za-z_][\w-]*): ")
_QUOTED = re.compile(r"(?:unknown predicate|unknown key) '([^']+)'")


def _match_keys(message: str) -> list[str]:
    """``all: regex: bad pattern ...`` -> ``["all", "regex"]``; an unknown predicate's
    own name is the last key."""
    keys = []
    rest = message
    while True:
        m = _PRED_PATH.match(rest)
        if not m:
            break
        keys.append(m.group(1))
        rest = rest[m.end():]
    q = _QUOTED.search(rest)
    if q:
        keys.append(q.group(1))
    return keys


def _rule_from(raw: Any, path: Path, env: CompileEnv) -> Rule:
    line = raw.get("__line__", 0) if isinstance(raw, dict) else 0
    where = f"{path}:{line}"
    if not isinstance(raw, dict):
        raise RuleLoadError(f"{where}: a rule must be a mapping")
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid:
        raise RuleLoadError(f"{where}: rule without an 'id'")
    where = f"{path}:{line}: rule {rid}"

    def at(*keys: str) -> str:
        """``file:line: rule ID`` with the line of the bad key, not the rule's first line."""
        return f"{path}:{_key_line(path, line, list(keys))}: rule {rid}"

    unknown = set(raw) - RULE_KEYS - {"__line__"}
    if unknown:
        bad = sorted(unknown)[0]
        raise RuleLoadError(f"{at(str(bad))}: unknown key {bad!r} (allowed: {', '.join(sorted(RULE_KEYS))})")
    for key in REQUIRED_KEYS:
        if key not in raw:
            raise RuleLoadError(f"{where}: missing required key {key!r}")
    for key in ("title", "description"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise RuleLoadError(f"{at(key)}: {key!r} must be a non-empty string")
    try:
        severity = Severity.parse(str(raw["severity"]))
    except ValueError as exc:
        raise RuleLoadError(f"{at('severity')}: {exc}") from None
    confidence = str(raw.get("confidence", "medium"))
    if confidence not in CONFIDENCES:
        raise RuleLoadError(
            f"{at('confidence')}: confidence must be one of {', '.join(CONFIDENCES)}, not {confidence!r}"
        )
    category = str(raw["category"])
    if category not in CATEGORIES:
        raise RuleLoadError(f"{at('category')}: category must be one of {', '.join(CATEGORIES)}, not {category!r}")
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise RuleLoadError(f"{at('tags')}: 'tags' must be a list of strings")
    for key in ("remediation", *ZH_KEYS):
        if key in raw and not isinstance(raw[key], str):
            raise RuleLoadError(f"{at(key)}: {key!r} must be a string")
    if "enabled" in raw and not isinstance(raw["enabled"], bool):
        raise RuleLoadError(f"{at('enabled')}: 'enabled' must be true or false")
    before = set(env.referenced_rules)
    env.referenced_rules = set()
    env.app_code_only = category in ILLEGAL
    try:
        pred = compile_pred(_strip(raw["match"]), env)
    except PredicateError as exc:
        raise RuleLoadError(f"{at('match', *_match_keys(str(exc)))}: match: {exc}") from None
    finally:
        env.app_code_only = False
    depends = frozenset(env.referenced_rules)
    env.referenced_rules = before | depends
    tests = raw.get("tests")
    if tests is not None:
        if not isinstance(tests, dict) or set(tests) - {"positive", "negative", "__line__"}:
            raise RuleLoadError(f"{where}: 'tests' takes 'positive' and 'negative' lists")
        for k in ("positive", "negative"):
            if k in tests and not isinstance(tests[k], list):
                raise RuleLoadError(f"{where}: tests.{k} must be a list of facts")
    return (
        Rule(
            id=rid,
            title=raw["title"].strip(),
            description=" ".join(raw["description"].split()),
            severity=severity,
            confidence=confidence,
            category=category,
            tags=tuple(tags),
            references=_refs(raw.get("references"), where),
            remediation=" ".join(str(raw.get("remediation", "")).split()),
            match=pred,
            tests=_strip(tests or {}),
            file=str(path),
            line=int(line),
            depends=depends,
            title_zh=str(raw.get("title_zh", "")).strip(),
            description_zh=_zh_text(raw.get("description_zh", "")),
            remediation_zh=_zh_text(raw.get("remediation_zh", "")),
        )
        if raw.get("enabled", True)
        else Rule(
            id=rid,
            title="",
            description="",
            severity=severity,
            confidence=confidence,
            category=category,
            tags=(),
            references=(),
            remediation="",
            match=lambda c: None,
            tests={},
            file=str(path),
            line=int(line),
            depends=frozenset(),
            source="disabled",
        )
    )


def _zh_text(value: Any) -> str:
    """Folded Chinese text: line breaks inside a block scalar join without a space (CJK has
    no spaces between words); runs of spaces around Latin words stay single spaces."""
    lines = [ln.strip() for ln in str(value or "").splitlines()]
    out = ""
    for ln in lines:
        if not ln:
            continue
        if out and (out[-1].isascii() and ln[0].isascii()):
            out += " "
        out += ln
    return " ".join(out.split(" ")).strip()


def missing_zh(rule: Rule | YaraMeta) -> list[str]:
    """The Chinese keys a rule lacks (``title_zh`` ...); a rule without a remediation needs
    no ``remediation_zh``."""
    out = []
    if not rule.title_zh:
        out.append("title_zh")
    if not rule.description_zh:
        out.append("description_zh")
    if rule.remediation and not rule.remediation_zh:
        out.append("remediation_zh")
    return out


def require_zh(rs: RuleSet) -> None:
    """Raise :class:`RuleLoadError` naming every rule (``file:line``) that lacks a Chinese
    title, description or remediation: ``apkscan rules validate`` calls it."""
    problems = [
        f"{r.file}:{r.line}: rule {r.id}: missing {', '.join(missing_zh(r))}" for r in rs.rules if missing_zh(r)
    ]
    problems += [
        f"YARA rule {m.identifier} ({m.id}): meta missing {', '.join(missing_zh(m))}"
        for m in rs.yara_meta.values()
        if missing_zh(m)
    ]
    if problems:
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise RuleLoadError("\n".join(problems[:20]) + more)


def _files(dirs: list[Path]) -> list[Path]:
    out: list[Path] = []
    for d in dirs:
        if d.is_file():
            out.append(d)
            continue
        if not d.is_dir():
            raise RuleLoadError(f"{d}: rule folder does not exist")
        for root, subdirs, names in os.walk(d):
            subdirs[:] = sorted(s for s in subdirs if not s.startswith((".", "__")))
            for n in sorted(names):
                if n.endswith((".yaml", ".yml", ".yar", ".yara")):
                    out.append(Path(root) / n)
    return out


def _kind(doc: Any) -> str:
    if not isinstance(doc, dict):
        return "other"
    for key in ("rules", "sets", "sdks"):
        if key in doc:
            return key
    return "other"


def load_rules(dirs: list[Path] | None = None, include_builtin: bool = True) -> RuleSet:
    """Load built-in rules plus the given folders; or, with ``include_builtin=False``, only
    the folders (``--rules-only``): no built-in rules and no built-in checks, but the
    built-in SDK catalogue unless one of the folders brings a catalogue of its own."""
    if include_builtin:
        return _load_rules(dirs, True)
    rs = _load_rules(dirs, False)
    if not rs.sdks:
        rs = _load_rules([*(dirs or []), builtin_dir() / "sdks"], False)
    rs.builtin_checks = False
    return rs


def _load_rules(dirs: list[Path] | None, include_builtin: bool) -> RuleSet:
    roots = ([builtin_dir()] if include_builtin else []) + list(dirs or [])
    files = _files(roots)
    digest = hashlib.sha256(f"apkscan-engine-{ENGINE_VERSION}".encode())
    docs: list[tuple[Path, Any]] = []
    yara_files: list[Path] = []
    used: list[str] = []
    for f in files:
        try:
            data = f.read_bytes()
        except OSError as exc:
            raise RuleLoadError(f"{f}: cannot read ({exc.strerror})") from None
        digest.update(f.name.encode() + b"\0" + hashlib.sha256(data).digest())
        if f.suffix in (".yar", ".yara"):
            yara_files.append(f)
        else:
            docs.append((f, _load_lines(f, data, used)))
    for parsed in used:  # what ran: the parsed documents, from the cache or from PyYAML
        digest.update(b"parsed\0" + parsed.encode())

    keyword_sets: dict[str, list[str]] = {}
    sdks: list[Sdk] = []
    for f, doc in docs:
        kind = _kind(doc)
        if kind == "sets":
            sets = doc["sets"]
            if not isinstance(sets, dict):
                raise RuleLoadError(f"{f}: 'sets' must be a mapping of name -> {{words: [...]}}")
            for name, body in sets.items():
                if name == "__line__":
                    continue
                words = body.get("words") if isinstance(body, dict) else body
                if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                    line = body.get("__line__", "?") if isinstance(body, dict) else "?"
                    raise RuleLoadError(f"{f}:{line}: keyword set {name!r}: 'words' must be a list of strings")
                keyword_sets.setdefault(str(name), []).extend(words)
        elif kind == "sdks":
            sdks.extend(parse_catalogue(doc, str(f)))  # reads named keys only: "__line__" is ignored

    env = CompileEnv(keyword_sets=keyword_sets)
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for f, doc in docs:
        if _kind(doc) != "rules":
            continue
        if not isinstance(doc["rules"], list):
            raise RuleLoadError(f"{f}: 'rules' must be a list")
        for raw in doc["rules"]:
            rule = _rule_from(raw, f, env)
            if rule.id in seen:
                raise RuleLoadError(f"{f}:{rule.line}: rule {rule.id}: duplicate id (first defined at {seen[rule.id]})")
            seen[rule.id] = f"{f}:{rule.line}"
            if rule.source != "disabled":
                rules.append(rule)

    TRADITIONAL.save()
    # the keyword forms that will be searched (traditional variants come from a cache too)
    digest.update(b"forms\0" + "\0".join(sorted(env.keyword_forms)).encode("utf-8"))
    yara_rules, yara_meta = _load_yara(yara_files, digest.hexdigest(), seen)
    known = set(seen)
    for r in rules:
        missing = r.depends - known
        if missing:
            raise RuleLoadError(f"{r.file}:{r.line}: rule {r.id}: 'rule' names unknown rule {sorted(missing)[0]!r}")
    return RuleSet(
        rules=_order(rules),
        yara=yara_rules,
        yara_meta=yara_meta,
        keyword_sets=keyword_sets,
        sdks=sdks,
        watched_apis=env.watched_apis,
        keyword_forms=frozenset(env.keyword_forms),
        digest="sha256:" + digest.hexdigest(),
        files=[str(f) for f in files],
        blob_patterns=tuple(env.blob_patterns),
    )


def _order(rules: list[Rule]) -> list[Rule]:
    """Rules that others depend on first (composite profiles last); cycles are errors."""
    by_id = {r.id: r for r in rules}
    out: list[Rule] = []
    state: dict[str, int] = {}

    def visit(r: Rule, chain: tuple[str, ...]) -> None:
        s = state.get(r.id, 0)
        if s == 2:
            return
        if s == 1:
            raise RuleLoadError(f"{r.file}:{r.line}: rule {r.id}: dependency cycle {' -> '.join((*chain, r.id))}")
        state[r.id] = 1
        for dep in sorted(r.depends):
            if dep in by_id:
                visit(by_id[dep], (*chain, r.id))
        state[r.id] = 2
        out.append(r)

    for r in rules:
        visit(r, ())
    return out


def _load_yara(files: list[Path], digest: str, seen: dict[str, str]) -> tuple[Any, dict[str, YaraMeta]]:
    if not files:
        return None, {}
    cache = cache_dir() / f"yara-{digest[:32]}.bin"
    compiled = None
    blob = read_cache(cache)  # checked against its index: never a tampered or stale file
    if blob is not None:
        try:
            compiled = yara.load(file=io.BytesIO(blob))
        except yara.Error:
            compiled = None
    if compiled is None:
        sources = {f"ns{i}": str(f) for i, f in enumerate(files)}
        try:
            compiled = yara.compile(filepaths=sources)
        except yara.SyntaxError as exc:
            text = str(exc)
            # yara reports "path(line): message"; keep it and make it file:line.
            if "(" in text and "):" in text:
                path_part, _, rest = text.partition("):")
                p, _, ln = path_part.rpartition("(")
                text = f"{p}:{ln}:{rest}"
            raise RuleLoadError(f"YARA syntax error: {text}") from None
        except yara.Error as exc:
            raise RuleLoadError(f"YARA error: {exc}") from None
        write_cache(cache, lambda tmp: compiled.save(str(tmp)))  # without it: compiled every time
    metas: dict[str, YaraMeta] = {}
    for r in compiled:
        meta = dict(r.meta)
        where = f"YARA rule {r.identifier}"
        rid = str(meta.get("id", ""))
        if not rid:
            raise RuleLoadError(f"{where}: meta 'id' is missing")
        unknown = set(meta) - YARA_META
        if unknown:
            raise RuleLoadError(f"{where} ({rid}): unknown meta {sorted(unknown)[0]!r}")
        for key in ("title", "description", "severity", "category"):
            if key not in meta:
                raise RuleLoadError(f"{where} ({rid}): meta {key!r} is missing")
        if rid in seen:
            raise RuleLoadError(f"{where}: duplicate id {rid} (first defined at {seen[rid]})")
        seen[rid] = where
        try:
            severity = Severity.parse(str(meta["severity"]))
        except ValueError as exc:
            raise RuleLoadError(f"{where} ({rid}): {exc}") from None
        category = str(meta["category"])
        if category not in CATEGORIES:
            raise RuleLoadError(f"{where} ({rid}): category must be one of {', '.join(CATEGORIES)}")
        confidence = str(meta.get("confidence", "medium"))
        if confidence not in CONFIDENCES:
            raise RuleLoadError(f"{where} ({rid}): confidence must be one of {', '.join(CONFIDENCES)}")
        targets = frozenset(t.strip() for t in str(meta.get("targets", "all")).split(",") if t.strip())
        if targets - YARA_TARGETS:
            raise RuleLoadError(f"{where} ({rid}): unknown target {sorted(targets - YARA_TARGETS)[0]!r}")
        metas[r.identifier] = YaraMeta(
            id=rid,
            title=str(meta["title"]),
            description=str(meta["description"]),
            severity=severity,
            confidence=confidence,
            category=category,
            tags=tuple(t.strip() for t in str(meta.get("tags", "")).split(",") if t.strip()),
            references=_refs(str(meta.get("references", "")), where),
            remediation=str(meta.get("remediation", "")),
            targets=targets,
            identifier=r.identifier,
            title_zh=str(meta.get("title_zh", "")).strip(),
            description_zh=str(meta.get("description_zh", "")).strip(),
            remediation_zh=str(meta.get("remediation_zh", "")).strip(),
        )
    return compiled, metas
