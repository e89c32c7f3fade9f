"""Portal pages of this feature (blueprint market_pages): the same schemas, services and tenancy as its API.

Insurers: their offerings (create, edit, list, withdraw) and the requests addressed to them (quote, decline,
bind). Exchanges: the market search with eligibility per offering, requesting cover, their requests (accept a
quote, withdraw). Each change is the API route's service call in one unit of work (`attempt`); amounts are
typed in major units and read with `domain.money.parse_amount`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..domain import ratings
from ..domain.cover import PERILS
from ..domain.errors import DomainError
from ..domain.market import TRANSITIONS
from ..domain.money import EXPONENTS, Money, exponent, parse_amount
from ..errors import Forbidden
from ..extensions import db
from ..policies.models import Policy
from ..registry import service as registry
from ..registry.models import Exchange, Organization
from ..tenancy import get_visible, visible
from ..web import labels
from ..web.pages import Failure, attempt, load_form, page, signed_in
from . import (
    access,  # noqa: F401  (registers the visibility rules)
    service,
)
from .models import CoverageRequest, Offering
from .schemas import BindIn, DeclineIn, OfferingCreate, QuoteIn, RequestCreate, SearchQuery

bp = Blueprint("market_pages", __name__, url_prefix="/market", template_folder="templates")

PERIL_NAMES = labels.PERILS  # one name per peril on every page
REQUEST_STATUS = {
    "requested": _l("Requested"), "quoted": _l("Quoted"), "accepted": _l("Accepted"), "bound": _l("Bound"),
    "declined": _l("Declined"), "expired": _l("Expired"), "withdrawn": _l("Withdrawn"),
}
OFFERING_STATUS = {"draft": _l("Draft"), "listed": _l("Listed"), "withdrawn": _l("Withdrawn")}
CHECK_NAMES = {
    "insurer_approved": _l("Insurer approved in your jurisdiction"), "insurer_rating": _l("Insurer rating"),
    "perils_covered": _l("Required perils covered"), "initial_term": _l("Initial term long enough"),
}
SORTS = {"rate": _l("Rate, lowest first"), "-rate": _l("Rate, highest first"),
         "capacity": _l("Remaining capacity, smallest first"), "-capacity": _l("Remaining capacity, largest first"),
         "-rating": _l("Rating, best first"), "rating": _l("Rating, weakest first")}
# the order the insurer's incoming requests are shown in: what waits for the insurer first
INCOMING_ORDER = ("requested", "accepted", "quoted", "bound", "declined", "expired", "withdrawn")
OFFERING_MONEY = ("min_limit", "max_limit", "capacity", "deductible")
PER_PAGE = 20


@bp.context_processor
def _vocabulary():
    return {"PERIL_NAMES": PERIL_NAMES, "REQUEST_STATUS": REQUEST_STATUS, "OFFERING_STATUS": OFFERING_STATUS,
            "CHECK_NAMES": CHECK_NAMES, "percent": percent, "major": major, "ref": reference,
            "page_args": _page_args,
            "offering_perils": lambda o: [(p, str(PERIL_NAMES.get(p, p))) for p in o.perils]}


# ---------------------------------------------------------------- helpers


def percent(rate) -> str:
    """An indicative rate ("0.012") as a percentage ("1.2"), exactly."""
    try:
        d = Decimal(str(rate)) * 100
    except (InvalidOperation, TypeError):
        return str(rate)
    return format(d.normalize(), "f")


def major(minor, currency: str) -> str:
    """Minor units as a person types them back in ("500,000,000", "1,234.50"): the value kept in a form."""
    if minor is None or minor == "":
        return ""
    m = Money(int(minor), currency)
    return f"{m.major:,.{exponent(currency)}f}"


def reference(req: CoverageRequest) -> str:
    return req.id[:8].upper()


def _field(key: str) -> str:
    """A schema's or service's field path ("limit/amount", "min_limit.amount", "perils.0") as the form's name."""
    return re.split(r"[./]", str(key), maxsplit=1)[0]


