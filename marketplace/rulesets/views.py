"""Portal pages of this feature (blueprint rulesets_pages): the same schemas, services and tenancy as its API.

Rule-sets are public documents (every principal may read them, as through `GET /api/v1/rulesets`); the
pages list the published versions, show one with every parameter and its source, and compare two.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from ..errors import NotFound
from ..extensions import db
from ..tenancy import visible
from ..web.pages import Failure, page
from . import (
    routes,  # noqa: F401  (registers the visibility rule of RuleSetVersion)
    service,
)
from .models import RuleSetVersion

bp = Blueprint("rulesets_pages", __name__, url_prefix="/rulesets", template_folder="templates")

MONEY_PARAMS = frozenset({"tiers", "capital_by_service_class"})  # values in minor units of the currency


def _versions() -> list[RuleSetVersion]:
    return db.session.scalars(visible(RuleSetVersion).order_by(
        RuleSetVersion.jurisdiction, RuleSetVersion.ruleset_id, RuleSetVersion.effective_from,
        RuleSetVersion.version)).all()


def _find(ref: str) -> RuleSetVersion | None:
    rid, sep, version = (ref or "").partition("@")
    if not sep or not rid or not version or len(ref) > 120:
        return None
    return db.session.scalar(visible(RuleSetVersion).filter_by(ruleset_id=rid, version=version))


def ref_of(row: RuleSetVersion) -> str:
    return f"{row.ruleset_id}@{row.version}"


@bp.route("/")
@page()
def rulesets():
    return render_template("rulesets/list.html", versions=_versions(), ref_of=ref_of)


@bp.route("/<ruleset_id>/versions/<version>")
@page()
def ruleset(ruleset_id: str, version: str):
    row = db.session.scalar(visible(RuleSetVersion).filter_by(ruleset_id=ruleset_id, version=version))
    if row is None:
        raise NotFound(f"no rule-set {ruleset_id}@{version}")
    doc = service.document_of(row)
    others = [v for v in _versions() if v.ruleset_id == row.ruleset_id and v.id != row.id]
    return render_template("rulesets/detail.html", row=row, doc=doc, params=sorted((doc.get("params") or {}).items()),
                           money_params=MONEY_PARAMS, others=others, ref_of=ref_of)


@bp.route("/diff")
@page()
def diff():
    """Compare two versions (any two published ones; usually two versions of one rule-set)."""
    versions = _versions()
    a_ref, b_ref = request.args.get("from", "").strip(), request.args.get("to", "").strip()
    if not a_ref and not b_ref:  # first visit: preselect the two latest versions of the first rule-set
        first = versions[:1]
        same = [v for v in versions if first and v.ruleset_id == first[0].ruleset_id]
        a_ref = ref_of(same[-2]) if len(same) > 1 else (ref_of(first[0]) if first else "")
        b_ref = ref_of(same[-1]) if same else ""
        return render_template("rulesets/diff.html", versions=versions, ref_of=ref_of, a_ref=a_ref, b_ref=b_ref,
                               result=None, failure=None, money_params=MONEY_PARAMS)
    older, newer = _find(a_ref), _find(b_ref)
    problems = {}
    if older is None:
        problems["from"] = [_("Choose a published version.")]
    if newer is None:
        problems["to"] = [_("Choose a published version.")]
    if problems:
        failure = Failure(_("Choose two published versions to compare."), problems)
        return render_template("rulesets/diff.html", versions=versions, ref_of=ref_of, a_ref=a_ref, b_ref=b_ref,
                               result=None, failure=failure, money_params=MONEY_PARAMS), 422
    return render_template("rulesets/diff.html", versions=versions, ref_of=ref_of, a_ref=a_ref, b_ref=b_ref,
                           older=older, newer=newer, result=service.diff(older, newer), failure=None,
                           money_params=MONEY_PARAMS, old_currency=service.document_of(older).get("currency"),
                           new_currency=service.document_of(newer).get("currency"))
