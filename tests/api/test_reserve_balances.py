"""Reserve balances (DESIGN 10) and the adequacy check that compares them with the net reserve."""

from datetime import date

from sqlalchemy import select

from marketplace.adequacy import service as adequacy
from marketplace.events.models import Event
from marketplace.extensions import db
from tests.api.test_policies_allocations_api import jpy

R = "/api/v1"


def shortfalls():
    db.session.remove()
    return db.session.scalars(select(Event).filter_by(kind="reserve.shortfall")).all()


def test_report_list_correct_and_refuse(world):
    r = world.call("post", f"{R}/reports/reserve-balances", "sakura", json={"as_of": "2026-12-31",
                                                                            "amount": jpy(100)})
    assert r.status_code == 200 and r.json["created"] == 1, r.json
    again = world.call("post", f"{R}/reports/reserve-balances", "sakura",
                       json={"as_of": "2026-12-31", "amount": jpy(250)})
    assert again.json["corrected"] == 1
    rid = again.json["items"][0]["id"]
    history = world.call("get", f"{R}/reports/reserve/{rid}/history", "sakura").json["items"]
    assert [h["data"]["amount"] for h in history] == [100, 250]
    listed = world.call("get", f"{R}/reports/reserve-balances", "fsa").json
    assert any(i["amount"] == jpy(250) for i in listed["items"])
    assert world.call("get", f"{R}/reports/reserve-balances", "rhein").json["total"] == 0  # another exchange
    for bad in ({"as_of": "2026-12-31", "amount": jpy(-1)}, {"as_of": "2026-13-01", "amount": jpy(1)},
                {"as_of": "2026-12-31", "amount": {"amount": "1", "currency": "EUR"}}, {"amount": jpy(1)}):
        r = world.call("post", f"{R}/reports/reserve-balances", "sakura", json=bad)
        assert r.status_code == 422 and r.mimetype == "application/problem+json", (bad, r.json)
    assert world.call("post", f"{R}/reports/reserve-balances", "tokio",
                      json={"as_of": "2026-12-31", "amount": jpy(1)}).status_code == 403


def test_adequacy_check_records_a_shortfall_only_below_the_net_reserve(world):
    before = len(shortfalls())
    out = adequacy.daily()
    db.session.commit()
    assert out["checked"] >= 1 and len(shortfalls()) == before  # the demo holds enough cash
    today = date.today().isoformat()  # the newest balance on or before the day of the check counts
    r = world.call("post", f"{R}/reports/reserve-balances", "sakura", json={"as_of": today,
                                                                            "amount": jpy(1_000_000_000)})
    assert r.status_code == 200, r.json
    adequacy.daily()
    db.session.commit()
    [ev] = shortfalls()[before:]
    net = int(ev.payload["net_reserve_required"]["amount"])
    assert ev.payload["cash_held"] == jpy(1_000_000_000)
    assert ev.payload["shortfall"] == jpy(net - 1_000_000_000) and ev.jurisdiction == "JP"
    assert ev.audience == [world.org("sakura").id]