def _by_form_field(failure: Failure | None, rename: dict | None = None, extra: dict | None = None,
                   summarize: bool = False) -> Failure | None:
    """The failure with every message under the name of the form field it is about. `summarize`: a schema's
    refusal, whose summary names the fields again (as the form names them)."""
    if failure is None and not extra:
        return None
    fields: dict[str, list[str]] = {}
    for key, msgs in (failure.fields.items() if failure else ()):
        name = _field(key)
        name = (rename or {}).get(name, name)
        known = fields.setdefault(name, [])
        known.extend(m for m in list(msgs) if m not in known)
    for name, msgs in (extra or {}).items():
        fields[name] = list(msgs)  # our own reading of the field says it best
    if failure is None or summarize:
        return Failure(_("Check these fields: %(names)s", names=", ".join(sorted(fields))), fields)
    return Failure(failure.message, fields, failure.status)


def _amounts(form, names, currency: str | None) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Amounts typed in major units -> minor units; blank ones are left out (the schema says if required)."""
    got, bad = {}, {}
    for name in names:
        text = (form.get(name) or "").strip()
        if not text:
            continue
        if currency not in EXPONENTS:
            bad[name] = [_("Choose a currency first.")]
            continue
        try:
            value = parse_amount(text, currency)
        except DomainError as e:
            bad[name] = [str(e)]
            continue
        if value < 0:
            bad[name] = [_("Must not be negative.")]
        else:
            got[name] = value
    return got, bad


def _money(got: dict[str, int], bad: dict, names, currency: str | None) -> dict[str, dict]:
    """Money fields for the schema; a field we refused gets a stand-in so the others are still checked."""
    out = {}
    for name in names:
        if name in got:
            out[name] = {"amount": str(got[name]), "currency": currency}
        elif name in bad:
            out[name] = {"amount": "1", "currency": "JPY"}
    return out


def _read(schema, form, money_names=(), currency: str | None = None, extra: dict | None = None,
          rename: dict | None = None) -> tuple[dict | None, Failure | None]:
    """A form through the API's own schema, with amounts in major units: (data, None) or (None, failure)."""
    got, bad = _amounts(form, money_names, currency)
    data, failure = load_form(schema, form, extra={**_money(got, bad, money_names, currency), **(extra or {})})
    if failure or bad:
        return None, _by_form_field(failure, rename, bad, summarize=True)
    return data, None


def _me() -> Organization:
    return db.session.get(Organization, signed_in().org_id)


def _refused(failure: Failure, rename: dict | None = None) -> Failure:
    return _by_form_field(failure, rename)


def _endpoint(name: str) -> bool:
    return name in current_app.view_functions


# ---------------------------------------------------------------- insurer: offerings


def _own_offering(offering_id: str) -> Offering:
    o = get_visible(Offering, offering_id, "offering")
    if o.insurer_id != signed_in().org_id:
        raise Forbidden(_("Only the offering's insurer can change it."))
    return o


def _jurisdiction_options(selected=()) -> list[tuple[str, str]]:
    """Every jurisdiction with a regulator in the registry, plus any the offering already names."""
    known = set(db.session.scalars(select(Organization.jurisdiction).where(
        Organization.kind == "regulator", Organization.jurisdiction.is_not(None))))
    return [(j, j) for j in sorted(known | set(selected))]


def _offering_form_context(form, failure, offering=None):
    me = signed_in()
    return {"form": form, "failure": failure, "offering": offering,
            "peril_options": [(p, str(PERIL_NAMES[p])) for p in PERILS],
            "jurisdiction_options": _jurisdiction_options(form.getlist("jurisdictions")),
            "approved_in": sorted(registry.approved_jurisdictions(me.org_id)),
            "currency_options": [(c, c) for c in sorted(EXPONENTS)]}


def _offering_values(o: Offering) -> MultiDict:
    values = [("title", o.title), ("currency", o.currency), ("min_term_months", str(o.min_term_months)),
              ("max_term_months", str(o.max_term_months)), ("indicative_rate", o.indicative_rate),
              ("cancellation_notice_days", str(o.cancellation_notice_days))]
    values += [(name, major(getattr(o, name), o.currency)) for name in OFFERING_MONEY]
    values += [("perils", p) for p in o.perils] + [("jurisdictions", j) for j in o.jurisdictions]
    return MultiDict(values)


