"""The regulator's dashboard, and its supervision page (DESIGN 10): each insurer's exposure across the
exchanges it supervises, a chart of concentration, and the scenario "these insurers fail" with its result.

The figures come from `supervision.service`, as `GET /api/v1/supervision/exposure` and
`POST /api/v1/supervision/scenarios` answer them; the scenario form is read with the API's own schema.
Running a scenario changes nothing, so its form is a GET (a result can be bookmarked and shared)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..certificates import access as _certificate_rules  # noqa: F401  (registers the visibility rules)
from ..certificates.models import Certificate
from ..extensions import db
from ..obligations import access as _obligation_rules  # noqa: F401  (registers the visibility rules)
from ..obligations.models import ObligationRecord
from ..registry import service as registry
from ..registry.models import Custodian, Exchange, Organization
from ..supervision import service as supervising
from ..supervision.schemas import ScenarioIn
from ..tenancy import visible, where
from ..web.pages import Failure, attempt, load_form, page, signed_in
from . import charts

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


def _concentration_chart(table, fmt) -> object:
    bars = [charts.Bar(r["name"], 0, r["eligible_offset"].amount, fmt(r["eligible_offset"].amount), "offset",
                       _("%(share)s%% of all insurance offsets; %(n)d exchanges depend on it; largest share of "
                         "one obligation %(largest)s%%", share=_pct(r["share_of_offsets"]), n=r["exchanges"],
                         largest=_pct(r["largest_share"])))
            for r in table["rows"]]
    return charts.render(
        bars, _("Eligible insurance offset carried by each insurer"),
        _("%(n)d insurers carrying %(total)s of eligible offset across the exchanges you supervise; each bar is "
          "one insurer's eligible offset.", n=len(bars), total=fmt(table["total"])), "chart-concentration")


def _pct(share) -> str:
    return f"{(share * 100).quantize(share.__class__('0.01'))}"


@bp.route("/supervision")
@page("regulator")
def supervision():
    p = signed_in()
    regulator = db.session.get(Organization, p.org_id)
    failure: Failure | None = None
    period = request.args.get("period", "").strip() or None
    result = None
    ran = "run" in request.args
    if ran:
        data, failure = load_form(ScenarioIn(), request.args, {"failed_insurers": request.args.getlist(
            "failed_insurers")})
        if not failure:
            result, failure = attempt(supervising.run_scenario, regulator, data["failed_insurers"],
                                      data.get("period"))
    exposure, failure_exposure = attempt(supervising.exposure_of, regulator,
                                         None if (failure and failure.for_field("period")) else period)
    failure = failure or failure_exposure
    currency = exposure["currency"] if exposure else "JPY"

    def fmt(minor: int) -> str:
        return current_app.jinja_env.filters["money"](minor, currency)

    rows = exposure["insurers"] if exposure else []
    table = {"rows": rows, "total": exposure["total_offset"].amount if exposure else 0}
    chart = _concentration_chart(table, fmt) if rows else None
    names = {ex.org_id: ex.org.name for ex in db.session.scalars(visible(Exchange))}
    choices = [(o.id, o.name) for o in supervising.insurer_choices(regulator)]
    known = {i for i, _n in choices}
    choices += [(r["insurer"], r["name"]) for r in rows if r["insurer"] not in known]
    periods = sorted({r.period for r in db.session.scalars(visible(ObligationRecord).where(
        ObligationRecord.superseded_at.is_(None)))}, reverse=True)
    return render_template("portal/regulator/supervision.html", has=_has, exposure=exposure, rows=rows, chart=chart,
                           result=result, failure=failure, ran=ran, choices=choices,
                           period_options=[("", _("In force, else the next"))] + [(x, x) for x in periods],
                           period=period or "", checked=request.args.getlist("failed_insurers"), names=names,
                           jurisdiction=p.jurisdiction, pct=_pct)
