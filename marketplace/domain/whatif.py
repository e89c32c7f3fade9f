"""What-if: how much more eligible cover an exchange needs to bring its net cash reserve to a target."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from .errors import DomainError
from .fx import FxRate
from .money import Money, exponent
from .offset import Offset
from .rulesets import RuleSet


@dataclass(frozen=True)
class WhatIf:
    target: Money
    achievable: bool
    extra_eligible_needed: Money
    lowest_net_reserve: Money
    limit_needed: Money | None
    assumptions: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "target_net_reserve": self.target.as_dict(), "achievable": self.achievable,
            "extra_eligible_needed": self.extra_eligible_needed.as_dict(),
            "lowest_net_reserve": self.lowest_net_reserve.as_dict(),
            "limit_needed": self.limit_needed.as_dict() if self.limit_needed else None,
            "assumptions": self.assumptions,
        }


def what_if(offset: Offset, target: Money, rs: RuleSet, rating: str | None = None,
            currency: str | None = None, fx: FxRate | None = None) -> WhatIf:
    """Extra eligible cover to reach `target`, and the policy limit that would give it.

    The limit assumes new cover from an insurer not yet used, with no deductible, at `rating`'s
    haircut and, for another `currency`, at `fx` with the FX-mismatch haircut; rounded up.
    """
    ob = offset.obligation
    if target.currency != ob.currency:
        raise DomainError(f"target must be in {ob.currency}")
    if target.amount < 0:
        raise DomainError("target must not be negative")
    insurance_cap = ob.scale(rs.value("max_insurance_share"), rs.rounding).min(ob)
    lowest = ob - insurance_cap.max(offset.total)
    needed = (offset.net_reserve - target).max(Money.zero(ob.currency))
    achievable = target >= lowest
    reachable = needed.min(ob - lowest - offset.total).max(Money.zero(ob.currency))
    currency = currency or ob.currency
    factor = Decimal(1) - rs.value("rating_haircuts", {}).get(rating, Decimal(0))
    assumptions = {"rating": rating or "unrated (no haircut table entry)", "currency": currency,
                   "deductible": "0", "haircut": str(1 - factor)}
    if currency != ob.currency:
        if fx is None or fx.base != currency or fx.quote != ob.currency:
            raise DomainError(f"a reference rate {currency}/{ob.currency} is needed")
        factor *= fx.rate.scaleb(exponent(ob.currency) - exponent(currency))
        factor *= 1 - rs.value("fx_mismatch_haircut")
        assumptions.update(fx_rate=str(fx.rate), fx_as_of=fx.as_of.isoformat(), fx_source=fx.source,
                           fx_mismatch_haircut=str(rs.value("fx_mismatch_haircut")))
    limit = None
    if factor > 0:
        limit = Money(int((Decimal(reachable.amount) / factor).to_integral_value(ROUND_CEILING)), currency)
    return WhatIf(target, achievable, reachable, lowest, limit, assumptions)
