from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from ..domain import ratings
from ..registry.models import CUSTODIAN_STATUSES
from ..web.schemas import PageQuery, Strict, page_schema

RATING = validate.OneOf(ratings.SCALE)
NAME = validate.Length(min=1, max=200)


class OrganizationCreate(Strict):
    kind = ma.fields.String(required=True, validate=validate.OneOf(["insurer", "exchange", "custodian"]))
    name = ma.fields.String(required=True, validate=NAME)
    rating = ma.fields.String(validate=RATING, metadata={"description": "insurers only"})
    licence_number = ma.fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "exchanges"})
    service_classes = ma.fields.List(ma.fields.Integer(validate=validate.Range(1, 3)),
                                     metadata={"description": "exchanges: MiCA Annex IV classes"})
    custodians = ma.fields.List(ma.fields.String(), metadata={"description": "exchanges: custodian ids"})
    registration_status = ma.fields.String(validate=validate.OneOf(CUSTODIAN_STATUSES))
    registration_number = ma.fields.String(validate=validate.Length(min=1, max=64))

    @ma.validates_schema(skip_on_field_errors=False)
    def _per_kind(self, data, **_):
        only = {"insurer": {"rating"}, "exchange": {"licence_number", "service_classes", "custodians"},
                "custodian": {"registration_status", "registration_number"}}
        kind = data.get("kind")
        errors = {}
        for k, fields in only.items():
            if k != kind:
                for f in fields & set(data):
                    errors[f] = [f"only for kind {k}"]
        if kind == "exchange" and "licence_number" not in data:
            errors["licence_number"] = ["required for an exchange"]
        if kind == "custodian" and "registration_status" not in data:
            errors["registration_status"] = ["required for a custodian"]
        if errors:
            raise ma.ValidationError(errors)


class ExchangeOut(ma.Schema):
    licence_number = ma.fields.String()
    jurisdiction = ma.fields.String()
    regulator = ma.fields.String(attribute="regulator_id")
    service_classes = ma.fields.Method("_classes")
    custodians = ma.fields.Method("_custodians")

    def _classes(self, ex) -> list[int]:
        return [int(c) for c in ex.service_classes.split(",") if c]

    def _custodians(self, ex) -> list[str]:
        return [c.org_id for c in ex.custodians]


class CustodianOut(ma.Schema):
    registration_status = ma.fields.String()
    registration_number = ma.fields.String(allow_none=True)


class ApprovalOut(ma.Schema):
    regulator = ma.fields.String(attribute="regulator_id")
    jurisdiction = ma.fields.String(attribute="regulator.jurisdiction")
    status = ma.fields.String()
    updated_at = ma.fields.DateTime()


class OrganizationOut(ma.Schema):
    id = ma.fields.String()
    kind = ma.fields.String()
    name = ma.fields.String()
    jurisdiction = ma.fields.String(allow_none=True)
    rating = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    exchange = ma.fields.Nested(ExchangeOut, allow_none=True)
    custodian = ma.fields.Nested(CustodianOut, allow_none=True)
    approvals = ma.fields.Method("_approvals")

    def _approvals(self, org) -> list[dict]:
        from .service import approvals_of

        return ApprovalOut(many=True).dump(approvals_of(org)) if org.kind == "insurer" else []


OrganizationPage = page_schema(OrganizationOut, "OrganizationPage")


class OrganizationQuery(PageQuery):
    kind = ma.fields.String(validate=validate.OneOf(["regulator", "insurer", "exchange", "custodian"]))
    sort = ma.fields.String(load_default="name", validate=validate.OneOf(["name", "-name", "created_at",
                                                                          "-created_at"]))


class HistoryOut(ma.Schema):
    field = ma.fields.String()
    old_value = ma.fields.String(allow_none=True)
    new_value = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    changed_by = ma.fields.String()
    changed_at = ma.fields.DateTime()


class HistoryList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(HistoryOut))


class Reason(Strict):
    reason = ma.fields.String(validate=validate.Length(max=2000))


class RatingIn(Reason):
    rating = ma.fields.String(required=True, validate=RATING, allow_none=True)


class RegistrationIn(Reason):
    status = ma.fields.String(required=True, validate=validate.OneOf(CUSTODIAN_STATUSES))


class CustodianLink(Strict):
    custodian = ma.fields.String(required=True)


