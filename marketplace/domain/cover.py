"""Insurance cover as plain data: insurers, policies and allocations of policy limit.

Perils are a per-jurisdiction vocabulary: each rule-set (version 2 on) declares its jurisdiction's list
(`perils.vocabulary`) and those a policy must cover (`perils.required`). A policy may name any peril of
any vocabulary, so PERILS is their union, and keeps the codes version-1 rule-sets and existing policies
use. PERIL_NAMES says each in words (English: the domain's reasons; the portal translates its own labels).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .money import Money

# The perils of each jurisdiction, as its version-2 rule-set declares them (perils.vocabulary)
VOCABULARIES: dict[str, tuple[str, ...]] = {
    # JP: the working group's risks: a hack (unauthorised outflow), insider fraud, operational failure
    "JP": ("theft_hack", "insider_fraud", "operational_failure"),
    # EU: the seven risks of MiCA Art. 67(6) (custodian liability: Art. 75(8))
    "EU": ("loss_of_documents", "misrepresentation", "breach_of_duty", "conflicts_of_interest",
           "business_disruption", "gross_negligence_safeguarding", "custodian_liability"),
    # HK: the SFC names no perils, only "risks associated with the custody of client virtual assets"
    "HK": ("custody_risk",),
}
# Codes only version-1 rule-sets and policies registered under them use
LEGACY_PERILS = ("custodian_failure", "professional_liability")

V1_PERILS = ("theft_hack", "insider_fraud", "operational_failure", "custodian_failure", "professional_liability",
             "business_disruption", "loss_of_documents")  # version 1's list, in its order
PERILS: tuple[str, ...] = tuple(dict.fromkeys((*V1_PERILS, *(p for v in VOCABULARIES.values() for p in v))))

PERIL_NAMES: dict[str, str] = {
    "theft_hack": "theft or hack (unauthorised outflow)",
    "insider_fraud": "insider fraud",
    "operational_failure": "operational failure",
    "custodian_failure": "custodian failure",
    "professional_liability": "professional liability",
    "business_disruption": "business disruption or system failures",
    "loss_of_documents": "loss of documents",
    "misrepresentation": "misrepresentations or misleading statements",
    "breach_of_duty": "breach of legal or regulatory duties, of the duty to act honestly, fairly and "
                      "professionally, or of confidentiality",
    "conflicts_of_interest": "failure to manage conflicts of interest",
    "gross_negligence_safeguarding": "gross negligence in safeguarding clients' crypto-assets and funds",
    "custodian_liability": "custodian liability to clients (MiCA Art. 75(8))",
    "custody_risk": "risks of the custody of client virtual assets",
}


def peril_words(codes) -> str:
    """Peril codes in words, in the order given: "insider fraud, operational failure"."""
    return ", ".join(PERIL_NAMES.get(c, c) for c in codes)


@dataclass(frozen=True, slots=True)
class Insurer:
    id: str
    name: str
    rating: str | None  # the rating the obligation's regulator gives it (its approval's rating)
    approved_in: frozenset[str]  # jurisdictions whose regulator currently approves this insurer
    group: str | None = None  # the financial group it belongs to (MiCA Art. 67(5): third party)


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
    territories: frozenset[str] | None = None  # where the cover applies (ISO 3166 alpha-2 or EU); None: not recorded
    insured_group: str | None = None  # the financial group of the insured exchange

    @property
    def currency(self) -> str:
        return self.limit.currency


@dataclass(frozen=True, slots=True)
class Allocation:
    id: str
    policy: Policy
    amount: Money  # in the policy currency
