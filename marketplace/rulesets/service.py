"""Rule-set versions: shipped files, seeding, lookup. Published versions are never modified."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import rfc8785
from sqlalchemy import select

from ..cache import LRU
from ..domain.errors import RuleSetInvalid
from ..domain.rulesets import RuleSet, parse_ruleset, select_ruleset
from ..errors import Conflict, NotFound, Unprocessable
from ..extensions import db
from .models import RuleSetVersion

DATA_DIR = Path(__file__).parent / "data"


def load_shipped(directory: Path = DATA_DIR) -> list[RuleSet]:
    """Parse and validate every shipped rule-set file; a bad file stops start-up with its problems."""
    out = []
    for path in sorted(directory.glob("*.json")):
        try:
            rs = parse_ruleset(json.loads(path.read_text(encoding="utf-8")))
        except RuleSetInvalid as e:
            raise RuleSetInvalid([(f"{path.name}{p}", m) for p, m in e.errors]) from None
        if path.stem != f"{rs.id}@{rs.version}":
            raise RuleSetInvalid([(path.name, f"file must be named {rs.id}@{rs.version}.json")])
        out.append(rs)
    return out


# Parsed rule-sets by digest. A digest names one document forever (content addressing), so an entry never goes
# stale; what is cached is only the parse, never which version is chosen: every lookup reads the published
# versions' (id, version, digest) afresh, so a version published a moment ago is used by the very next request.
_PARSED = LRU(256)

# what a lookup reads: never the document itself (it is read once per digest, to parse it)
_META = (RuleSetVersion.id, RuleSetVersion.ruleset_id, RuleSetVersion.version, RuleSetVersion.jurisdiction,
         RuleSetVersion.effective_from, RuleSetVersion.digest)


def _parsed(ruleset_id: str, version: str, digest: str, document: str) -> RuleSet:
    """Parse a stored document, check it against its digest and keep the parse under that digest."""
    rs = parse_ruleset(json.loads(document))
    if rs.digest != digest:
        raise Conflict(f"stored rule-set {ruleset_id}@{version} does not match its digest")
    return _PARSED.put(digest, rs)


def _domain(row: RuleSetVersion) -> RuleSet:
    """The parsed rule-set of a full row (its document already read)."""
    return _PARSED.get(row.digest) or _parsed(row.ruleset_id, row.version, row.digest, row.document)


def _by_meta(meta) -> RuleSet:
    """The parsed rule-set of a row read as _META: from the cache by digest, else its document is read once."""
    rs = _PARSED.get(meta.digest)
    if rs is None:
        document = db.session.scalar(select(RuleSetVersion.document).where(RuleSetVersion.id == meta.id))
        if document is None:
            raise NotFound(f"no rule-set {meta.ruleset_id}@{meta.version} is published")
        rs = _parsed(meta.ruleset_id, meta.version, meta.digest, document)
    return rs


def publish(rs: RuleSet, publisher_id: str | None) -> RuleSetVersion:
    """Store a validated rule-set version. Same id+version twice: fine if identical, else refused."""
    existing = db.session.scalar(select(RuleSetVersion).filter_by(ruleset_id=rs.id, version=rs.version))
    if existing is not None:
        if existing.digest != rs.digest:
            raise Conflict(f"rule-set {rs.id}@{rs.version} is already published with digest {existing.digest}")
        return existing
    row = RuleSetVersion(ruleset_id=rs.id, version=rs.version, jurisdiction=rs.jurisdiction,
                         effective_from=rs.effective_from, digest=rs.digest,
                         document=rfc8785.dumps(rs.document).decode("utf-8"), published_by=publisher_id)
    db.session.add(row)
    db.session.flush()
    return row


def seed_shipped(shipped: list[RuleSet]) -> int:
    """Publish the shipped rule-sets that are not in the database yet. Returns how many were added."""
    before = db.session.scalar(select(db.func.count()).select_from(RuleSetVersion))
    for rs in shipped:
        publish(rs, None)
    return db.session.scalar(select(db.func.count()).select_from(RuleSetVersion)) - before


def all_versions() -> list[tuple[RuleSetVersion, RuleSet]]:
    rows = db.session.scalars(select(RuleSetVersion).order_by(RuleSetVersion.ruleset_id,
                                                              RuleSetVersion.effective_from)).all()
    return [(r, _domain(r)) for r in rows]


def parse_ref(ref: str) -> tuple[str, str]:
    rid, sep, version = (ref or "").partition("@")
    if not sep or not rid or not version:
        raise Unprocessable(f"rule-set reference {ref!r} must be ID@VERSION", {"ruleset": ["must be ID@VERSION"]})
    return rid, version


def get(ruleset_id: str, version: str, digest: str | None = None) -> RuleSet:
    """A published version. With the digest a record stored when it was computed (an obligation's), the parse
    cached under that digest answers without a query: a published version never changes (publish() refuses a
    different document under the same id and version) and is never deleted."""
    if digest:
        rs = _PARSED.get(digest)
        if rs is not None and (rs.id, rs.version) == (ruleset_id, version):
            return rs
    meta = db.session.execute(select(*_META).where(RuleSetVersion.ruleset_id == ruleset_id,
                                                   RuleSetVersion.version == version)).first()
    if meta is None:
        raise NotFound(f"no rule-set {ruleset_id}@{version} is published")
    return _by_meta(meta)


# the published versions' headers per jurisdiction, keyed by market_state.version, which every publication
# moves (migration 0014): a key names one set of published versions forever
_HEADERS = LRU(64)


def in_force(jurisdiction: str, on: date, market_version: int | None = None) -> RuleSet:
    """The version in force (domain.rulesets.select_ruleset), chosen afresh from the published versions' headers
    on every call; only the chosen one is parsed (or taken from the cache by its digest). `market_version`:
    market_state.version as the caller has just read it; the headers read under it are reused."""
    if market_version is None:
        metas = _headers(jurisdiction)
    else:
        # the database's URL too: a version number means something only in its own database (tests use several)
        key = (db.session.get_bind().url, jurisdiction, market_version)
        metas = _HEADERS.get_or_compute(key, lambda: _headers(jurisdiction))
    chosen = select_ruleset(metas, jurisdiction, on)  # reads jurisdiction, effective_from, version: as published
    if chosen is None:
        raise NotFound(f"no rule-set for {jurisdiction} is in force on {on}")
    return _by_meta(chosen)


def _headers(jurisdiction: str) -> tuple:
    return tuple(db.session.execute(select(*_META).where(RuleSetVersion.jurisdiction == jurisdiction)).all())


# ---- read-only helpers for the portal's rule-set pages ----

def document_of(row: RuleSetVersion) -> dict:
    """The document of a published version exactly as stored (values as written, not parsed)."""
    return json.loads(row.document)


def diff(older: RuleSetVersion, newer: RuleSetVersion):
    """What changed from one published version to another (domain.rulesets.diff_documents)."""
    from ..domain.rulesets import diff_documents

    return diff_documents(document_of(older), document_of(newer))


def find_refs(**refs: str) -> dict[str, RuleSetVersion]:
    """Published versions by ID@VERSION, keyed as given; one 422 naming every reference that is malformed
    or not published."""
    found, problems = {}, {}
    for key, ref in refs.items():
        rid, sep, version = (ref or "").partition("@")
        if not sep or not rid or not version:
            problems[key] = ["must be ID@VERSION, such as JP-FSA-2026@1"]
            continue
        row = db.session.scalar(select(RuleSetVersion).filter_by(ruleset_id=rid, version=version))
        if row is None:
            problems[key] = [f"no rule-set {ref} is published"]
            continue
        found[key] = row
    if problems:
        said = "; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items())
        raise Unprocessable(f"name two published rule-set versions ({said})", problems)
    return found


def _entry(e: dict | None) -> dict | None:
    from ..domain.rulesets import source_kind

    return None if e is None else {**e, "sourced": source_kind(e.get("source")) == "sourced"}


def diff_as_dict(older: RuleSetVersion, newer: RuleSetVersion) -> dict:
    """The comparison as plain data (the API's and the CLI's answer): header fields, parameters added, removed
    and changed with their entries (value, source, provisional, whether the source is sourced)."""
    from ..domain.rulesets import sourced_count

    d = diff(older, newer)
    a, b = document_of(older), document_of(newer)

    def ref(row: RuleSetVersion, doc: dict) -> dict:
        return {"id": row.ruleset_id, "version": row.version, "digest": row.digest, "sourced": sourced_count(doc)}

    return {
        "from": ref(older, a), "to": ref(newer, b), "same": d.same,
        "header": [{"field": f, "old": o, "new": n} for f, o, n in d.header],
        "added": [{"name": c.name, "new": _entry(c.new)} for c in d.added],
        "removed": [{"name": c.name, "old": _entry(c.old)} for c in d.removed],
        "changed": [{"name": c.name, "parts": list(c.parts), "old": _entry(c.old), "new": _entry(c.new),
                     "keys": [{"key": k, "old": o, "new": n} for k, o, n in c.keys]} for c in d.changed],
        "unchanged": list(d.unchanged),
    }
