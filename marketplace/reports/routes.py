"""Reporting API: volumes, custody balances, incidents, reserve balances and fixed overheads; single, JSON array
or CSV; all or nothing."""

from __future__ import annotations

from datetime import date

from ..extensions import db
from ..registry.models import Exchange
from ..tenancy import get_visible, visible
from ..web.blueprint import Blueprint
from ..web.guard import acting_as, principal, requires
from ..web.pagination import paginate
from . import (
    access,  # noqa: F401  (registers the visibility rules)
    service,
)
from .ingest import load_rows
from .models import (
    CustodyBalanceRecord,
    FixedOverheads,
    IncidentRecord,
    MonthlyVolume,
    ReportRevision,
    ReserveBalanceRecord,
)
from .schemas import (
    BatchResult,
    CustodyIn,
    CustodyOut,
    CustodyPage,
    IncidentCorrection,
    IncidentIn,
    IncidentOut,
    IncidentPage,
    OverheadsIn,
    OverheadsOut,
    OverheadsPage,
    ReportQuery,
    ReserveBalanceIn,
    ReserveBalanceOut,
    ReserveBalancePage,
    RevisionList,
    VolumeIn,
    VolumeOut,
    VolumePage,
)

bp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="Exchange reports")

BATCH_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}},
    "text/csv": {"schema": {"type": "string"}},
}}}


def _reporting_exchange() -> Exchange:
    return get_visible(Exchange, acting_as("exchange").org_id, "exchange")


def _summary(rows, out_schema) -> dict:
    counts = {"created": 0, "corrected": 0, "unchanged": 0}
    for r in rows:
        counts[r.outcome] += 1
    return {**counts, "items": out_schema(many=True).dump(rows)}


@bp.route("/volumes", methods=["POST"])
@requires("reports:write")
@bp.doc(**BATCH_BODY)
@bp.response(200, BatchResult)
def report_volumes():
    """Monthly volume per product class: one object, an array, or CSV (month,product_class,amount,currency).
    A row for an existing month and class is a correction: a new revision, the old one kept."""
    ex = _reporting_exchange()
    rows, batch = load_rows(VolumeIn(), ["month", "product_class", "amount"])
    service.check_currency(rows, ex, ("amount",), batch)
    service.check_one_row_per_month(rows)
    out = [service.record_volume(ex, date.fromisoformat(r["month"] + "-01"), r["product_class"], r["amount"],
                                 principal().actor) for r in rows]
    return _summary(out, VolumeOut)


@bp.route("/custody", methods=["POST"])
@requires("reports:write")
@bp.doc(**BATCH_BODY)
@bp.response(200, BatchResult)
def report_custody():
    """Customer assets in custody per kind of storage (hot, cold or other) on a date.
    One object, an array, or CSV (as_of,wallet,amount,currency)."""
    ex = _reporting_exchange()
    rows, batch = load_rows(CustodyIn(), ["as_of", "wallet", "amount"])
    service.check_currency(rows, ex, ("amount",), batch)
    out = [service.record_custody(ex, r["as_of"], r["wallet"], r["amount"], principal().actor) for r in rows]
    return _summary(out, CustodyOut)


@bp.route("/reserve-balances", methods=["POST"])
@requires("reports:write")
@bp.doc(**BATCH_BODY)
@bp.response(200, BatchResult)
def report_reserve_balances():
    """Cash held in the reserve account on a date (DESIGN 10), compared daily with the net reserve required.
    One object {"as_of", "amount"}, an array, or CSV (as_of,amount,currency)."""
    ex = _reporting_exchange()
    rows, batch = load_rows(ReserveBalanceIn(), ["as_of", "amount"])
    service.check_currency(rows, ex, ("amount",), batch)
    out = [service.record_reserve_balance(ex, r["as_of"], r["amount"], principal().actor) for r in rows]
    return _summary(out, ReserveBalanceOut)


OVERHEADS_COLUMNS = ["fiscal_year", "amount"]
OVERHEADS_OPTIONAL = ("projected", "deductions")


@bp.route("/overheads", methods=["POST"])
@requires("reports:write")
@bp.doc(**BATCH_BODY)
@bp.response(200, BatchResult)
def report_overheads():
    """Fixed overheads of a financial year (MiCA Art. 67(1)(b)): {"fiscal_year", "amount", "deductions"
    (Art. 67(3), optional), "projected" (Art. 67(2) first-year projection, default false)}; an array; or CSV
    (fiscal_year,amount,currency[,deductions][,projected]). A second report for a year is a correction."""
    ex = _reporting_exchange()
    rows, batch = load_rows(OverheadsIn(), OVERHEADS_COLUMNS, optional=OVERHEADS_OPTIONAL)
    service.check_currency(rows, ex, ("amount",), batch)
    out = [service.record_overheads(ex, r["fiscal_year"], r["amount"], principal().actor, r["projected"],
                                    r.get("deductions")) for r in rows]
    return _summary(out, OverheadsOut)


