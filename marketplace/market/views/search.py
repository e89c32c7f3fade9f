"""The exchange's market: search with eligibility per offering, and requesting cover."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from ...domain import ratings
from ...domain.cover import PERILS
from ...domain.money import EXPONENTS
from ...extensions import db
from ...registry.models import Exchange
from ...tenancy import get_visible
from ...web.pages import Failure, attempt, load_form, page, signed_in
from .. import search as market_search
from .. import service
from ..models import Offering
from ..schemas import RequestCreate, SearchQuery
from . import PER_PAGE, PERIL_NAMES, SORTS, bp
from .forms import _amounts, _by_form_field, _read, _refused
from .offerings import _jurisdiction_options


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
        hits, total = market_search.search(q, signed_in().jurisdiction)  # the page only, filtered and sorted in SQL
        page_no, per_page = q["page"], q["per_page"]
    ctx = {"args": args, "failure": failure, "hits": hits, "total": total, "page_no": page_no,
           "pages": max(1, -(-total // per_page)), "jurisdiction": signed_in().jurisdiction,
           "peril_options": [(p, str(PERIL_NAMES[p])) for p in PERILS],
           "jurisdiction_options": [("", _("Any")), *_jurisdiction_options()],
           "currency_options": [("", _("Any"))] + [(c, c) for c in sorted(EXPONENTS)],
           "rating_options": [("", _("Any"))] + [(r, r) for r in ratings.SCALE],
           "sort_options": [(k, str(v)) for k, v in SORTS.items()]}
    return render_template("market/search.html", **ctx), (422 if failure else 200)


def page_args(args, page_no: int) -> dict:
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
