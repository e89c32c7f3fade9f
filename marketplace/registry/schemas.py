from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from ..domain import ratings
from ..registry.models import CUSTODIAN_STATUSES
from ..web.schemas import PageQuery, Strict, page_schema

RATING = validate.OneOf(ratings.SCALE)
NAME = validate.Length(min=1, max=200)
GROUP = validate.Length(max=200)


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
    group_name = ma.fields.String(validate=GROUP, allow_none=True, metadata={
        "description": "the financial group it belongs to (MiCA Art. 67(5): an insurer in the exchange's own "
                       "group is no third party); empty or null: none recorded"})

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
    rating = ma.fields.String(allow_none=True, metadata={
        "description": "this regulator's rating of the insurer, for its jurisdiction only"})
    updated_at = ma.fields.DateTime()


def _caller():
    from flask import g

    return g.get("principal")


class OrganizationOut(ma.Schema):
    id = ma.fields.String()
    kind = ma.fields.String()
    name = ma.fields.String()
    jurisdiction = ma.fields.String(allow_none=True)
    rating = ma.fields.Method("_rating", metadata={"type": ["string", "null"], "description": (
        "insurers: for a regulator, its own rating of the insurer (its jurisdiction); for anyone else, the "
        "rating asked for at admission. Each regulator's rating: `ratings` and `approvals`")})
    admission_rating = ma.fields.String(attribute="rating", allow_none=True, metadata={
        "description": "insurers: the rating asked for at admission (not changed afterwards)"})
    ratings = ma.fields.Method("_ratings", metadata={
        "type": "object", "additionalProperties": {"type": ["string", "null"]},
        "description": "insurers: jurisdiction -> the rating its regulator gave (null: unrated there)"})
    group_name = ma.fields.String(allow_none=True, metadata={"description": "the financial group it belongs to"})
    created_at = ma.fields.DateTime()
    exchange = ma.fields.Nested(ExchangeOut, allow_none=True)
    custodian = ma.fields.Nested(CustodianOut, allow_none=True)
    approvals = ma.fields.Method("_approvals")

    def _approvals(self, org) -> list[dict]:
        from .service import approvals_of

        return ApprovalOut(many=True).dump(approvals_of(org)) if org.kind == "insurer" else []

    def _ratings(self, org) -> dict[str, str | None]:
        from .service import approvals_of

        if org.kind != "insurer":
            return {}
        return {a.regulator.jurisdiction: a.rating for a in approvals_of(org) if a.regulator.jurisdiction}

    def _rating(self, org) -> str | None:
        if org.kind != "insurer":
            return org.rating
        p = _caller()
        if p is not None and p.kind == "regulator":
            from .service import approvals_of

            mine = [a for a in approvals_of(org) if a.regulator_id == p.org_id]
            if mine:
                return mine[0].rating
        return org.rating


OrganizationPage = page_schema(OrganizationOut, "OrganizationPage")


class OrganizationQuery(PageQuery):
    kind = ma.fields.String(validate=validate.OneOf(["regulator", "insurer", "exchange", "custodian"]))
    sort = ma.fields.String(load_default="name", validate=validate.OneOf(["name", "-name", "created_at",
                                                                          "-created_at"]))


class HistoryOut(ma.Schema):
    field = ma.fields.String()
    jurisdiction = ma.fields.String(allow_none=True, metadata={
        "description": "the jurisdiction whose regulator made the change (status and rating are per regulator)"})
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


class GroupIn(Reason):
    group_name = ma.fields.String(required=True, allow_none=True, validate=GROUP, metadata={
        "description": "the financial group the organization belongs to; null or empty: none"})


class RegistrationIn(Reason):
    status = ma.fields.String(required=True, validate=validate.OneOf(CUSTODIAN_STATUSES))


class CustodianLink(Strict):
    custodian = ma.fields.String(required=True)