def _read_offering(form, with_status: bool) -> tuple[dict | None, Failure | None]:
    currency = (form.get("currency") or "").strip()
    known = currency in EXPONENTS
    data, failure = _read(OfferingCreate(), form, OFFERING_MONEY, currency if known else "JPY")
    if not known:
        fields = dict(failure.fields) if failure else {}
        fields["currency"] = [_("Choose a currency.")]
        return None, Failure(_("Check these fields: %(names)s", names=", ".join(sorted(fields))), fields)
    if data is not None and not with_status:
        data.pop("status", None)
    return data, failure


def _offerings_page(failure: Failure | None = None, status: int = 200):
    rows = db.session.scalars(visible(Offering).where(Offering.insurer_id == signed_in().org_id)
                              .order_by(Offering.created_at.desc(), Offering.id)).all()
    waiting = dict(db.session.execute(
        select(CoverageRequest.offering_id, db.func.count()).where(
            CoverageRequest.id.in_(visible(CoverageRequest).with_only_columns(CoverageRequest.id)),
            CoverageRequest.status.in_(["requested", "accepted"]))
        .group_by(CoverageRequest.offering_id)).all())
    return render_template("market/offerings.html", offerings=rows, waiting=waiting, failure=failure), status


@bp.route("/offerings")
@page("insurer")
def offerings():
    return _offerings_page()


@bp.route("/offerings/new", methods=["GET", "POST"])
@page("insurer")
def new_offering():
    if request.method == "POST":
        data, failure = _read_offering(request.form, with_status=True)
        if not failure:
            offering, failure = attempt(service.create_offering, _me(), data)
        if not failure:
            flash(_("Offering “%(title)s” listed.", title=offering.title) if offering.status == "listed"
                  else _("Offering “%(title)s” saved as a draft.", title=offering.title), "success")
            return redirect(url_for(".offerings"))
        return render_template("market/offering_form.html",
                               **_offering_form_context(request.form, _refused(failure))), 422
    form = MultiDict([("currency", "JPY"), ("min_term_months", "12"), ("max_term_months", "36"),
                      ("cancellation_notice_days", "90"), ("status", "listed")])
    return render_template("market/offering_form.html", **_offering_form_context(form, None))


@bp.route("/offerings/<offering_id>/edit", methods=["GET", "POST"])
@page("insurer")
def edit_offering(offering_id):
    o = _own_offering(offering_id)
    if request.method == "POST":
        data, failure = _read_offering(request.form, with_status=False)
        if not failure:
            _done, failure = attempt(service.update_offering, o, data)
        if not failure:
            flash(_("Offering “%(title)s” saved.", title=o.title), "success")
            return redirect(url_for(".offerings"))
        o = _own_offering(offering_id)
        return render_template("market/offering_form.html",
                               **_offering_form_context(request.form, _refused(failure), o)), 422
    return render_template("market/offering_form.html", **_offering_form_context(_offering_values(o), None, o))


@bp.route("/offerings/<offering_id>/<any(list,withdraw):action>", methods=["POST"])
@page("insurer")
def offering_status(offering_id, action):
    o = _own_offering(offering_id)
    title = o.title
    _done, failure = attempt(service.set_status, o, {"list": "listed", "withdraw": "withdrawn"}[action])
    if failure:
        return _offerings_page(Failure(_("“%(title)s” was not changed: %(reason)s", title=title,
                                         reason=failure.message)), 422)
    if action == "list":
        flash(_("Offering “%(title)s” listed.", title=title), "success")
    else:
        flash(_("Offering “%(title)s” withdrawn: it no longer appears in the market.", title=title), "success")
    return redirect(url_for(".offerings"))


# ---------------------------------------------------------------- both sides: requests


def _names(reqs) -> dict[str, str]:
    return service.party_names(list(reqs))


