from sqlalchemy import false, select

from ..policies.models import Policy
from ..registry.models import Exchange
from ..tenancy import rule
from .models import Allocation


@rule(Allocation)
def _allocations(p):
    if p.kind == "exchange":
        return Allocation.exchange_id == p.org_id
    if p.kind == "regulator":
        return Allocation.exchange_id.in_(select(Exchange.org_id).where(Exchange.regulator_id == p.org_id))
    if p.kind == "insurer":
        return Allocation.policy_id.in_(select(Policy.id).where(Policy.insurer_id == p.org_id))
    return false()
