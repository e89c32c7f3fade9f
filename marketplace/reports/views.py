"""Portal pages of this feature (blueprint reports_pages): the same schemas, services and tenancy as its API.

One page (GET /reports/) with, for each kind of report (reserve balance, monthly volume, custody balance,
incident, fixed overheads), a form for one entry, a CSV upload, and what is reported now:

- POST /reports/<kind>       one entry: the API's schema (`VolumeIn`, ...), amounts typed in major units
                             (`parse_amount`) in the reporting currency, then the API's service call;
- POST /reports/<kind>/csv   a file: read and validated by the API's own reader (`ingest.load_rows`), the
                             same currency and duplicate checks as the API, then every row recorded in one
                             unit of work (all or nothing); refusals are listed per CSV line, in words.

Field names carry the kind ("reserve-as_of") so that the four forms on the page have unique ids and labels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import marshmallow as ma
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..db import utcnow
from ..domain.errors import DomainError
from ..domain.facts import INCIDENT_KINDS, PRODUCT_CLASSES
from ..domain.money import EXPONENTS, parse_amount
from ..errors import ServiceError
from ..extensions import db
from ..registry.models import Exchange
from ..tenancy import get_visible, visible
from ..web.pages import Failure, attempt, failure_of, load_form, page, signed_in
from . import service
from .ingest import MAX_ROWS, load_rows
from .models import CustodyBalanceRecord, FixedOverheads, IncidentRecord, MonthlyVolume, ReserveBalanceRecord
from .schemas import CustodyIn, IncidentIn, OverheadsIn, ReserveBalanceIn, VolumeIn

bp = Blueprint("reports_pages", __name__, url_prefix="/reports", template_folder="templates")

PRODUCT_CLASS_NAMES = {"spot": _l("spot"), "derivatives": _l("derivatives"), "margin": _l("margin"),
                       "lending": _l("lending"), "staking": _l("staking")}
INCIDENT_KIND_NAMES = {"hack": _l("hack"), "insider_fraud": _l("insider fraud"),
                       "operational_failure": _l("operational failure"),
                       "custodian_failure": _l("custodian failure"), "other": _l("other")}
WALLET_NAMES = {"hot": _l("hot"), "cold": _l("cold"), "other": _l("other storage")}
MAX_UPLOAD = 1024 * 1024  # bytes; the API's row limit (ingest.MAX_ROWS) applies too


def _volume(ex: Exchange, r: dict, actor: str):
    return service.record_volume(ex, date.fromisoformat(r["month"] + "-01"), r["product_class"], r["amount"], actor)


def _custody(ex: Exchange, r: dict, actor: str):
    return service.record_custody(ex, r["as_of"], r["wallet"], r["amount"], actor)


def _reserve(ex: Exchange, r: dict, actor: str):
    return service.record_reserve_balance(ex, r["as_of"], r["amount"], actor)


def _incident(ex: Exchange, r: dict, actor: str):
    return service.record_incident(ex, r["occurred_on"], r["kind"], r["loss"], r["compensated"], actor,
                                   r.get("description"))


def _overheads(ex: Exchange, r: dict, actor: str):
    return service.record_overheads(ex, r["fiscal_year"], r["amount"], actor, r.get("projected", False),
                                    r.get("deductions"))


@dataclass(frozen=True)
class Kind:
    """One kind of report: the API's schema, CSV columns and service call (as in routes.py)."""

    schema: type[ma.Schema]
    columns: list[str]      # as the API's route passes them to load_rows
    fields: tuple[str, ...]  # the form's fields (money ones typed in major units)
    money: tuple[str, ...]
    record: Callable
    optional: tuple[str, ...] = ("description",)  # CSV columns that may be left out (as the API's route)


KINDS = {
    "reserve": Kind(ReserveBalanceIn, ["as_of", "amount"], ("as_of", "amount"), ("amount",), _reserve),
    "volume": Kind(VolumeIn, ["month", "product_class", "amount"], ("month", "product_class", "amount"),
                   ("amount",), _volume),
    "custody": Kind(CustodyIn, ["as_of", "wallet", "amount"], ("as_of", "wallet", "amount"), ("amount",),
                    _custody),
    "incident": Kind(IncidentIn, ["occurred_on", "kind", "loss", "compensated"],
                     ("occurred_on", "kind", "loss", "compensated", "description"), ("loss", "compensated"),
                     _incident),
    "overheads": Kind(OverheadsIn, ["fiscal_year", "amount"], ("fiscal_year", "amount", "deductions", "projected"),
                      ("amount", "deductions"), _overheads, ("projected", "deductions")),
}
KIND_NAMES = {"reserve": _l("reserve balance"), "volume": _l("monthly volume"), "custody": _l("custody balance"),
              "incident": _l("incident"), "overheads": _l("fixed overheads")}


