"""Policies as people type them (the register form and the CSV upload) in the API's shape.

Amounts are typed in major units ("3,000,000,000", "¥500,000,000") and become {"amount", "currency"} in
minor units; the rest is checked by the API's own schema (`PolicyRegister`). Field names are the API's,
and so are the form's field names and the CSV's columns, so an error always lands next to the field or
column it is about.

A CSV upload is read here, row by row; registering the rows is `service.register_many`: each row stands
alone, so a bad row is reported and refused by itself and the good rows are registered (fix the refused
rows, or download them as CSV from the report, and upload just those again: nothing needs re-keying; a
row uploaded twice is refused as "already used", never registered twice).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from ..domain import territories as terr
from ..domain.cover import PERILS
from ..domain.errors import DomainError
from ..domain.money import EXPONENTS, parse_amount
from ..web import labels
from ..web.pages import flatten_messages
from ..web.phrases import in_words
from ..web.schemas import text_input
from .schemas import PolicyRegister

COLUMNS = ("number", "insured", "currency", "limit", "deductible", "perils", "term_start", "term_end",
           "cancellation_notice_days")
# Columns a file may have or leave out: territories (ISO 3166-1 alpha-2 codes or EU, separated like perils)
OPTIONAL_COLUMNS = ("territories",)
ALL_COLUMNS = COLUMNS + OPTIONAL_COLUMNS
MONEY = ("limit", "deductible")
MAX_ROWS = 1000
MAX_FIELD = 4096

LABELS = {
    "number": _l("Policy number"), "insured": _l("Insured exchange"), "currency": _l("Currency"),
    "limit": _l("Limit"), "deductible": _l("Deductible"), "perils": _l("Perils"), "term_start": _l("Term start"),
    "term_end": _l("Term end"), "cancellation_notice_days": _l("Cancellation notice (days)"),
    "territories": _l("Territories"),
    "effective_on": _l("Effective on"), "reason": _l("Reason"), "jwk": _l("Public JWK"),
    "jws": _l("Signed attestation (JWS)"), "file": _l("CSV file"), "_form": _l("Row"),
}

PERIL_LABELS = labels.PERILS  # one name per peril on every page

# The fixed messages of the schema and the services, in words people read (and translated). Others are
# shown as they are.
MESSAGES = {
    "Missing data for required field.": _l("required"),
    "Field may not be null.": _l("required"),
    "Shorter than minimum length 1.": _l("required"),
    "Length must be between 1 and 300.": _l("required"),  # territories: an empty list
    "Not a valid date.": _l("not a date: write it as YYYY-MM-DD, e.g. 2027-03-31"),
    "Not a valid integer.": _l("not a whole number"),
    "Not a valid string.": _l("not text"),
    "Unknown field.": _l("not a field this form has"),
    "Longer than maximum length 64.": _l("at most 64 characters"),
    "Length must be between 1 and 64.": _l("1 to 64 characters"),
    "Must be greater than or equal to 0 and less than or equal to 3650.": _l("a number of days from 0 to 3650"),
    "unknown exchange": _l("no exchange with this id or licence number in a jurisdiction where you are approved"),
    "already used": _l("already used by one of your policies"),
    "must be positive": _l("must be more than zero"),
    "must be at least 0 and below the limit": _l("must be at least zero and below the limit"),
    "must not be before term_start": _l("must not be before the term start"),
    "mismatch": _l("the limit and the deductible must be in the same currency"),
    "not an ISO 3166 alpha-2 country code or EU": _l("not an ISO 3166 country code (two letters) or EU"),
}

# API error names (schema "limit.amount", service "deductible/currency") -> the form field they are about
RENAME = {"limit.amount": "limit", "deductible.amount": "deductible", "limit.currency": "currency",
          "deductible.currency": "currency", "limit/currency": "currency", "deductible/currency": "currency"}


# Messages the services build with values in them: (pattern, translation with the groups as %(a)s, %(b)s)
PATTERNS = [
    (re.compile(r"must be (\d{4}-\d\d-\d\d) or later"), _l("must be %(a)s or later")),
    (re.compile(r"the notice period is (\d+) days: cancel effective (\d{4}-\d\d-\d\d) or later"),
     _l("The notice period is %(a)s days: the cancellation can take effect on %(b)s or later.")),
    (re.compile(r"policy number (.+) is already used by this insurer"),
     _l("Policy number %(a)s is already used by one of your policies.")),
    (re.compile(r"cannot (?:amend|cancel|lapse) a policy that is (cancelled|lapsed)"),
     _l("This policy is %(a)s; only an active policy can be changed.")),
    (re.compile(r"the term runs until (\d{4}-\d\d-\d\d); it lapses after that"),
     _l("The term runs until %(a)s; the policy lapses only after that.")),
    (re.compile(r"revision (\d+) of policy (.+) is already attested"),
     _l("Revision %(a)s of policy %(b)s is already attested.")),
    (re.compile(r"(.+) is not approved by any regulator \((.*)\); an insurer must be approved before it can (.+)"),
     _l("%(a)s is not approved by any regulator (%(b)s); an insurer must be approved before it can %(c)s.")),
]

MESSAGES.update({
    "the policy terms are inconsistent": _l("The policy terms do not fit together."),
    "no exchange with that id where you are approved": _l("Choose an exchange in a jurisdiction where you are "
                                                          "approved."),
    "deductible and limit must share a currency": _l("The limit and the deductible must be in the same currency."),
    "the amendment changes nothing": _l("The amendment changes nothing: change at least one term."),
    "the JWS kid is not one of this insurer's registered keys": _l("The JWS is not signed with one of your "
                                                                   "registered keys."),
    "unknown kid": _l("signed with a key that is not registered to you"),
    "that key is retired and cannot attest": _l("That key is retired and cannot attest."),
    "retired key": _l("signed with a retired key"),
    "the signature does not verify with the insurer's key": _l("The signature does not verify with your key."),
    "bad signature": _l("the signature does not verify"),
    "missing": _l("missing"),
    "not part of an attestation": _l("not part of an attestation"),
})


def words(message: str) -> str:
    return in_words(message, MESSAGES, PATTERNS)


def field_name(name: str) -> str:
    name = RENAME.get(name, name)
    return re.sub(r"\.\d+$", "", name)  # perils.0 -> perils


def by_field(errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """API error names and messages -> form field names and messages in words (duplicates dropped)."""
    out: dict[str, list[str]] = {}
    for name, msgs in errors.items():
        bucket = out.setdefault(field_name(name), [])
        for m in msgs:
            if m and words(m) not in bucket:
                bucket.append(words(m))
    return out


def amount_hint(currency: str) -> str:
    if EXPONENTS.get(currency, 0) == 0:
        return _("enter an amount in %(currency)s in figures without decimals, e.g. 1,000,000,000",
                 currency=currency)
    return _("enter an amount in %(currency)s in figures, e.g. 1,000,000.00 (at most two decimals)",
             currency=currency)


def amounts(values: Mapping[str, str], currency: str, names=MONEY) -> tuple[dict, dict[str, list[str]]]:
    """The typed amounts as {"amount": minor units, "currency"}; the ones that cannot be read, by field."""
    out: dict = {}
    errors: dict[str, list[str]] = {}
    for name in names:
        text = (values.get(name) or "").strip()
        if not text:
            errors[name] = [str(MESSAGES["Missing data for required field."])]
            continue
        if currency not in EXPONENTS:
            errors[name] = [_("choose a currency first")]
            continue
        try:
            minor = parse_amount(text, currency)
        except DomainError:
            errors[name] = [amount_hint(currency)]
            continue
        if minor < 0:
            errors[name] = [_("must not be negative")]
            continue
        out[name] = {"amount": str(minor), "currency": currency}
    return out, errors


def split_perils(text: str) -> list[str]:
    return [p for p in re.split(r"[;|,\s]+", (text or "").strip().lower()) if p]


def split_territories(text: str) -> list[str]:
    """ "EU" / "fr; de" / "JP, HK" -> the codes, upper case."""
    return [t for t in re.split(r"[;|,\s]+", (text or "").strip().upper()) if t]


def territory_errors(codes: list[str]) -> list[str]:
    unknown = [c for c in codes if not terr.is_territory(c)]
    if not unknown:
        return []
    return [_("not an ISO 3166 country code or EU: %(codes)s; write EU for the whole Union, or codes such as "
              "JP, HK, FR", codes=", ".join(unknown)[:200])]


def load_register(values: Mapping[str, str], perils: list[str]) -> tuple[dict | None, dict[str, list[str]]]:
    """One policy's values (form or CSV row) loaded with the API's schema: (data, {}) or (None, errors by field).
    Territories are optional: typed as text ("EU", "JP; HK"), left out when empty."""
    currency = (values.get("currency") or "").strip().upper()
    money, money_errors = amounts(values, currency)
    raw: dict = {k: values[k].strip() for k in ("number", "insured", "term_start", "term_end",
                                                 "cancellation_notice_days") if (values.get(k) or "").strip()}
    raw["perils"] = perils
    territories = split_territories(values.get("territories") or "")
    if territories:
        raw["territories"] = territories
    raw.update(money)
    try:
        with text_input():  # typed or read from CSV: cancellation_notice_days arrives as digits
            data = PolicyRegister().load(raw)
    except ValidationError as e:
        errors = by_field(flatten_messages(e.messages))
    else:
        errors = {}
    for name, msgs in money_errors.items():
        errors[name] = msgs  # the amount as typed, rather than the schema's view of a missing mapping
    unknown = [p for p in perils if p not in PERILS]
    if unknown:
        errors["perils"] = [_("unknown peril %(perils)s; use %(known)s", perils=", ".join(unknown)[:200],
                              known=", ".join(PERILS))]
    if bad := territory_errors(territories):
        errors["territories"] = bad
    if currency not in EXPONENTS:
        errors["currency"] = [_("choose one of %(codes)s", codes=", ".join(sorted(EXPONENTS)))]
    if errors:
        return None, errors
    return data, {}


# ---- CSV ----------------------------------------------------------------------------------------------

class FileRefused(Exception):
    """The file as a whole cannot be read (nothing is registered): why, in words."""


@dataclass
class Row:
    row: int  # as a spreadsheet numbers it: the header is row 1
    values: dict[str, str]
    data: dict | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    policy: object | None = None

    @property
    def number(self) -> str:
        return self.values.get("number", "")


def template() -> str:
    return ",".join(COLUMNS) + "\r\n"


def decode(raw: bytes) -> str:
    if not raw or not raw.strip():
        raise FileRefused(_("The file is empty. Download the template, add one row per policy and upload it."))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.")) from None
    if "\x00" in text:
        raise FileRefused(_("The file is not a CSV text file (it contains binary data)."))
    return text


def read(raw: bytes, insured_ids: Callable[[str], str]) -> list[Row]:
    """The rows of an uploaded CSV, each loaded with the API's schema (or with its errors).
    `insured_ids` turns what the insured column says (an exchange id or licence number) into an id."""
    text = decode(raw)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise FileRefused(_("The file is empty. Download the template, add one row per policy and upload it."))
        names = [h.strip().lower() for h in header]
        missing = [c for c in COLUMNS if c not in names]
        unknown = [h for h in names if h not in ALL_COLUMNS]
        duplicated = sorted({h for h in names if names.count(h) > 1})
        if missing or unknown or duplicated:
            details = []
            if missing:
                details.append(_("missing %(columns)s", columns=", ".join(missing)))
            if unknown:
                details.append(_("unknown %(columns)s", columns=", ".join(h or "“”" for h in unknown)[:300]))
            if duplicated:
                details.append(_("repeated %(columns)s", columns=", ".join(duplicated)))
            raise FileRefused(_("The first row must name the columns %(columns)s (%(details)s).",
                                columns=", ".join(COLUMNS), details="; ".join(details)))
        rows: list[Row] = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # blank lines (a trailing newline, an empty spreadsheet row)
            if len(rows) >= MAX_ROWS:
                raise FileRefused(_("The file has more than %(n)d rows; upload at most %(n)d policies at a time.",
                                    n=MAX_ROWS))
            rows.append(_row(reader.line_num, names, cells, insured_ids))
    except csv.Error as e:
        raise FileRefused(_("The CSV cannot be read at line %(line)d: %(error)s", line=reader.line_num,
                            error=str(e))) from None
    if not rows:
        raise FileRefused(_("The file has the header row but no policies."))
    return rows


def _row(line: int, names: list[str], cells: list[str], insured_ids: Callable[[str], str]) -> Row:
    values = {n: (cells[i] if i < len(cells) else "") for i, n in enumerate(names)}
    row = Row(row=line, values=values)
    if len(cells) > len(names):
        row.errors["_form"] = [_("this row has %(got)d cells; the header names %(want)d", got=len(cells),
                                 want=len(names))]
        return row
    too_long = [n for n, v in values.items() if len(v) > MAX_FIELD]
    if too_long:
        row.errors.update({n: [_("too long")] for n in too_long})
        return row
    values = {**values, "insured": insured_ids(values.get("insured", "").strip())}
    row.data, errors = load_register(values, split_perils(values.get("perils", "")))
    row.errors.update(errors)
    return row


def refused_csv(rows: list[Row]) -> str:
    """The refused rows as they were uploaded (with the header), to fix and upload again. An optional column
    is written when a row has a value in it."""
    columns = COLUMNS + tuple(c for c in OPTIONAL_COLUMNS if any(r.values.get(c, "").strip() for r in rows))
    buf = io.StringIO(newline="")
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(columns)
    for r in rows:
        out.writerow([r.values.get(c, "") for c in columns])
    return buf.getvalue()


def major_text(minor: int, currency: str) -> str:
    """Minor units as a person types the amount back ("3,000,000,000", "10,000,000.00"): exact, no float."""
    from decimal import Decimal

    digits = EXPONENTS.get(currency, 0)
    return f"{Decimal(int(minor)).scaleb(-digits):,.{digits}f}"
