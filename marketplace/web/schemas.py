"""Schemas shared by every feature: money, problems, pagination, and the rules every input obeys."""

from __future__ import annotations

import contextvars
import re
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime

import marshmallow as ma
from marshmallow import validate
from werkzeug.datastructures import MultiDict

from ..domain.money import EXPONENTS, Money

MAX_PER_PAGE = 100
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_TEXT = 10_000  # a string field without its own Length is still bounded
MULTILINE_OK = frozenset("\n\t")
# Dates and instants the service takes: far enough either side of today for any term, report or query, and
# far enough from year 1 and year 9999 that adding a term or moving to UTC never leaves the calendar.
DATE_MIN, DATE_MAX = date(1900, 1, 1), date(2999, 12, 31)
INTEGER_TEXT = re.compile(r"-?[0-9]{1,20}", re.ASCII)
# True while a schema loads text (a query string, a form, a CSV row): integers arrive as digits, not numbers.
_TEXT = contextvars.ContextVar("marketplace_text_input", default=False)


@contextmanager
def text_input() -> Iterator[None]:
    """Load schemas from text values (forms, CSV rows): an integer field takes ASCII decimal digits."""
    token = _TEXT.set(True)
    try:
        yield
    finally:
        _TEXT.reset(token)


class Pattern(validate.Validator):
    """Like validate.Regexp, but the whole ASCII string must match: no trailing newline slips past `$`
    and \\d never takes full-width or other non-ASCII digits."""

    def __init__(self, regex: str, error: str):
        self.regex = re.compile(regex, re.ASCII)
        self.error = error

    def __call__(self, value):
        if not isinstance(value, str) or not self.regex.fullmatch(value):
            raise ma.ValidationError(self.error)
        return value


