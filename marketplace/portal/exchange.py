"""The exchange's dashboard (obligation, chart, offset, net reserve, cash held), the what-if and its alerts.

Every figure comes from the services the API uses: the stored obligation (`GET /api/v1/obligations/<id>`),
its offset report (`obligations.service.offset_for`, as `GET .../offset`), the cash held and the shortfall
(`reports.service.reserve_held`, as the adequacy check reads them); the what-if is
`obligations.service.what_if`, as `POST .../what-if`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import String, and_, cast, or_, select

from ..db import utcnow
from ..domain import ratings
from ..domain.errors import DomainError
from ..domain.money import EXPONENTS, Money, parse_amount
from ..domain.period import Period
from ..errors import ServiceError
from ..events.kinds import from_row
from ..events.models import Event
from ..extensions import db
from ..obligations import service as obligations
from ..obligations.models import ObligationRecord
from ..obligations.schemas import WhatIfIn
from ..obligations.views import component_label
from ..policies.models import Policy
from ..registry.models import Exchange
from ..reports import service as reports
from ..reports.views import amount_message
from ..tenancy import get_visible, visible
from ..web.pages import Failure, failure_of, load_form, page, signed_in
from ..webhooks.fanout import recipients
from . import charts

bp = Blueprint("exchange_portal", __name__, url_prefix="/exchange", template_folder="templates")

EXPIRING_DAYS = 60
ALERT_LIMIT = 100


def _money(minor: int, currency: str) -> str:
    return current_app.jinja_env.filters["money"](minor, currency)


def _exchange() -> Exchange:
    return get_visible(Exchange, signed_in().org_id, "exchange")


def _today() -> date:
    return utcnow().date()


def current_obligations(ex: Exchange) -> list[ObligationRecord]:
    """The exchange's current revision for each period it has an obligation for, oldest period first."""
    return list(db.session.scalars(visible(ObligationRecord).where(
        ObligationRecord.exchange_id == ex.org_id, ObligationRecord.superseded_at.is_(None))
        .order_by(ObligationRecord.period_start, ObligationRecord.period_end)))


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def choose(rows: list[ObligationRecord], wanted: str | None, today: date) -> ObligationRecord | None:
    """The obligation to show: the one asked for; else the current quarter's; else the next one that has not
    ended (the demo's 2027-Q1 before it starts); else the latest."""
    if wanted:
        return next((r for r in rows if r.period == wanted), None)
    by_label = {r.period: r for r in rows}
    if quarter_of(today) in by_label:
        return by_label[quarter_of(today)]
    running = [r for r in rows if r.period_end >= today]
    return running[0] if running else (rows[-1] if rows else None)


@dataclass
class CoverRow:
    policy_number: str
    insurer: str
    allocated: Money
    eligible: Money
    ok: bool
    failing: list[str]
    fx: dict | None


def _cover(offset) -> list[CoverRow]:
    ids = [a.policy_id for a in offset.allocations]
    policies = {p.id: p for p in db.session.scalars(visible(Policy).where(Policy.id.in_(ids)))} if ids else {}
    out = []
    for a in offset.allocations:
        p = policies.get(a.policy_id)
        out.append(CoverRow(a.policy_number, p.insurer.name if p else a.insurer_id, a.allocated, a.eligible, a.ok,
                            [c.detail for c in a.checks if not c.ok], a.fx))
    return out


def _charts(row: ObligationRecord, offset, cash: Money | None, short: Money) -> dict:
    cur = row.currency

    def fmt(minor: int) -> str:
        return _money(minor, cur)

    items = [(component_label(ln["component"]), int(ln["amount"]["amount"]), fmt(int(ln["amount"]["amount"])),
              ln["explanation"]) for ln in row.lines]
    lines_svg = charts.render(
        charts.plain_bars(items),
        _("Line items of the %(period)s obligation", period=row.period),
        _("%(n)d line items adding up to %(total)s; each bar is one line item's amount.", n=len(items),
          total=fmt(row.total)),
        "chart-lines")
    words = charts.ReserveWords(
        obligation=_("Obligation"), offset=_("Insurance offset"), net=_("Net reserve required"),
        cash=_("Cash held"), shortfall=_("Shortfall"), surplus=_("Cash above the net reserve"),
        no_cash=_("none reported"))
    cash_minor = cash.amount if cash is not None else None
    bars = charts.reserve_bars(row.total, offset.total.amount, offset.net_reserve.amount, cash_minor, fmt, words)
    reserve_svg = charts.render(
        bars, _("From obligation to net reserve, and the cash held against it"),
        _("The obligation of %(obligation)s less an insurance offset of %(offset)s leaves a net reserve of "
          "%(net)s; cash held is %(cash)s.", obligation=fmt(row.total), offset=fmt(offset.total.amount),
          net=fmt(offset.net_reserve.amount), cash=fmt(cash_minor) if cash_minor is not None else words.no_cash)
        + " " + (_("Shortfall: %(amount)s.", amount=fmt(short.amount)) if short.amount else _("No shortfall.")),
        "chart-reserve")
    return {"lines": lines_svg, "reserve": reserve_svg, "reserve_bars": bars}


