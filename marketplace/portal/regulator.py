"""The regulator's dashboard, and the place for supervision (its own issue)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from sqlalchemy import func, select

from ..certificates import access as _certificate_rules  # noqa: F401  (registers the visibility rules)
from ..certificates.models import Certificate
from ..extensions import db
from ..registry import service as registry
from ..registry.models import Custodian, Exchange, Organization
from ..tenancy import visible, where
from ..web.pages import page, signed_in

bp = Blueprint("regulator_portal", __name__, url_prefix="/regulator", template_folder="templates")

RECENT = 10


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def _has(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


@bp.route("/")
@page("regulator")
def dashboard():
    p = signed_in()
    insurers = registry.approval_counts(p.org_id)
    pending = db.session.scalars(visible(Organization).where(Organization.kind == "insurer")
                                 .order_by(Organization.name)).all()
    standing = registry.standing_with(p.org_id, [o.id for o in pending])
    pending = [o for o in pending if standing.get(o.id) == "pending"]
    certificates = visible(Certificate)
    revoked = db.session.execute(
        select(Certificate.id, Certificate.period, Certificate.revoked_at, Certificate.revoked_reason,
               Organization.name.label("exchange"))
        .join(Organization, Organization.id == Certificate.exchange_id)
        .where(where(Certificate), Certificate.status == "revoked")
        .order_by(Certificate.revoked_at.desc(), Certificate.id).limit(RECENT)).all()
    figures = {
        "insurers": insurers,
        "exchanges": _count(visible(Exchange)),
        "custodians": _count(visible(Custodian)),
        "valid": _count(certificates.where(Certificate.status == "valid")),
        "revoked": _count(certificates.where(Certificate.status == "revoked")),
    }
    return render_template("portal/regulator/dashboard.html", figures=figures, pending=pending, revoked=revoked,
                           jurisdiction=p.jurisdiction, has=_has)


@bp.route("/supervision")
@page("regulator")
def supervision():
    return render_template("portal/regulator/supervision.html", has=_has)
