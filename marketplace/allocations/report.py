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

from ..db.lists import by_dialect, json_text, json_text_rows, rows_in_order
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
_RATES = by_dialect(lambda pg: fx.latest_on(_PERIOD_START.scalar_subquery(), pg))
# Every input of the report, the JSON ones as their text (not decoded): the row read is hashable, and a route may
# key what it computes from it by the row itself (a key that names one answer forever).
_PLAIN = [c for c in ObligationRecord.__table__.c if c.key != "lines"]  # then lines, as text
_COLUMNS = by_dialect(lambda pg: (
    *_PLAIN,
    json_text(ObligationRecord.lines, pg).label("lines"),
    json_text_rows(_ALLOCS, (_ALLOCS.selected_columns.id,), pg).label("allocations"),
    json_text_rows(_APPROVALS, (_APPROVALS.selected_columns.insurer_id, _APPROVALS.selected_columns.regulator_id),
                   pg).label("approvals"),
    json_text_rows(_RATES[pg], (_RATES[pg].selected_columns.base, _RATES[pg].selected_columns.quote,
                                _RATES[pg].selected_columns.source), pg).label("rates")))
_AllocationRow = namedtuple("_AllocationRow", [c.key for c in _ALLOCS.selected_columns])
_Obligation = namedtuple("_Obligation", [*(c.key for c in _PLAIN), "lines"])


def _allocation(row: tuple) -> _AllocationRow:
    """An allocation_rows row read back as JSON: dates as ISO text, and on SQLite a JSON column as its text and a
    boolean as 0 or 1 (domain_of takes bool() of it)."""
    a = _AllocationRow(*row)
    perils, territories = (json.loads(v) if isinstance(v, str) else v for v in (a.perils, a.territories))
    return a._replace(perils=perils, territories=territories, term_start=date.fromisoformat(a.term_start),
                      term_end=date.fromisoformat(a.term_end))


def _rows(text: str | None) -> list[tuple]:
    return rows_in_order(json.loads(text) if text else None)


def offset_inputs(obligation_id: str) -> tuple:
    """Every input of the offset report of an obligation the caller may see, read in one statement, as a tuple of
    plain values (the JSON ones as text): two equal tuples give the same report. NotFound for any other id, as
    tenancy.get_visible says it."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    stmt, params = statement_for_kind(("offset report", postgres), lambda: select(*_COLUMNS[postgres]).where(
        ObligationRecord.id == _ID, where(ObligationRecord)))
    row = plain_rows(stmt, {"obligation_id": obligation_id, **params}).first() if obligation_id else None
    if row is None:
        raise NotFound(f"no obligation {obligation_id}")
    return tuple(row)


def offset_report(obligation_id: str):
    """(obligation row, offset report, rule-set) of an obligation the caller may see, read in one statement;
    NotFound for any other id. The row has ObligationRecord's columns."""
    return report_of(offset_inputs(obligation_id))


def report_of(inputs: tuple):
    """offset_report() from what offset_inputs() read."""
    n = len(_Obligation._fields)
    row = _Obligation(*inputs[:n])
    row = row._replace(lines=json.loads(row.lines))
    allocations_text, approvals_text, rates_text = inputs[n:]
    allocations = domain_of([row.id], [_allocation(a) for a in _rows(allocations_text)], _rows(approvals_text))[row.id]
    return row, *obligations.offset_of(row, allocations, [fx.rate_of(*r) for r in _rows(rates_text)])