@bp.route("/")
@page("exchange")
def dashboard():
    ex = _exchange()
    today = _today()
    rows = current_obligations(ex)
    wanted = (request.args.get("period") or "").strip()[:10] or None
    row = choose(rows, wanted, today)
    context = {"exchange": ex, "rows": rows, "row": row, "wanted": wanted, "today": today,
               "periods": [(r.period, r.period) for r in reversed(rows)],
               "suggested": wanted if wanted and period_label_ok(wanted) else quarter_of(today),
               "links": _links("allocations_pages.cover", "certificates_pages.certificates", "market_pages.search")}
    if row is None:
        return render_template("portal/exchange/dashboard.html", **context)
    offset, rs = obligations.offset_for(row)
    held, cash, short = reports.reserve_held(ex.org_id, offset.net_reserve, today)
    context.update(offset=offset, ruleset=rs, held=held, cash=cash, short=short, cover=_cover(offset),
                   charts=_charts(row, offset, cash, short), caps=list(offset.caps))
    return render_template("portal/exchange/dashboard.html", **context)


# ---------------------------------------------------------------------------------------------- what-if

def _what_if_form(ex: Exchange, rows: list[ObligationRecord], row: ObligationRecord | None, form: dict,
                  failure: Failure | None = None, answer: dict | None = None, status: int = 200):
    currencies = sorted(EXPONENTS)
    example = _money(10 ** (9 + EXPONENTS[row.currency]), row.currency) if row else ""
    return render_template(
        "portal/exchange/what_if.html", exchange=ex, rows=rows, row=row, form=form, failure=failure, answer=answer,
        example=example,
        periods=[(r.period, r.period) for r in reversed(rows)],
        ratings=[("", _("No rating assumed (no haircut)")), *((r, r) for r in ratings.SCALE)],
        currencies=[("", _("The obligation's currency")), *((c, c) for c in currencies)]), status


@bp.route("/what-if", methods=["GET", "POST"])
@page("exchange")
def what_if():
    """How much more eligible cover brings the net cash reserve down to a target (POST .../what-if)."""
    ex = _exchange()
    rows = current_obligations(ex)
    if request.method == "GET":
        row = choose(rows, (request.args.get("period") or "").strip()[:10] or None, _today())
        return _what_if_form(ex, rows, row, {"period": row.period if row else ""})
    form = {k: request.form.get(k, "")[:100] for k in ("period", "target", "rating", "currency")}
    row = next((r for r in rows if r.period == form["period"]), None)
    if row is None:
        failure = Failure(_("Choose a period that has an obligation."), {"period": [_("Choose a period.")]})
        return _what_if_form(ex, rows, None, form, failure, status=422)
    errors: dict[str, list[str]] = {}
    extra = {}
    if not form["target"].strip():
        errors["target"] = [_("Enter the net cash reserve you want to hold.")]
    else:
        try:
            minor = parse_amount(form["target"], row.currency)
            extra["target_net_reserve"] = {"amount": str(minor), "currency": row.currency}
            if minor < 0:
                errors["target"] = [_("Enter an amount of zero or more.")]
        except DomainError as e:
            errors["target"] = [amount_message(e, row.currency)]
    data, failure = load_form(WhatIfIn(), {k: form[k] for k in ("rating", "currency")}, extra=extra)
    for name, msgs in (failure.fields if failure else {}).items():
        base = "target" if name.startswith("target_net_reserve") else name
        if base not in errors:
            errors[base] = msgs
    if errors:
        return _what_if_form(ex, rows, row, form, Failure(_("Check the fields marked below."), errors), status=422)
    target = data["target_net_reserve"]
    try:
        answer = obligations.what_if(row, target, data.get("rating"), data.get("currency"))
    except (ServiceError, DomainError) as e:
        failure = failure_of(e)
        fields = {("target" if k.startswith("target_net_reserve") else k): v for k, v in failure.fields.items()}
        return _what_if_form(ex, rows, row, form, Failure(failure.message, fields), status=422)
    return _what_if_form(ex, rows, row, form, answer=_in_words(row, answer))


def _amount(d: dict | None) -> Money | None:
    return Money(int(d["amount"]), d["currency"]) if d else None


