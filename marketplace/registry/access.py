"""Visibility rules for registry models (see marketplace.tenancy)."""

from __future__ import annotations

from sqlalchemy import and_, false, or_, select

from ..tenancy import rule, where
from .models import Custodian, Exchange, ExchangeCustodian, InsurerApproval, Organization, OrgHistory


@rule(Organization)
def _organizations(p):
    if p.kind == "regulator":
        mine = select(InsurerApproval.insurer_id).where(InsurerApproval.regulator_id == p.org_id)
        return or_(Organization.id == p.org_id, Organization.id.in_(mine),
                   and_(Organization.kind.in_(["exchange", "custodian"]), Organization.jurisdiction == p.jurisdiction))
    return Organization.id == p.org_id


@rule(Exchange)
def _exchanges(p):
    if p.kind == "regulator":
        return Exchange.regulator_id == p.org_id
    if p.kind == "exchange":
        return Exchange.org_id == p.org_id
    return false()


@rule(Custodian)
def _custodians(p):
    if p.kind == "regulator":
        return Custodian.org_id.in_(select(Organization.id).where(Organization.kind == "custodian",
                                                                  Organization.jurisdiction == p.jurisdiction))
    if p.kind == "exchange":
        return Custodian.org_id.in_(select(ExchangeCustodian.custodian_id)
                                    .where(ExchangeCustodian.exchange_id == p.org_id))
    return Custodian.org_id == p.org_id


@rule(OrgHistory)
def _history(p):
    return OrgHistory.org_id.in_(select(Organization.id).where(where(Organization)))


def visible_exchange_ids():
    """A subquery of the exchange ids the caller may see (for report and obligation rules)."""
    return select(Exchange.org_id).where(where(Exchange))
