"""Supervision API (DESIGN 10, a contract): exposure per insurer, failure scenarios, exports.

Regulator tokens only (any other organization: 403), scoped to the regulator's own exchanges. The scope
is the existing `obligations:read` (every figure here is read from obligations and their offsets).
"""

from __future__ import annotations

from flask import Response

from ..db import utcnow
from ..extensions import db
from ..registry.models import Organization
from ..web.blueprint import Blueprint
from ..web.guard import acting_as, requires
from . import service
from .schemas import ExportOut, ExposureOut, ScenarioIn, ScenarioOut, SupervisionQuery

bp = Blueprint("supervision", __name__, url_prefix="/api/v1/supervision",
               description="A regulator's systemic view: exposure, failure scenarios, exports")
SCOPE = "obligations:read"


def _regulator() -> Organization:
    return db.session.get(Organization, acting_as("regulator").org_id)


@bp.route("/exposure", methods=["GET"])
@requires(SCOPE)
@bp.arguments(SupervisionQuery, location="query")
@bp.response(200, ExposureOut)
def exposure(q):
    """Per insurer, across the regulator's exchanges: the eligible offset it carries (in the jurisdiction's
    currency), its share of all insurance offsets, how many exchanges depend on it, and the largest share of
    any one exchange's obligation it covers."""
    return service.exposure_of(_regulator(), q.get("period"))


@bp.route("/scenarios", methods=["POST"])
@requires(SCOPE)
@bp.arguments(ScenarioIn)
@bp.response(200, ScenarioOut)
def scenarios(data):
    """These insurers fail: every exchange's obligation, offset before and after (the rule-set's caps applied
    again to what remains), net reserve required after, cash held (latest reserve balance) and shortfall
    (>= 0), sorted by shortfall, largest first. Nothing is stored."""
    return service.run_scenario(_regulator(), data["failed_insurers"], data.get("period"))


def _export(what: str, fmt: str):
    def view():
        reg = _regulator()
        rows = service.export_rows(reg, what)
        name = f"{what}-{reg.jurisdiction}-{utcnow().date().isoformat()}.{fmt}"
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        if fmt == "csv":
            return Response(service.to_csv(what, rows), mimetype="text/csv", headers=disposition)
        return {"export": what, "jurisdiction": reg.jurisdiction, "generated_at": utcnow(),
                "columns": service.COLUMNS[what], "items": rows}, 200, disposition

    view.__name__ = f"export_{what}_{fmt}"
    view.__doc__ = f"Every {what[:-1]} of the regulator's exchanges as {fmt.upper()}" + (
        " (RFC 4180, header row; text a spreadsheet would run as a formula is prefixed with ')." if fmt == "csv"
        else ".")
    return view


for _what in service.EXPORTS:
    for _fmt in service.FORMATS:
        _view = _export(_what, _fmt)
        if _fmt == "csv":
            _view = bp.doc(responses={"200": {"description": f"{_what} as CSV", "content": {
                "text/csv": {"schema": {"type": "string"}}}}})(_view)
        else:
            _view = bp.response(200, ExportOut)(_view)
        bp.route(f"/exports/{_what}.{_fmt}", methods=["GET"], endpoint=f"export_{_what}_{_fmt}")(requires(SCOPE)(_view))
