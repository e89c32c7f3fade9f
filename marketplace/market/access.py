from sqlalchemy import false, or_, select

from ..registry.models import Exchange
from ..tenancy import rule
from .models import CoverageRequest, Offering


@rule(Offering)
def _offerings(p):
    """Listed offerings are the public market; an insurer also sees its own drafts and withdrawn ones."""
    return or_(Offering.status == "listed", Offering.insurer_id == p.org_id)


@rule(CoverageRequest)
def _requests(p):
    if p.kind == "exchange":
        return CoverageRequest.exchange_id == p.org_id
    if p.kind == "insurer":
        return CoverageRequest.insurer_id == p.org_id
    if p.kind == "regulator":
        return CoverageRequest.exchange_id.in_(select(Exchange.org_id).where(Exchange.regulator_id == p.org_id))
    return false()
