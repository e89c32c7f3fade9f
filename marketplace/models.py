"""Every feature's models, imported so the metadata (and Alembic) sees all tables."""

from .fx.models import FxRateRecord
from .obligations.models import ObligationRecord
from .registry.models import Custodian, Exchange, ExchangeCustodian, InsurerApproval, Organization, OrgHistory, User
from .reports.models import CustodyBalanceRecord, FixedOverheads, IncidentRecord, MonthlyVolume
from .rulesets.models import RuleSetVersion

__all__ = [
    "Custodian", "CustodyBalanceRecord", "Exchange", "ExchangeCustodian", "FixedOverheads", "FxRateRecord",
    "IncidentRecord", "InsurerApproval", "MonthlyVolume", "ObligationRecord", "OrgHistory", "Organization",
    "RuleSetVersion", "User",
]