def _exchange() -> Exchange:
    return get_visible(Exchange, signed_in().org_id, "exchange")


def amount_message(error: DomainError, currency: str) -> str:
    """Why a typed amount was refused, in the page's language."""
    if "too large" in str(error):
        return _("This amount is too large.")
    example = "1,000,000" if EXPONENTS.get(currency, 2) == 0 else "1,000.00"
    return _("Enter an amount in %(currency)s, such as %(example)s.", currency=currency, example=example)


def _reported(ex: Exchange) -> dict:
    """What the exchange has reported, newest first (the API's listings, through the same tenancy)."""
    volumes = db.session.scalars(visible(MonthlyVolume).where(MonthlyVolume.exchange_id == ex.org_id)).all()
    months: dict[date, dict[str, MonthlyVolume]] = {}
    for v in volumes:
        months.setdefault(v.month, {})[v.product_class] = v
    classes = [c for c in PRODUCT_CLASSES if any(c in row for row in months.values())]

    def newest(model, col):
        return db.session.scalars(visible(model).where(model.exchange_id == ex.org_id)
                                  .order_by(col.desc(), model.id).limit(200)).all()

    return {
        "reserve": newest(ReserveBalanceRecord, ReserveBalanceRecord.as_of),
        "custody": newest(CustodyBalanceRecord, CustodyBalanceRecord.as_of),
        "incident": newest(IncidentRecord, IncidentRecord.occurred_on),
        "overheads": db.session.scalars(visible(FixedOverheads).where(FixedOverheads.exchange_id == ex.org_id)
                                        .order_by(FixedOverheads.fiscal_year.desc())).all(),
        "volume_months": sorted(months.items(), reverse=True)[:36],
        "volume_classes": classes,
        "volume_total_months": len(months),
    }


def _page(failures: dict | None = None, values: dict | None = None, status: int = 200):
    ex = _exchange()
    currency = service.reporting_currency(ex)
    cash = service.cash_held(ex.org_id, utcnow().date())
    example = current_app.jinja_env.filters["money"](10 ** (6 + EXPONENTS.get(currency, 0)), currency) \
        if currency else ""
    return render_template(
        "reports/reports.html", exchange=ex, currency=currency, reported=_reported(ex), cash=cash, example=example,
        failures=failures or {}, values=values or {}, today=utcnow().date().isoformat(),
        product_classes=[(c, str(PRODUCT_CLASS_NAMES[c])) for c in PRODUCT_CLASSES],
        incident_kinds=[(k, str(INCIDENT_KIND_NAMES[k])) for k in INCIDENT_KINDS],
        wallets=[("cold", str(WALLET_NAMES["cold"])), ("hot", str(WALLET_NAMES["hot"])),
                 ("other", str(WALLET_NAMES["other"]))],
        max_rows=MAX_ROWS), status


@bp.route("/")
@page("exchange")
def reports():
    return _page()


def _outcome_message(kind: str, rows: list) -> str:
    counts = {"created": 0, "corrected": 0, "unchanged": 0}
    for r in rows:
        counts[getattr(r, "outcome", "created")] += 1
    return _("%(what)s: %(created)d recorded, %(corrected)d corrected (earlier revisions kept), "
             "%(unchanged)d unchanged.", what=str(KIND_NAMES[kind]).capitalize(), **counts)


def _refused(kind: str, failure: Failure, values: dict):
    status = failure.status if failure.status in (404, 409, 413, 415, 422) else 422
    return _page({kind: failure}, {kind: values}, status)


