"""Visibility of API clients: a regulator sees those of the organizations it sees; others their own."""

from __future__ import annotations

from sqlalchemy import select

from ..registry.models import Organization
from ..tenancy import rule, where
from .models import OAuthClient


@rule(OAuthClient)
def _clients(p):
    if p.kind == "regulator":
        return OAuthClient.org_id.in_(select(Organization.id).where(where(Organization)))
    return OAuthClient.org_id == p.org_id
