"""Every feature's models, imported so the metadata (and Alembic) sees all tables."""

from .auth.models import OAuthClient, OAuthToken
from .fx.models import FxRateRecord
from .obligations.models import ObligationRecord
from .registry.models import Custodian, Exchange, ExchangeCustodian, InsurerApproval, Organization, OrgHistory, User
from .reports.models import CustodyBalanceRecord, FixedOverheads, IncidentRecord, MonthlyVolume, ReportRevision
from .rulesets.models import RuleSetVersion
from .web.idempotency import IdempotencyKey

__all__ = [
    "Custodian",
    "CustodyBalanceRecord",
    "Exchange",
    "ExchangeCustodian",
    "FixedOverheads",
    "FxRateRecord",
    "IdempotencyKey",
    "IncidentRecord",
    "InsurerApproval",
    "MonthlyVolume",
    "OAuthClient",
    "OAuthToken",
    "ObligationRecord",
    "OrgHistory",
    "Organization",
    "ReportRevision",
    "RuleSetVersion",
    "User",
]
