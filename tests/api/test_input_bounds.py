"""Dates at the calendar's edges, instants that do not exist in UTC and integers that are not integers:
each is a 422 naming the field (the portal: the error next to it), never a 500, and nothing is kept."""

from datetime import date

import pytest
from sqlalchemy import func, select

from marketplace.domain.money import Money
from marketplace.extensions import db
from marketplace.market.models import CoverageRequest, Offering
from marketplace.policies.models import Policy
from tests.api.test_market_api import OFFER, jpy, later
from tests.api.test_policies_allocations_api import register

R = "/api/v1"


def named(r, name: str) -> bool:
    return any(name in (e.get("parameter"), e.get("pointer")) for e in r.json.get("errors", []))


def count(model) -> int:
    db.session.remove()
    return db.session.scalar(select(func.count()).select_from(model))


def offering(world) -> str:
    r = world.call("post", f"{R}/offerings", "tokio", json=OFFER)
    assert r.status_code == 201, r.json
    return r.json["id"]


def ask(world, oid, **over):
    body = {"offering": oid, "limit": jpy(800), "term_start": "2027-01-01", "term_months": 12, **over}
    return world.call("post", f"{R}/coverage-requests", "sakura", json=body)


@pytest.mark.parametrize(("term_start", "term_months"), [("9999-12-31", 12), ("9999-01-01", 24), ("0001-01-01", 12)])
def test_a_term_off_the_calendar_is_refused_at_the_request(world, term_start, term_months):
    oid = offering(world)
    before = count(CoverageRequest)
    r = ask(world, oid, term_start=term_start, term_months=term_months)
    assert r.status_code == 422 and named(r, "#/term_start"), r.json
    assert count(CoverageRequest) == before


def test_quoting_a_stored_request_whose_term_leaves_the_calendar_is_422_not_500(world, portal):
    """A request stored before the bound existed: the API and the portal both refuse its quote."""
    oid = offering(world)
    rid = ask(world, oid).json["id"]
    db.session.get(CoverageRequest, rid).term_start = date(9999, 12, 1)
    db.session.commit()
    r = world.call("post", f"{R}/coverage-requests/{rid}/quote", "tokio",
                   json={"premium": jpy(8), "expires_at": later()})
    assert r.status_code == 422 and named(r, "#/term_start"), r.json
    page = f"/market/requests/{rid}"
    r = portal("tokio").post(f"{page}/quote", {"premium": "8", "expires_at": "2099-01-01T00:00"}, page=page)
    assert r.status_code == 422
    db.session.remove()
    assert db.session.get(CoverageRequest, rid).status == "requested"


@pytest.mark.parametrize("expires_at", ["9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59+00:00"])
def test_an_expiry_that_is_no_instant_in_utc_is_422(world, portal, expires_at):
    from tests.api.test_portal_market import field_error

    rid = ask(world, offering(world)).json["id"]
    r = world.call("post", f"{R}/coverage-requests/{rid}/quote", "tokio",
                   json={"premium": jpy(8), "expires_at": expires_at})
    assert r.status_code == 422 and named(r, "#/expires_at"), r.json
    page = f"/market/requests/{rid}"
    r = portal("tokio").post(f"{page}/quote", {"premium": "8", "expires_at": expires_at}, page=page)
    assert r.status_code == 422 and field_error(r, "expires_at")
    db.session.remove()
    assert db.session.get(CoverageRequest, rid).status == "requested"


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z"])
def test_a_status_at_an_instant_that_is_no_instant_in_utc_is_422(world, at):
    from tests.api.test_certificates_api import issue

    cid = issue(world)["id"]
    r = world.call("get", f"{R}/certificates/{cid}/status", "fsa", query_string={"at": at})
    assert r.status_code == 422 and named(r, "at"), r.json


@pytest.mark.parametrize("bad", [{"term_start": "9999-12-31", "term_end": "9999-12-31"},
                                 {"term_start": "0001-01-01"}])
def test_policy_dates_far_off_the_calendar_are_refused(world, bad):
    before = count(Policy)
    r = register(world, number="FAR", **bad)
    assert r.status_code == 422 and named(r, "#/term_start"), r.json
    assert count(Policy) == before


