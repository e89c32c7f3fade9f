from __future__ import annotations

import marshmallow as ma

from ..web.schemas import NonNegativeMoneySchema, Strict, money_of


class AttachIn(Strict):
    policy = ma.fields.String(required=True)
    amount = ma.fields.Nested(NonNegativeMoneySchema, required=True)


class AllocationOut(ma.Schema):
    id = ma.fields.String()
    obligation = ma.fields.String(attribute="obligation_id")
    policy = ma.fields.String(attribute="policy_id")
    policy_number = ma.fields.String(attribute="policy.number")
    amount = money_of("amount")
    status = ma.fields.String()
    over_limit = ma.fields.Boolean()
    created_by = ma.fields.String()
    created_at = ma.fields.DateTime()
    detached_at = ma.fields.DateTime(allow_none=True)


class AllocationList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AllocationOut))


class OffsetOut(ma.Schema):
    obligation = ma.fields.Dict()
    ruleset = ma.fields.Dict()
    allocations = ma.fields.List(ma.fields.Dict())
    caps = ma.fields.List(ma.fields.Dict())
    total_offset = ma.fields.Dict()
    net_reserve = ma.fields.Dict()
