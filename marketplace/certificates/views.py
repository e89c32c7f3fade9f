"""Portal pages of this feature (blueprint certificates_pages): the same schemas, services and tenancy as its API.

- an exchange lists its certificates and requests one (`service.issue`, as `POST /api/v1/certificates`);
- a regulator lists the certificates of its jurisdiction with filters, and the revocations;
- an insurer lists the certificates that rely on its policies (the tenancy rule in access.py says which);
- each certificate has a page with its facts, coverage, log receipt, the public verify link and downloads
  (PDF, bundle JSON, JWS) served from portal URLs with the API's service functions and tenancy.
"""

from __future__ import annotations

import math
import re

import marshmallow as ma
from flask import Blueprint, Response, current_app, flash, json, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import validate
from sqlalchemy import func, select

from ..errors import NotFound
from ..extensions import db
from ..obligations.models import ObligationRecord
from ..registry.models import Exchange, Organization
from ..tenancy import get_visible, visible
from ..tenancy import where as visible_where
from ..web.pages import Failure, attempt, load_form, page, signed_in
from ..web.phrases import in_words
from . import (
    access,  # noqa: F401  (registers the visibility rule)
    pdf,
    service,
)
from .models import Certificate
from .schemas import Bundle, IssueIn

bp = Blueprint("certificates_pages", __name__, url_prefix="/certificates", template_folder="templates")
PER_PAGE = 50
READERS = ("exchange", "regulator", "insurer")  # the kinds holding certificates:read (auth/scopes.py)


class CertificateFilter(ma.Schema):
    """The list's filters (query string). Unknown parameters are ignored, as a browser may add some."""

    class Meta:
        unknown = ma.EXCLUDE

    exchange = ma.fields.String(validate=validate.Length(max=64))
    status = ma.fields.String(validate=validate.OneOf(["valid", "revoked"]))
    period = ma.fields.String(validate=validate.Length(max=10))
    issued_from = ma.fields.Date()
    issued_to = ma.fields.Date()
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


FILTER_ERRORS = {
    "exchange": _l("Choose an exchange from the list."),
    "status": _l("Choose Valid or Revoked."),
    "period": _l("Choose a period from the list."),
    "issued_from": _l("Enter a date such as 2027-01-31."),
    "issued_to": _l("Enter a date such as 2027-01-31."),
    "page": _l("There is no such page."),
}

# certificates/service.py and revocation.py state why a certificate was revoked in English words; these
# are the same sentences in the reader's language (anything else is shown as recorded).
REASONS = [
    (re.compile(r"superseded by certificate (?P<id>\S+)"), _l("superseded by certificate %(id)s")),
    (re.compile(r"policy (?P<number>.+) cancelled on (?P<date>\S+)"), _l("policy %(number)s cancelled on %(date)s")),
    (re.compile(r"policy (?P<number>.+) lapsed on (?P<date>\S+)"), _l("policy %(number)s lapsed on %(date)s")),
    (re.compile(r"policy (?P<number>.+) amended \(revision (?P<revision>\d+)\)"),
     _l("policy %(number)s amended (revision %(revision)s)")),
    (re.compile(r"insurer (?P<name>.+) suspended by the (?P<jurisdiction>\S+) regulator"),
     _l("insurer %(name)s suspended by the %(jurisdiction)s regulator")),
    (re.compile(r"insurer (?P<name>.+) downgraded from (?P<old>\S+) to (?P<new>\S+) "
                r"by the (?P<jurisdiction>\S+) regulator"),
     _l("insurer %(name)s downgraded from %(old)s to %(new)s by the %(jurisdiction)s regulator")),
    (re.compile(r"insurer (?P<name>.+) downgraded from (?P<old>\S+) to (?P<new>\S+)"),
     _l("insurer %(name)s downgraded from %(old)s to %(new)s")),
    (re.compile(r"obligation recomputed \(revision (?P<revision>\d+)\)"),
     _l("obligation recomputed (revision %(revision)s)")),
]


def reason_in_words(reason: str | None) -> str:
    return in_words(reason or "", patterns=REASONS)


def _status_words(cert: Certificate) -> str:
    return _("Valid") if cert.status == "valid" else _("Revoked")


def _exchange_options() -> list[tuple[str, str]]:
    rows = db.session.execute(select(Exchange.org_id, Organization.name)
                              .join(Organization, Organization.id == Exchange.org_id)
                              .where(visible_where(Exchange)).order_by(Organization.name)).all()
    return [(org_id, name) for org_id, name in rows]


def _periods() -> list[str]:
    sub = visible(Certificate).subquery()
    return list(db.session.scalars(select(sub.c.period).distinct().order_by(sub.c.period.desc())))


def _obligation_options() -> list[tuple[str, str]]:
    money = current_app.jinja_env.filters["money"]
    rows = db.session.scalars(visible(ObligationRecord).where(ObligationRecord.superseded_at.is_(None))
                              .order_by(ObligationRecord.period_start.desc(), ObligationRecord.period)).all()
    return [(o.id, _("%(period)s · obligation %(total)s (revision %(revision)s)", period=o.period,
                     total=money(o.total, o.currency), revision=o.revision)) for o in rows]