@bp.route("/requests/incoming")
@page("insurer")
def incoming():
    rows = db.session.scalars(visible(CoverageRequest).order_by(CoverageRequest.created_at.desc(),
                                                                CoverageRequest.id)).all()
    groups: dict[str, list] = {s: [] for s in INCOMING_ORDER}
    for r in rows:
        groups[service.effective_status(r)].append(r)
    return render_template("market/incoming.html", groups=[(s, groups[s]) for s in INCOMING_ORDER if groups[s]],
                           names=_names(rows), total=len(rows))


@bp.route("/requests")
@page("exchange")
def my_requests():
    rows = db.session.scalars(visible(CoverageRequest).order_by(CoverageRequest.created_at.desc(),
                                                                CoverageRequest.id)).all()
    return render_template("market/my_requests.html", requests=rows, names=_names(rows),
                           status={r.id: service.effective_status(r) for r in rows},
                           moves={r.id: TRANSITIONS[service.effective_status(r)] for r in rows})


def _quote_defaults(req: CoverageRequest) -> MultiDict:
    expires = (datetime.now(UTC) + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M")
    return MultiDict([("limit", major(req.limit, req.currency)),
                      ("deductible", major(req.offering.deductible, req.currency)),
                      ("term_start", req.term_start.isoformat()), ("expires_at", expires)])


def _detail(req: CoverageRequest, failure: Failure | None = None, form=None, which: str | None = None,
            status: int = 200):
    me = signed_in()
    state = service.effective_status(req)
    policy = None
    if req.policy_id:
        policy = db.session.scalar(visible(Policy).where(Policy.id == req.policy_id))
    ctx = {"req": req, "state": state, "moves": TRANSITIONS[state], "names": _names([req]), "policy": policy,
           "failure": failure, "which": which, "form": form if form is not None else MultiDict(),
           "quote_form": form if which == "quote" else _quote_defaults(req), "is_insurer": me.kind == "insurer",
           "policies_link": url_for("policies_pages.policies") if _endpoint("policies_pages.policies") else None,
           "attest_link": url_for("attestations_pages.gaps") if _endpoint("attestations_pages.gaps") else None}
    return render_template("market/request.html", **ctx), status


@bp.route("/requests/<request_id>")
@page("insurer", "exchange")
def request_detail(request_id):
    return _detail(get_visible(CoverageRequest, request_id, "coverage request"))


def _request_for(request_id: str) -> CoverageRequest:
    return get_visible(CoverageRequest, request_id, "coverage request")


def _expiry(value: str) -> str | None:
    """A datetime-local value (no offset) is read as UTC; one with an offset is kept as typed."""
    value = (value or "").strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", value, flags=re.ASCII):
        return value + ("+00:00" if value.count(":") == 2 else ":00+00:00")
    return value or None


@bp.route("/requests/<request_id>/quote", methods=["POST"])
@page("insurer")
def quote(request_id):
    req = _request_for(request_id)
    expires = _expiry(request.form.get("expires_at"))
    data, failure = _read(QuoteIn(), request.form, ("premium", "limit", "deductible"), req.currency,
                          extra={"expires_at": expires} if expires else None)
    if not failure:
        _done, failure = attempt(service.quote, req, data)
    if not failure:
        flash(_("Quote sent to %(exchange)s.", exchange=_names([req]).get(req.exchange_id, "")), "success")
        return redirect(url_for(".request_detail", request_id=req.id))
    return _detail(_request_for(request_id), _refused(failure), request.form, "quote", 422)


@bp.route("/requests/<request_id>/decline", methods=["POST"])
@page("insurer")
def decline(request_id):
    req = _request_for(request_id)
    data, failure = _read(DeclineIn(), request.form)
    if not failure:
        _done, failure = attempt(service.decline, req, data["reason"])
    if not failure:
        flash(_("Request declined."), "success")
        return redirect(url_for(".request_detail", request_id=req.id))
    return _detail(_request_for(request_id), _refused(failure), request.form, "decline", 422)


@bp.route("/requests/<request_id>/bind", methods=["POST"])
@page("insurer")
def bind(request_id):
    req = _request_for(request_id)
    data, failure = _read(BindIn(), request.form)
    if not failure:
        _done, failure = attempt(service.bind, req, data.get("policy_number"), signed_in().actor)
    if not failure:
        req = _request_for(request_id)
        number = db.session.scalar(select(Policy.number).where(Policy.id == req.policy_id))
        flash(_("Policy %(number)s bound.", number=number), "success")
        return redirect(url_for(".request_detail", request_id=req.id))
    return _detail(_request_for(request_id), _refused(failure, {"number": "policy_number"}), request.form,
                   "bind", 422)


@bp.route("/requests/<request_id>/<any(accept,withdraw):action>", methods=["POST"])
@page("exchange")
def exchange_move(request_id, action):
    req = _request_for(request_id)
    _done, failure = attempt(service.accept if action == "accept" else service.withdraw, req)
    if not failure:
        flash(_("Quote accepted: the insurer can now bind the policy.") if action == "accept"
              else _("Request withdrawn."), "success")
        return redirect(url_for(".request_detail", request_id=req.id))
    return _detail(_request_for(request_id), _refused(failure), None, action, 422)


# ---------------------------------------------------------------- exchange: search and request cover


def _search_query(args) -> tuple[dict | None, Failure | None]:
    currency = (args.get("currency") or "").strip() or None
    got, bad = _amounts(args, ("limit", "min_capacity"), currency)
    extra = {k: str(v) for k, v in got.items()}
    perils = [p for p in args.getlist("perils") if p.strip()]
    if perils:
        extra["perils"] = ",".join(perils)
    for k in ("limit", "min_capacity"):
        if k in bad:
            extra[k] = "1"
    data, failure = load_form(SearchQuery(), args, extra=extra)
    if failure or bad:
        return None, _by_form_field(failure, None, bad, summarize=True)
    return data, None


@bp.route("")
@page("exchange")
def search():
    args = request.args
    q, failure = _search_query(args)
    hits, total, page_no, per_page = [], 0, 1, PER_PAGE
    if q is not None:
        found = service.search(q, signed_in().jurisdiction)
        total, page_no, per_page = len(found), q["page"], q["per_page"]
        hits = found[(page_no - 1) * per_page: page_no * per_page]
    ctx = {"args": args, "failure": failure, "hits": hits, "total": total, "page_no": page_no,
           "pages": max(1, -(-total // per_page)), "jurisdiction": signed_in().jurisdiction,
           "peril_options": [(p, str(PERIL_NAMES[p])) for p in PERILS],
           "jurisdiction_options": [("", _("Any")), *_jurisdiction_options()],
           "currency_options": [("", _("Any"))] + [(c, c) for c in sorted(EXPONENTS)],
           "rating_options": [("", _("Any"))] + [(r, r) for r in ratings.SCALE],
           "sort_options": [(k, str(v)) for k, v in SORTS.items()]}
    return render_template("market/search.html", **ctx), (422 if failure else 200)


def _page_args(args, page_no: int) -> dict:
    out = {k: args.getlist(k) for k in args if k != "page"}
    out["page"] = page_no
    return out


@bp.route("/offerings/<offering_id>/request", methods=["GET", "POST"])
@page("exchange")
def request_cover(offering_id):
    o = get_visible(Offering, offering_id, "offering")
    if request.method == "POST":
        data, failure = _read(RequestCreate(), request.form, ("limit",), o.currency, extra={"offering": o.id})
        if not failure:
            ex = db.session.get(Exchange, signed_in().org_id)
            req, failure = attempt(service.create_request, ex, o, data["limit"], data["term_start"],
                                   data["term_months"], data["perils"], data.get("message"))
        if not failure:
            flash(_("Cover requested from %(insurer)s.", insurer=o.insurer.name), "success")
            return redirect(url_for(".request_detail", request_id=req.id))
        o = get_visible(Offering, offering_id, "offering")
        return render_template("market/request_cover.html", offering=o, form=request.form,
                               failure=_refused(failure)), 422
    form = MultiDict([("term_months", str(o.min_term_months)), *[("perils", p) for p in o.perils]])
    return render_template("market/request_cover.html", offering=o, form=form, failure=None)
