from __future__ import annotations

import marshmallow as ma
from marshmallow import validate
from webargs.fields import DelimitedList

from ..domain import ratings
from ..domain.cover import PERILS
from ..domain.money import EXPONENTS
from ..web.schemas import DecimalString, Instant, NonNegativeMoneySchema, PageQuery, Strict, money_of

PERIL = validate.OneOf(PERILS)
JURISDICTION = validate.Length(min=2, max=8)


class OfferingCreate(Strict):
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    perils = ma.fields.List(ma.fields.String(validate=PERIL), required=True, validate=validate.Length(min=1))
    jurisdictions = ma.fields.List(ma.fields.String(validate=JURISDICTION), required=True,
                                   validate=validate.Length(min=1))
    min_limit = ma.fields.Nested(NonNegativeMoneySchema, required=True)
    max_limit = ma.fields.Nested(NonNegativeMoneySchema, required=True)
    capacity = ma.fields.Nested(NonNegativeMoneySchema, required=True)
    deductible = ma.fields.Nested(NonNegativeMoneySchema, required=True)
    min_term_months = ma.fields.Integer(required=True, validate=validate.Range(1, 120))
    max_term_months = ma.fields.Integer(required=True, validate=validate.Range(1, 120))
    indicative_rate = DecimalString(required=True,
                                    metadata={"description": "per annum on limit, above 0 and below 1, "
                                                                 "as a decimal string, e.g. \"0.012\""})
    cancellation_notice_days = ma.fields.Integer(validate=validate.Range(0, 3650))
    status = ma.fields.String(validate=validate.OneOf(["draft", "listed"]))

    @ma.validates("indicative_rate")
    def _rate_range(self, value, **_):
        if not 0 < value < 1:
            raise ma.ValidationError("must be above 0 and below 1")


class OfferingOut(ma.Schema):
    id = ma.fields.String()
    insurer = ma.fields.String(attribute="insurer_id")
    insurer_name = ma.fields.String(attribute="insurer.name")
    title = ma.fields.String()
    status = ma.fields.String()
    perils = ma.fields.List(ma.fields.String())
    jurisdictions = ma.fields.List(ma.fields.String())
    min_limit = money_of("min_limit")
    max_limit = money_of("max_limit")
    capacity = money_of("capacity")
    capacity_used = money_of("capacity_used")
    deductible = money_of("deductible")
    min_term_months = ma.fields.Integer()
    max_term_months = ma.fields.Integer()
    indicative_rate = ma.fields.String()
    cancellation_notice_days = ma.fields.Integer()
    created_at = ma.fields.DateTime()


class Eligibility(ma.Schema):
    ruleset = ma.fields.String(allow_none=True)
    eligible = ma.fields.Boolean()
    failing_checks = ma.fields.List(ma.fields.String())
    checks = ma.fields.List(ma.fields.Dict())


class SearchHit(ma.Schema):
    offering = ma.fields.Nested(OfferingOut)
    insurer_rating = ma.fields.String(allow_none=True)
    remaining_capacity = ma.fields.Function(lambda r: {"amount": str(r["remaining_capacity"]),
                                                       "currency": r["offering"].currency})
    eligibility = ma.fields.Nested(Eligibility)


class SearchPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SearchHit))
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()


class SearchQuery(PageQuery):
    jurisdiction = ma.fields.String(validate=JURISDICTION)
    perils = DelimitedList(ma.fields.String(validate=PERIL), validate=validate.Length(min=1),  # `perils=`: 422
                           metadata={"description": "comma-separated; all covered"})
    currency = ma.fields.String(validate=validate.OneOf(sorted(EXPONENTS)))
    min_capacity = ma.fields.Integer(validate=validate.Range(min=0), metadata={"description": "minor units"})
    min_rating = ma.fields.String(validate=validate.OneOf(ratings.SCALE))
    limit = ma.fields.Integer(validate=validate.Range(min=1), metadata={"description": "a limit (minor units) "
                                                                          "the offering must allow"})
    sort = ma.fields.String(load_default="rate", validate=validate.OneOf(
        ["rate", "-rate", "capacity", "-capacity", "rating", "-rating"]))


class RequestCreate(Strict):
    offering = ma.fields.String(required=True)
    limit = ma.fields.Nested(NonNegativeMoneySchema, required=True)
    term_start = ma.fields.Date(required=True)
    term_months = ma.fields.Integer(required=True, validate=validate.Range(1, 120))
    perils = ma.fields.List(ma.fields.String(validate=PERIL), load_default=list)
    message = ma.fields.String(validate=validate.Length(max=2000))


class QuoteIn(Strict):
    premium = ma.fields.Nested(NonNegativeMoneySchema, required=True)
    limit = ma.fields.Nested(NonNegativeMoneySchema)
    deductible = ma.fields.Nested(NonNegativeMoneySchema)
    term_start = ma.fields.Date()
    term_end = ma.fields.Date()
    expires_at = Instant(required=True, metadata={"description": "RFC 3339 with offset"})


class DeclineIn(Strict):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))


class BindIn(Strict):
    policy_number = ma.fields.String(validate=validate.Length(min=1, max=64))


class RequestOut(ma.Schema):
    id = ma.fields.String()
    offering = ma.fields.String(attribute="offering_id")
    exchange = ma.fields.String(attribute="exchange_id")
    insurer = ma.fields.String(attribute="insurer_id")
    status = ma.fields.Method("_status")
    limit = money_of("limit")
    perils = ma.fields.List(ma.fields.String())
    term_start = ma.fields.Date()
    term_months = ma.fields.Integer()
    message = ma.fields.String(allow_none=True)
    quote = ma.fields.Method("_quote", allow_none=True)
    decline_reason = ma.fields.String(allow_none=True)
    policy = ma.fields.String(attribute="policy_id", allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()

    def _status(self, r) -> str:
        from .service import effective_status

        return effective_status(r)

    def _quote(self, r):
        if r.premium is None:
            return None
        m = lambda v: {"amount": str(v), "currency": r.currency}  # noqa: E731
        return {"premium": m(r.premium), "limit": m(r.quoted_limit), "deductible": m(r.quoted_deductible),
                "term_start": r.quoted_term_start.isoformat(), "term_end": r.quoted_term_end.isoformat(),
                "expires_at": r.quote_expires_at.isoformat()}


class RequestQuery(PageQuery):
    status = ma.fields.String(validate=validate.OneOf(
        ["requested", "quoted", "declined", "accepted", "bound", "expired", "withdrawn"]))


class RequestPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RequestOut))
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
