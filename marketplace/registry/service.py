"""Registry operations. Every change of status, rating or registration is written to org_history."""

from __future__ import annotations

from sqlalchemy import select

from ..domain import ratings
from ..errors import Conflict, NotFound, Unprocessable
from ..extensions import db
from .models import (
    CUSTODIAN_STATUSES,
    INSURER_STATUSES,
    Custodian,
    Exchange,
    InsurerApproval,
    Organization,
    OrgHistory,
)


def _history(org: Organization, field: str, old, new, actor: str, reason: str | None = None) -> None:
    db.session.add(OrgHistory(org_id=org.id, field=field, old_value=old, new_value=new,
                              changed_by=actor, reason=reason))


def get_org(org_id: str, kind: str | None = None) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None or (kind and org.kind != kind):
        raise NotFound(f"no {kind or 'organization'} {org_id}")
    return org


def create_org(kind: str, name: str, jurisdiction: str | None, actor: str) -> Organization:
    org = Organization(kind=kind, name=name, jurisdiction=jurisdiction)
    db.session.add(org)
    db.session.flush()
    _history(org, "created", None, kind, actor)
    return org


def find_regulator(jurisdiction: str) -> Organization | None:
    return db.session.scalar(select(Organization).filter_by(kind="regulator", jurisdiction=jurisdiction)
                             .order_by(Organization.created_at))


def ensure_regulator(name: str, jurisdiction: str, actor: str) -> tuple[Organization, bool]:
    """The regulator of a jurisdiction, created if missing. Returns (org, created)."""
    existing = find_regulator(jurisdiction)
    if existing is not None:
        return existing, False
    return create_org("regulator", name, jurisdiction, actor), True


def set_insurer_status(insurer: Organization, regulator: Organization, status: str, actor: str,
                       reason: str | None = None) -> InsurerApproval:
    if insurer.kind != "insurer" or regulator.kind != "regulator":
        raise Unprocessable("approval links an insurer to a regulator")
    if status not in INSURER_STATUSES:
        raise Unprocessable(f"status must be one of {', '.join(INSURER_STATUSES)}", {"status": ["invalid"]})
    approval = db.session.scalar(select(InsurerApproval).filter_by(insurer_id=insurer.id, regulator_id=regulator.id))
    old = approval.status if approval else None
    if approval is None:
        approval = InsurerApproval(insurer_id=insurer.id, regulator_id=regulator.id, status=status)
        db.session.add(approval)
    approval.status = status
    db.session.flush()
    if old != status:
        _history(insurer, f"status:{regulator.jurisdiction}", old, status, actor, reason)
        _insurer_event(insurer, regulator.jurisdiction, status, actor, reason)
    return approval


def _insurer_event(insurer: Organization, jurisdiction: str, status: str, actor: str, reason: str | None) -> None:
    from ..events import kinds
    from ..events import service as events

    common = {"insurer_id": insurer.id, "name": insurer.name, "jurisdiction": jurisdiction}
    if status == "approved":
        events.record(kinds.InsurerApproved(**common), actor)
    elif status == "suspended":
        events.record(kinds.InsurerSuspended(**common, reason=reason), actor)


def approved_jurisdictions(insurer_id: str) -> frozenset[str]:
    rows = db.session.execute(
        select(Organization.jurisdiction).join(InsurerApproval, InsurerApproval.regulator_id == Organization.id)
        .where(InsurerApproval.insurer_id == insurer_id, InsurerApproval.status == "approved")).scalars()
    return frozenset(j for j in rows if j)


def set_rating(insurer: Organization, rating: str | None, actor: str, reason: str | None = None) -> None:
    if insurer.kind != "insurer":
        raise Unprocessable("only insurers carry a rating")
    if rating is not None and not ratings.is_rating(rating):
        raise Unprocessable(f"rating {rating!r} is not on the scale", {"rating": ["not on the rating scale"]})
    if insurer.rating != rating:
        from ..events import kinds
        from ..events import service as events

        old = insurer.rating
        _history(insurer, "rating", old, rating, actor, reason)
        insurer.rating = rating
        db.session.flush()
        if old is not None:  # a first rating at admission is part of admitting, not a change
            events.record(kinds.InsurerRatingChanged(insurer_id=insurer.id, name=insurer.name, jurisdiction=None,
                                                     old=old, new=rating, reason=reason), actor)


def find_exchange(licence_number: str, jurisdiction: str | None = None) -> Exchange:
    q = select(Exchange).filter_by(licence_number=licence_number)
    if jurisdiction:
        q = q.filter_by(jurisdiction=jurisdiction)
    found = db.session.scalars(q).all()
    if not found:
        raise NotFound(f"no exchange with licence {licence_number!r}")
    if len(found) > 1:
        raise Conflict(f"licence {licence_number!r} exists in several jurisdictions; name one")
    return found[0]


