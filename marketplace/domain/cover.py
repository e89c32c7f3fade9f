"""Insurance cover as plain data: insurers, policies and allocations of policy limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .money import Money

PERILS = ("theft_hack", "insider_fraud", "operational_failure", "custodian_failure",
          "professional_liability", "business_disruption", "loss_of_documents")


@dataclass(frozen=True, slots=True)
class Insurer:
    id: str
    name: str
    rating: str | None
    approved_in: frozenset[str]  # jurisdictions whose regulator currently approves this insurer


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    number: str
    insurer: Insurer
    insured_id: str
    limit: Money
    deductible: Money
    perils: frozenset[str]
    term_start: date
    term_end: date  # inclusive
    cancellation_notice_days: int
    status: str = "active"  # active | cancelled | lapsed
    attested: bool = False  # this revision carries a valid insurer attestation

    @property
    def currency(self) -> str:
        return self.limit.currency


@dataclass(frozen=True, slots=True)
class Allocation:
    id: str
    policy: Policy
    amount: Money  # in the policy currency
