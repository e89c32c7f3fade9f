"""Schemas shared by every feature: money, problems, pagination."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from ..domain.money import EXPONENTS, Money

MAX_PER_PAGE = 100


class Strict(ma.Schema):
    """Unknown fields are an error (marshmallow's RAISE), stated once here."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class MoneySchema(Strict):
    """{"amount": "<integer minor units as string>", "currency": "JPY"}"""

    amount = ma.fields.String(required=True, validate=validate.Regexp(r"^-?(0|[1-9][0-9]{0,17})$",
                                                                      error="must be integer minor units as a string"))
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
    @ma.validates("amount")
    def _non_negative(self, value, **_):
        if value.startswith("-"):
            raise ma.ValidationError("must not be negative")


class DecimalString(ma.fields.Decimal):
    """A rate as a decimal string ("0.012"); numbers are refused so no float ever carries a rate."""

    def __init__(self, **kw):
        super().__init__(as_string=True, places=None, **kw)

    def _deserialize(self, value, attr, data, **kw):
        if not isinstance(value, str):
            raise ma.ValidationError("must be a decimal string such as \"0.012\"")
        out = super()._deserialize(value, attr, data, **kw)
        if not out.is_finite():
            raise ma.ValidationError("must be a finite decimal")
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
