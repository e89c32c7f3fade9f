"""Reading the market's forms through the API's own schemas, with amounts typed in major units, and the
figures the pages show."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import gettext as _

from ...domain.errors import DomainError
from ...domain.money import EXPONENTS, Money, exponent, parse_amount
from ...extensions import db
from ...registry.models import Organization
from ...web.pages import Failure, field_names, load_form, signed_in
from ..models import CoverageRequest


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
                   summarize: bool = False, labels: dict | None = None) -> Failure | None:
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
        return Failure(_("Check these fields: %(names)s", names=field_names(fields, labels)), fields)
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
          rename: dict | None = None, labels: dict | None = None) -> tuple[dict | None, Failure | None]:
    """A form through the API's own schema, with amounts in major units: (data, None) or (None, failure).
    `labels`: the form's field labels, for the summary."""
    got, bad = _amounts(form, money_names, currency)
    data, failure = load_form(schema, form, extra={**_money(got, bad, money_names, currency), **(extra or {})})
    if failure or bad:
        return None, _by_form_field(failure, rename, bad, summarize=True, labels=labels)
    return data, None


def _me() -> Organization:
    return db.session.get(Organization, signed_in().org_id)


def _refused(failure: Failure, rename: dict | None = None) -> Failure:
    return _by_form_field(failure, rename)


def _endpoint(name: str) -> bool:
    return name in current_app.view_functions
