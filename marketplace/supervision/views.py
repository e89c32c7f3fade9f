"""Supervision pages of the portal: the regulator's exports (the dashboard page itself lives in
portal/regulator.py, `regulator_portal.supervision`). The twin of `GET /api/v1/supervision/exports/...`."""

from __future__ import annotations

from flask import Blueprint, Response, json

from ..db import utcnow
from ..extensions import db
from ..registry.models import Organization
from ..web.pages import page, signed_in
from . import service

bp = Blueprint("supervision_pages", __name__, url_prefix="/supervision", template_folder="templates")


@page("regulator")
def export(what: str, fmt: str):
    """One export (`url_for("supervision_pages.export", what=..., fmt=...)`): a literal URL per export and
    format, like the API's, so no URL carries a parameter."""
    reg = db.session.get(Organization, signed_in().org_id)
    rows = service.export_rows(reg, what)
    name = f"{what}-{reg.jurisdiction}-{utcnow().date().isoformat()}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(service.to_csv(what, rows), mimetype="text/csv", headers=headers)
    body = {"export": what, "jurisdiction": reg.jurisdiction, "generated_at": utcnow().isoformat(),
            "columns": service.COLUMNS[what], "items": rows}
    return Response(json.dumps(body), mimetype="application/json", headers=headers)


for _what in service.EXPORTS:
    for _fmt in service.FORMATS:
        bp.add_url_rule(f"/exports/{_what}.{_fmt}", endpoint="export", view_func=export,
                        defaults={"what": _what, "fmt": _fmt})
