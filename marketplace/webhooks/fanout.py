"""The "webhooks" subscriber of the event spine: one delivery per matching subscription, sent after commit.

Who receives an event (DESIGN 8, "Webhooks"): an organization it is about (`audience`), and a regulator
of its jurisdiction (regulators receive every event there: this is how they are notified of issuances,
revocations and shortfalls). Ratings and suspensions are per regulator, so they carry its jurisdiction. An
event without a jurisdiction reaches the regulators that may see an organization it is about: those that
admitted the insurer.
A subscription receives the events recorded from its creation on; it is not sent the history before it.
"""

from __future__ import annotations

from sqlalchemy import select

from ..db import utcnow
from ..db.locking import transaction_memo
from ..events.kinds import DomainEvent
from ..events.models import Event
from ..extensions import db
from ..jobs import nudge
from ..registry.models import InsurerApproval, Organization
from ..uow import after_commit
from .models import WebhookDelivery, WebhookSubscription
from .service import SEND_JOB

REGULATORS = "webhooks_regulators"  # session.info key: {jurisdiction: its regulators' ids}, for one transaction


def _regulators_of(jurisdiction: str) -> set[str]:
    """The regulators of a jurisdiction, read once per transaction: the relay runs a batch of deliveries in one,
    and most of its events name one of a few jurisdictions."""
    known = transaction_memo(db.session(), REGULATORS, dict)
    if jurisdiction not in known:
        known[jurisdiction] = set(db.session.scalars(select(Organization.id).where(
            Organization.kind == "regulator", Organization.jurisdiction == jurisdiction)))
    return known[jurisdiction]


def recipients(ev: DomainEvent, row: Event) -> set[str]:
    """The organization ids that may receive this event."""
    audience = set(row.audience or ev.audience())
    jurisdiction = row.jurisdiction if row.jurisdiction is not None else ev.jurisdiction
    if jurisdiction is not None:
        return audience | _regulators_of(jurisdiction)
    return audience | set(db.session.scalars(select(Organization.id).where(
        Organization.kind == "regulator", Organization.id.in_(
            select(InsurerApproval.regulator_id).where(InsurerApproval.insurer_id.in_(audience))))))


def handle(ev: DomainEvent, row: Event) -> int:
    """Create the deliveries of `row` (idempotent: a re-run relay adds none twice); returns how many."""
    orgs = recipients(ev, row)
    if not orgs:
        return 0
    subs = db.session.scalars(select(WebhookSubscription).where(
        WebhookSubscription.org_id.in_(orgs), WebhookSubscription.deleted_at.is_(None),
        WebhookSubscription.created_at <= row.created_at)
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)).all()
    wanted = [s for s in subs if ev.kind in (s.events or ())]
    if not wanted:
        return 0
    have = set(db.session.scalars(select(WebhookDelivery.subscription_id).where(WebhookDelivery.event_id == row.id)))
    now = utcnow()
    added = 0
    for s in wanted:
        if s.id not in have:
            db.session.add(WebhookDelivery(subscription_id=s.id, event_id=row.id, event_type=row.kind,
                                           status="pending", next_attempt_at=now))
            added += 1
    if added:
        db.session.flush()
        after_commit(nudge, SEND_JOB)
    return added
