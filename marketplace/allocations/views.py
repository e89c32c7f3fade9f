"""Portal pages of this feature (blueprint allocations_pages): the same schemas, services and tenancy as its API.

The exchange's cover page: its current obligations (choose the period), the cover attached to the chosen
one with each allocation's eligible offset and, when it counts for nothing, why in words; its policies
with their limit, what is allocated anywhere and what remains; "Attach cover" and "Detach <policy>".
Attaching and detaching call `service.attach` / `service.detach` exactly as the API routes do.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..domain.errors import DomainError
from ..domain.money import Money, parse_amount
from ..extensions import db
from ..obligations import service as obligations
from ..obligations.models import ObligationRecord
from ..policies.models import Policy
from ..tenancy import get_visible, visible
from ..web.pages import Failure, attempt, load_form, page, signed_in
from . import (
    access,  # noqa: F401  (registers the visibility rule)
    service,
)
from .models import Allocation
from .schemas import AttachIn

bp = Blueprint("allocations_pages", __name__, url_prefix="/allocations", template_folder="templates")

# The offset report's named checks (domain/offset.py), as a person reads a failed one.
CHECKS = {
    "insurer_approved": _l("The insurer is not approved by this jurisdiction's regulator"),
    "insurer_rating": _l("The insurer's rating is below the rule-set's minimum"),
    "policy_active": _l("The policy is not active for the whole period"),
    "remaining_term": _l("The policy does not run long enough past the period"),
    "initial_term": _l("The policy's initial term is too short"),
    "cancellation_notice": _l("The policy's cancellation notice is too short"),
    "perils_covered": _l("The policy does not cover every required peril"),
    "insured_named": _l("The policy does not name the exchange as insured"),
    "insurer_attestation": _l("The insurer has not attested the current policy revision"),
    "allocation_within_limit": _l("The allocation exceeds the policy limit"),
    "fx_rate": _l("There is no reference exchange rate for the policy currency"),
    "third_party": _l("The insurer is in the exchange's own group (not a third party)"),
    "territories": _l("The policy does not cover the territory where the exchange serves its clients"),
}
CAPS = {
    "per_insurer": _l("%(insurer)s may cover at most %(share)s of the obligation: %(limit)s."),
    "total_insurance": _l("Insurance may cover at most %(share)s of the obligation: %(limit)s."),
    "obligation": _l("The offset never exceeds the obligation: %(limit)s."),
}
SHARES = {"per_insurer": "max_insurer_share", "total_insurance": "max_insurance_share"}


def _money(minor: int, currency: str) -> str:
    """The portal's locale-aware money filter (installed by marketplace.portal), usable in flashes."""
    return current_app.jinja_env.filters["money"](minor, currency)


def _current_obligations() -> list[ObligationRecord]:
    return db.session.scalars(visible(ObligationRecord).where(ObligationRecord.superseded_at.is_(None))
                              .order_by(ObligationRecord.period_start.desc(), ObligationRecord.period)).all()


def _own_obligation(obligation_id: str) -> ObligationRecord:
    """As the API's _own_obligation: 404 for what the exchange may not see, and only its own."""
    ob = get_visible(ObligationRecord, obligation_id, "obligation")
    if ob.exchange_id != signed_in().org_id:
        from ..errors import NotFound

        raise NotFound(f"no obligation {obligation_id}")
    return ob


def _policies() -> list[dict]:
    rows = []
    for p in db.session.scalars(visible(Policy).order_by(Policy.term_start.desc(), Policy.number)).all():
        used, remaining = service.usage(p)
        rows.append({"policy": p, "allocated": used, "remaining": remaining})
    return rows


