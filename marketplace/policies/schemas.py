from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from ..domain import territories as terr
from ..domain.cover import PERILS
from ..web.schemas import NonNegativeMoneySchema, PageQuery, Strict, money_of

PERIL = validate.OneOf(PERILS)


class Territory(ma.fields.String):
    """An ISO 3166-1 alpha-2 country code, or EU for the whole Union (case and spaces as typed are forgiven)."""

    default_error_messages = {"territory": "not an ISO 3166 alpha-2 country code or EU"}

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if not terr.is_territory(code):
            raise self.make_error("territory")
        return code


def territories_field(**kw) -> ma.fields.List:
    return ma.fields.List(
        Territory(), validate=validate.Length(min=1, max=terr.MAX_TERRITORIES),
        metadata={"description": "where the cover applies (MiCA Art. 67(4)): ISO 3166-1 alpha-2 country codes, "
                                 "or EU for the whole Union; not part of the insurer's attestation"}, **kw)


class PolicyRegister(Strict):
    number = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    insured = ma.fields.String(required=True, metadata={"description": "exchange id"})
    limit = ma.fields.Nested(NonNegativeMoneySchema, required=True)
    deductible = ma.fields.Nested(NonNegativeMoneySchema, required=True)
    perils = ma.fields.List(ma.fields.String(validate=PERIL), required=True, validate=validate.Length(min=1))
    term_start = ma.fields.Date(required=True)
    term_end = ma.fields.Date(required=True, metadata={"description": "inclusive"})
    cancellation_notice_days = ma.fields.Integer(required=True, validate=validate.Range(0, 3650))
    territories = territories_field()


class PolicyAmend(Strict):
    limit = ma.fields.Nested(NonNegativeMoneySchema)
    deductible = ma.fields.Nested(NonNegativeMoneySchema)
    perils = ma.fields.List(ma.fields.String(validate=PERIL), validate=validate.Length(min=1))
    term_start = ma.fields.Date()
    term_end = ma.fields.Date()
    territories = territories_field()


class PolicyCancel(Strict):
    effective_on = ma.fields.Date(required=True)
    reason = ma.fields.String(validate=validate.Length(max=2000))


class PolicyRevisionOut(ma.Schema):
    revision = ma.fields.Integer()
    limit = ma.fields.Function(lambda r: {"amount": str(r.limit_amount), "currency": r.policy.currency})
    deductible = ma.fields.Function(lambda r: {"amount": str(r.deductible), "currency": r.policy.currency})
    perils = ma.fields.List(ma.fields.String())
    term_start = ma.fields.Date()
    term_end = ma.fields.Date()
    created_by = ma.fields.String()
    created_at = ma.fields.DateTime()


class PolicyOut(ma.Schema):
    id = ma.fields.String()
    number = ma.fields.String()
    insurer = ma.fields.String(attribute="insurer_id")
    insurer_name = ma.fields.String(attribute="insurer.name")
    insured = ma.fields.String(attribute="insured_id")
    status = ma.fields.String()
    source = ma.fields.String()
    revision = ma.fields.Integer()
    limit = money_of("limit_amount")
    deductible = money_of("deductible")
    allocated = ma.fields.Method("_allocated")
    perils = ma.fields.List(ma.fields.String())
    territories = ma.fields.List(ma.fields.String(), allow_none=True,
                                 metadata={"description": "ISO 3166-1 alpha-2 codes or EU; null: not recorded"})
    term_start = ma.fields.Date()
    term_end = ma.fields.Date()
    cancellation_notice_days = ma.fields.Integer()
    cancelled_effective = ma.fields.Date(allow_none=True)
    revisions = ma.fields.List(ma.fields.Nested(PolicyRevisionOut))
    created_at = ma.fields.DateTime()

    def _allocated(self, p) -> dict:
        from .service import live_allocated

        return {"amount": str(live_allocated(p.id)), "currency": p.currency}


class PolicyQuery(PageQuery):
    status = ma.fields.String(validate=validate.OneOf(["active", "cancelled", "lapsed"]))


class PolicyPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PolicyOut))
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