def _in_words(row: ObligationRecord, answer: dict) -> dict:
    """The service's answer, its amounts as Money, and the sentences that say it."""
    m = {k: _amount(answer.get(k)) for k in ("current_offset", "current_net_reserve", "target_net_reserve",
                                              "extra_eligible_needed", "lowest_net_reserve", "limit_needed")}
    fmt = {k: (_money(v.amount, v.currency) if v is not None else "—") for k, v in m.items()}
    a = answer["assumptions"]
    sentences = [_("Today the obligation for %(period)s is %(obligation)s; your cover offsets %(offset)s, so the net "
                   "cash reserve required is %(net)s.", period=row.period, obligation=_money(row.total, row.currency),
                   offset=fmt["current_offset"], net=fmt["current_net_reserve"])]
    needed = m["extra_eligible_needed"]
    if m["current_net_reserve"].amount <= m["target_net_reserve"].amount:
        sentences.append(_("Your net reserve is already at or below %(target)s: you need no more cover.",
                           target=fmt["target_net_reserve"]))
    else:
        if not answer["achievable"]:
            sentences.append(_("%(target)s cannot be reached with insurance: the rule-set lets insurance cover only "
                               "part of the obligation, so the lowest net reserve is %(lowest)s. The figures below "
                               "bring you to that lowest net reserve.", target=fmt["target_net_reserve"],
                               lowest=fmt["lowest_net_reserve"]))
        if needed.amount > 0:
            sentences.append(_("You need %(needed)s more eligible offset.", needed=fmt["extra_eligible_needed"]))
            if m["limit_needed"] is not None:
                sentences.append(_("A new policy would need a limit of about %(limit)s, assuming an insurer you do not "
                                   "use yet, rated %(rating)s, in %(currency)s, with no deductible (rounded up).",
                                   limit=fmt["limit_needed"], rating=a.get("rating"), currency=a.get("currency")))
            else:
                sentences.append(_("No policy limit gives that offset under these assumptions (the haircut is "
                                   "100%)."))
        else:
            sentences.append(_("More cover cannot lower the net reserve: insurance already offsets all it may."))
    return {**answer, "money": m, "shown": fmt, "sentences": sentences}


# ---------------------------------------------------------------------------------------------- alerts

def visible_events(org_id: str, kinds: tuple[str, ...], limit: int = ALERT_LIMIT) -> list[tuple[Event, object]]:
    """Events of these kinds that the organization may see, newest first: the webhook fan-out's rule
    (`webhooks.fanout.recipients`), unchanged. The audience filter in SQL only narrows the candidates
    (the ids are in the stored JSON text); `recipients` decides."""
    stmt = (select(Event).where(Event.kind.in_(kinds), cast(Event.audience, String).contains(org_id, autoescape=True))
            .order_by(Event.created_at.desc(), Event.id).limit(limit))
    out = []
    for row in db.session.scalars(stmt):
        ev = from_row(row.kind, row.payload)
        if ev is not None and org_id in recipients(ev, row):
            out.append((row, ev))
    return out


def expiring_cover(ex: Exchange, today: date, days: int = EXPIRING_DAYS) -> list[dict]:
    """The exchange's policies whose cover ends within `days`: the term ends, or a cancellation takes effect."""
    until = today + timedelta(days=days)
    stmt = visible(Policy).where(Policy.insured_id == ex.org_id, or_(
        and_(Policy.status == "active", Policy.term_end >= today, Policy.term_end <= until),
        and_(Policy.status == "cancelled", Policy.cancelled_effective >= today, Policy.cancelled_effective <= until)))
    out = []
    for p in db.session.scalars(stmt):
        ends = p.cancelled_effective if p.status == "cancelled" else p.term_end
        out.append({"policy": p, "ends": ends, "days": (ends - today).days, "cancelled": p.status == "cancelled"})
    return sorted(out, key=lambda x: (x["ends"], x["policy"].number))


@bp.route("/alerts")
@page("exchange")
def alerts():
    ex = _exchange()
    today = _today()
    revoked = [{"event": row, "data": ev} for row, ev in visible_events(ex.org_id, ("certificate.revoked",))]
    shortfalls = [{"event": row, "data": ev, "short": _amount(ev.shortfall),
                   "net": _amount(ev.net_reserve_required), "cash": _amount(ev.cash_held)}
                  for row, ev in visible_events(ex.org_id, ("reserve.shortfall",))]
    expiring = expiring_cover(ex, today)
    if any(e["cancelled"] for e in expiring):  # the reason the insurer gave is told to the exchange here
        reasons = {}
        for _row, ev in visible_events(ex.org_id, ("policy.cancelled",)):
            reasons.setdefault(ev.policy_id, ev.reason)  # newest first
        for e in expiring:
            e["reason"] = reasons.get(e["policy"].id) if e["cancelled"] else None
    return render_template("portal/exchange/alerts.html", exchange=ex, revoked=revoked, shortfalls=shortfalls,
                           expiring=expiring, days=EXPIRING_DAYS, today=today,
                           until=today + timedelta(days=EXPIRING_DAYS))


def _links(*endpoints: str) -> dict[str, str]:
    """URLs of other portal pages that exist (each is built by its own engineer; a missing one is left out)."""
    return {e: url_for(e) for e in endpoints if e in current_app.view_functions}


def period_label_ok(text: str) -> bool:
    try:
        Period.parse(text)
    except DomainError:
        return False
    return True
