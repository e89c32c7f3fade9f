"""An obligation's offset report read in one statement (issue 15: the report's route is among the hottest).

The statement carries what obligations.offset_for reads in four: the obligation as the caller may see it, its live
allocations with their policies and insurers (allocation_rows), the approvals of those insurers (approval_rows) and
the reference rates of its period's start (fx.latest_on), the last three as JSON columns (db.lists.json_rows). The
arithmetic is the same: obligations.offset_of over the same domain objects, built by the same domain_of.
"""

from __future__ import annotations

import json
from collections import namedtuple
from datetime import date

from sqlalchemy import String, bindparam, select

from ..db.lists import by_dialect, json_rows, rows_in_order
from ..errors import NotFound
from ..extensions import db, plain_rows
from ..fx import service as fx
from ..obligations import service as obligations
from ..obligations.models import ObligationRecord
from ..policies.models import Policy
from ..registry.models import InsurerApproval
from ..tenancy import statement_for_kind, where
from .models import Allocation
from .service import allocation_rows, approval_rows, domain_of

_ID = bindparam("obligation_id", type_=String)
_LIVE_INSURERS = (select(Policy.insurer_id).join(Allocation, Allocation.policy_id == Policy.id)
                  .where(Allocation.obligation_id == _ID, Allocation.status == "live"))
_PERIOD_START = select(ObligationRecord.period_start).where(ObligationRecord.id == _ID).correlate(None)
_ALLOCS = allocation_rows(Allocation.obligation_id == _ID)
_APPROVALS = approval_rows(InsurerApproval.insurer_id.in_(_LIVE_INSURERS))
_RATES = fx.latest_on(_PERIOD_START.scalar_subquery())
_INPUTS = by_dialect(lambda pg: (
    json_rows(_ALLOCS, (_ALLOCS.selected_columns.id,), pg).label("allocations"),
    json_rows(_APPROVALS, (_APPROVALS.selected_columns.insurer_id, _APPROVALS.selected_columns.regulator_id), pg)
    .label("approvals"),
    json_rows(_RATES, (_RATES.selected_columns.base, _RATES.selected_columns.quote, _RATES.selected_columns.source),
              pg).label("rates")))
_AllocationRow = namedtuple("_AllocationRow", [c.key for c in _ALLOCS.selected_columns])


def _allocation(row: tuple) -> _AllocationRow:
    """An allocation_rows row read back as JSON: dates as ISO text, and on SQLite a JSON column as its text and a
    boolean as 0 or 1 (domain_of takes bool() of it)."""
    a = _AllocationRow(*row)
    perils, territories = (json.loads(v) if isinstance(v, str) else v for v in (a.perils, a.territories))
    return a._replace(perils=perils, territories=territories, term_start=date.fromisoformat(a.term_start),
                      term_end=date.fromisoformat(a.term_end))


def offset_report(obligation_id: str):
    """(obligation row, offset report, rule-set) of an obligation the caller may see, in one statement; NotFound
    for any other id, as tenancy.get_visible says it. The row has ObligationRecord's columns."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    stmt, params = statement_for_kind(("offset report", postgres), lambda: select(
        *ObligationRecord.__table__.c, *_INPUTS[postgres]).where(ObligationRecord.id == _ID, where(ObligationRecord)))
    row = plain_rows(stmt, {"obligation_id": obligation_id, **params}).first() if obligation_id else None
    if row is None:
        raise NotFound(f"no obligation {obligation_id}")
    allocations = domain_of([row.id], [_allocation(a) for a in rows_in_order(row.allocations)],
                            rows_in_order(row.approvals))[row.id]
    return row, *obligations.offset_of(row, allocations, [fx.rate_of(*r) for r in rows_in_order(row.rates)])
