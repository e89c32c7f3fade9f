from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace import models
from marketplace.domain.money import Money
from marketplace.errors import Conflict, NotFound, Unprocessable
from marketplace.extensions import db
from marketplace.registry import service as registry
from marketplace.reports import service as reports


def _world():
    fsa, _ = registry.ensure_regulator("FSA", "JP", "t")
    ex = registry.register_exchange("X", "LIC-1", fsa, "t")
    return fsa, ex


def test_licence_unique_per_jurisdiction(app):
    fsa, _ = _world()
    with pytest.raises(Conflict):
        registry.register_exchange("Y", "LIC-1", fsa, "t")
    hk, _ = registry.ensure_regulator("SFC", "HK", "t")
    registry.register_exchange("Z", "LIC-1", hk, "t")  # same number elsewhere is fine
    with pytest.raises(Conflict):
        registry.find_exchange("LIC-1")
    assert registry.find_exchange("LIC-1", "HK").org.name == "Z"
    with pytest.raises(NotFound):
        registry.find_exchange("nope")


def test_database_enforces_unique_volume_row(app):
    _, ex = _world()
    db.session.add(models.MonthlyVolume(exchange_id=ex.org_id, month=date(2026, 1, 1), product_class="spot",
                                        amount=1, currency="JPY", recorded_by="t"))
    db.session.add(models.MonthlyVolume(exchange_id=ex.org_id, month=date(2026, 1, 1), product_class="spot",
                                        amount=2, currency="JPY", recorded_by="t"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_database_refuses_negative_amounts_and_overcompensation(app):
    _, ex = _world()
    db.session.commit()
    db.session.add(models.IncidentRecord(exchange_id=ex.org_id, occurred_on=date(2026, 1, 1), kind="hack",
                                         loss=10, compensated=11, currency="JPY", recorded_by="t"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_correction_bumps_revision_and_keeps_who(app):
    _, ex = _world()
    row = reports.record_volume(ex, date(2026, 1, 1), "spot", Money(100, "JPY"), "alice")
    assert row.revision == 1
    same = reports.record_volume(ex, date(2026, 1, 1), "spot", Money(100, "JPY"), "bob")
    assert same.revision == 1 and same.recorded_by == "alice"
    fixed = reports.record_volume(ex, date(2026, 1, 1), "spot", Money(150, "JPY"), "bob")
    assert (fixed.id, fixed.revision, fixed.amount, fixed.recorded_by) == (row.id, 2, 150, "bob")
    with pytest.raises(Unprocessable):
        reports.record_volume(ex, date(2026, 1, 2), "spot", Money(1, "JPY"), "bob")


def test_status_and_rating_history(app):
    fsa, _ = _world()
    ins = registry.create_org("insurer", "Ins", None, "t")
    registry.set_insurer_status(ins, fsa, "pending", "alice")
    registry.set_insurer_status(ins, fsa, "approved", "bob", "capital checked")
    registry.set_rating(ins, fsa, "A", "bob")
    registry.set_rating(ins, fsa, "A-", "carol", "downgrade")
    assert registry.approved_jurisdictions(ins.id) == frozenset({"JP"})
    registry.set_insurer_status(ins, fsa, "suspended", "dave")
    assert registry.approved_jurisdictions(ins.id) == frozenset()
    hist = db.session.scalars(select(models.OrgHistory).filter_by(org_id=ins.id).order_by(models.OrgHistory.id)).all()
    assert [(h.field, h.old_value, h.new_value, h.changed_by) for h in hist] == [
        ("created", None, "insurer", "t"), ("status:JP", None, "pending", "alice"),
        ("status:JP", "pending", "approved", "bob"), ("rating", None, "A", "bob"),
        ("rating", "A", "A-", "carol"), ("status:JP", "approved", "suspended", "dave")]
    # ratings are per regulator: the change is the JP regulator's, recorded with its jurisdiction
    assert {h.jurisdiction for h in hist if h.field != "created"} == {"JP"}
    assert registry.rating_in(ins.id, "JP") == "A-" and ins.rating is None  # no admission rating asked for
    with pytest.raises(Unprocessable):
        registry.set_rating(ins, fsa, "Z+", "x")


def test_demo_load_is_idempotent(app):
    from marketplace.demo.service import load

    def counts():
        return {m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
                for m in (models.Organization, models.OrgHistory, models.MonthlyVolume, models.IncidentRecord,
                          models.CustodyBalanceRecord, models.RuleSetVersion, models.FxRateRecord,
                          models.ExchangeCustodian, models.InsurerApproval)}

    load()
    db.session.commit()
    first = counts()
    load()
    db.session.commit()
    assert counts() == first
    assert first["organizations"] == 3 + 3 + 2 + 3
    from marketplace.market.models import Offering
    from marketplace.policies.models import Policy

    assert db.session.query(Offering).count() == 3 and db.session.query(Policy).count() == 3
    assert db.session.query(models.Allocation).count() == 3
    assert first["monthly_volumes"] == 24 * (3 + 1 + 1)
    assert first["ruleset_versions"] == 6  # versions 1 and 2 of three rule-sets
