"""Visibility of reported facts: the exchange's own, and the regulator's exchanges'."""

from ..registry.access import visible_exchange_ids
from ..tenancy import rule
from .models import (
    CustodyBalanceRecord,
    FixedOverheads,
    IncidentRecord,
    MonthlyVolume,
    ReportRevision,
    ReserveBalanceRecord,
)

for _model in (MonthlyVolume, CustodyBalanceRecord, IncidentRecord, FixedOverheads, ReserveBalanceRecord,
               ReportRevision):
    rule(_model)(lambda p, m=_model: m.exchange_id.in_(visible_exchange_ids()))
