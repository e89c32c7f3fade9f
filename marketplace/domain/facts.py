"""Facts an exchange reports, as plain data. Amounts are in the rule-set currency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .money import Money

INCIDENT_KINDS = ("hack", "insider_fraud", "operational_failure", "custodian_failure", "other")
PRODUCT_CLASSES = ("spot", "derivatives", "margin", "lending", "staking")


@dataclass(frozen=True, slots=True)
class Volume:
    month: date  # first day of the month
    product_class: str
    amount: Money


@dataclass(frozen=True, slots=True)
class CustodyBalance:
    as_of: date
    wallet: str  # hot | cold | other (storage that is neither hot nor cold: HK)
    amount: Money


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    occurred_on: date
    kind: str
    loss: Money  # customer loss
    compensated: Money  # part of the loss already repaid to customers

    @property
    def uncompensated(self) -> bool:
        return self.compensated < self.loss


@dataclass(frozen=True, slots=True)
class Custodian:
    id: str
    name: str
    registered: bool


@dataclass(frozen=True, slots=True)
class Overheads:
    fiscal_year: int
    amount: Money  # total expenses after distribution of profits (MiCA Art. 67(3)), or projected (Art. 67(2))
    projected: bool = False  # a first-year firm's projected overheads for its first 12 months
    deductions: int = 0  # minor units of amount's currency: the items Art. 67(3) subtracts

    @property
    def net(self) -> Money:
        """The overheads net of the Art. 67(3) deductions."""
        return Money(self.amount.amount - self.deductions, self.amount.currency)


@dataclass(frozen=True)
class ExchangeFacts:
    exchange_id: str
    name: str
    licence_number: str
    jurisdiction: str
    volumes: tuple[Volume, ...] = ()
    custody: tuple[CustodyBalance, ...] = ()
    incidents: tuple[Incident, ...] = ()
    custodians: tuple[Custodian, ...] = ()
    service_classes: tuple[int, ...] = ()  # MiCA Annex IV classes the firm is authorised for
    overheads: tuple[Overheads, ...] = field(default=())


def fingerprint(facts: ExchangeFacts) -> str:
    """sha256 of the canonical JSON of the facts, independent of their order."""
    import hashlib

    import rfc8785

    def money(m: Money) -> list[str]:
        return [str(m.amount), m.currency]

    doc = {
        "exchange": facts.exchange_id, "jurisdiction": facts.jurisdiction,
        "volumes": sorted([v.month.isoformat(), v.product_class, *money(v.amount)] for v in facts.volumes),
        "custody": sorted([c.as_of.isoformat(), c.wallet, *money(c.amount)] for c in facts.custody),
        "incidents": sorted([i.id, i.occurred_on.isoformat(), i.kind, *money(i.loss), *money(i.compensated)]
                            for i in facts.incidents),
        "custodians": sorted([c.id, c.name, str(c.registered)] for c in facts.custodians),
        "service_classes": sorted(str(c) for c in facts.service_classes),
        # projected and deductions only when reported, so that facts without them keep their fingerprint
        "overheads": sorted([str(o.fiscal_year), *money(o.amount)]
                            + (["projected" if o.projected else "actual", str(o.deductions)]
                               if o.projected or o.deductions else []) for o in facts.overheads),
    }
    return "sha256:" + hashlib.sha256(rfc8785.dumps(doc)).hexdigest()
