from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from ..domain.facts import INCIDENT_KINDS, PRODUCT_CLASSES
from ..domain.money import Money
from ..web.schemas import NonNegativeMoneySchema, PageQuery, Pattern, Strict, money_of, page_schema

MONTH = Pattern(r"[0-9]{4}-(0[1-9]|1[0-2])", error="must be YYYY-MM")
WALLETS = ("hot", "cold", "other")  # storage kinds (domain.rulesets.WALLETS): "other" is neither hot nor cold


class VolumeIn(Strict):
    month = ma.fields.String(required=True, validate=MONTH)
    product_class = ma.fields.String(required=True, validate=validate.OneOf(PRODUCT_CLASSES))
    amount = ma.fields.Nested(NonNegativeMoneySchema, required=True)


class CustodyIn(Strict):
    as_of = ma.fields.Date(required=True)
    wallet = ma.fields.String(required=True, validate=validate.OneOf(WALLETS),
                              metadata={"description": "hot, cold or other storage (HK: other is neither)"})
    amount = ma.fields.Nested(NonNegativeMoneySchema, required=True)


class ReserveBalanceIn(Strict):
    as_of = ma.fields.Date(required=True)
    amount = ma.fields.Nested(NonNegativeMoneySchema, required=True)


class OverheadsIn(Strict):
    """A financial year's fixed overheads (MiCA Art. 67): the total expenses after distribution of profits and
    the Art. 67(3) deductions from them; a firm in its first year of business reports its projected overheads
    for its first 12 months (Art. 67(2)) under the year it began, with `projected` true."""

    fiscal_year = ma.fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    amount = ma.fields.Nested(NonNegativeMoneySchema, required=True)
    projected = ma.fields.Boolean(load_default=False,
                                  metadata={"description": "projected overheads of the first 12 months (Art. 67(2))"})
    deductions = ma.fields.Nested(NonNegativeMoneySchema, metadata={
        "description": "Art. 67(3) items subtracted from the amount (profit-dependent bonuses, profit shares, "
                       "discretionary variable pay, non-recurring expenses); in the amount's currency; default 0"})

    @ma.validates_schema
    def _deductions(self, data, **_):
        amount, ded = data.get("amount"), data.get("deductions")
        if isinstance(amount, Money) and isinstance(ded, Money):
            if ded.currency != amount.currency:
                raise ma.ValidationError({"deductions": ["must be in the amount's currency"]})
            if ded > amount:
                raise ma.ValidationError({"deductions": ["must not exceed the amount"]})


class IncidentIn(Strict):
    occurred_on = ma.fields.Date(required=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(INCIDENT_KINDS))
    loss = ma.fields.Nested(NonNegativeMoneySchema, required=True)
    compensated = ma.fields.Nested(NonNegativeMoneySchema, required=True)
    description = ma.fields.String(validate=validate.Length(max=2000), allow_none=True,
                                   metadata={"multiline": True})

    @ma.validates_schema  # skips on field errors: it compares two amounts that must have parsed first
    def _compensation(self, data, **_):
        loss, comp = data.get("loss"), data.get("compensated")
        if isinstance(loss, Money) and isinstance(comp, Money):
            if loss.currency != comp.currency:
                raise ma.ValidationError({"compensated": ["must be in the loss currency"]})
            if comp > loss:
                raise ma.ValidationError({"compensated": ["must not exceed the loss"]})


class IncidentCorrection(IncidentIn):
    """A correction restates the whole incident; it becomes the next revision."""


class _ReportedOut(ma.Schema):
    id = ma.fields.String()
    exchange = ma.fields.String(attribute="exchange_id")
    revision = ma.fields.Integer()
    recorded_by = ma.fields.String()
    recorded_at = ma.fields.DateTime()


class VolumeOut(_ReportedOut):
    month = ma.fields.Function(lambda r: r.month.strftime("%Y-%m"))
    product_class = ma.fields.String()
    amount = money_of("amount")


class CustodyOut(_ReportedOut):
    as_of = ma.fields.Date()
    wallet = ma.fields.String()
    amount = money_of("amount")


class ReserveBalanceOut(_ReportedOut):
    as_of = ma.fields.Date()
    amount = money_of("amount")


class OverheadsOut(_ReportedOut):
    fiscal_year = ma.fields.Integer()
    amount = money_of("amount")
    projected = ma.fields.Boolean()
    deductions = ma.fields.Function(lambda r: {"amount": str(r.deductions or 0), "currency": r.currency})


class IncidentOut(_ReportedOut):
    occurred_on = ma.fields.Date()
    kind = ma.fields.String()
    loss = money_of("loss")
    compensated = money_of("compensated")
    description = ma.fields.String(allow_none=True)


class BatchResult(ma.Schema):
    created = ma.fields.Integer()
    corrected = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Dict())


class ReportQuery(PageQuery):
    per_page = PageQuery.per_page_field(50)
    exchange = ma.fields.String()
    date_from = ma.fields.Date(data_key="from")
    date_to = ma.fields.Date(data_key="to")


class RevisionOut(ma.Schema):
    revision = ma.fields.Integer()
    data = ma.fields.Dict()
    recorded_by = ma.fields.String()
    recorded_at = ma.fields.DateTime()


class RevisionList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RevisionOut))


VolumePage = page_schema(VolumeOut, "VolumePage")
CustodyPage = page_schema(CustodyOut, "CustodyPage")
IncidentPage = page_schema(IncidentOut, "IncidentPage")
ReserveBalancePage = page_schema(ReserveBalanceOut, "ReserveBalancePage")
OverheadsPage = page_schema(OverheadsOut, "OverheadsPage")
