"""Market API: offerings and search; coverage requests through quote, accept and bind."""

from __future__ import annotations

from flask import Response, current_app

from ..cache import LRU
from ..errors import Forbidden
from ..extensions import db
from ..registry.models import Exchange, Organization
from ..tenancy import get_visible, visible
from ..web.blueprint import Blueprint
from ..web.guard import acting_as, principal, requires
from ..web.pagination import page_of, paginate
from . import (
    access,  # noqa: F401  (registers the visibility rules)
    search,
    service,
)
from .models import CoverageRequest, Offering
from .schemas import (
    BindIn,
    DeclineIn,
    OfferingCreate,
    OfferingOut,
    QuoteIn,
    RequestCreate,
    RequestOut,
    RequestPage,
    RequestQuery,
    SearchPage,
    SearchQuery,
)

bp = Blueprint("market", __name__, url_prefix="/api/v1", description="Coverage market")
# search answers as sent, by search.Market.key (everything an answer depends on, read on every request):
# an entry is never stale, only evicted (marketplace.cache)
_PAGES = LRU(256)


def _me(kind: str):
    return db.session.get(Organization, acting_as(kind).org_id)


def _own_offering(offering_id: str) -> Offering:
    o = get_visible(Offering, offering_id, "offering")
    if o.insurer_id != principal().org_id:
        raise Forbidden("only the offering's insurer can change it")
    return o


@bp.route("/offerings", methods=["POST"])
@requires("market:write")
@bp.arguments(OfferingCreate)
@bp.response(201, OfferingOut)
def create_offering(data):
    """List (or draft) an offering. Only an insurer approved in every listed jurisdiction can list."""
    return service.create_offering(_me("insurer"), data)


@bp.route("/offerings", methods=["GET"])
@requires("market:read", transaction=False)  # what must agree is read in one statement (search.py)
@bp.arguments(SearchQuery, location="query")
@bp.response(200, SearchPage)
def search_offerings(q):
    """Search listed offerings. Each hit shows the insurer's current rating and whether cover from it would
    be eligible under the caller's jurisdiction rule-set, naming the failing checks."""
    caller = principal().jurisdiction
    now = search.market(caller)
    key = now.key(q)
    answer = _PAGES.get(key) if key is not None else None
    if answer is None:
        hits, total = search.search(q, caller, now)  # the page only, filtered and sorted in SQL
        body, headers = page_of(hits, total, q["page"], q["per_page"])
        answer = (current_app.json.response(SearchPage().dump(body)).get_data(), total)
        if key is not None:
            _PAGES.put(key, answer)
    else:
        _, headers = page_of([], answer[1], q["page"], q["per_page"])  # links name this request's own URL
    return Response(answer[0], mimetype=current_app.json.mimetype, headers=headers)


@bp.route("/offerings/<offering_id>", methods=["GET"])
@requires("market:read")
@bp.response(200, OfferingOut)
def get_offering(offering_id):
    return get_visible(Offering, offering_id, "offering")


@bp.route("/offerings/<offering_id>/<any(list,withdraw):action>", methods=["POST"])
@requires("market:write")
@bp.response(200, OfferingOut)
def change_offering(offering_id, action):
    """List a draft or withdrawn offering, or withdraw a listed one."""
    _me("insurer")
    return service.set_status(_own_offering(offering_id), {"list": "listed", "withdraw": "withdrawn"}[action])


@bp.route("/coverage-requests", methods=["POST"])
@requires("market:write")
@bp.arguments(RequestCreate)
@bp.response(201, RequestOut)
def create_request(data):
    """An exchange asks an insurer for cover against one of its offerings."""
    ex = db.session.get(Exchange, _me("exchange").id)
    o = get_visible(Offering, data["offering"], "offering")
    return service.create_request(ex, o, data["limit"], data["term_start"], data["term_months"], data["perils"],
                                  data.get("message"))


@bp.route("/coverage-requests", methods=["GET"])
@requires("market:read")
@bp.arguments(RequestQuery, location="query")
@bp.response(200, RequestPage)
def list_requests(q):
    stmt = visible(CoverageRequest).order_by(CoverageRequest.created_at.desc(), CoverageRequest.id)
    if "status" in q:
        stmt = stmt.where(CoverageRequest.status == q["status"])
    return paginate(stmt, q["page"], q["per_page"])


@bp.route("/coverage-requests/<request_id>", methods=["GET"])
@requires("market:read")
@bp.response(200, RequestOut)
def get_request(request_id):
    return get_visible(CoverageRequest, request_id, "coverage request")


def _request_for(kind: str, request_id: str) -> CoverageRequest:
    _me(kind)
    return get_visible(CoverageRequest, request_id, "coverage request")


@bp.route("/coverage-requests/<request_id>/quote", methods=["POST"])
@requires("market:write")
@bp.arguments(QuoteIn)
@bp.response(200, RequestOut)
def quote_request(data, request_id):
    """The insurer quotes: premium, limit, deductible, term and an expiry."""
    return service.quote(_request_for("insurer", request_id), data)


@bp.route("/coverage-requests/<request_id>/decline", methods=["POST"])
@requires("market:write")
@bp.arguments(DeclineIn)
@bp.response(200, RequestOut)
def decline_request(data, request_id):
    return service.decline(_request_for("insurer", request_id), data["reason"])


@bp.route("/coverage-requests/<request_id>/accept", methods=["POST"])
@requires("market:write")
@bp.response(200, RequestOut)
def accept_request(request_id):
    """The exchange accepts a live quote."""
    return service.accept(_request_for("exchange", request_id))


@bp.route("/coverage-requests/<request_id>/withdraw", methods=["POST"])
@requires("market:write")
@bp.response(200, RequestOut)
def withdraw_request(request_id):
    return service.withdraw(_request_for("exchange", request_id))


@bp.route("/coverage-requests/<request_id>/bind", methods=["POST"])
@requires("market:write")
@bp.arguments(BindIn)
@bp.response(200, RequestOut)
def bind_request(data, request_id):
    """The insurer binds an accepted quote: the policy is created and offering capacity consumed."""
    req = _request_for("insurer", request_id)
    return service.bind(req, data.get("policy_number"), principal().actor)