def register_exchange(name: str, licence_number: str, regulator: Organization, actor: str,
                      service_classes: tuple[int, ...] = ()) -> Exchange:
    jurisdiction = regulator.jurisdiction
    if db.session.scalar(select(Exchange).filter_by(licence_number=licence_number, jurisdiction=jurisdiction)):
        raise Conflict(f"licence {licence_number} is already registered in {jurisdiction}",
                       {"licence_number": ["already registered in this jurisdiction"]})
    org = create_org("exchange", name, jurisdiction, actor)
    ex = Exchange(org_id=org.id, licence_number=licence_number, jurisdiction=jurisdiction,
                  regulator_id=regulator.id, service_classes=",".join(str(c) for c in sorted(service_classes)))
    db.session.add(ex)
    db.session.flush()
    return ex


def register_custodian(name: str, jurisdiction: str, status: str, actor: str,
                       registration_number: str | None = None) -> Custodian:
    if status not in CUSTODIAN_STATUSES:
        raise Unprocessable(f"registration status must be one of {', '.join(CUSTODIAN_STATUSES)}")
    org = create_org("custodian", name, jurisdiction, actor)
    c = Custodian(org_id=org.id, registration_status=status, registration_number=registration_number)
    db.session.add(c)
    db.session.flush()
    _history(org, "registration", None, status, actor)
    return c


def set_custodian_status(custodian: Custodian, status: str, actor: str, reason: str | None = None) -> None:
    if status not in CUSTODIAN_STATUSES:
        raise Unprocessable(f"registration status must be one of {', '.join(CUSTODIAN_STATUSES)}")
    if custodian.registration_status != status:
        _history(custodian.org, "registration", custodian.registration_status, status, actor, reason)
        custodian.registration_status = status
        db.session.flush()


def link_custodian(exchange: Exchange, custodian: Custodian) -> None:
    if custodian not in exchange.custodians:
        exchange.custodians.append(custodian)
        db.session.flush()


INSURER_TRANSITIONS = {"approve": ("pending", "approved"), "suspend": ("approved", "suspended"),
                       "reinstate": ("suspended", "approved")}


def admit_insurer(name: str, regulator: Organization, actor: str, rating: str | None = None) -> Organization:
    """Create an insurer under a regulator, pending approval."""
    org = create_org("insurer", name, regulator.jurisdiction, actor)
    set_insurer_status(org, regulator, "pending", actor)
    if rating:
        set_rating(org, rating, actor)
    return org


def transition_insurer(insurer: Organization, regulator: Organization, action: str, actor: str,
                       reason: str | None) -> InsurerApproval:
    """approve (pending->approved), suspend (approved->suspended), reinstate (suspended->approved)."""
    from_status, to_status = INSURER_TRANSITIONS[action]
    approval = db.session.scalar(select(InsurerApproval).filter_by(insurer_id=insurer.id, regulator_id=regulator.id))
    current = approval.status if approval else "none"
    if current != from_status:
        raise Conflict(f"cannot {action} an insurer whose status is {current!r} (needs {from_status!r})",
                       current_state=current)
    return set_insurer_status(insurer, regulator, to_status, actor, reason)


def unlink_custodian(exchange: Exchange, custodian: Custodian) -> None:
    if custodian not in exchange.custodians:
        raise NotFound(f"custodian {custodian.org_id} is not linked to this exchange")
    exchange.custodians.remove(custodian)
    db.session.flush()


def approvals_of(org: Organization) -> list[InsurerApproval]:
    return db.session.scalars(select(InsurerApproval).filter_by(insurer_id=org.id)
                              .order_by(InsurerApproval.regulator_id)).all()


# ---- read-only helpers for the portal's registry pages ----

def standing_with(regulator_id: str, insurer_ids: list[str]) -> dict[str, str]:
    """insurer id -> its status with this regulator (pending, approved, suspended), for those it has one."""
    if not insurer_ids:
        return {}
    rows = db.session.execute(select(InsurerApproval.insurer_id, InsurerApproval.status)
                              .where(InsurerApproval.regulator_id == regulator_id,
                                     InsurerApproval.insurer_id.in_(insurer_ids)))
    return dict(rows.all())


def approval_counts(regulator_id: str) -> dict[str, int]:
    """How many insurers stand at each status with this regulator (every status named, zero when none)."""
    rows = db.session.execute(select(InsurerApproval.status, db.func.count())
                              .where(InsurerApproval.regulator_id == regulator_id)
                              .group_by(InsurerApproval.status)).all()
    return dict.fromkeys(INSURER_STATUSES, 0) | dict(rows)
