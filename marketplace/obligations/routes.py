"""Obligations API: compute (new revision on change), list, get with line items, what-if."""

from __future__ import annotations

from ..errors import Unprocessable
from ..registry.models import Exchange
from ..tenancy import get_visible, visible
from ..web.blueprint import Blueprint
from ..web.guard import principal, requires
from ..web.pagination import paginate
from . import (
    access,  # noqa: F401  (registers the visibility rule)
    service,
)
from .models import ObligationRecord
from .schemas import ObligationCreate, ObligationOut, ObligationPage, ObligationQuery, WhatIfIn, WhatIfOut

bp = Blueprint("obligations", __name__, url_prefix="/api/v1/obligations", description="Reserve obligations")


@bp.route("", methods=["POST"])
@requires("obligations:write")
@bp.arguments(ObligationCreate)
@bp.response(201, ObligationOut)
@bp.alt_response(200, schema=ObligationOut, description="Nothing changed: the current revision")
def compute_obligation(data):
    """Compute an exchange's obligation for a period. A change of inputs or rule-set makes a new revision;
    the old one stays readable. Exchanges compute their own; regulators name the exchange."""
    p = principal()
    if p.kind == "exchange":
        if data.get("exchange", p.org_id) != p.org_id:
            raise Unprocessable("an exchange computes only its own obligation", {"exchange": ["must be you"]})
        exchange_id = p.org_id
    elif "exchange" in data:
        exchange_id = data["exchange"]
    else:
        raise Unprocessable("name the exchange", {"exchange": ["required for a regulator"]})
    ex = get_visible(Exchange, exchange_id, "exchange")
    before = service.latest(ex.org_id, data["period"])
    row = service.compute(ex, data["period"], p.actor, data.get("ruleset"))
    return row, (200 if before is not None and before.id == row.id else 201)


@bp.route("", methods=["GET"])
@requires("obligations:read")
@bp.arguments(ObligationQuery, location="query")
@bp.response(200, ObligationPage)
def list_obligations(q):
    stmt = visible(ObligationRecord)
    if "exchange" in q:
        stmt = stmt.where(ObligationRecord.exchange_id == q["exchange"])
    if "period" in q:
        stmt = stmt.where(ObligationRecord.period == q["period"])
    if q["current"]:
        stmt = stmt.where(ObligationRecord.superseded_at.is_(None))
    order = (ObligationRecord.period_start.desc(), ObligationRecord.exchange_id, ObligationRecord.revision.desc())
    return paginate(stmt.order_by(*order), q["page"], q["per_page"])


@bp.route("/<obligation_id>", methods=["GET"])
@requires("obligations:read")
@bp.response(200, ObligationOut)
def get_obligation(obligation_id):
    """One revision with its line items (component, amount, explanation, inputs, parameter and its source)."""
    return get_visible(ObligationRecord, obligation_id, "obligation")


@bp.route("/<obligation_id>/what-if", methods=["POST"])
@requires("obligations:read")
@bp.arguments(WhatIfIn)
@bp.response(200, WhatIfOut)
def what_if(data, obligation_id):
    """How much more eligible cover would bring the net cash reserve down to a target, and the policy limit
    that gives it at an assumed rating and currency."""
    row = get_visible(ObligationRecord, obligation_id, "obligation")
    if data["target_net_reserve"].currency != row.currency:
        raise Unprocessable(f"target must be in {row.currency}",
                            {"target_net_reserve/currency": [f"must be {row.currency}"]})
    return service.what_if(row, data["target_net_reserve"], data.get("rating"), data.get("currency"))
