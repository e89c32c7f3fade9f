"""The offset report's route reads in one statement (allocations.report) what obligations.offset_for reads in four,
and the statement is built once per kind of principal (tenancy.statement_for_kind): the same report as offset_for
on both backends, and each caller still sees only what its own rules let it see."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from flask import g
from sqlalchemy import select, update

from marketplace.allocations.models import Allocation
from marketplace.allocations.report import offset_report
from marketplace.domain.fx import FxRate
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.fx import service as fx
from marketplace.obligations import service as obligations
from marketplace.obligations.models import ObligationRecord
from marketplace.policies.models import Policy
from marketplace.registry.models import Exchange, Organization
from marketplace.web.guard import Principal
from tests.bearer import bearer_headers
from tests.sql_statements import statements


def as_(org: Organization) -> Principal:
    return Principal(org.id, org.kind, org.jurisdiction, org.name, "test", frozenset({"obligations:read"}))


def both_ways(app, who: Principal, ob_id: str):
    """(the one-statement report, offset_for's report) as this principal, each in its own request."""
    with app.test_request_context():
        g.principal = who
        row, report, rs = offset_report(ob_id)
        one = (row.id, row.revision, report.as_dict(), rs.ref)
    db.session.remove()
    with app.test_request_context():
        g.principal = who
        ob = db.session.get(ObligationRecord, ob_id)
        report, rs = obligations.offset_for(ob)
        four = (ob.id, ob.revision, report.as_dict(), rs.ref)
    db.session.remove()
    return one, four


def test_the_one_statement_report_is_offset_for_s_on_every_demo_obligation(demo):
    # what the JSON columns must carry back exactly: territories (a JSON list), a rate dated after the period
    # starts (never chosen) and an older one of the same pair (superseded)
    db.session.execute(update(Policy).values(territories=["JP", "HK"]).where(Policy.number == "TMC-USD-0042"))
    start = db.session.scalar(select(ObligationRecord.period_start).join(Allocation).limit(1))
    fx.record(FxRate("USD", "JPY", Decimal("999.5"), start + timedelta(days=1), "Later fixing"))
    fx.record(FxRate("USD", "JPY", Decimal("101.25"), date(2020, 1, 2), "Old fixing"))
    db.session.commit()
    compared = 0
    for ob in db.session.scalars(select(ObligationRecord)).all():
        exchange = db.session.get(Exchange, ob.exchange_id)
        for org_id in (ob.exchange_id, exchange.regulator_id):
            one, four = both_ways(demo, as_(db.session.get(Organization, org_id)), ob.id)
            assert one == four
            compared += bool(one[2]["allocations"])
    assert compared >= 2  # the JP obligation with its three allocations (one in USD), as exchange and regulator


def test_each_caller_sees_only_its_own_whatever_kind_built_the_statement_first(demo):
    orgs = {o.name: o for o in db.session.scalars(select(Organization))}
    sakura, rhein = orgs["Sakura Digital Exchange"], orgs["Rhein Crypto Markets"]
    mine = db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=sakura.id).limit(1))
    theirs = obligations.compute(db.session.get(Exchange, rhein.id), "2027-Q1", "test").id
    db.session.commit()
    jfsa = db.session.get(Organization, db.session.get(Exchange, sakura.id).regulator_id)
    other_regulator = db.session.get(Organization, db.session.get(Exchange, rhein.id).regulator_id)
    for who, visible, hidden in ((sakura, mine, theirs), (rhein, theirs, mine), (jfsa, mine, theirs),
                                 (other_regulator, theirs, mine), (sakura, mine, theirs)):
        with demo.test_request_context():
            g.principal = as_(who)
            assert offset_report(visible)[0].id == visible
            for ob_id in (hidden, "no-such-obligation", ""):
                try:
                    offset_report(ob_id)
                except NotFound as e:
                    assert str(e) == f"no obligation {ob_id}"  # the same words as for an id that does not exist
                else:
                    raise AssertionError(f"{who.name} saw obligation {ob_id!r}")
        db.session.remove()


def test_the_route_reads_the_token_and_then_one_statement(demo):
    sakura = db.session.scalar(select(Organization).filter_by(name="Sakura Digital Exchange"))
    ob_id = db.session.scalar(select(ObligationRecord.id).join(Allocation).filter(
        ObligationRecord.exchange_id == sakura.id).limit(1))
    headers = bearer_headers(demo, sakura, ["obligations:read"])
    client = demo.test_client()
    assert client.get(f"/api/v1/obligations/{ob_id}/offset", headers=headers).status_code == 200
    with statements() as seen:
        r = client.get(f"/api/v1/obligations/{ob_id}/offset", headers=headers)
    assert r.status_code == 200 and len(r.json["allocations"]) == 3, r.json
    assert len(seen) == 2 and "oauth_tokens" in seen[0] and "allocations" in seen[1], seen


def test_the_route_keeps_its_answer_by_every_input_and_shows_a_change_made_elsewhere_next(demo):
    """GET .../offset keeps each answer under the report's inputs as just read (the statement's row, JSON as
    text): a repeat computes nothing, and a change to anything the report is computed from, made on another
    connection as another worker would, shows in the very next answer, equal to offset_for's."""
    from marketplace.allocations import routes
    from marketplace.registry.models import InsurerApproval

    sakura = db.session.scalar(select(Organization).filter_by(name="Sakura Digital Exchange"))
    ob_id = db.session.scalar(select(ObligationRecord.id).join(Allocation).filter(
        ObligationRecord.exchange_id == sakura.id).limit(1))
    headers = bearer_headers(demo, sakura, ["obligations:read"])
    me, regulator = as_(sakura), db.session.get(Exchange, sakura.id).regulator_id
    allocation = db.session.scalar(select(Allocation).filter_by(obligation_id=ob_id, status="live")
                                   .order_by(Allocation.id).limit(1))
    alloc_id, amount = allocation.id, allocation.amount
    insurer = db.session.get(Policy, allocation.policy_id).insurer_id
    client = demo.test_client()
    path = f"/api/v1/obligations/{ob_id}/offset"

    def answer() -> tuple[bytes, dict]:
        db.session.remove()
        r = client.get(path, headers=headers)
        assert r.status_code == 200 and r.mimetype == "application/json", r.get_data()
        return r.get_data(), r.json

    def offset_for() -> dict:
        _, four = both_ways(demo, me, ob_id)
        return four[2]

    def elsewhere(stmt) -> None:
        with db.engine.begin() as conn:
            conn.execute(stmt)

    def agrees(doc: dict) -> bool:  # the route's answer is offset_for's report, its obligation named in full
        ref = offset_for()
        return all(doc[k] == v for k, v in ref.items() if k != "obligation") \
            and ref["obligation"].items() <= doc["obligation"].items()

    first, doc = answer()
    hits = routes._REPORTS.hits
    again, _ = answer()
    assert again == first and routes._REPORTS.hits == hits + 1  # nothing changed: kept, not computed again
    assert agrees(doc)

    elsewhere(update(Allocation).where(Allocation.id == alloc_id).values(amount=amount // 2))
    halved, doc = answer()
    assert halved != first and agrees(doc)
    assert str(amount // 2) in {a["allocated"]["amount"] for a in doc["allocations"]}, doc["allocations"]

    elsewhere(update(InsurerApproval).where(InsurerApproval.insurer_id == insurer,
                                            InsurerApproval.regulator_id == regulator).values(rating="CCC"))
    downgraded, doc = answer()
    assert downgraded != halved and agrees(doc)
