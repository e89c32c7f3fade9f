"""The insurer's offerings: list, create, edit, list or withdraw."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ...domain.cover import PERILS
from ...domain.money import EXPONENTS
from ...errors import Forbidden
from ...extensions import db
from ...registry import service as registry
from ...registry.models import Organization
from ...tenancy import get_visible, visible
from ...web.pages import Failure, attempt, field_names, page, signed_in
from .. import service
from ..models import CoverageRequest, Offering
from ..schemas import OfferingCreate
from . import OFFERING_MONEY, PERIL_NAMES, bp
from .forms import _me, _read, _refused, major

# the offering form's labels: the page shows them, and an error summary names the fields with them
LABELS = {"title": _l("Title"), "perils": _l("Perils covered"), "jurisdictions": _l("Jurisdictions"),
          "currency": _l("Currency"), "min_limit": _l("Minimum limit per insured"),
          "max_limit": _l("Maximum limit per insured"), "capacity": _l("Total capacity"),
          "deductible": _l("Deductible"), "min_term_months": _l("Shortest term (months)"),
          "max_term_months": _l("Longest term (months)"), "indicative_rate": _l("Indicative rate"),
          "cancellation_notice_days": _l("Cancellation notice (days)"), "status": _l("Status")}


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
    return {"form": form, "failure": failure, "offering": offering, "labels": LABELS,
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
    data, failure = _read(OfferingCreate(), form, OFFERING_MONEY, currency if known else "JPY", labels=LABELS)
    if not known:
        fields = dict(failure.fields) if failure else {}
        fields["currency"] = [_("Choose a currency.")]
        return None, Failure(_("Check these fields: %(names)s", names=field_names(fields, LABELS)), fields)
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
