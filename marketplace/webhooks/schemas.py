from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from ..events.kinds import KINDS
from ..web.schemas import PageQuery, Pattern, Strict, page_schema
from . import ssrf
from .models import DELIVERY_STATUSES, MAX_URL

URL_PATTERN = r"https?://[\x21-\x7e]+"
EVENT_TYPES = sorted(KINDS)


def _url_syntax(value: str) -> str:
    try:
        ssrf.parse(value)
    except ssrf.Refused as e:
        raise ma.ValidationError(str(e)) from None
    return value


class WebhookIn(Strict):
    url = ma.fields.String(required=True, validate=[
        validate.Length(max=MAX_URL), Pattern(URL_PATTERN, "must be an http or https URL (printable ASCII)"),
        _url_syntax], metadata={"pattern": f"^{URL_PATTERN}$",
                                "description": "where to POST; no credentials; public addresses only unless "
                                               "the deployment allows private ones"})
    events = ma.fields.List(ma.fields.String(validate=validate.OneOf(EVENT_TYPES)), required=True,
                            validate=validate.Length(min=1, max=50),
                            metadata={"description": "event types to receive"})


class WebhookOut(ma.Schema):
    id = ma.fields.String()
    organization = ma.fields.String(attribute="org_id")
    url = ma.fields.String()
    events = ma.fields.List(ma.fields.String())
    created_by = ma.fields.String()
    created_at = ma.fields.DateTime()


class WebhookCreated(WebhookOut):
    secret = ma.fields.String(metadata={
        "description": "whsec_ + base64 signing secret (Standard Webhooks); shown once, in this answer only "
                       "(an Idempotency-Key replay omits it and says so in a Secret-Redacted header)"})


class DeliveryQuery(PageQuery):
    status = ma.fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    event_type = ma.fields.String(validate=validate.OneOf(EVENT_TYPES))


class DeliveryOut(ma.Schema):
    id = ma.fields.String(metadata={"description": "also the webhook-id header of every attempt"})
    webhook = ma.fields.String(attribute="subscription_id")
    event_type = ma.fields.String()
    event_id = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(DELIVERY_STATUSES)})
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.DateTime(allow_none=True)
    last_attempt_at = ma.fields.DateTime(allow_none=True)
    last_response_status = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    completed_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


WebhookPage = page_schema(WebhookOut, "WebhookPage")
DeliveryPage = page_schema(DeliveryOut, "DeliveryPage")
