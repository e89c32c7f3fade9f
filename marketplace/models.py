"""Every feature's models, imported so the metadata (and Alembic) sees all tables."""

from .allocations.models import Allocation
from .attestations.models import Attestation
from .auth.models import OAuthClient, OAuthToken, User, UserLink
from .certificates.models import Certificate, CertificateCoverage, StatusList
from .events.models import Delivery, Event
from .fx.models import FxRateRecord
from .keys.models import SigningKey
from .market.models import CoverageRequest, Offering
from .obligations.models import ObligationRecord
from .policies.models import Policy, PolicyRevision
from .registry.models import Custodian, Exchange, ExchangeCustodian, InsurerApproval, Organization, OrgHistory
from .reports.models import (
    CustodyBalanceRecord,
    FixedOverheads,
    IncidentRecord,
    MonthlyVolume,
    ReportRevision,
    ReserveBalanceRecord,
)
from .rulesets.models import RuleSetVersion
from .tlog.models import Checkpoint, LogEntry, LogNode, LogState
from .web.idempotency import IdempotencyKey
from .webhooks.models import WebhookDelivery, WebhookSubscription

__all__ = [
    "Allocation",
    "Attestation",
    "Certificate",
    "CertificateCoverage",
    "Checkpoint",
    "CoverageRequest",
    "Custodian",
    "CustodyBalanceRecord",
    "Delivery",
    "Event",
    "Exchange",
    "ExchangeCustodian",
    "FixedOverheads",
    "FxRateRecord",
    "IdempotencyKey",
    "IncidentRecord",
    "InsurerApproval",
    "LogEntry",
    "LogNode",
    "LogState",
    "MonthlyVolume",
    "OAuthClient",
    "OAuthToken",
    "ObligationRecord",
    "Offering",
    "OrgHistory",
    "Organization",
    "Policy",
    "PolicyRevision",
    "ReportRevision",
    "ReserveBalanceRecord",
    "RuleSetVersion",
    "SigningKey",
    "StatusList",
    "User",
    "UserLink",
    "WebhookDelivery",
    "WebhookSubscription",
]
