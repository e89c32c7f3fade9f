"""The insurer's dashboard: offerings, capacity used, requests waiting, policies expiring, attestation gaps.

Read-only: every list is a tenancy-filtered select (`visible`), and each links to the page that acts on it.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from ..attestations import service as attestations
from ..extensions import db
from ..market.models import CoverageRequest, Offering
from ..market.service import effective_status
from ..policies import service as policies
from ..policies.models import Policy
from ..tenancy import visible
from ..web.pages import page, signed_in

bp = Blueprint("insurer_portal", __name__, url_prefix="/insurer", template_folder="templates")

EXPIRING_DAYS = 60
# what the insurer has to do for a request in each status
WAITING = {"requested": _l("Quote or decline"), "accepted": _l("Bind")}
OFFERING_STATUSES = {"draft": _l("Draft"), "listed": _l("Listed"), "withdrawn": _l("Withdrawn")}


def link(endpoint: str, **values) -> str | None:
    """The URL of another page if it exists (other features' pages are built alongside this one)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@bp.route("/")
@page("insurer")
def dashboard():
    me = signed_in().org_id
    offerings = db.session.scalars(visible(Offering).where(Offering.insurer_id == me)
                                   .order_by(Offering.status != "listed", Offering.title, Offering.id)).all()
    requests = [r for r in db.session.scalars(visible(CoverageRequest)
                                              .where(CoverageRequest.status.in_(list(WAITING)))
                                              .order_by(CoverageRequest.created_at, CoverageRequest.id))
                if effective_status(r) in WAITING]
    today = date.today()
    expiring = policies.expiring(visible(Policy), today, EXPIRING_DAYS)
    gaps = db.session.scalars(attestations.without_attestation(visible(Policy))
                              .order_by(Policy.term_start, Policy.number)).all()
    exchanges = policies.insured_exchanges([r.exchange_id for r in requests] + [p.insured_id for p in expiring]
                                           + [p.insured_id for p in gaps])
    return render_template(
        "portal/insurer/dashboard.html", offerings=offerings, requests=requests, expiring=expiring, gaps=gaps,
        exchanges=exchanges, waiting=WAITING, offering_statuses=OFFERING_STATUSES, days=EXPIRING_DAYS,
        today=today, link=link,
        listed=sum(1 for o in offerings if o.status == "listed"))
