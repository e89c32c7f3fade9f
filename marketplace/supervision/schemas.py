"""Supervision API schemas (DESIGN 10). Amounts are {"amount": "<integer minor units>", "currency"};
shares are decimal strings with 6 places (banker's rounding)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from ..domain.period import PERIOD_REGEX
from ..web.schemas import MoneySchema, Pattern, Strict

MAX_FAILED = 500


class SupervisionQuery(Strict):
    period = ma.fields.String(validate=Pattern(PERIOD_REGEX, error="must be YYYY, YYYY-Qn or YYYY-MM"),
                              metadata={"description": "the period whose obligations count; default: for each "
                                                       "exchange, the earliest period that has not ended"})


class ScenarioIn(SupervisionQuery):
    failed_insurers = ma.fields.List(ma.fields.String(validate=validate.Length(min=1, max=64)), required=True,
                                     validate=validate.Length(max=MAX_FAILED),
                                     metadata={"description": "ids of the insurers that fail (may be empty)"})


def _money(**kw):
    return ma.fields.Nested(MoneySchema, **kw)


def _share(**kw):
    return DecimalOut(**kw)


class DecimalOut(ma.fields.String):
    """A Decimal dumped as its string ("0.375000"): documented as a string, never a float."""

    def _serialize(self, value, attr, obj, **kw):
        return None if value is None else str(value)


class InsurerExposureOut(ma.Schema):
    insurer = ma.fields.String()
    name = ma.fields.String()
    eligible_offset = _money(metadata={"description": "eligible offset (after caps) across the exchanges"})
    share_of_offsets = _share(metadata={"description": "of all insurance offsets (0..1, 6 places)"})
    exchanges = ma.fields.Integer(metadata={"description": "exchanges with an eligible offset from it"})
    exchanges_allocated = ma.fields.Integer(metadata={"description": "exchanges with any allocation from it"})
    largest_share = _share(metadata={"description": "largest share of one exchange's obligation (0..1, 6 places)"})
    largest_share_exchange = ma.fields.String(allow_none=True)


class ExposureOut(ma.Schema):
    jurisdiction = ma.fields.String()
    as_of = ma.fields.Date()
    period = ma.fields.String(allow_none=True)
    exchanges = ma.fields.Integer(metadata={"description": "obligations (one per exchange) counted"})
    currency = ma.fields.String()
    total_offset = _money()
    total_obligation = _money()
    insurers = ma.fields.List(ma.fields.Nested(InsurerExposureOut))


class FailedInsurerOut(ma.Schema):
    insurer = ma.fields.String()
    name = ma.fields.String()


class ScenarioRowOut(ma.Schema):
    exchange = ma.fields.String()
    name = ma.fields.String()
    obligation_id = ma.fields.String()
    period = ma.fields.String()
    obligation = _money()
    offset_before = _money()
    offset_after = _money()
    net_reserve_before = _money()
    net_reserve_after = _money()
    cash_held = _money(allow_none=True, metadata={"description": "latest reserve balance; null: none reported"})
    shortfall_before = _money()
    shortfall = _money(metadata={"description": "max(0, net reserve after - cash held)"})


class ScenarioOut(ma.Schema):
    jurisdiction = ma.fields.String()
    as_of = ma.fields.Date()
    period = ma.fields.String(allow_none=True)
    currency = ma.fields.String()
    failed_insurers = ma.fields.List(ma.fields.Nested(FailedInsurerOut))
    exchanges = ma.fields.Integer()
    total_shortfall = _money()
    total_offset_lost = _money()
    items = ma.fields.List(ma.fields.Nested(ScenarioRowOut), metadata={"description": "sorted by shortfall, "
                                                                                      "largest first"})


class ExportOut(ma.Schema):
    export = ma.fields.String()
    jurisdiction = ma.fields.String()
    generated_at = ma.fields.DateTime()
    columns = ma.fields.List(ma.fields.String())
    items = ma.fields.List(ma.fields.Dict())