def _allocations(ob: ObligationRecord, report) -> list[dict]:
    results = {r.allocation_id: r for r in report.allocations}
    live = db.session.scalars(visible(Allocation).where(Allocation.obligation_id == ob.id,
                                                        Allocation.status == "live")
                              .order_by(Allocation.created_at, Allocation.id)).all()
    rows = []
    for a in live:
        r = results.get(a.id)
        reasons = [{"what": str(CHECKS.get(c.name, c.name)), "detail": c.detail}
                   for c in (r.checks if r else []) if not c.ok]
        capped = r is not None and r.ok and r.before_caps is not None and r.eligible < r.before_caps
        rows.append({"allocation": a, "policy": a.policy, "eligible": r.eligible.amount if r else 0,
                     "eligible_currency": r.eligible.currency if r else ob.currency,
                     "before_caps": r.before_caps.amount if r and r.before_caps else 0,
                     "ok": bool(r and r.ok), "reasons": reasons, "capped": capped})
    return rows


def _policy_options(rows: list[dict]) -> list[tuple[str, str]]:
    options = [("", _("Choose a policy"))]
    for row in rows:
        p = row["policy"]
        if p.status != "active" or row["remaining"] <= 0:
            continue
        options.append((p.id, _("%(number)s · %(insurer)s · %(remaining)s remaining",
                                number=p.number, insurer=p.insurer.name,
                                remaining=_money(row["remaining"], p.currency))))
    return options


def _caps(report, rs, allocations: list[dict]) -> list[str]:
    """Each cap the offset report applied, in words (the insurer by name, the share as a percentage)."""
    insurers = {row["allocation"].id: row["policy"].insurer.name for row in allocations}
    out = []
    for c in report.caps:
        limit = _money(int(c["limit"]["amount"]), c["limit"]["currency"])
        share = rs.value(SHARES[c["cap"]]) if c["cap"] in SHARES else None
        insurer = next((insurers[a] for a in c.get("allocations", []) if a in insurers), "")
        words = CAPS.get(c["cap"])
        out.append(str(words) % {"insurer": insurer, "limit": limit,
                                 "share": format_percent(share) if share is not None else ""}
                   if words else f"{c['cap']}: {c['detail']}")
    return out


def _detach_labels(allocations: list[dict]) -> None:
    """"Detach <policy>", unique on the page: with the amount when a policy is attached more than once,
    and a count when even the amounts repeat."""
    by_policy: dict[str, int] = {}
    by_amount: dict[tuple, int] = {}
    for row in allocations:
        a = row["allocation"]
        by_policy[row["policy"].number] = by_policy.get(row["policy"].number, 0) + 1
        by_amount[(row["policy"].number, a.amount)] = by_amount.get((row["policy"].number, a.amount), 0) + 1
    seen: dict[tuple, int] = {}
    for row in allocations:
        number, a = row["policy"].number, row["allocation"]
        amount = _money(a.amount, a.currency)
        if by_policy[number] == 1:
            row["detach_label"] = _("Detach %(number)s", number=number)
        elif by_amount[(number, a.amount)] == 1:
            row["detach_label"] = _("Detach %(number)s (%(amount)s)", number=number, amount=amount)
        else:
            seen[(number, a.amount)] = seen.get((number, a.amount), 0) + 1
            row["detach_label"] = _("Detach %(number)s (%(amount)s, no. %(n)s)", number=number, amount=amount,
                                    n=seen[(number, a.amount)])


def _render(ob: ObligationRecord | None, failure: Failure | None = None, form=None, status: int = 200):
    current = _current_obligations()
    report = rs = None
    allocations: list[dict] = []
    if ob is not None:
        report, rs = obligations.offset_for(ob)
        allocations = _allocations(ob, report)
        _detach_labels(allocations)
    policies = _policies()
    caps = _caps(report, rs, allocations) if report else []
    return render_template("allocations/cover.html", obligations=current, ob=ob, report=report, ruleset=rs,
                           allocations=allocations, policies=policies, caps=caps,
                           policy_options=_policy_options(policies), failure=failure,
                           form=form if form is not None else {}), status


@bp.route("/")
@page("exchange")
def cover():
    """The chosen period's current obligation (`?period=2027-Q1`; the latest period by default)."""
    current = _current_obligations()
    period = (request.args.get("period") or "").strip()
    ob = None
    if period:
        ob = next((o for o in current if o.period == period), None)
        if ob is None:
            return _render(None, Failure(_("There is no obligation for the period %(period)s.", period=period[:20]),
                                         {"period": [_("Choose a period from the list.")]}), status=404)
    elif current:
        ob = current[0]
    return _render(ob)


