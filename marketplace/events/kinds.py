"""Every kind of domain event, with its payload: the one place that lists them (DESIGN 8).

Each kind is a frozen dataclass; its fields are the payload stored in the outbox and sent to webhook
subscribers as `data`. `audience` says who may see it: the organizations it is about, and the
regulators of `jurisdiction`. Money is {"amount": "<minor units>", "currency"} as everywhere.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    kind: ClassVar[str]
    subject: ClassVar[str]  # the field naming the event's subject (its id)
    jurisdiction: str | None

    @property
    def subject_id(self) -> str:
        return getattr(self, self.subject)

    def audience(self) -> list[str]:
        """Organization ids this event is about (regulators of `jurisdiction` see it too)."""
        ids = [getattr(self, f, None) for f in ("exchange_id", "insurer_id")]
        ids += list(getattr(self, "insurer_ids", ()))
        return sorted({i for i in ids if i})

    def payload(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class _PolicyEvent(DomainEvent):
    subject: ClassVar[str] = "policy_id"
    policy_id: str
    number: str
    insurer_id: str
    exchange_id: str


@dataclass(frozen=True, kw_only=True)
class PolicyBound(_PolicyEvent):
    kind: ClassVar[str] = "policy.bound"
    limit: dict
    term_start: str
    term_end: str


@dataclass(frozen=True, kw_only=True)
class PolicyAmended(_PolicyEvent):
    kind: ClassVar[str] = "policy.amended"
    revision: int
    before: dict
    over_limit_allocations: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class PolicyCancelled(_PolicyEvent):
    kind: ClassVar[str] = "policy.cancelled"
    effective_on: str
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class PolicyLapsed(_PolicyEvent):
    kind: ClassVar[str] = "policy.lapsed"
    term_end: str


@dataclass(frozen=True, kw_only=True)
class _AllocationEvent(DomainEvent):
    subject: ClassVar[str] = "allocation_id"
    allocation_id: str
    obligation_id: str
    policy_id: str
    policy_number: str
    exchange_id: str
    insurer_id: str
    amount: dict


@dataclass(frozen=True, kw_only=True)
class AllocationAttached(_AllocationEvent):
    kind: ClassVar[str] = "allocation.attached"


@dataclass(frozen=True, kw_only=True)
class AllocationDetached(_AllocationEvent):
    kind: ClassVar[str] = "allocation.detached"


@dataclass(frozen=True, kw_only=True)
class ObligationComputed(DomainEvent):
    kind: ClassVar[str] = "obligation.computed"
    subject: ClassVar[str] = "obligation_id"
    obligation_id: str
    exchange_id: str
    period: str
    revision: int
    total: dict
    ruleset: str
    previous_id: str | None  # the revision this one supersedes (its certificates are revoked)


@dataclass(frozen=True, kw_only=True)
class ReserveShortfall(DomainEvent):
    kind: ClassVar[str] = "reserve.shortfall"
    subject: ClassVar[str] = "obligation_id"
    obligation_id: str
    exchange_id: str
    period: str
    net_reserve_required: dict
    cash_held: dict | None
    shortfall: dict
    checked_at: str


@dataclass(frozen=True, kw_only=True)
class _CertificateEvent(DomainEvent):
    subject: ClassVar[str] = "certificate_id"
    certificate_id: str
    exchange_id: str
    period: str
    insurer_ids: list[str]


@dataclass(frozen=True, kw_only=True)
class CertificateIssued(_CertificateEvent):
    kind: ClassVar[str] = "certificate.issued"
    obligation: dict
    insurance_offset: dict
    net_reserve_required: dict
    valid_until: str


@dataclass(frozen=True, kw_only=True)
class CertificateRevoked(_CertificateEvent):
    kind: ClassVar[str] = "certificate.revoked"
    reason: str
    revoked_at: str


@dataclass(frozen=True, kw_only=True)
class _InsurerEvent(DomainEvent):
    subject: ClassVar[str] = "insurer_id"
    insurer_id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class InsurerApproved(_InsurerEvent):
    kind: ClassVar[str] = "insurer.approved"


@dataclass(frozen=True, kw_only=True)
class InsurerSuspended(_InsurerEvent):
    kind: ClassVar[str] = "insurer.suspended"
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class InsurerRatingChanged(_InsurerEvent):
    kind: ClassVar[str] = "insurer.rating_changed"
    old: str | None
    new: str | None
    reason: str | None


KINDS: dict[str, type[DomainEvent]] = {cls.kind: cls for cls in (
    PolicyBound, PolicyAmended, PolicyCancelled, PolicyLapsed, AllocationAttached, AllocationDetached,
    ObligationComputed, ReserveShortfall, CertificateIssued, CertificateRevoked, InsurerApproved,
    InsurerSuspended, InsurerRatingChanged)}


def from_row(kind: str, payload: dict) -> DomainEvent | None:
    """Rebuild a stored event; None for a kind this version no longer knows (the relay fails it, alone)."""
    cls = KINDS.get(kind)
    if cls is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in payload.items() if k in names})
