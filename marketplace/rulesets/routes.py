"""Rule-set API: list, get with digest and sourced-parameter count, compare two versions, publish (regulator of
the jurisdiction; immutable after)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import true

from ..domain.errors import RuleSetInvalid
from ..domain.rulesets import parse_ruleset
from ..errors import Conflict, Unprocessable
from ..extensions import db
from ..tenancy import rule, visible
from ..web.blueprint import Blueprint
from ..web.guard import acting_as, requires
from . import service
from .models import RuleSetVersion
from .schemas import RuleSetDiffOut, RuleSetDiffQuery, RuleSetDocument, RuleSetList, RuleSetOut, RuleSetQuery

bp = Blueprint("rulesets", __name__, url_prefix="/api/v1", description="Versioned rule-sets")


@rule(RuleSetVersion)
def _public(p):
    return true()


@bp.route("/rulesets", methods=["GET"])
@requires("registry:read")
@bp.arguments(RuleSetQuery, location="query")
@bp.response(200, RuleSetList)
def list_rulesets(q):
    stmt = visible(RuleSetVersion).order_by(RuleSetVersion.ruleset_id, RuleSetVersion.effective_from)
    if "jurisdiction" in q:
        stmt = stmt.where(RuleSetVersion.jurisdiction == q["jurisdiction"])
    return {"items": db.session.scalars(stmt).all()}


@bp.route("/rulesets/diff", methods=["GET"])
@requires("registry:read")
@bp.arguments(RuleSetDiffQuery, location="query")
@bp.response(200, RuleSetDiffOut)
def diff_rulesets(q):
    """What changed from one published version to another: document fields, and parameters added, removed and
    changed (in value, source or provisional flag), each with its entries and sources as published."""
    rows = service.find_refs(**{"from": q["from_"], "to": q["to"]})
    data = service.diff_as_dict(rows["from"], rows["to"])
    data["from_"] = data.pop("from")
    return data


@bp.route("/rulesets/<ruleset_id>/versions/<version>", methods=["GET"])
@requires("registry:read")
@bp.response(200, RuleSetOut)
def get_ruleset(ruleset_id, version):
    """The document exactly as published, with its digest (sha256 of its RFC 8785 canonical JSON)."""
    from ..errors import NotFound

    row = db.session.scalar(visible(RuleSetVersion).filter_by(ruleset_id=ruleset_id, version=version))
    if row is None:
        raise NotFound(f"no rule-set {ruleset_id}@{version}")
    return row


@bp.route("/rulesets", methods=["POST"])
@requires("rulesets:write")
@bp.arguments(RuleSetDocument)
@bp.response(201, RuleSetOut)
def publish_ruleset(document):
    """Publish a new rule-set version for the caller's jurisdiction, effective today or later."""
    p = acting_as("regulator")
    try:
        rs = parse_ruleset(document)
    except RuleSetInvalid as e:
        raise Unprocessable("the rule-set is invalid", [{"pointer": f"#{path}", "detail": msg}
                                                        for path, msg in e.errors]) from None
    problems = {}
    if rs.jurisdiction != p.jurisdiction:
        problems["/jurisdiction"] = [f"you regulate {p.jurisdiction}, not {rs.jurisdiction}"]
    if rs.effective_from < datetime.now(UTC).date():
        problems["/effective_from"] = [f"must be today ({date.today()}) or later"]
    if problems:
        raise Unprocessable("the rule-set cannot be published", problems)
    existing = db.session.scalar(visible(RuleSetVersion).filter_by(ruleset_id=rs.id, version=rs.version))
    if existing is not None:
        raise Conflict(f"{rs.id}@{rs.version} is already published (digest {existing.digest}); "
                       "publish a new version instead", {"/version": ["already published"]})
    return service.publish(rs, p.org_id)
