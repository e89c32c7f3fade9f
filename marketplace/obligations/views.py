"""Portal pages of this feature (blueprint obligations_pages): the same schemas, services and tenancy as its API.

- GET  /obligations/            the organization's obligations (every revision) and the compute form
- POST /obligations/compute     "Compute obligation": `service.compute`, exactly as POST /api/v1/obligations
- GET  /obligations/<id>        one revision: its line items, each explained, with its inputs and parameter
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..db import utcnow
from ..extensions import db
from ..registry.models import Exchange
from ..reports import service as reports
from ..reports.views import INCIDENT_KIND_NAMES, PRODUCT_CLASS_NAMES, WALLET_NAMES
from ..rulesets import service as rulesets
from ..tenancy import get_visible, visible
from ..web.pages import Failure, attempt, load_form, page, signed_in
from . import (
    access,  # noqa: F401  (registers the visibility rule)
    service,
)
from .models import ObligationRecord
from .schemas import ObligationCreate

bp = Blueprint("obligations_pages", __name__, url_prefix="/obligations", template_folder="templates")

COMPONENTS = {
    "incident_loading_cap": _l("Cap on the incident loading"),
    "unregistered_custodian": _l("Loading for an unregistered custodian"),
    "unnotified_custodian": _l("Loading for a wallet-management provider without prior notification"),
    "floor": _l("Raised to the floor of the scale tier"),
    "cap": _l("Limited to the cap of the scale tier"),
    "permanent_minimum_capital": _l("Permanent minimum capital"),
    "fixed_overheads": _l("Share of fixed overheads"),
}


def component_label(component: str) -> str:
    """A line item's component ("volume:spot", "incident:2024-05-31:hack") in words."""
    kind, _sep, rest = str(component).partition(":")
    if kind == "volume" and rest:
        return _("Trading volume: %(product_class)s", product_class=str(PRODUCT_CLASS_NAMES.get(rest, rest)))
    if kind == "custody" and rest:
        return _("Customer assets in %(wallet)s wallets", wallet=str(WALLET_NAMES.get(rest, rest)))
    if kind == "incident" and rest:
        day, _sep, incident = rest.partition(":")
        return _("Incident on %(date)s: %(kind)s", date=day, kind=str(INCIDENT_KIND_NAMES.get(incident, incident)))
    return str(COMPONENTS.get(component, component))


@bp.app_template_filter("obligation_component")
def _component_filter(component: str) -> str:
    return component_label(component)


def _ruleset_options(jurisdiction: str | None) -> list[tuple[str, str]]:
    options = [("", _("The rule-set in force at the start of the period"))]
    for _row, rs in rulesets.all_versions():
        if jurisdiction is None or rs.jurisdiction == jurisdiction:
            options.append((f"{rs.id}@{rs.version}", f"{rs.id} {_('version')} {rs.version} "
                                                      f"({_('effective from')} {rs.effective_from})"))
    return options


def _listing(failure: Failure | None = None, form=None, status: int = 200):
    p = signed_in()
    rows = visible(ObligationRecord).order_by(ObligationRecord.period_start.desc(), ObligationRecord.exchange_id,
                                              ObligationRecord.revision.desc())
    obligations = db.session.scalars(rows.limit(500)).all()
    exchanges = db.session.scalars(visible(Exchange)).all()
    names = {ex.org_id: ex.org.name for ex in exchanges}
    jurisdiction = exchanges[0].jurisdiction if p.kind == "exchange" and exchanges else p.jurisdiction
    return render_template(
        "obligations/obligations.html", obligations=obligations, names=names, failure=failure,
        form=form if form is not None else {"period": request.args.get("period", "")[:10]},
        rulesets=_ruleset_options(jurisdiction),
        exchanges=[("", _("Choose an exchange")),
                   *sorted(((e.org_id, e.org.name) for e in exchanges), key=lambda o: o[1])],
        regulator=p.kind == "regulator"), status


@bp.route("/")
@page("exchange", "regulator")
def obligations():
    return _listing()


def _exchange_for(data: dict) -> tuple[Exchange | None, Failure | None]:
    """Whose obligation: an exchange computes its own; a regulator names one of its exchanges (the API's rule)."""
    p = signed_in()
    if p.kind == "exchange":
        if data.get("exchange", p.org_id) != p.org_id:
            return None, Failure(_("An exchange computes only its own obligation."),
                                 {"exchange": [_("Must be your own exchange.")]})
        return get_visible(Exchange, p.org_id, "exchange"), None
    if not data.get("exchange"):
        return None, Failure(_("Choose the exchange to compute for."), {"exchange": [_("Choose an exchange.")]})
    ex = db.session.scalar(visible(Exchange).where(Exchange.org_id == data["exchange"]))
    if ex is None:
        return None, Failure(_("Choose one of your exchanges."), {"exchange": [_("Not one of your exchanges.")]})
    return ex, None


@bp.route("/compute", methods=["POST"])
@page("exchange", "regulator")
def compute():
    """Compute (or recompute) the obligation for a period: a new revision when its inputs or rule-set changed."""
    p = signed_in()
    form = {k: request.form.get(k, "")[:200] for k in ("period", "ruleset", "exchange")}
    data, failure = load_form(ObligationCreate(), request.form)
    if failure:
        failure = Failure(_("The obligation was not computed: check the fields marked below."), failure.fields)
    ex = None
    if not failure:
        ex, failure = _exchange_for(data)
    if not failure:
        before = service.latest(ex.org_id, data["period"])
        row, failure = attempt(service.compute, ex, data["period"], p.actor, data.get("ruleset"))
    if failure:
        return _listing(failure, form, failure.status if failure.status in (404, 409, 422) else 422)
    if before is not None and before.id == row.id:
        flash(_("Nothing changed since revision %(revision)d: it is still the obligation for %(period)s.",
                revision=row.revision, period=row.period), "success")
    else:
        flash(_("Obligation for %(period)s computed: revision %(revision)d, %(total)s.", period=row.period,
                revision=row.revision, total=_money(row.total, row.currency)), "success")
    if p.kind == "exchange":
        return redirect(url_for("exchange_portal.dashboard", period=row.period))
    return redirect(url_for(".obligation", obligation_id=row.id))


def _money(minor: int, currency: str) -> str:
    return current_app.jinja_env.filters["money"](minor, currency)


@bp.route("/<obligation_id>")
@page("exchange", "regulator")
def obligation(obligation_id):
    """An obligation with, for the current revision, the net reserve it requires next to the cash held
    (DESIGN 10): the offset report (`service.offset_for`, as `GET .../offset`) and the cash held against it
    (`reports.service.reserve_held`, as the adequacy check and the dashboard read it)."""
    row = get_visible(ObligationRecord, obligation_id, "obligation")
    ex = get_visible(Exchange, row.exchange_id, "exchange")
    reserve = None
    if row.superseded_at is None:
        offset, _rs = service.offset_for(row)
        held, cash, short = reports.reserve_held(ex.org_id, offset.net_reserve, utcnow().date())
        reserve = {"offset": offset.total, "net": offset.net_reserve, "cash": cash,
                   "as_of": held.as_of if held else None, "short": short}
    return render_template("obligations/obligation.html", ob=row, exchange=ex, reserve=reserve)
