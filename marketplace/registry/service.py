"""Registry operations. Every change of status, rating, registration or group is written to org_history.

Each regulator approves and rates an insurer for its own jurisdiction (`InsurerApproval.status` and
`.rating`); a change by one regulator is recorded with its jurisdiction and never touches another's.
`Organization.rating` is the rating asked for at admission only: written when the insurer is admitted
(and the starting rating of each new approval), never changed afterwards."""

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


def _history(org: Organization, field: str, old, new, actor: str, reason: str | None = None,
             jurisdiction: str | None = None) -> None:
    db.session.add(OrgHistory(org_id=org.id, field=field, old_value=old, new_value=new, jurisdiction=jurisdiction,
                              changed_by=actor, reason=reason))


def get_org(org_id: str, kind: str | None = None) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None or (kind and org.kind != kind):
        raise NotFound(f"no {kind or 'organization'} {org_id}")
    return org


def _group(name: str | None) -> str | None:
    name = (name or "").strip()
    return name or None


def create_org(kind: str, name: str, jurisdiction: str | None, actor: str,
               group_name: str | None = None) -> Organization:
    org = Organization(kind=kind, name=name, jurisdiction=jurisdiction, group_name=_group(group_name))
    db.session.add(org)
    db.session.flush()
    _history(org, "created", None, kind, actor)
    if org.group_name:
        _history(org, "group", None, org.group_name, actor)
    return org


def set_group(org: Organization, group_name: str | None, actor: str, reason: str | None = None) -> Organization:
    """Record the financial group an organization belongs to (None: none recorded). History kept.
    Eligibility reads it: an insurer in an exchange's own group is no third party (MiCA Art. 67(5))."""
    new = _group(group_name)
    if org.group_name != new:
        _history(org, "group", org.group_name, new, actor, reason)
        org.group_name = new
        db.session.flush()
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
    approval = _approval(insurer.id, regulator.id)
    old = approval.status if approval else None
    new_approval = approval is None
    if new_approval:  # a new approval starts from the rating asked for at admission; then it is this regulator's
        approval = InsurerApproval(insurer_id=insurer.id, regulator_id=regulator.id, status=status,
                                   rating=insurer.rating)
        db.session.add(approval)
    approval.status = status
    db.session.flush()
    if old != status:
        _history(insurer, f"status:{regulator.jurisdiction}", old, status, actor, reason, regulator.jurisdiction)
        _insurer_event(insurer, regulator.jurisdiction, status, actor, reason)
    if new_approval and approval.rating:  # the starting rating: part of the approval, no event
        _history(insurer, "rating", None, approval.rating, actor, jurisdiction=regulator.jurisdiction)
    return approval


def _approval(insurer_id: str, regulator_id: str) -> InsurerApproval | None:
    return db.session.scalar(select(InsurerApproval).filter_by(insurer_id=insurer_id, regulator_id=regulator_id))


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


def set_rating(insurer: Organization, regulator: Organization, rating: str | None, actor: str,
               reason: str | None = None) -> InsurerApproval:
    """The regulator's rating of the insurer for its own jurisdiction: history (with the jurisdiction) and an
    `insurer.rating_changed` event of that jurisdiction, whose revocation subscriber revokes the certificates
    there whose offset the change reduces. Another regulator's rating is never touched."""
    if insurer.kind != "insurer":
        raise Unprocessable("only insurers carry a rating")
    if regulator.kind != "regulator":
        raise Unprocessable("only a regulator rates an insurer")
    if rating is not None and not ratings.is_rating(rating):
        raise Unprocessable(f"rating {rating!r} is not on the scale", {"rating": ["not on the rating scale"]})
    approval = _approval(insurer.id, regulator.id)
    if approval is None:
        raise Conflict(f"{insurer.name} has no standing with the {regulator.jurisdiction} regulator: admit it first",
                       current_state="none")
    if approval.rating != rating:
        from ..events import kinds
        from ..events import service as events

        old = approval.rating
        _history(insurer, "rating", old, rating, actor, reason, regulator.jurisdiction)
        approval.rating = rating
        db.session.flush()
        events.record(kinds.InsurerRatingChanged(insurer_id=insurer.id, name=insurer.name,
                                                 jurisdiction=regulator.jurisdiction, old=old, new=rating,
                                                 reason=reason), actor)
    return approval


