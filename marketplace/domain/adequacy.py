"""Reserve adequacy: is the cash an exchange holds at least the net reserve it must hold?

shortfall = max(0, net reserve required - cash held); no reported cash counts as none held. Cash is
reported in the jurisdiction's currency (the reports API enforces it), the same as the obligation's.
"""

from __future__ import annotations

from .errors import DomainError
from .money import Money


def shortfall(net_required: Money, cash_held: Money | None) -> Money:
    if cash_held is None:
        return net_required if net_required.amount > 0 else Money(0, net_required.currency)
    if cash_held.currency != net_required.currency:
        raise DomainError(f"cash held is in {cash_held.currency}, the reserve in {net_required.currency}")
    return Money(max(0, net_required.amount - cash_held.amount), net_required.currency)