@pytest.mark.parametrize("months", [12.7, 12.0, "12"])
def test_json_integers_are_integers_not_fractions_strings_or_booleans(world, months):
    oid = offering(world)
    before = count(CoverageRequest)
    r = ask(world, oid, term_months=months)
    assert r.status_code == 422 and named(r, "#/term_months"), r.json
    assert count(CoverageRequest) == before


@pytest.mark.parametrize("days", [1.5, "90", "-0"])
def test_notice_days_are_json_integers_on_offerings_and_policies(world, days):
    before = count(Offering), count(Policy)
    r = world.call("post", f"{R}/offerings", "tokio", json={**OFFER, "cancellation_notice_days": days})
    assert r.status_code == 422 and named(r, "#/cancellation_notice_days"), r.json
    r = register(world, number="INT", cancellation_notice_days=days)
    assert r.status_code == 422 and named(r, "#/cancellation_notice_days"), r.json
    assert (count(Offering), count(Policy)) == before


INTEGER_TEXTS = ["\u0661", "\uff11", "1_0", " 1", "1 ", "+1"]  # int() takes each of them


@pytest.mark.parametrize("text", INTEGER_TEXTS)
@pytest.mark.parametrize(("path", "param"), [
    ("/log/proofs/inclusion?index={}&tree_size=20", "index"),
    ("/log/proofs/inclusion?index=0&tree_size={}", "tree_size"),
    ("/log/proofs/consistency?first={}&second=20", "first"),
    ("/log/proofs/consistency?first=1&second={}", "second"),
    ("/log/entries?start={}&end=20", "start"),
    ("/log/entries?start=0&end={}", "end"),
    ("/log/checkpoints?after={}", "after"),
    ("/offerings?page={}", "page"),
    ("/offerings?per_page={}", "per_page"),
])
def test_query_integers_are_ascii_decimal_digits(world, path, param, text):
    from urllib.parse import quote

    r = world.call("get", R + path.format(quote(text)), "fsa")
    assert r.status_code == 422 and named(r, param), (path, text, r.json)
    assert any(e["detail"] == "Not a valid integer." for e in r.json["errors"]), r.json


def test_the_service_refuses_a_term_that_ends_past_the_calendar(world):
    """The rule lives in the service too: a caller that skips the API's schema gets the same 422."""
    from marketplace.errors import Unprocessable
    from marketplace.market import service
    from marketplace.registry.models import Exchange

    o = db.session.get(Offering, offering(world))
    ex = db.session.get(Exchange, world.org("sakura").id)
    with pytest.raises(Unprocessable) as e:
        service.create_request(ex, o, Money(800, "JPY"), date(9999, 12, 1), 12, [], None)
    assert set(e.value.errors) == {"term_start", "term_months"}


@pytest.mark.parametrize("year", ["\uff12\uff10\uff12\uff17", "2_027", "2027.0"])
def test_csv_integers_are_ascii_digits_and_json_ones_json_integers(world, year):
    from marketplace.reports.models import FixedOverheads

    before = count(FixedOverheads)
    r = world.call("post", f"{R}/reports/overheads", "rhein", data=f"fiscal_year,amount,currency\n{year},9,EUR\n",
                   headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "#/0/fiscal_year", r.json
    r = world.call("post", f"{R}/reports/overheads", "rhein",
                   json={"fiscal_year": "2027", "amount": {"amount": "9", "currency": "EUR"}})
    assert r.status_code == 422 and named(r, "#/fiscal_year"), r.json
    assert count(FixedOverheads) == before


def test_portal_forms_take_ascii_digits_and_refuse_other_digits(world, portal):
    from tests.api.test_portal_market import field_error

    oid = offering(world)
    page = f"/market/offerings/{oid}/request"
    before = count(CoverageRequest)
    for months in ("\uff11\uff12", "1_2", "12.5"):
        r = portal("sakura").post(page, {"limit": "800", "term_start": "2027-01-01", "term_months": months}, page=page)
        assert r.status_code == 422 and field_error(r, "term_months"), months
    assert count(CoverageRequest) == before
    r = portal("sakura").post(page, {"limit": "800", "term_start": "2027-01-01", "term_months": "12"}, page=page)
    assert r.status_code == 302