@bp.route("/<any(reserve,volume,custody,incident,overheads):kind>", methods=["POST"])
@page("exchange")
def report(kind):
    """One entry from the form."""
    spec, ex = KINDS[kind], _exchange()
    values = {name: request.form.get(f"{kind}-{name}", "")[:2000] for name in spec.fields}
    currency = service.reporting_currency(ex)
    if currency is None:
        return _refused(kind, Failure(_("No rule-set is published for %(jurisdiction)s yet, so the reporting "
                                        "currency is not known.", jurisdiction=ex.jurisdiction)), values)
    raw = {k: v for k, v in values.items() if k not in spec.money}
    if kind == "overheads":  # "projected" is a checkbox, sent only when ticked
        values["projected"] = "true" if request.form.get("overheads-projected") else ""
        raw = {k: v for k, v in values.items() if k not in spec.money and v != ""}
    extra, errors = {}, {}
    for name in spec.money:
        typed = values[name].strip()
        if not typed:
            continue
        try:
            minor = parse_amount(typed, currency)
        except DomainError as e:
            errors[name] = [amount_message(e, currency)]
            continue
        if minor < 0:
            errors[name] = [_("Enter an amount of zero or more.")]
        extra[name] = {"amount": str(minor), "currency": currency}
    data, failure = load_form(spec.schema(), raw, extra=extra)
    for name, msgs in (failure.fields if failure else {}).items():
        base = name.split(".")[0]  # "amount.amount" (a nested money error) is the amount field
        if base not in errors:
            errors.setdefault(base, []).extend(msgs)
    if errors:
        return _refused(kind, Failure(_("Nothing was recorded: check the fields marked below."),
                                      {f"{kind}-{k}": v for k, v in errors.items()}), values)
    row, failure = attempt(spec.record, ex, data, signed_in().actor)
    if failure:
        failure = Failure(failure.message, {f"{kind}-{k.split('.')[0].split('/')[0]}": v
                                            for k, v in failure.fields.items()}, failure.status)
        return _refused(kind, failure, values)
    flash(_outcome_message(kind, [row]), "success")
    return redirect(url_for(".reports", _anchor=kind))


def _load_csv(spec: Kind, body: bytes) -> list[dict]:
    """The rows of an uploaded file, read and validated by the API's own reader (ingest.load_rows)."""
    rows, _batch = load_rows(spec.schema(), spec.columns, csv_file=body, optional=spec.optional)
    return rows


def _line_messages(e: ServiceError) -> list[str]:
    """A refusal of a CSV upload as one sentence per bad line (line 1 is the header)."""
    items = e.errors if isinstance(e.errors, list) else []
    out = []
    for item in items:
        parts = str(item.get("pointer", "#")).split("/")
        line = item.get("line")
        if line is None and len(parts) > 1 and parts[1].isdigit():
            line = int(parts[1]) + 2
        column = parts[-1] if len(parts) > 3 and parts[-1] == "currency" else (parts[2] if len(parts) > 2 else "")
        detail = str(item.get("detail", ""))
        if line and column:
            out.append(_("Line %(line)d, %(column)s: %(detail)s", line=line, column=column, detail=detail))
        elif line:
            out.append(_("Line %(line)d: %(detail)s", line=line, detail=detail))
        else:
            out.append(detail)
    return out or [e.detail]


def _record_all(spec: Kind, ex: Exchange, rows: list[dict], actor: str) -> list:
    return [spec.record(ex, r, actor) for r in rows]


@bp.route("/<any(reserve,volume,custody,incident,overheads):kind>/csv", methods=["POST"])
@page("exchange")
def upload(kind):
    """A CSV file: all rows recorded, or none (each refusal named by its line)."""
    spec, ex = KINDS[kind], _exchange()
    field = f"{kind}-csv"
    upload_file = request.files.get(field)
    if upload_file is None or not upload_file.filename:
        return _refused(kind, Failure(_("Choose a CSV file to upload."), {field: [_("Choose a CSV file.")]}), {})
    body = upload_file.read(MAX_UPLOAD + 1)
    if len(body) > MAX_UPLOAD:
        return _refused(kind, Failure(_("The file is too large."),
                                      {field: [_("At most %(n)d bytes.", n=MAX_UPLOAD)]}), {})
    try:
        rows = _load_csv(spec, body)
        service.check_currency(rows, ex, tuple(m for m in spec.money if m != "deductions"), True)
        if kind == "volume":  # as the API's route: one row per month and class in a file
            service.check_one_row_per_month(rows)
    except (ServiceError, DomainError) as e:
        lines = _line_messages(e) if isinstance(e, ServiceError) else [str(e)]
        summary = _("Nothing was recorded from %(file)s. Correct the lines below and upload the file again.",
                    file=upload_file.filename[:200]) if any(m != failure_of(e).message for m in lines) else \
            _("Nothing was recorded from %(file)s: %(detail)s", file=upload_file.filename[:200],
              detail=failure_of(e).message)
        return _refused(kind, Failure(summary, {field: lines}), {})
    out, failure = attempt(_record_all, spec, ex, rows, signed_in().actor)
    if failure:  # a rule of the service refused a row: nothing was kept
        lines = [f"{k}: {' '.join(v)}" for k, v in failure.fields.items()] or [failure.message]
        return _refused(kind, Failure(_("Nothing was recorded from %(file)s: %(detail)s",
                                        file=upload_file.filename[:200], detail=failure.message),
                                      {field: lines}, failure.status), {})
    flash(_outcome_message(kind, out), "success")
    return redirect(url_for(".reports", _anchor=kind))
