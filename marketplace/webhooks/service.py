"""Webhook subscriptions: create (the secret is shown once and kept wrapped), delete, redeliver."""

from __future__ import annotations

import base64
import secrets

from flask import current_app
from sqlalchemy import func, select, update

from ..crypto.aead import seal, unseal
from ..db import new_id, utcnow
from ..errors import Conflict, Unprocessable
from ..extensions import db
from ..uow import after_commit
from . import ssrf
from .models import WebhookDelivery, WebhookSubscription

SECRET_PREFIX = "whsec_"  # noqa: S105  (the Standard Webhooks prefix, not a secret)
SECRET_BYTES = 32  # Standard Webhooks: 24 to 64 bytes
MAX_ACTIVE_PER_ORG = 20
SEND_JOB = "webhooks.send"


def allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE"))


def check_url(url: str) -> None:
    """422 naming `url` when it is malformed or (unless private targets are allowed) reaches a non-public
    address. With private targets allowed the name is not looked up here: the sender checks it anyway."""
    try:
        if allow_private():
            ssrf.parse(url)
        else:
            ssrf.check(url, allow_private=False)
    except ssrf.Refused as e:
        raise Unprocessable(f"url {e}", {"url": [str(e)]}) from None


def _aad(subscription_id: str) -> bytes:
    return f"webhook-secret:{subscription_id}".encode()


def secret_of(sub_id: str, wrapped: bytes) -> str:
    """The `whsec_...` signing secret of a subscription (only the sender calls this)."""
    from ..keys.service import kek

    return unseal(wrapped, kek(), _aad(sub_id)).decode("ascii")


def create(org_id: str, url: str, events: list[str], actor: str) -> tuple[WebhookSubscription, str]:
    from ..keys.service import kek

    check_url(url)
    active = db.session.scalar(select(func.count()).select_from(WebhookSubscription).where(
        WebhookSubscription.org_id == org_id, WebhookSubscription.deleted_at.is_(None)))
    if active >= MAX_ACTIVE_PER_ORG:
        raise Conflict(f"an organization may have at most {MAX_ACTIVE_PER_ORG} webhooks; delete one first")
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")
    sub_id = new_id()
    sub = WebhookSubscription(id=sub_id, org_id=org_id, url=url, events=list(dict.fromkeys(events)),
                              secret_wrapped=seal(secret.encode("ascii"), kek(), _aad(sub_id)), created_by=actor)
    db.session.add(sub)
    db.session.flush()
    return sub, secret


def delete(sub: WebhookSubscription) -> None:
    """No new deliveries; those still pending end as failed. The delivery log stays."""
    now = utcnow()
    sub.deleted_at = now
    db.session.execute(update(WebhookDelivery).where(
        WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status == "pending").values(
        status="failed", next_attempt_at=None, completed_at=now, last_error="the webhook was deleted"))


def redeliver(d: WebhookDelivery) -> WebhookDelivery:
    """Due now, with a fresh retry schedule (whatever its status was); the sender runs after commit."""
    from ..jobs import nudge

    d.status, d.next_attempt_at, d.completed_at = "pending", utcnow(), None
    d.schedule_base = d.attempts
    db.session.flush()
    after_commit(nudge, SEND_JOB)
    return d