def _filters() -> tuple[dict, Failure | None]:
    q, failure = load_form(CertificateFilter(), request.args)
    if failure:
        fields = {name: [str(FILTER_ERRORS.get(name, msgs[0]))] for name, msgs in failure.fields.items()}
        return {"page": 1}, Failure(_("Check the filters."), fields)
    if q.get("exchange") and signed_in().kind == "regulator" \
            and q["exchange"] not in {i for i, _n in _exchange_options()}:
        return {"page": 1}, Failure(_("Check the filters."), {"exchange": [str(FILTER_ERRORS["exchange"])]})
    if q.get("issued_from") and q.get("issued_to") and q["issued_from"] > q["issued_to"]:
        return {"page": 1}, Failure(_("Check the filters."),
                                    {"issued_to": [_("The end date must not be before the start date.")]})
    return q, None


def _render_list(failure: Failure | None = None, form=None, status: int = 200):
    me = signed_in()
    q, filter_failure = _filters()
    stmt = service.filtered(visible(Certificate), q.get("exchange"), q.get("status"), q.get("period"),
                            q.get("issued_from"), q.get("issued_to"))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    pages = max(1, math.ceil(total / PER_PAGE))
    page_no = min(q.get("page", 1), pages)
    certs = db.session.scalars(stmt.order_by(Certificate.created_at.desc(), Certificate.id)
                               .limit(PER_PAGE).offset((page_no - 1) * PER_PAGE)).all()
    revocations = []
    if me.kind == "regulator":
        revocations = db.session.scalars(visible(Certificate).where(Certificate.status == "revoked")
                                         .order_by(Certificate.revoked_at.desc(), Certificate.id).limit(PER_PAGE)).all()
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    if filter_failure and not failure:
        status = 422
    return render_template(
        "certificates/list.html", me=me, certs=certs, total=total, page_no=page_no, pages=pages, args=args,
        revocations=revocations, reason_in_words=reason_in_words, status_words=_status_words,
        exchanges=_exchange_options() if me.kind == "regulator" else [], periods=_periods(),
        obligations=_obligation_options() if me.kind == "exchange" else [],
        filters=request.args, filter_failure=filter_failure, failure=failure,
        form=form if form is not None else {}), status


@bp.route("/")
@page(*READERS)
def certificates():
    return _render_list()


@bp.route("/request", methods=["POST"])
@page("exchange")
def request_certificate():
    """As POST /api/v1/certificates: the exchange's own obligation (404 otherwise), then service.issue."""
    data, failure = load_form(IssueIn(), request.form)
    if failure:
        return _render_list(Failure(_("Choose the obligation to certify."),
                                    {"obligation": [_("Choose an obligation.")]}), request.form, 422)
    ob = db.session.scalar(visible(ObligationRecord).where(ObligationRecord.id == data["obligation"]))
    if ob is None or ob.exchange_id != signed_in().org_id:
        return _render_list(Failure(_("There is no such obligation of your exchange."),
                                    {"obligation": [_("Choose an obligation from the list.")]}, 404),
                            request.form, 404)
    cert, failure = attempt(service.issue, ob, signed_in().actor)
    if failure:
        return _render_list(Failure(failure.message, {"obligation": [failure.message]}), request.form, 422)
    flash(_("Certificate issued for %(period)s. It replaces any earlier valid certificate for that period.",
            period=cert.period), "success")
    return redirect(url_for(".certificate", certificate_id=cert.id))


def _receipt(cert: Certificate) -> dict | None:
    """The log receipt in a few facts (leaf index, tree size, checkpoint origin and root hash)."""
    try:
        r = service.receipt_for(cert)
    except NotFound:
        return None
    if r is None:
        return None
    lines = str(r.get("checkpoint", "")).split("\n")
    return {"index": r["leafIndex"], "tree_size": r["treeSize"], "origin": lines[0] if lines else "",
            "root": lines[2] if len(lines) > 2 else "", "proof_length": len(r.get("inclusionProof") or [])}


@bp.route("/<certificate_id>")
@page(*READERS)
def certificate(certificate_id):
    cert = get_visible(Certificate, certificate_id, "certificate")
    subject = cert.credential.get("credentialSubject", {})
    return render_template("certificates/detail.html", cert=cert, subject=subject, receipt=_receipt(cert),
                           reason=reason_in_words(cert.revoked_reason), status_words=_status_words(cert),
                           verify_url=url_for("public.verify") + "/" + cert.id)


def _attachment(body, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                                      "Cache-Control": "private, no-store"})


def verify_page_url(cert: Certificate) -> str:
    """The public verify page of this certificate (DESIGN 7: the PDF's QR code points here)."""
    return f"{current_app.config['BASE_URL']}/verify/{cert.id}"


@bp.route("/<certificate_id>/pdf")
@page(*READERS)
def download_pdf(certificate_id):
    cert = get_visible(Certificate, certificate_id, "certificate")
    body = pdf.render(cert, service.bundle(cert), verify_page_url(cert))
    return _attachment(body, "application/pdf", f"certificate-{cert.id}.pdf")


@bp.route("/<certificate_id>/bundle")
@page(*READERS)
def download_bundle(certificate_id):
    cert = get_visible(Certificate, certificate_id, "certificate")
    body = json.dumps(Bundle().dump(service.bundle(cert)), indent=2)
    return _attachment(body, "application/json", f"certificate-{cert.id}.json")


@bp.route("/<certificate_id>/jws")
@page(*READERS)
def download_jws(certificate_id):
    cert = get_visible(Certificate, certificate_id, "certificate")
    return _attachment(cert.jws, "application/vc+jwt", f"certificate-{cert.id}.jws")
