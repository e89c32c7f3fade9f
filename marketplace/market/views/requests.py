"""Coverage requests, both sides: the insurer's incoming ones (quote, decline, bind) and the exchange's own
(accept a quote, withdraw)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ...domain.market import TRANSITIONS
from ...extensions import db
from ...policies.models import Policy
from ...tenancy import get_visible, visible
from ...web.pages import Failure, attempt, page, signed_in
from .. import service
from ..models import CoverageRequest
from ..schemas import BindIn, DeclineIn, QuoteIn
from . import INCOMING_ORDER, bp
from .forms import _endpoint, _read, _refused, major


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
    return _detail(_request_for(request_id))


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
