from datetime import date

import pytest
from sqlalchemy import select

from marketplace.domain.money import Money
from marketplace.errors import NotFound, Unprocessable
from marketplace.extensions import db
from marketplace.obligations import service as obligations
from marketplace.obligations.models import ObligationRecord
from marketplace.registry import service as registry
from marketplace.reports import service as reports

JP_LICENCE = "Kanto-FB-00099"


def test_demo_jp_obligation_matches_hand_calculation(demo):
    """Demo JP exchange, 2027-Q1 (window 2026-01..2026-12):
    spot: 12 x 4.5tn + (1+2+3+4+0+1+2+3+4+0+1+2 = 23) x 150bn = 57.45tn x 0.0025% = 1,436,250,000
    derivatives: 12 x 3tn + (1+2+0+...=12) x 100bn = 37.2tn x 0.005% = 1,860,000,000
    margin: 12 x 500bn = 6tn x 0.005% = 300,000,000; hot custody 30bn x 1% = 300,000,000
    base 3,896,250,000. Incidents: 2022-03-14 hack age 4 -> 0.20 x 0.2 = 0.04 -> 155,850,000;
    2024-05-31 custodian failure age 2, partly repaid -> 0.15 x 0.6 x 2 = 0.18 -> 701,325,000;
    2025-09-10 operational age 1 -> 0.05 x 0.8 = 0.04 -> 155,850,000; 2019 hack outside look-back.
    Unregistered custodian +25% -> 974,062,500. Total 5,883,337,500 (tier 2: floor 2bn, cap 40bn)."""
    ex = registry.find_exchange(JP_LICENCE)
    row = obligations.compute(ex, "2027-Q1", "test")
    db.session.commit()
    assert row.total == 5_883_337_500 and row.currency == "JPY"
    assert sum(int(ln["amount"]["amount"]) for ln in row.lines) == row.total
    assert (row.ruleset_id, row.ruleset_version, row.revision) == ("JP-FSA-2026", "1", 1)


def test_recompute_only_on_change_and_keeps_old_revision(demo):
    ex = registry.find_exchange(JP_LICENCE)
    first = obligations.compute(ex, "2027-Q1", "test")
    again = obligations.compute(ex, "2027-Q1", "test")
    assert again.id == first.id
    reports.record_incident(ex, date(2026, 8, 1), "hack", Money(1, "JPY"), Money(0, "JPY"), "test")
    second = obligations.compute(ex, "2027-Q1", "test")
    db.session.commit()
    assert second.revision == 2 and second.total > first.total
    rows = db.session.scalars(select(ObligationRecord).order_by(ObligationRecord.revision)).all()
    assert [r.revision for r in rows] == [1, 2]
    assert rows[0].superseded_at is not None and rows[1].superseded_at is None
    assert rows[0].total == 5_883_337_500


def test_other_jurisdictions(demo):
    eu = obligations.compute(registry.find_exchange("DE-CASP-0042"), "2027-Q1", "test")
    hk = obligations.compute(registry.find_exchange("SFC-BPX123"), "2027-Q1", "test")
    assert (eu.total, eu.currency) == (25_000_000, "EUR")  # 1,000,000.00 EUR overheads / 4 > 150,000.00
    assert (hk.total, hk.currency) == (120_000_000_00 + 2_940_000_000_00, "HKD")


def test_bad_requests(demo):
    ex = registry.find_exchange(JP_LICENCE)
    with pytest.raises(Unprocessable, match="period"):
        obligations.compute(ex, "2027-Q9", "test")
    with pytest.raises(NotFound):
        obligations.compute(ex, "2027-Q1", "test", "JP-FSA-2026@9")
    with pytest.raises(Unprocessable, match=r"is for EU"):
        obligations.compute(ex, "2027-Q1", "test", "EU-MiCA-67@1")
    with pytest.raises(Unprocessable, match="2024-12"):
        obligations.compute(ex, "2025-Q1", "test", "JP-FSA-2026@1")  # volumes start 2025-01
    with pytest.raises(NotFound, match="in force"):
        obligations.compute(ex, "2026-Q1", "test")  # JP rule-set effective 2026-04-01
