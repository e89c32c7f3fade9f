"""Portal pages of this feature (blueprint policies_pages): the insurer's policies, registering one (or many
from a CSV file), amending, cancelling with notice, lapsing. The same schemas, services and tenancy as the API
(`routes.py`): lookups through `tenancy.get_visible`, changes through `service` inside `web.pages.attempt`.

Bulk upload (`/policies/upload`): every row stands alone (`service.register_many`, a savepoint per row).
Rows the rules accept are registered; each refused row is reported with its errors in words and can be
downloaded as CSV to fix and upload again; nothing is re-keyed and a row sent twice is refused as "already
used" rather than registered twice. A file that cannot be read as a whole (empty, not UTF-8, wrong header,
too many rows) registers nothing and says why next to the file field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from ..domain.cover import PERILS, VOCABULARIES
from ..domain.money import EXPONENTS
from ..errors import ServiceError
from ..extensions import db
from ..registry.models import Organization
from ..tenancy import get_visible, visible
from ..web.pages import Failure, attempt, failure_of, flatten_messages, page, signed_in
from . import (
    access,  # noqa: F401  (registers the visibility rule)
    bulk,
    service,
)
from .models import Policy
from .schemas import PolicyAmend, PolicyCancel

bp = Blueprint("policies_pages", __name__, url_prefix="/policies", template_folder="templates")

PER_PAGE = 50
STATUSES = {"active": _l("Active"), "cancelled": _l("Cancelled"), "lapsed": _l("Lapsed")}

# Attestations sit above policies (they import them), so they plug their status in at start-up
# (attestations.views): f(policy ids) -> {(policy id, revision): attestation}.
ATTESTATIONS: list[Callable[[list[str]], dict]] = []


def attestations_of(policy_ids: list[str]) -> dict:
    out: dict = {}
    for source in ATTESTATIONS:
        out.update(source(policy_ids))
    return out


def _insurer() -> Organization:
    return db.session.get(Organization, signed_in().org_id)


def _policy(policy_id: str) -> Policy:
    return get_visible(Policy, policy_id, "policy")


def localised(failure: Failure) -> Failure:
    """A refusal with its field names as the form names them and its fixed messages in words."""
    return Failure(bulk.words(failure.message), bulk.by_field(failure.fields), failure.status)


def _refused(fields: dict[str, list[str]]) -> Failure:
    names = ", ".join(str(bulk.LABELS.get(n, n)) for n in fields)
    return Failure(_("Check these fields: %(fields)s", fields=names), fields)


def _common() -> dict:
    return {"statuses": STATUSES, "peril_labels": bulk.PERIL_LABELS, "labels": bulk.LABELS,
            "peril_options": [(p, str(bulk.PERIL_LABELS[p])) for p in PERILS],
            "peril_jurisdictions": {j: [str(bulk.PERIL_LABELS[p]) for p in v] for j, v in VOCABULARIES.items()},
            "currency_options": [(c, c) for c in sorted(EXPONENTS)]}


# ---- list and detail -------------------------------------------------------------------------------------

@bp.route("/")
@page("insurer")
def policies():
    status = request.args.get("status", "")
    stmt = visible(Policy)
    if status in STATUSES:
        stmt = stmt.where(Policy.status == status)
    else:
        status = ""
    try:
        page_no = max(1, min(int(request.args.get("page", "1")), 10**6))
    except ValueError:
        page_no = 1
    total = db.session.scalar(stmt.with_only_columns(db.func.count(Policy.id)).order_by(None))
    rows = db.session.scalars(stmt.order_by(Policy.created_at.desc(), Policy.id)
                              .limit(PER_PAGE).offset((page_no - 1) * PER_PAGE)).all()
    attested = attestations_of([p.id for p in rows])
    return render_template("policies/list.html", policies=rows, status=status, page_no=page_no, total=total,
                           pages=max(1, -(-total // PER_PAGE)), attested=attested,
                           allocated={p.id: service.live_allocated(p.id) for p in rows},
                           exchanges=service.insured_exchanges(p.insured_id for p in rows), **_common())


@bp.route("/<policy_id>")
@page("insurer")
def policy(policy_id: str):
    pol = _policy(policy_id)
    return render_template("policies/detail.html", policy=pol, attested=attestations_of([pol.id]),
                           allocated=service.live_allocated(pol.id), today=date.today(),
                           exchange=service.insured_exchanges([pol.insured_id]).get(pol.insured_id), **_common())


# ---- register one ----------------------------------------------------------------------------------------

def _register_page(form: dict, failure: Failure | None, status: int = 200):
    options = [(e.org_id, f"{e.org.name} ({e.licence_number}, {e.jurisdiction})")
               for e in service.insurable_exchanges(signed_in().org_id)]
    return render_template("policies/register.html", form=form, failure=failure, exchanges=options,
                           **_common()), status


@bp.route("/register", methods=["GET", "POST"])
@page("insurer")
def register():
    if request.method == "GET":
        return _register_page({"currency": "JPY", "cancellation_notice_days": "90"}, None)
    form = request.form
    perils = [p.strip() for p in form.getlist("perils") if p.strip()]
    data, errors = bulk.load_register(form, perils)
    if errors:
        return _register_page(_form_values(form), _refused(errors), 422)
    pol, failure = attempt(service.register, _insurer(), data, signed_in().actor)
    if failure:
        return _register_page(_form_values(form), localised(failure), 422)
    flash(_("Policy %(number)s is registered. Attest it so that it counts as cover.", number=pol.number), "success")
    return redirect(url_for(".policy", policy_id=pol.id))


def _form_values(form) -> dict:
    values = {k: form.get(k, "") for k in bulk.ALL_COLUMNS}
    values["perils"] = form.getlist("perils")
    return values


# ---- amend, cancel, lapse --------------------------------------------------------------------------------

def _amend_values(pol: Policy) -> dict:
    return {"limit": bulk.major_text(pol.limit_amount, pol.currency),
            "deductible": bulk.major_text(pol.deductible, pol.currency), "perils": list(pol.perils),
            "term_start": pol.term_start.isoformat(), "term_end": pol.term_end.isoformat(),
            "territories": ", ".join(pol.territories or ())}


@bp.route("/<policy_id>/amend", methods=["GET", "POST"])
@page("insurer")
def amend(policy_id: str):
    pol = _policy(policy_id)
    if request.method == "GET":
        return render_template("policies/amend.html", policy=pol, form=_amend_values(pol), failure=None,
                               **_common())
    form = request.form
    typed = {"limit": form.get("limit", ""), "deductible": form.get("deductible", ""),
             "perils": form.getlist("perils"), "term_start": form.get("term_start", ""),
             "term_end": form.get("term_end", ""), "territories": form.get("territories", "")}
    money, errors = bulk.amounts(form, pol.currency)
    raw: dict = {k: v.strip() for k in ("term_start", "term_end") if (v := form.get(k, "")).strip()}
    raw["perils"] = [p.strip() for p in form.getlist("perils") if p.strip()]
    territories = bulk.split_territories(typed["territories"])
    if territories or pol.territories:  # emptied: refused as required (territories once recorded stay recorded)
        raw["territories"] = territories
    raw.update(money)
    data = None
    try:
        data = PolicyAmend().load(raw)
    except ValidationError as e:
        errors = {**bulk.by_field(flatten_messages(e.messages)), **errors}
    if bad := bulk.territory_errors(territories):
        errors["territories"] = bad
    if errors:
        return render_template("policies/amend.html", policy=pol, form=typed, failure=_refused(errors),
                               **_common()), 422
    changes = {k: v for k, v in data.items() if k not in ("limit", "deductible")}
    for name, col in (("limit", "limit_amount"), ("deductible", "deductible")):
        changes[col] = data[name].amount
    revision = pol.revision
    _unused, failure = attempt(service.amend, pol, changes, signed_in().actor)
    if failure:
        pol = _policy(policy_id)
        return render_template("policies/amend.html", policy=pol, form=typed, failure=localised(failure),
                               **_common()), 422
    if pol.revision == revision:  # territories only: not attested, so the revision and its attestation stand
        flash(_("Policy %(number)s now records the territories %(territories)s. The revision and its attestation "
                "are unchanged; certificates relying on the policy are revoked, so certify again.",
                number=pol.number, territories=", ".join(pol.territories or ())), "success")
    else:
        flash(_("Policy %(number)s is amended: revision %(revision)d. Attest the new revision so that it counts "
                "as cover.", number=pol.number, revision=pol.revision), "success")
    return redirect(url_for(".policy", policy_id=pol.id))


@bp.route("/<policy_id>/cancel", methods=["GET", "POST"])
@page("insurer")
def cancel(policy_id: str):
    pol = _policy(policy_id)
    if request.method == "GET":
        return render_template("policies/cancel.html", policy=pol, form={}, failure=None, **_common())
    form = {"effective_on": request.form.get("effective_on", ""), "reason": request.form.get("reason", "")}
    raw = {k: v.strip() for k, v in form.items() if v.strip()}
    try:
        data = PolicyCancel().load(raw)
    except ValidationError as e:
        failure = _refused(bulk.by_field(flatten_messages(e.messages)))
        return render_template("policies/cancel.html", policy=pol, form=form, failure=failure, **_common()), 422
    _unused, failure = attempt(service.cancel, pol, data["effective_on"], date.today(), signed_in().actor,
                               data.get("reason"))
    if failure:
        pol = _policy(policy_id)
        return render_template("policies/cancel.html", policy=pol, form=form, failure=localised(failure),
                               **_common()), 422
    flash(_("Policy %(number)s is cancelled, effective %(date)s. Certificates relying on it are revoked.",
            number=pol.number, date=data["effective_on"].isoformat()), "success")
    return redirect(url_for(".policy", policy_id=pol.id))


@bp.route("/<policy_id>/lapse", methods=["POST"])
@page("insurer")
def lapse(policy_id: str):
    pol = _policy(policy_id)
    _unused, failure = attempt(service.lapse, pol, date.today(), signed_in().actor)
    if failure:
        flash(localised(failure).message, "error")
    else:
        flash(_("Policy %(number)s is marked lapsed.", number=pol.number), "success")
    return redirect(url_for(".policy", policy_id=policy_id))


# ---- bulk upload -----------------------------------------------------------------------------------------

def _insured_lookup(insurer_id: str) -> Callable[[str], str]:
    """An exchange id or licence number (as the CSV's insured column says) -> the exchange id; anything else
    is passed on as typed, and the register service refuses it."""
    known: dict[str, str] = {}
    for e in service.insurable_exchanges(insurer_id):
        known[e.org_id.casefold()] = e.org_id
        known.setdefault(e.licence_number.casefold(), e.org_id)
    return lambda text: known.get(text.strip().casefold(), text.strip())


def _upload_page(failure: Failure | None, rows=None, status: int = 200):
    exchanges = service.insurable_exchanges(signed_in().org_id)
    created = [r for r in rows or [] if r.policy is not None]
    refused = [r for r in rows or [] if r.policy is None]
    return render_template("policies/upload.html", failure=failure, rows=rows, created=created, refused=refused,
                           refused_rows=json.dumps([[r.values.get(c, "") for c in bulk.ALL_COLUMNS]
                                                    for r in refused]),
                           exchanges=exchanges,
                           columns=bulk.COLUMNS, max_rows=bulk.MAX_ROWS, **_common()), status


@bp.route("/upload", methods=["GET", "POST"])
@page("insurer")
def upload():
    if request.method == "GET":
        return _upload_page(None)
    file = request.files.get("file")
    if file is None or not file.filename:
        return _upload_page(_refused({"file": [_("choose a CSV file to upload")]}), status=422)
    try:
        rows = bulk.read(file.read(), _insured_lookup(signed_in().org_id))
    except bulk.FileRefused as e:
        return _upload_page(Failure(str(e), {"file": [str(e)]}), status=422)
    good = [r for r in rows if r.data is not None]
    if good:
        outcomes, failure = attempt(service.register_many, [r.data for r in good], _insurer(), signed_in().actor)
        if failure:  # the batch as a whole was refused (nothing kept)
            return _upload_page(localised(failure), status=422)
        for row, outcome in zip(good, outcomes, strict=True):
            if isinstance(outcome, Policy):
                row.policy = outcome
            else:
                row.data = None
                row.errors = localised(failure_of(outcome)).fields or {"_form": [_describe(outcome)]}
    return _upload_page(None, rows)


def _describe(e: Exception) -> str:
    return e.detail if isinstance(e, ServiceError) else str(e)


@bp.route("/upload/template.csv")
@page("insurer")
def template():
    return Response(bulk.template(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="policies-template.csv"'})


@bp.route("/upload/refused.csv", methods=["POST"])
@page("insurer")
def refused():
    """The refused rows of a report, sent back as a CSV file to fix and upload again (nothing is stored:
    the report page carries the rows as it showed them)."""
    try:
        rows = json.loads(request.form.get("rows", "[]"))
    except ValueError:
        rows = []
    if not isinstance(rows, list):
        rows = []
    clean = [bulk.Row(row=0, values=dict(zip(bulk.ALL_COLUMNS, (str(c) for c in r), strict=False)))
             for r in rows[: bulk.MAX_ROWS] if isinstance(r, list)]
    return Response(bulk.refused_csv(clean), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="policies-refused.csv"',
                             "Cache-Control": "no-store"})