@bp.route("/incidents", methods=["POST"])
@requires("reports:write")
@bp.doc(**BATCH_BODY)
@bp.response(200, BatchResult)
def report_incidents():
    """Incidents: object, array or CSV (occurred_on,kind,loss,compensated,currency[,description])."""
    ex = _reporting_exchange()
    rows, batch = load_rows(IncidentIn(), ["occurred_on", "kind", "loss", "compensated"])
    service.check_currency(rows, ex, ("loss", "compensated"), batch)
    out = [service.record_incident(ex, r["occurred_on"], r["kind"], r["loss"], r["compensated"], principal().actor,
                                   r.get("description")) for r in rows]
    return _summary(out, IncidentOut)


@bp.route("/incidents/<incident_id>/corrections", methods=["POST"])
@requires("reports:write")
@bp.arguments(IncidentCorrection)
@bp.response(200, IncidentOut)
def correct_incident(data, incident_id):
    """Restate an incident; it becomes the next revision and the history keeps the old one."""
    ex = _reporting_exchange()
    row = get_visible(IncidentRecord, incident_id, "incident")
    service.check_currency([data], ex, ("loss", "compensated"), False)
    return service.correct_incident(row, data["occurred_on"], data["kind"], data["loss"], data["compensated"],
                                    principal().actor, data.get("description"))


def _listing(model, date_col, q):
    stmt = visible(model)
    if "exchange" in q:
        stmt = stmt.where(model.exchange_id == q["exchange"])
    if "date_from" in q:
        stmt = stmt.where(date_col >= q["date_from"])
    if "date_to" in q:
        stmt = stmt.where(date_col <= q["date_to"])
    return paginate(stmt.order_by(model.exchange_id, date_col, model.id), q["page"], q["per_page"])


@bp.route("/volumes", methods=["GET"])
@requires("reports:read")
@bp.arguments(ReportQuery, location="query")
@bp.response(200, VolumePage)
def list_volumes(q):
    return _listing(MonthlyVolume, MonthlyVolume.month, q)


@bp.route("/custody", methods=["GET"])
@requires("reports:read")
@bp.arguments(ReportQuery, location="query")
@bp.response(200, CustodyPage)
def list_custody(q):
    return _listing(CustodyBalanceRecord, CustodyBalanceRecord.as_of, q)


@bp.route("/incidents", methods=["GET"])
@requires("reports:read")
@bp.arguments(ReportQuery, location="query")
@bp.response(200, IncidentPage)
def list_incidents(q):
    return _listing(IncidentRecord, IncidentRecord.occurred_on, q)


@bp.route("/reserve-balances", methods=["GET"])
@requires("reports:read")
@bp.arguments(ReportQuery, location="query")
@bp.response(200, ReserveBalancePage)
def list_reserve_balances(q):
    return _listing(ReserveBalanceRecord, ReserveBalanceRecord.as_of, q)


@bp.route("/overheads", methods=["GET"])
@requires("reports:read")
@bp.arguments(ReportQuery, location="query")
@bp.response(200, OverheadsPage)
def list_overheads(q):
    """Fixed overheads per financial year (from/to filter on the year's first day)."""
    stmt = visible(FixedOverheads)
    if "exchange" in q:
        stmt = stmt.where(FixedOverheads.exchange_id == q["exchange"])
    if "date_from" in q:
        stmt = stmt.where(FixedOverheads.fiscal_year >= q["date_from"].year)
    if "date_to" in q:
        stmt = stmt.where(FixedOverheads.fiscal_year <= q["date_to"].year)
    order = (FixedOverheads.exchange_id, FixedOverheads.fiscal_year, FixedOverheads.id)
    return paginate(stmt.order_by(*order), q["page"], q["per_page"])


@bp.route("/<any(volume,custody,incident,reserve,overheads):kind>/<record_id>/history", methods=["GET"])
@requires("reports:read")
@bp.response(200, RevisionList)
def report_history(kind, record_id):
    """Every revision of a reported fact: what it said, who recorded it, when."""
    rows = db.session.scalars(visible(ReportRevision).filter_by(kind=kind, record_id=record_id)
                              .order_by(ReportRevision.revision)).all()
    if not rows:
        from ..errors import NotFound

        raise NotFound(f"no {kind} {record_id}")
    return {"items": rows}