def approval_in(insurer_id: str, jurisdiction: str | None) -> InsurerApproval | None:
    """The insurer's approval with the regulator of `jurisdiction` (the first regulator there), if any."""
    if not jurisdiction:
        return None
    return db.session.scalar(select(InsurerApproval).join(Organization, Organization.id == InsurerApproval.regulator_id)
                             .where(InsurerApproval.insurer_id == insurer_id, Organization.kind == "regulator",
                                    Organization.jurisdiction == jurisdiction)
                             .order_by(Organization.created_at, Organization.id).limit(1))


def rating_in(insurer_id: str, jurisdiction: str | None) -> str | None:
    """The rating the regulator of `jurisdiction` gave the insurer (None: unrated there, or no standing)."""
    approval = approval_in(insurer_id, jurisdiction)
    return approval.rating if approval is not None else None


def ratings_in(jurisdiction: str | None, insurer_ids) -> dict[str, str | None]:
    """insurer id -> the rating the regulator of `jurisdiction` gave it (None when unrated or without standing)."""
    ids = sorted(set(insurer_ids))
    out: dict[str, str | None] = dict.fromkeys(ids)
    if not jurisdiction or not ids:
        return out
    rows = db.session.execute(select(InsurerApproval.insurer_id, InsurerApproval.rating)
                              .join(Organization, Organization.id == InsurerApproval.regulator_id)
                              .where(InsurerApproval.insurer_id.in_(ids), Organization.kind == "regulator",
                                     Organization.jurisdiction == jurisdiction)
                              .order_by(Organization.created_at.desc(), Organization.id.desc())).all()
    for insurer_id, rating in rows:  # the first regulator of the jurisdiction wins (written last)
        out[insurer_id] = rating
    return out


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
                      service_classes: tuple[int, ...] = (), group_name: str | None = None) -> Exchange:
    jurisdiction = regulator.jurisdiction
    if db.session.scalar(select(Exchange).filter_by(licence_number=licence_number, jurisdiction=jurisdiction)):
        raise Conflict(f"licence {licence_number} is already registered in {jurisdiction}",
                       {"licence_number": ["already registered in this jurisdiction"]})
    org = create_org("exchange", name, jurisdiction, actor, group_name)
    ex = Exchange(org_id=org.id, licence_number=licence_number, jurisdiction=jurisdiction,
                  regulator_id=regulator.id, service_classes=",".join(str(c) for c in sorted(service_classes)))
    db.session.add(ex)
    db.session.flush()
    return ex


def register_custodian(name: str, jurisdiction: str, status: str, actor: str,
                       registration_number: str | None = None, group_name: str | None = None) -> Custodian:
    if status not in CUSTODIAN_STATUSES:
        raise Unprocessable(f"registration status must be one of {', '.join(CUSTODIAN_STATUSES)}")
    org = create_org("custodian", name, jurisdiction, actor, group_name)
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


def admit_insurer(name: str, regulator: Organization, actor: str, rating: str | None = None,
                  group_name: str | None = None) -> Organization:
    """Create an insurer under a regulator, pending approval. `rating` is the rating asked for at admission:
    kept on the organization and the admitting regulator's first rating (a part of admitting: no event)."""
    if rating is not None and not ratings.is_rating(rating):
        raise Unprocessable(f"rating {rating!r} is not on the scale", {"rating": ["not on the rating scale"]})
    org = create_org("insurer", name, regulator.jurisdiction, actor, group_name)
    org.rating = rating or None
    set_insurer_status(org, regulator, "pending", actor)  # the approval starts with that rating
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


def rated_by(regulator_id: str, insurer_ids: list[str]) -> dict[str, str | None]:
    """insurer id -> this regulator's rating of it, for those with a standing."""
    if not insurer_ids:
        return {}
    rows = db.session.execute(select(InsurerApproval.insurer_id, InsurerApproval.rating)
                              .where(InsurerApproval.regulator_id == regulator_id,
                                     InsurerApproval.insurer_id.in_(insurer_ids)))
    return dict(rows.all())


def approval_counts(regulator_id: str) -> dict[str, int]:
    """How many insurers stand at each status with this regulator (every status named, zero when none)."""
    rows = db.session.execute(select(InsurerApproval.status, db.func.count())
                              .where(InsurerApproval.regulator_id == regulator_id)
                              .group_by(InsurerApproval.status)).all()
    return dict.fromkeys(INSURER_STATUSES, 0) | dict(rows)
