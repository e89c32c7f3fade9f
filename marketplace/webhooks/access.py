"""Visibility: an organization sees its own webhooks (not deleted) and their deliveries; nobody else's.
A regulator's supervision does not extend to where its exchanges receive their notifications."""

from sqlalchemy import select

from ..tenancy import rule
from .models import WebhookDelivery, WebhookSubscription


@rule(WebhookSubscription)
def _subscriptions(p):
    return (WebhookSubscription.org_id == p.org_id) & WebhookSubscription.deleted_at.is_(None)


@rule(WebhookDelivery)
def _deliveries(p):
    return WebhookDelivery.subscription_id.in_(select(WebhookSubscription.id).where(_subscriptions(p)))
