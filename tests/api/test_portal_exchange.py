"""The exchange's portal pages over HTTP: dashboard (figures equal to the API's), obligations, what-if,
reports (forms and CSV), alerts; tenancy and organization kinds.

Demo figures (tests/api/test_obligations_api.py): the JP 2027-Q1 obligation is 5,883,337,500 JPY, the demo
cover offsets 2,518,359,909, so the net reserve is 3,364,977,591; Sakura reports 3,500,000,000 cash held."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

from sqlalchemy import func, select

from marketplace.adequacy import service as adequacy
from marketplace.domain.period import Period
from marketplace.events.models import Event
from marketplace.extensions import db
from marketplace.obligations.models import ObligationRecord
from marketplace.policies.models import Policy
from marketplace.reports.models import IncidentRecord, MonthlyVolume, ReserveBalanceRecord
from tests.portal_client import text_of

R = "/api/v1"


def yen(minor) -> str:
    return f"¥{int(minor):,}"


def count(model, **where) -> int:
    db.session.remove()
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def svgs(resp) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", resp.get_data(as_text=True), flags=re.S)]


def field_error(resp, field_id: str) -> str:
    """The error message shown next to a field (the form macros' `<id>-error` paragraph)."""
    m = re.search(rf'id="{re.escape(field_id)}-error">(.*?)</p>', resp.get_data(as_text=True), flags=re.S)
    assert m, f"no error next to {field_id}: {text_of(resp)[:600]}"
    return re.sub(r"\s+", " ", m.group(1)).strip()


def api_obligation(world, who="sakura", period="2027-Q1") -> tuple[dict, dict]:
    ob = world.call("post", f"{R}/obligations", who, json={"period": period}).json
    offset = world.call("get", f"{R}/obligations/{ob['id']}/offset", who).json
    return ob, offset


def test_dashboard_shows_the_apis_figures_with_a_chart_and_explained_lines(world, portal):
    ob, offset = api_obligation(world)
    resp = portal("sakura").get("/exchange/")
    assert resp.status_code == 200
    text = text_of(resp)
    assert "Obligation for 2027-Q1" in text  # no obligation in the current quarter: the demo's period
    for figure in (ob["total"]["amount"], offset["total_offset"]["amount"], offset["net_reserve"]["amount"]):
        assert yen(figure) in text
    assert yen(5_883_337_500) in text and yen(2_518_359_909) in text and yen(3_364_977_591) in text
    assert "Cash held" in text and yen(3_500_000_000) in text and "The cash held covers the net reserve" in text
    for line in ob["lines"]:  # every line item with its amount and its explanation
        assert yen(line["amount"]["amount"]) in text and line["explanation"] in text
    for a in offset["allocations"]:  # the attached cover with the eligible offset of each policy
        assert a["policy_number"] in text and yen(a["eligible_offset"]["amount"]) in text
    assert "rating BBB is below the minimum A-" in text  # a failing check in words
    charts = svgs(resp)
    assert len(charts) == 2 and all(c.get("role") == "img" for c in charts)
    reserve, lines = charts
    tips = [g.find("{http://www.w3.org/2000/svg}title").text for g in reserve.iter("{http://www.w3.org/2000/svg}g")]
    assert f"Insurance offset: −{yen(offset['total_offset']['amount'])}" in tips
    assert len(list(lines.iter("{http://www.w3.org/2000/svg}g"))) == len(ob["lines"])
    # the accessible tables say the same numbers
    assert "<caption>Obligation, insurance offset, net reserve and cash held for 2027-Q1</caption>" in \
        resp.get_data(as_text=True)


def test_a_shortfall_is_highlighted_in_figures_chart_and_words(world, portal):
    c = portal("sakura")
    today = date.today().isoformat()
    c.get("/reports/")
    resp = send(c, "reserve", {"reserve-as_of": today, "reserve-amount": "¥1,000,000,000"})
    assert resp.status_code == 302
    _ob, offset = api_obligation(world)
    short = int(offset["net_reserve"]["amount"]) - 1_000_000_000
    resp = c.get("/exchange/")
    text = text_of(resp)
    assert f"Shortfall of {yen(short)}" in text
    hatched = [r for r in svgs(resp)[0].iter("{http://www.w3.org/2000/svg}rect") if "hatch" in (r.get("fill") or "")]
    assert len(hatched) == 1


def test_choosing_a_period_and_computing_its_obligation(world, portal):
    c = portal("sakura")
    resp = c.get("/exchange/?period=2026-Q4")
    assert "No obligation has been computed for 2026-Q4" in text_of(resp)
    assert "Compute obligation for 2026-Q4" in text_of(resp)
    resp = c.post("/obligations/compute", {"period": "2026-Q4"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/exchange/?period=2026-Q4")
    row = db.session.scalar(select(ObligationRecord).filter_by(exchange_id=world.org("sakura").id, period="2026-Q4"))
    api = world.call("get", f"{R}/obligations/{row.id}", "sakura").json
    text = text_of(c.get("/exchange/?period=2026-Q4"))
    assert "Obligation for 2026-Q4" in text and yen(api["total"]["amount"]) in text
    assert "No cover is attached to this obligation" in text
    # the same again: nothing changed, no new revision
    c.get("/obligations/")
    assert c.post("/obligations/compute", {"period": "2026-Q4"}).status_code == 302
    assert "Nothing changed since revision 1" in text_of(c.get("/exchange/?period=2026-Q4"))
    assert count(ObligationRecord, period="2026-Q4") == 1
    # the period choice lists both; the one shown is selected
    page = c.get("/exchange/?period=2027-Q1").get_data(as_text=True)
    assert '<option value="2027-Q1" selected>' in page and '<option value="2026-Q4">' in page


def test_the_period_shown_first_is_the_current_quarters_else_the_next_else_the_latest():
    from marketplace.portal.exchange import choose

    def ob(label):
        p = Period.parse(label)
        return ObligationRecord(period=label, period_start=p.start, period_end=p.end)

    rows = [ob("2026-Q2"), ob("2026-Q4"), ob("2027-Q1")]
    assert choose(rows, None, date(2026, 11, 30)).period == "2026-Q4"
    assert choose(rows[::2], None, date(2026, 11, 30)).period == "2027-Q1"  # the demo's, before it starts
    assert choose(rows, None, date(2028, 1, 1)).period == "2027-Q1"
    assert choose(rows, "2026-Q2", date(2028, 1, 1)).period == "2026-Q2"
    assert choose(rows, "2030", date(2028, 1, 1)) is None and choose([], None, date(2028, 1, 1)) is None


def test_compute_refusals_are_next_to_the_field_and_change_nothing(world, portal):
    c = portal("sakura")
    before = count(ObligationRecord)
    c.get("/obligations/")
    resp = c.post("/obligations/compute", {"period": "2027-Q5"})
    assert resp.status_code == 422 and "YYYY" in field_error(resp, "period")
    assert 'value="2027-Q5"' in resp.get_data(as_text=True)  # what was typed is kept
    resp = c.post("/obligations/compute", {"period": "2029-Q1"})  # no volumes reported for 2028
    assert resp.status_code == 422 and "2028-01" in text_of(resp)
    resp = c.post("/obligations/compute", {"period": "2027-Q1", "ruleset": "EU-MiCA-67@1"})
    assert resp.status_code == 422 and field_error(resp, "ruleset")
    # a tampered form (an exchange's page has no exchange field): refused as the API refuses it
    resp = c.post("/obligations/compute", {"period": "2027-Q1", "exchange": world.org("rhein").id})
    assert resp.status_code == 422 and "An exchange computes only its own obligation" in text_of(resp)
    assert count(ObligationRecord) == before


def test_obligation_page_explains_each_line_and_hides_other_exchanges(world, portal):
    ob, _offset = api_obligation(world)
    resp = portal("sakura").get(f"/obligations/{ob['id']}")
    text = text_of(resp)
    assert resp.status_code == 200 and "Obligation for 2027-Q1" in text
    for line in ob["lines"]:
        assert line["explanation"] in text and line["parameter"]["source"] in text
    assert portal("rhein").get(f"/obligations/{ob['id']}").status_code == 404
    assert portal("fsa").get(f"/obligations/{ob['id']}").status_code == 200  # its regulator


def test_what_if_answers_as_the_api_does(world, portal):
    ob, _offset = api_obligation(world)
    api = world.call("post", f"{R}/obligations/{ob['id']}/what-if", "sakura",
                     json={"target_net_reserve": {"amount": "3000000000", "currency": "JPY"}, "rating": "A"}).json
    c = portal("sakura")
    c.get("/exchange/what-if")
    resp = c.post("/exchange/what-if", {"period": "2027-Q1", "target": "¥3,000,000,000", "rating": "A"})
    assert resp.status_code == 200
    text = text_of(resp)
    assert yen(api["extra_eligible_needed"]["amount"]) == yen(364_977_591)
    assert f"You need {yen(364_977_591)} more eligible offset" in text
    assert f"a limit of about {yen(api['limit_needed']['amount'])}" in text and yen(384_186_938) in text
    resp = c.post("/exchange/what-if", {"period": "2027-Q1", "target": "1,000,000,000"})
    text = text_of(resp)
    assert "cannot be reached with insurance" in text and yen(1_176_667_500) in text
    resp = c.post("/exchange/what-if", {"period": "2027-Q1", "target": "5,000,000,000"})
    assert "you need no more cover" in text_of(resp)
    resp = c.post("/exchange/what-if", {"period": "2027-Q1", "target": "3000000000", "currency": "USD"})
    assert "$2,640,364.55" in text_of(resp)  # 264,036,455 cents, as the API test works out


def test_what_if_refusals(world, portal):
    c = portal("sakura")
    c.get("/exchange/what-if")
    for form, field in [({"period": "2027-Q1", "target": "lots"}, "target"),
                        ({"period": "2027-Q1", "target": ""}, "target"),
                        ({"period": "2027-Q1", "target": "-5"}, "target"),
                        ({"period": "2027-Q1", "target": "1.5"}, "target"),
                        ({"period": "2027-Q1", "target": "9" * 40}, "target"),
                        ({"period": "2027-Q1", "target": "1", "rating": "ZZZ"}, "rating"),
                        ({"period": "2027-Q1", "target": "1", "currency": "XXX"}, "currency"),
                        ({"period": "1999-Q1", "target": "1"}, "period")]:
        resp = c.post("/exchange/what-if", form)
        assert resp.status_code == 422, form
        assert field_error(resp, field), form
    assert field_error(c.post("/exchange/what-if", {"period": "2027-Q1", "target": "-5"}), "target") == \
        "Enter an amount of zero or more."
    resp = c.post("/exchange/what-if", {"period": "2027-Q1", "target": "lots"})
    assert 'value="lots"' in resp.get_data(as_text=True)


def test_report_forms_record_through_the_service(world, portal):
    c = portal("sakura")
    sakura = world.org("sakura").id
    assert c.get("/reports/").status_code == 200
    resp = send(c, "reserve", {"reserve-as_of": "2026-12-31", "reserve-amount": "¥2,500,000,000"})
    assert resp.status_code == 302
    row = db.session.scalar(select(ReserveBalanceRecord).filter_by(exchange_id=sakura, as_of=date(2026, 12, 31)))
    assert (row.amount, row.currency, row.recorded_by) == (2_500_000_000, "JPY", "user:sakura.admin@portal.test")
    page = c.get("/reports/")
    assert "Reserve balance: 1 recorded, 0 corrected" in text_of(page) and yen(2_500_000_000) in text_of(page)
    send(c, "reserve", {"reserve-as_of": "2026-12-31", "reserve-amount": "2,600,000,000"})
    assert "0 recorded, 1 corrected" in text_of(c.get("/reports/"))
    api = world.call("get", f"{R}/reports/reserve-balances?from=2026-12-31", "sakura").json
    assert api["items"][0]["amount"] == {"amount": "2600000000", "currency": "JPY"}
    assert send(c, "volume", {"volume-month": "2027-01", "volume-product_class": "spot",
                                      "volume-amount": "4,000,000,000,000"}).status_code == 302
    assert count(MonthlyVolume, exchange_id=sakura, month=date(2027, 1, 1), product_class="spot") == 1
    assert send(c, "custody", {"custody-as_of": "2027-01-31", "custody-wallet": "cold",
                                       "custody-amount": "600,000,000,000"}).status_code == 302
    incidents = count(IncidentRecord, exchange_id=sakura)
    assert send(c, "incident", {"incident-occurred_on": "2026-10-01", "incident-kind": "hack",
                                        "incident-loss": "10,000", "incident-compensated": "10,000",
                                        "incident-description": "Test <b>incident</b>"}).status_code == 302
    assert count(IncidentRecord, exchange_id=sakura) == incidents + 1
    assert "Test &lt;b&gt;incident&lt;/b&gt;" in c.get("/reports/").get_data(as_text=True)


def test_report_form_refusals_are_next_to_each_field(world, portal):
    c = portal("sakura")
    c.get("/reports/")
    before = (count(ReserveBalanceRecord), count(IncidentRecord), count(MonthlyVolume))
    resp = send(c, "reserve", {"reserve-as_of": "2026-13-01", "reserve-amount": "¥1.5"})
    assert resp.status_code == 422
    assert "date" in field_error(resp, "reserve-as_of").lower()
    assert "JPY" in field_error(resp, "reserve-amount")
    assert 'value="¥1.5"' in resp.get_data(as_text=True)
    resp = send(c, "reserve", {"reserve-as_of": "2026-12-01", "reserve-amount": "-5"})
    assert resp.status_code == 422 and field_error(resp, "reserve-amount") == "Enter an amount of zero or more."
    resp = send(c, "reserve", {"reserve-as_of": "", "reserve-amount": ""})
    assert field_error(resp, "reserve-as_of") and field_error(resp, "reserve-amount")
    resp = send(c, "incident", {"incident-occurred_on": "2026-10-01", "incident-kind": "hack",
                                        "incident-loss": "100", "incident-compensated": "200"})
    assert resp.status_code == 422 and "must not exceed the loss" in field_error(resp, "incident-compensated")
    resp = send(c, "incident", {"incident-occurred_on": "2026-10-01", "incident-kind": "meteor",
                                        "incident-loss": "100", "incident-compensated": "0"})
    assert resp.status_code == 422 and field_error(resp, "incident-kind")
    resp = send(c, "volume", {"volume-month": "2027-13", "volume-product_class": "spot",
                                      "volume-amount": "1"})
    assert resp.status_code == 422 and "YYYY-MM" in field_error(resp, "volume-month")
    assert (count(ReserveBalanceRecord), count(IncidentRecord), count(MonthlyVolume)) == before


def send(c, kind: str, form: dict):
    """Send one report form from the reports page (with that page's CSRF token, as a browser does)."""
    return c.post(f"/reports/{kind}", form, page="/reports/")


def upload(c, kind: str, body: str, name="report.csv"):
    return c.post(f"/reports/{kind}/csv", {f"{kind}-csv": (io.BytesIO(body.encode()), name)}, page="/reports/",
                  content_type="multipart/form-data")


def test_csv_uploads_record_every_row_through_the_apis_reader(world, portal):
    c = portal("sakura")
    sakura = world.org("sakura").id
    resp = upload(c, "reserve", "as_of,amount,currency\n2027-01-31,3600000000,JPY\n2027-02-28,3700000000,JPY\n")
    assert resp.status_code == 302
    assert "Reserve balance: 2 recorded" in text_of(c.get("/reports/"))
    assert count(ReserveBalanceRecord, exchange_id=sakura) == 3
    resp = upload(c, "volume", "month,product_class,amount,currency\n2027-01,spot,10,JPY\n2027-01,margin,20,JPY\n")
    assert resp.status_code == 302 and count(MonthlyVolume, exchange_id=sakura, month=date(2027, 1, 1)) == 2
    resp = upload(c, "custody", "as_of,wallet,amount,currency\n2027-01-31,hot,5,JPY\n")
    assert resp.status_code == 302
    resp = upload(c, "incident", "occurred_on,kind,loss,compensated,currency,description\n"
                                 "2026-11-01,other,10,5,JPY,Printer fire\n")
    assert resp.status_code == 302 and "Printer fire" in text_of(c.get("/reports/"))


def test_bad_csv_lines_are_named_and_nothing_is_recorded(world, portal):
    c = portal("sakura")
    before = (count(ReserveBalanceRecord), count(MonthlyVolume))
    resp = upload(c, "reserve", "as_of,amount,currency\n2027-01-31,1,JPY\n2027-02-30,2,JPY\n2027-03-31,x,JPY\n")
    assert resp.status_code == 422
    errors = field_error(resp, "reserve-csv")
    assert "Line 3, as_of:" in errors and "Line 4, amount:" in errors and "Line 2" not in errors
    resp = upload(c, "reserve", "as_of,amount,currency\n2027-01-31,1,EUR\n")
    assert resp.status_code == 422 and "Line 2, currency: must be JPY" in field_error(resp, "reserve-csv")
    resp = upload(c, "reserve", "date,amount\n2027-01-31,1\n")
    assert resp.status_code == 422 and "Line 1" in field_error(resp, "reserve-csv")
    resp = upload(c, "volume", "month,product_class,amount,currency\n2027-01,spot,1,JPY\n2027-01,spot,2,JPY\n")
    assert resp.status_code == 422 and "Line 3" in field_error(resp, "reserve-csv".replace("reserve", "volume"))
    resp = upload(c, "reserve", "as_of,amount,currency\n2027-01-31,1,JPY,extra\n")
    assert resp.status_code == 422 and "Line 2" in field_error(resp, "reserve-csv")
    resp = upload(c, "reserve", "\xff\xfe", name="binary.csv")
    assert resp.status_code == 422
    resp = c.post("/reports/reserve/csv", {}, page="/reports/", content_type="multipart/form-data")
    assert resp.status_code == 422 and field_error(resp, "reserve-csv")
    assert (count(ReserveBalanceRecord), count(MonthlyVolume)) == before


def test_alerts_show_revocations_shortfalls_and_expiring_cover_of_this_exchange_only(world, portal):
    ob, _offset = api_obligation(world)
    assert world.call("post", f"{R}/certificates", "sakura", json={"obligation": ob["id"]}).status_code == 201
    tmc = db.session.scalar(select(Policy.id).filter_by(number="TMC-2026-0001"))
    when = (date.today() + timedelta(days=90)).isoformat()
    assert world.call("post", f"{R}/policies/{tmc}/cancel", "tokio", json={"effective_on": when}).status_code == 200
    world.call("post", f"{R}/reports/reserve-balances", "sakura",
               json={"as_of": date.today().isoformat(), "amount": {"amount": "1000", "currency": "JPY"}})
    adequacy.daily()
    db.session.commit()
    ends = date.today() + timedelta(days=30)
    assert world.call("post", f"{R}/policies", "tokio", json={
        "number": "SOON-1", "insured": world.org("sakura").id, "limit": {"amount": "1000000", "currency": "JPY"},
        "deductible": {"amount": "0", "currency": "JPY"}, "perils": ["theft_hack"],
        "term_start": "2026-01-01", "term_end": ends.isoformat(), "cancellation_notice_days": 90}).status_code == 201
    [shortfall] = [e for e in db.session.scalars(select(Event).filter_by(kind="reserve.shortfall"))
                   if e.payload["cash_held"] == {"amount": "1000", "currency": "JPY"}]

    text = text_of(portal("sakura").get("/exchange/alerts"))
    assert f"policy TMC-2026-0001 cancelled on {when}" in text  # the revocation's reason
    assert yen(shortfall.payload["shortfall"]["amount"]) in text and yen(1000) in text
    assert "SOON-1" in text and "Tokio Mutual Cyber" in text and " 30 " in text
    assert "TMC-2026-0001" not in text.split("Cover ending within")[-1]  # ends in 90 days: not yet

    other = text_of(portal("rhein").get("/exchange/alerts"))
    assert "No certificate of yours has been revoked" in other and "No shortfall has been found" in other
    assert "SOON-1" not in other and "TMC-2026-0001" not in other


def test_other_exchanges_see_none_of_sakuras_data(world, portal):
    sakura = portal("sakura")
    sakura.get("/reports/")
    sakura.post("/reports/reserve", {"reserve-as_of": "2026-12-31", "reserve-amount": "123,456,789"})
    rhein = portal("rhein")
    dash = text_of(rhein.get("/exchange/"))
    assert "No obligation has been computed for Rhein Crypto Markets yet" in dash
    assert yen(5_883_337_500) not in dash and "Sakura" not in dash
    reports = text_of(rhein.get("/reports/"))
    assert "¥" not in reports.split("Incidents")[-1] and "123,456,789" not in reports and "Sakura" not in reports
    assert "No reserve balance reported yet" in reports
    listing = text_of(rhein.get("/obligations/"))
    assert "No obligation has been computed yet" in listing and yen(5_883_337_500) not in listing
    what_if = rhein.get("/exchange/what-if")
    assert "No obligation has been computed yet" in text_of(what_if)
    rhein.get("/exchange/what-if")
    assert rhein.post("/exchange/what-if", {"period": "2027-Q1", "target": "1"}).status_code == 422


def test_only_exchanges_open_these_pages(world, portal):
    tokio = portal("tokio")
    for path in ("/exchange/", "/exchange/what-if", "/exchange/alerts", "/reports/", "/obligations/"):
        assert tokio.get(path).status_code == 403, path
    form = {"reserve-as_of": "2026-12-31", "reserve-amount": "1"}
    assert tokio.post("/reports/reserve", form, page="/account").status_code == 403
    assert tokio.post("/obligations/compute", {"period": "2027-Q1"}, page="/account").status_code == 403
    fsa = portal("fsa")
    assert fsa.get("/exchange/").status_code == 403 and fsa.get("/reports/").status_code == 403
    assert fsa.get("/obligations/").status_code == 200  # a regulator computes for its exchanges
    anonymous = world.app.test_client().get("/exchange/", headers={"Accept": "text/html"})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_a_regulator_computes_for_its_own_exchanges_only(world, portal):
    fsa = portal("fsa")
    fsa.get("/obligations/")
    resp = fsa.post("/obligations/compute", {"period": "2026-Q4"})
    assert resp.status_code == 422 and field_error(resp, "exchange")
    resp = fsa.post("/obligations/compute", {"period": "2026-Q4", "exchange": world.org("rhein").id})
    assert resp.status_code == 422 and field_error(resp, "exchange")
    resp = fsa.post("/obligations/compute", {"period": "2026-Q4", "exchange": world.org("sakura").id})
    assert resp.status_code == 302
    assert count(ObligationRecord, exchange_id=world.org("sakura").id, period="2026-Q4") == 1


def test_the_obligation_page_shows_the_net_reserve_next_to_the_cash_held(world, portal):
    """DESIGN 10: the obligation view shows the required net reserve next to the cash held, as the API has them
    (GET .../offset, GET /reports/reserve-balances), for the exchange and for its regulator alike."""
    ob, offset = api_obligation(world)
    page = f"/obligations/{ob['id']}"
    for who in ("sakura", "fsa"):
        text = text_of(portal(who).get(page))
        assert f"Net reserve required {yen(offset['net_reserve']['amount'])}" in text, text[:800]
        assert "Cash held" in text, text[:1500]
    net = int(offset["net_reserve"]["amount"])
    world.call("post", f"{R}/reports/reserve-balances", "sakura",
               json={"as_of": date.today().isoformat(), "amount": {"amount": str(net - 5), "currency": "JPY"}})
    text = text_of(portal("sakura").get(page))
    assert f"Cash held {yen(net - 5)}" in text and f"Shortfall {yen(5)}" in text, text[:800]


def test_the_reason_an_insurer_gives_for_cancelling_is_shown_with_the_cover_ending(world, portal):
    r = world.call("post", f"{R}/policies", "tokio", json={
        "number": "SHORT-NOTICE-1", "insured": world.org("sakura").id,
        "limit": {"amount": "1000000", "currency": "JPY"}, "deductible": {"amount": "0", "currency": "JPY"},
        "perils": ["theft_hack"], "term_start": "2026-01-01",
        "term_end": (date.today() + timedelta(days=400)).isoformat(), "cancellation_notice_days": 10})
    assert r.status_code == 201, r.json
    when = (date.today() + timedelta(days=20)).isoformat()
    assert world.call("post", f"{R}/policies/{r.json['id']}/cancel", "tokio",
                      json={"effective_on": when, "reason": "premium not paid"}).status_code == 200
    text = text_of(portal("sakura").get("/exchange/alerts")).split("Cover ending within")[-1]
    assert "SHORT-NOTICE-1" in text and "cancelled by the insurer: premium not paid" in text, text[:600]
