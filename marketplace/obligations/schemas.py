from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from ..domain import ratings
from ..domain.money import EXPONENTS
from ..domain.period import PERIOD_REGEX
from ..web.schemas import NonNegativeMoneySchema, PageQuery, Pattern, Strict, page_schema


class ObligationCreate(Strict):
    period = ma.fields.String(required=True, metadata={"example": "2027-Q1"},
                              validate=Pattern(PERIOD_REGEX, error="must be YYYY, YYYY-Qn or YYYY-MM"))
    ruleset = ma.fields.String(metadata={"description": "ID@VERSION; default: in force at the period start"})
    exchange = ma.fields.String(metadata={"description": "regulators: the exchange to compute for"})


class RuleSetRef(ma.Schema):
    id = ma.fields.String(attribute="ruleset_id")
    version = ma.fields.String(attribute="ruleset_version")
    digest = ma.fields.String(attribute="ruleset_digest")


class ObligationOut(ma.Schema):
    id = ma.fields.String()
    exchange = ma.fields.String(attribute="exchange_id")
    period = ma.fields.Function(lambda r: {"label": r.period, "start": r.period_start.isoformat(),
                                           "end": r.period_end.isoformat()})
    revision = ma.fields.Integer()
    ruleset = ma.fields.Function(lambda r: RuleSetRef().dump(r))
    total = ma.fields.Function(lambda r: {"amount": str(r.total), "currency": r.currency})
    lines = ma.fields.List(ma.fields.Dict())
    inputs_digest = ma.fields.String()
    computed_by = ma.fields.String()
    computed_at = ma.fields.DateTime()
    superseded_at = ma.fields.DateTime(allow_none=True)


class ObligationSummary(ObligationOut):
    class Meta:
        exclude = ("lines",)


ObligationPage = page_schema(ObligationSummary, "ObligationPage")


class ObligationQuery(PageQuery):
    exchange = ma.fields.String()
    period = ma.fields.String(validate=validate.Length(max=10))
    current = ma.fields.Boolean(load_default=False, metadata={"description": "only the latest revision"})


class WhatIfIn(Strict):
    target_net_reserve = ma.fields.Nested(NonNegativeMoneySchema, required=True)
    rating = ma.fields.String(validate=validate.OneOf(ratings.SCALE),
                              metadata={"description": "assumed rating of the new cover"})
    currency = ma.fields.String(validate=validate.OneOf(sorted(EXPONENTS)),
                                metadata={"description": "currency of the new cover"})


class WhatIfOut(ma.Schema):
    obligation = ma.fields.String()
    current_offset = ma.fields.Dict()
    current_net_reserve = ma.fields.Dict()
    target_net_reserve = ma.fields.Dict()
    achievable = ma.fields.Boolean()
    extra_eligible_needed = ma.fields.Dict()
    lowest_net_reserve = ma.fields.Dict()
    limit_needed = ma.fields.Dict(allow_none=True)
    assumptions = ma.fields.Dict()
