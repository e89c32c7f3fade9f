from sqlalchemy import false, select

from ..registry.models import Exchange
from ..tenancy import rule
from .models import Policy


@rule(Policy)
def _policies(p):
    if p.kind == "insurer":
        return Policy.insurer_id == p.org_id
    if p.kind == "exchange":
        return Policy.insured_id == p.org_id
    if p.kind == "regulator":
        return Policy.insured_id.in_(select(Exchange.org_id).where(Exchange.regulator_id == p.org_id))
    return false()