def _refuse_control_characters(multiline: bool):
    allowed = MULTILINE_OK if multiline else frozenset()

    def check(value):
        if isinstance(value, str):
            bad = next((c for c in value if c not in allowed and unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp")),
                       None)
            if bad is not None:
                raise ma.ValidationError(f"must not contain control characters (found U+{ord(bad):04X})")
        return value

    return check


def _in_date_range(value):
    day = value.date() if isinstance(value, datetime) else value
    if isinstance(day, date) and not DATE_MIN <= day <= DATE_MAX:
        raise ma.ValidationError(f"must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}")
    return value


def _whole_number(field: ma.fields.Integer):
    """An integer field's deserializer that takes only integers: a JSON integer (never a bool, a number
    with a fraction or a string), or, from text, ASCII decimal digits with an optional leading minus
    (int() would also take "١", full-width digits, "1_0" and " 1"): marshmallow's own "Not a valid
    integer." then, the message the portal already words in the reader's language."""
    deserialize = field._deserialize

    def strict(value, attr, data, **kw):
        if _TEXT.get() and isinstance(value, str):
            if not INTEGER_TEXT.fullmatch(value):
                raise field.make_error("invalid")
        elif isinstance(value, bool) or not isinstance(value, int):
            raise ma.ValidationError("must be an integer (not a fraction, a string or a boolean)")
        return deserialize(value, attr, data, **kw)

    return strict


def _has_bounded_range(field: ma.fields.Field) -> bool:
    return any(isinstance(v, validate.Range) and v.min is not None and v.max is not None
               and v.min >= INT64_MIN and v.max <= INT64_MAX for v in field.validators)


def _harden(field: ma.fields.Field) -> None:
    """Bound every integer to 64 bits and every string in length and to printable characters.

    Runs on every schema instance's bound copy of a field; its validator list is shared with the class's
    field (the copy is shallow), so it is replaced, never appended to, and hardening happens once."""
    if getattr(field, "_hardened", False):
        return
    field._hardened = True
    if isinstance(field, ma.fields.List):
        _harden(field.inner)
        return
    extra: list = []
    if isinstance(field, ma.fields.DateTime) and not isinstance(field, (Instant, ma.fields.Date)):
        raise TypeError(f"{field!r}: an input instant is a web.schemas.Instant (aware, in UTC, in range)")
    if isinstance(field, ma.fields.Date):
        extra.append(_in_date_range)
    if isinstance(field, ma.fields.Integer):
        field._deserialize = _whole_number(field)
    if isinstance(field, ma.fields.Integer) and not _has_bounded_range(field):
        low = next((v.min for v in field.validators if isinstance(v, validate.Range) and v.min is not None),
                   INT64_MIN)
        high = next((v.max for v in field.validators if isinstance(v, validate.Range) and v.max is not None),
                    INT64_MAX)
        extra.append(validate.Range(max(low, INT64_MIN), min(high, INT64_MAX)))
    elif isinstance(field, ma.fields.String):
        extra.append(_refuse_control_characters(bool(field.metadata.get("multiline"))))
        if not any(isinstance(v, validate.Length) and v.max is not None for v in field.validators):
            extra.append(validate.Length(max=MAX_TEXT))
    field.validators = [*field.validators, *extra]


class Strict(ma.Schema):
    """Every input schema: unknown fields are an error (marshmallow's RAISE); integers fit 64 bits; strings
    are bounded and carry no control characters (multi-line text fields say metadata={"multiline": True})."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        _harden(field_obj)

    def load(self, data, *args, **kwargs):
        """A query string or a form (webargs' MultiDictProxy, werkzeug's MultiDict) is text; so is anything
        loaded inside `text_input()`. A JSON body is not: its integers must be JSON integers."""
        if isinstance(data, Mapping) and (isinstance(data, MultiDict) or not isinstance(data, dict)):
            with text_input():
                return super().load(data, *args, **kwargs)
        return super().load(data, *args, **kwargs)


class Instant(ma.fields.AwareDateTime):
    """An RFC 3339 instant with its offset, answered in UTC. An instant that cannot be moved to UTC
    (0001-01-01T00:00:00+14:00, 9999-12-31T23:59:59-14:00) or lies outside DATE_MIN..DATE_MAX is a
    validation error naming the field, never an OverflowError later."""

    def __init__(self, **kw):
        kw.setdefault("format", "iso")
        super().__init__(**kw)

    def _deserialize(self, value, attr, data, **kw):
        out = super()._deserialize(value, attr, data, **kw)
        try:
            out = out.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ma.ValidationError("must be an instant that exists in UTC (years 1 to 9999)") from None
        return _in_date_range(out)


class MoneySchema(Strict):
    """{"amount": "<integer minor units as string>", "currency": "JPY"}"""

    AMOUNT = r"-?(0|[1-9][0-9]{0,17})"
    amount = ma.fields.String(required=True, validate=Pattern(AMOUNT, "must be integer minor units as a string"),
                              metadata={"pattern": f"^{AMOUNT}$"})
    currency = ma.fields.String(required=True, validate=validate.OneOf(sorted(EXPONENTS)))

    @ma.post_load
    def to_money(self, data, **_):
        return Money(int(data["amount"]), data["currency"])

    @ma.pre_dump
    def from_money(self, obj, **_):
        if isinstance(obj, Money):
            return obj.as_dict()
        return obj


class NonNegativeMoneySchema(MoneySchema):
    """The same, refusing negative amounts (the OpenAPI pattern says so too)."""

    AMOUNT = r"(0|[1-9][0-9]{0,17})"
    amount = ma.fields.String(required=True, validate=Pattern(AMOUNT, "must be non-negative integer minor units "
                                                                      "as a string"),
                              metadata={"pattern": f"^{AMOUNT}$"})


class DecimalString(ma.fields.Decimal):
    """A rate as a decimal string ("0.012"); numbers are refused so no float ever carries a rate."""

    def __init__(self, **kw):
        super().__init__(as_string=True, places=None, **kw)

    def _deserialize(self, value, attr, data, **kw):
        if not isinstance(value, str):
            raise ma.ValidationError("must be a decimal string such as \"0.012\"")
        if len(value) > 40:
            raise ma.ValidationError("must be a decimal string of at most 40 characters")
        out = super()._deserialize(value, attr, data, **kw)
        if not out.is_finite():
            raise ma.ValidationError("must be a finite decimal")
        if out.adjusted() > 18 or out.as_tuple().exponent < -18:
            raise ma.ValidationError("must have at most 18 digits before and after the decimal point")
        return out


def money_of(amount_attr: str) -> ma.fields.Function:
    """Dump a model's integer minor-units column and its `currency` column as {"amount", "currency"}."""
    return ma.fields.Function(lambda r: None if getattr(r, amount_attr) is None
                              else {"amount": str(getattr(r, amount_attr)), "currency": r.currency})


class ProblemSchema(ma.Schema):
    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Dict())
    request_id = ma.fields.String()
    required_scope = ma.fields.String()


class PageQuery(Strict):
    """page and per_page (at most MAX_PER_PAGE); list queries extend this."""

    @staticmethod
    def per_page_field(default: int = 20) -> ma.fields.Integer:
        return ma.fields.Integer(load_default=default, validate=validate.Range(min=1, max=MAX_PER_PAGE),
                                 metadata={"description": f"at most {MAX_PER_PAGE}"})

    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = per_page_field.__func__()


class PageMeta(ma.Schema):
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    return type(name, (PageMeta,), {"items": ma.fields.List(ma.fields.Nested(item), required=True)})