def _remap(failure: Failure) -> Failure:
    """The schema and service name fields as the API body does (amount.amount, amount/currency); the
    form has one amount field and one policy field."""
    fields: dict[str, list[str]] = {}
    for name, msgs in failure.fields.items():
        key = "amount" if name.startswith("amount") else ("policy" if name.startswith("policy") else name)
        fields.setdefault(key, []).extend(msgs)
    return Failure(failure.message, fields, failure.status)


@bp.route("/<obligation_id>/attach", methods=["POST"])
@page("exchange")
def attach(obligation_id):
    ob = _own_obligation(obligation_id)
    form = request.form
    policy_id = (form.get("policy") or "").strip()
    if not policy_id:
        return _render(ob, Failure(_("Choose the policy to attach."), {"policy": [_("Choose a policy.")]}),
                       form, 422)
    p = db.session.scalar(visible(Policy).where(Policy.id == policy_id[:64]))
    if p is None:
        return _render(ob, Failure(_("There is no such policy insuring your exchange."),
                                   {"policy": [_("Choose one of your policies.")]}, 404), form, 404)
    try:
        minor = parse_amount(form.get("amount", ""), p.currency)
    except DomainError as e:
        return _render(ob, Failure(_("Check the amount."), {"amount": [str(e)]}), form, 422)
    if minor <= 0:
        return _render(ob, Failure(_("Check the amount."), {"amount": [_("Enter an amount above zero.")]}),
                       form, 422)
    data, failure = load_form(AttachIn(), {}, extra={"policy": p.id,
                                                     "amount": {"amount": str(minor), "currency": p.currency}})
    if failure:
        return _render(ob, _remap(failure), form, 422)
    before, _rs = obligations.offset_for(ob)
    _allocation, failure = attempt(service.attach, ob, data["policy"], data["amount"], signed_in().actor)
    if failure:
        failure = _remap(failure)
        if failure.status == 409 and failure.for_field("amount"):
            _used, remaining = service.usage(p)
            msg = _("Only %(remaining)s of the policy limit %(limit)s remains.",
                    remaining=_money(remaining, p.currency), limit=_money(p.limit_amount, p.currency))
            failure = Failure(msg, {"amount": [msg]})
        return _render(ob, Failure(failure.message, failure.fields, 422), form, 422)
    after, _rs = obligations.offset_for(ob)
    flash(_("Attached %(amount)s of policy %(number)s. Insurance offset %(before)s → %(after)s; "
            "net reserve %(net_before)s → %(net_after)s.",
            amount=_money(minor, p.currency), number=p.number, **_change(before, after)), "success")
    return redirect(url_for(".cover", period=ob.period))


def _change(before, after) -> dict[str, str]:
    cur = after.total.currency
    return {"before": _money(before.total.amount, cur), "after": _money(after.total.amount, cur),
            "net_before": _money(before.net_reserve.amount, cur), "net_after": _money(after.net_reserve.amount, cur)}


@bp.route("/<obligation_id>/allocations/<allocation_id>/detach", methods=["POST"])
@page("exchange")
def detach(obligation_id, allocation_id):
    ob = _own_obligation(obligation_id)
    a = get_visible(Allocation, allocation_id, "allocation")
    if a.obligation_id != ob.id:
        from ..errors import NotFound

        raise NotFound(f"no allocation {allocation_id} on this obligation")
    number, amount = a.policy.number, Money(a.amount, a.currency)
    before, _rs = obligations.offset_for(ob)
    _done, failure = attempt(service.detach, a, signed_in().actor)
    if failure:
        msg = (_("The cover of policy %(number)s is already detached.", number=number)
               if failure.status == 409 else failure.message)
        return _render(ob, Failure(msg), None, 422)
    after, _rs = obligations.offset_for(ob)
    flash(_("Detached %(amount)s of policy %(number)s. Insurance offset %(before)s → %(after)s; "
            "net reserve %(net_before)s → %(net_after)s.",
            amount=_money(amount.amount, amount.currency), number=number, **_change(before, after)), "success")
    return redirect(url_for(".cover", period=ob.period))
