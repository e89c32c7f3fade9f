"""Webhooks API (DESIGN 8, contract): subscribe, list, delete, the delivery log and redelivery."""

from __future__ import annotations

from ..errors import NotFound
from ..tenancy import get_visible, visible
from ..web.blueprint import Blueprint
from ..web.guard import principal, requires
from ..web.pagination import paginate
from ..web.schemas import PageQuery
from ..web.security import shown_once
from . import (
    access,  # noqa: F401  (registers the visibility rules)
    service,
)
from .models import WebhookDelivery, WebhookSubscription
from .schemas import DeliveryOut, DeliveryPage, DeliveryQuery, WebhookCreated, WebhookIn, WebhookOut, WebhookPage

bp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks",
               description="Webhooks: signed event notifications (Standard Webhooks)")


@bp.route("", methods=["POST"])
@requires("webhooks:write")
@shown_once("secret", remedy="delete the webhook and create a new one")
@bp.arguments(WebhookIn)
@bp.response(201, WebhookCreated)
def create_webhook(data):
    """Subscribe a URL to event types. The answer carries the signing secret (`whsec_...`) once: it is kept
    encrypted to sign deliveries, never shown again, and absent from an Idempotency-Key replay.
    Each delivery is a POST with `webhook-id`, `webhook-timestamp` and `webhook-signature` headers and the
    body `{"type", "timestamp", "data"}`; an organization receives only events about what it may see
    (a regulator: every event in its jurisdiction)."""
    p = principal()
    sub, secret = service.create(p.org_id, data["url"], data["events"], p.actor)
    sub.secret = secret  # transient: dumped once in this answer
    return sub


@bp.route("", methods=["GET"])
@requires("webhooks:read")
@bp.arguments(PageQuery, location="query")
@bp.response(200, WebhookPage)
def list_webhooks(q):
    """The organization's webhooks (secrets are never shown again)."""
    stmt = visible(WebhookSubscription).order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    return paginate(stmt, q["page"], q["per_page"])


@bp.route("/<webhook_id>", methods=["GET"])
@requires("webhooks:read")
@bp.response(200, WebhookOut)
def get_webhook(webhook_id):
    return get_visible(WebhookSubscription, webhook_id, "webhook")


@bp.route("/<webhook_id>", methods=["DELETE"])
@requires("webhooks:write")
@bp.response(204)
def delete_webhook(webhook_id):
    """Stop sending to this webhook: deliveries still pending end as failed."""
    service.delete(get_visible(WebhookSubscription, webhook_id, "webhook"))
    return None


@bp.route("/<webhook_id>/deliveries", methods=["GET"])
@requires("webhooks:read")
@bp.arguments(DeliveryQuery, location="query")
@bp.response(200, DeliveryPage)
def list_deliveries(q, webhook_id):
    """The delivery log, newest first: each event sent to this webhook, its status (pending, succeeded,
    failed), attempts, next attempt, and the last answer or error."""
    sub = get_visible(WebhookSubscription, webhook_id, "webhook")
    stmt = visible(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
    if "status" in q:
        stmt = stmt.where(WebhookDelivery.status == q["status"])
    if "event_type" in q:
        stmt = stmt.where(WebhookDelivery.event_type == q["event_type"])
    stmt = stmt.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    return paginate(stmt, q["page"], q["per_page"])


@bp.route("/<webhook_id>/deliveries/<delivery_id>/redeliver", methods=["POST"])
@requires("webhooks:write")
@bp.response(202, DeliveryOut)
def redeliver(webhook_id, delivery_id):
    """Send a delivery again now (any status), with a fresh retry schedule and the same `webhook-id`."""
    sub = get_visible(WebhookSubscription, webhook_id, "webhook")
    d = get_visible(WebhookDelivery, delivery_id, "delivery")
    if d.subscription_id != sub.id:
        raise NotFound(f"no delivery {delivery_id} for this webhook")
    return service.redeliver(d)
