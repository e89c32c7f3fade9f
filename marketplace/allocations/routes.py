"""Allocations API: attach and detach policy limit, and the obligation's offset report."""

from __future__ import annotations

from flask import Response, current_app

from ..cache import LRU
from ..errors import Forbidden
from ..extensions import db
from ..obligations.models import ObligationRecord
from ..tenancy import get_visible, visible
from ..web.blueprint import Blueprint
from ..web.guard import acting_as, principal, requires
from . import (
    access,  # noqa: F401  (registers the visibility rule)
    service,
)
from .models import Allocation
from .report import offset_inputs, report_of
from .schemas import AllocationList, AllocationOut, AttachIn, OffsetOut

# offset_inputs() (every input of the report, as read) -> the answer's JSON: a key that names one answer forever
_REPORTS = LRU(512)

bp = Blueprint("allocations", __name__, url_prefix="/api/v1/obligations", description="Cover attached to obligations")


def _own_obligation(obligation_id: str) -> ObligationRecord:
    ob = get_visible(ObligationRecord, obligation_id, "obligation")
    if acting_as("exchange").org_id != ob.exchange_id:
        raise Forbidden("only the exchange itself attaches cover to its obligation")
    return ob


@bp.route("/<obligation_id>/allocations", methods=["POST"])
@requires("allocations:write")
@bp.arguments(AttachIn)
@bp.response(201, AllocationOut)
def attach(data, obligation_id):
    """Attach part of a policy's limit. Refused (409, with `remaining`) when the policy's live allocations,
    across all obligations, would exceed its limit."""
    ob = _own_obligation(obligation_id)
    return service.attach(ob, data["policy"], data["amount"], principal().actor)


@bp.route("/<obligation_id>/allocations", methods=["GET"])
@requires("obligations:read")
@bp.response(200, AllocationList)
def list_allocations(obligation_id):
    ob = get_visible(ObligationRecord, obligation_id, "obligation")
    rows = db.session.scalars(visible(Allocation).where(Allocation.obligation_id == ob.id)
                              .order_by(Allocation.created_at, Allocation.id)).all()
    return {"items": rows}


@bp.route("/<obligation_id>/allocations/<allocation_id>", methods=["DELETE"])
@requires("allocations:write")
@bp.response(200, AllocationOut)
def detach(obligation_id, allocation_id):
    ob = _own_obligation(obligation_id)
    a = get_visible(Allocation, allocation_id, "allocation")
    if a.obligation_id != ob.id:
        from ..errors import NotFound

        raise NotFound(f"no allocation {allocation_id} on this obligation")
    return service.detach(a, principal().actor)


@bp.route("/<obligation_id>/offset", methods=["GET"])
@requires("obligations:read", transaction=False)  # the token, then the report: one statement each
@bp.response(200, OffsetOut)
def offset(obligation_id):
    """The eligibility report: per allocation every named check, the eligible amount with its arithmetic
    (deductible share, haircut, FX rate and its source), the caps applied, total offset and net cash reserve."""
    inputs = offset_inputs(obligation_id)  # read now, every time: the answer is kept by all it is computed from
    return Response(_REPORTS.get_or_compute(inputs, lambda: _answer(inputs)), mimetype=current_app.json.mimetype)


def _answer(inputs: tuple) -> bytes:
    ob, report, rs = report_of(inputs)
    doc = report.as_dict()
    doc["obligation"] = {"id": ob.id, "period": ob.period, "revision": ob.revision, **report.obligation.as_dict()}
    doc["ruleset"] = rs.ref
    return current_app.json.response(OffsetOut().dump(doc)).get_data()
