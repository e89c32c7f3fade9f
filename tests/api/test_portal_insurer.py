"""The insurer's portal pages over HTTP: dashboard, policies (register, amend, cancel, bulk CSV upload),
signing keys and attestations. Each action is checked in the database; refusals show next to the field and
keep nothing; other insurers' policies are 404 and other kinds of organization get 403."""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.attestations.models import Attestation
from marketplace.crypto import jws
from marketplace.crypto.keys import KeyPair
from marketplace.events.models import Event
from marketplace.extensions import db
from marketplace.keys.models import SigningKey
from marketplace.policies.models import Policy
from marketplace.registry.models import Exchange
from tests.portal_client import text_of

HEADER = "number,insured,currency,limit,deductible,perils,term_start,term_end,cancellation_notice_days"


def policy_by(number: str) -> Policy | None:
    db.session.expire_all()
    return db.session.scalar(select(Policy).filter_by(number=number))


def count(model, **where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def field_error(html: str, name: str) -> str:
    """The message shown next to a field (the macros put it in <p id="NAME-error">)."""
    m = re.search(rf'<p class="field-error" id="{re.escape(name)}-error">(.*?)</p>', html, re.S)
    return re.sub(r"\s+", " ", m.group(1)).strip() if m else ""


def form(**over) -> dict:
    base = {"number": "TMC-P-100", "insured": "", "currency": "JPY", "limit": "1,000,000,000",
            "deductible": "10,000,000", "perils": ["theft_hack", "insider_fraud"], "term_start": "2027-01-01",
            "term_end": "2027-12-31", "cancellation_notice_days": "90"}
    base.update(over)
    return base


@pytest.fixture
def tokio(portal, world):
    return portal("tokio")


@pytest.fixture
def sakura_id(world):
    return world.org("sakura").id


def register(client, sakura_id, **over):
    return client.post("/policies/register", form(**{"insured": sakura_id, **over}), page="/policies/register")


# ---- who may open the pages ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/insurer/", "/policies/", "/policies/register", "/policies/upload",
                                  "/policies/upload/template.csv", "/keys/", "/attestations/"])
def test_an_exchange_or_regulator_gets_403_and_anonymous_is_sent_to_sign_in(portal, world, path):
    assert portal("sakura").get(path).status_code == 403
    assert portal("fsa").get(path).status_code == 403
    from tests.portal_client import PortalClient

    anonymous = PortalClient(world.app).get(path)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_dashboard_shows_offerings_capacity_requests_expiring_and_gaps(tokio, world, sakura_id):
    soon = date.today() + timedelta(days=20)
    register(tokio, sakura_id, number="TMC-SOON", term_start="2026-01-01", term_end=soon.isoformat())
    r = tokio.get("/insurer/")
    assert r.status_code == 200
    text = text_of(r)
    assert "Exchange crime and custody cover (JPY)" in text and "Global digital-asset cover (USD)" in text
    assert "Hot-wallet theft cover" not in text  # Harbour's offering
    assert "Capacity used" in text and "¥3,000,000,000" in text and "¥20,000,000,000" in text  # bound 3bn of 20bn
    assert "Policies expiring in the next 60 days" in text and "TMC-SOON" in text
    assert "1 policy revisions are not attested" in text  # the new policy
    html = r.get_data(as_text=True)
    assert f'href="/policies/{policy_by("TMC-SOON").id}"' in html and 'href="/attestations/"' in html


def test_dashboard_lists_requests_waiting_for_an_answer(tokio, world):
    from marketplace.market.models import Offering

    jpy = {"id": db.session.scalar(select(Offering.id).filter_by(title="Exchange crime and custody cover (JPY)"))}
    r = world.call("post", "/api/v1/coverage-requests", "sakura",
                   json={"offering": jpy["id"], "limit": {"amount": "600000000", "currency": "JPY"},
                         "term_start": "2027-04-01", "term_months": 12, "perils": ["theft_hack"]})
    assert r.status_code == 201, r.json
    page = tokio.get("/insurer/")
    text = text_of(page)
    assert "Requests waiting for your answer" in text and "Sakura Digital Exchange" in text
    assert "Quote or decline" in text and "¥600,000,000" in text
    assert f'href="/market/requests/{r.json["id"]}"' in page.get_data(as_text=True)


# ---- policies: list, detail, tenancy ---------------------------------------------------------------------

def test_the_portal_lists_the_same_policies_as_the_api(portal, world):
    for who in ("tokio", "harbour"):
        api = {p["number"] for p in world.call("get", "/api/v1/policies?per_page=100", who).json["items"]}
        text = text_of(portal(who).get("/policies/"))
        for number in ("TMC-2026-0001", "TMC-USD-0042", "HSR-JP-7781"):
            assert (number in text) == (number in api), (who, number)
    text = text_of(portal("tokio").get("/policies/"))
    assert "Sakura Digital Exchange" in text and "¥3,000,000,000" in text and "¥2,000,000,000" in text  # allocated
    assert "$10,000,000.00" in text and "Revision 1 attested" in text


def test_other_insurers_policy_is_404_for_every_page_and_action(tokio, world):
    hsr = policy_by("HSR-JP-7781")
    for path in (f"/policies/{hsr.id}", f"/policies/{hsr.id}/amend", f"/policies/{hsr.id}/cancel",
                 f"/attestations/{hsr.id}/jws", f"/attestations/{hsr.id}/payload.json", "/policies/nope"):
        assert tokio.get(path).status_code == 404, path
    tokio.get("/policies/")
    for path, data in ((f"/policies/{hsr.id}/amend", {"limit": "1", "deductible": "0"}),
                       (f"/policies/{hsr.id}/cancel", {"effective_on": "2030-01-01"}),
                       (f"/policies/{hsr.id}/lapse", {}), (f"/attestations/{hsr.id}/attest", {}),
                       (f"/attestations/{hsr.id}/jws", {"jws": "a.b.c"})):
        assert tokio.post(path, data, page="/policies/").status_code == 404, path
    after = policy_by("HSR-JP-7781")
    assert (after.status, after.revision, after.limit_amount) == ("active", 1, 1_000_000_000)


def test_detail_shows_revisions_and_their_attestations(tokio):
    pol = policy_by("TMC-2026-0001")
    text = text_of(tokio.get(f"/policies/{pol.id}"))
    assert "Policy TMC-2026-0001" in text and "Revisions and their attestations" in text
    assert "Attested with the custodial key" in text and "Sakura Digital Exchange (Kanto-FB-00099, JP)" in text


# ---- register ---------------------------------------------------------------------------------------------

def test_register_policy_creates_it_with_exact_amounts_and_an_event(tokio, world, sakura_id):
    page = text_of(tokio.get("/policies/register"))
    assert "Sakura Digital Exchange (Kanto-FB-00099, JP)" in page and "Rhein Crypto Markets" in page
    events = count(Event, kind="policy.bound")
    r = register(tokio, sakura_id, number="TMC-P-1", limit="¥1,500,000,000", deductible="25,000,000")
    assert r.status_code == 302
    p = policy_by("TMC-P-1")
    assert r.headers["Location"].endswith(f"/policies/{p.id}")
    assert (p.insurer_id, p.insured_id, p.currency) == (world.org("tokio").id, sakura_id, "JPY")
    assert (p.limit_amount, p.deductible, p.source, p.revision) == (1_500_000_000, 25_000_000, "registered", 1)
    assert sorted(p.perils) == ["insider_fraud", "theft_hack"] and p.cancellation_notice_days == 90
    assert count(Event, kind="policy.bound") == events + 1
    api = world.call("get", f"/api/v1/policies/{p.id}", "tokio").json
    assert api["limit"] == {"amount": "1500000000", "currency": "JPY"}
    assert "Policy TMC-P-1 is registered" in text_of(tokio.get(f"/policies/{p.id}"))


def test_register_in_usd_keeps_cents(tokio, sakura_id):
    assert register(tokio, sakura_id, number="TMC-P-USD", currency="USD", limit="1,234,567.89",
                    deductible="100.5").status_code == 302
    p = policy_by("TMC-P-USD")
    assert (p.limit_amount, p.deductible, p.currency) == (123_456_789, 10_050, "USD")


@pytest.mark.parametrize("over, name, words", [
    ({"limit": "lots"}, "limit", "in figures"),
    ({"limit": "1,000.5"}, "limit", "without decimals"),
    ({"limit": ""}, "limit", "required"),
    ({"deductible": "2,000,000,000"}, "deductible", "below the limit"),
    ({"term_end": "2026-01-01"}, "term_end", "must not be before the term start"),
    ({"term_start": "31/01/2027"}, "term_start", "YYYY-MM-DD"),
    ({"perils": []}, "perils", "required"),
    ({"perils": ["earthquake"]}, "perils", "unknown peril earthquake"),
    ({"currency": "XXX"}, "currency", "choose one of"),
    ({"cancellation_notice_days": "-1"}, "cancellation_notice_days", "from 0 to 3650"),
    ({"cancellation_notice_days": "ninety"}, "cancellation_notice_days", "not a whole number"),
    ({"number": ""}, "number", "required"),
    ({"number": "x" * 65}, "number", "1 to 64 characters"),
    ({"number": "bad\x07"}, "number", "control characters"),
    ({"insured": "not-an-exchange"}, "insured", "no exchange with this id"),
])
def test_register_refusals_are_next_to_the_field_and_keep_nothing(tokio, sakura_id, over, name, words):
    before = count(Policy)
    r = register(tokio, sakura_id, **{"number": "TMC-BAD", **over})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert words in field_error(html, name), (name, field_error(html, name), text_of(r)[:600])
    assert 'role="alert"' in html and (name == "perils" or 'aria-invalid="true"' in html)
    assert count(Policy) == before
    if over.get("number") != "":
        assert f'value="{over.get("number", "TMC-BAD")}"' in html or name == "number"  # typed values kept


def test_register_refuses_a_used_number_and_an_exchange_where_not_approved(portal, tokio, world, sakura_id):
    r = register(tokio, sakura_id, number="TMC-2026-0001")
    assert r.status_code == 422 and "already used" in field_error(r.get_data(as_text=True), "number")
    harbour = portal("harbour")  # approved in JP and HK, not in the EU
    rhein = world.org("rhein").id
    assert "Rhein" not in text_of(harbour.get("/policies/register"))
    r = harbour.post("/policies/register", form(insured=rhein, number="HSR-EU-1"), page="/policies/register")
    assert r.status_code == 422 and "no exchange" in field_error(r.get_data(as_text=True), "insured")
    assert policy_by("HSR-EU-1") is None


def test_an_unapproved_insurer_has_no_exchange_to_register_for(portal, sakura_id):
    nova = portal("nova")
    assert "No regulator approves you yet" in text_of(nova.get("/policies/register"))
    r = nova.post("/policies/register", form(insured=sakura_id, number="NOVA-1"), page="/policies/upload")
    assert r.status_code == 422 and policy_by("NOVA-1") is None


def test_double_submit_registers_once(tokio, sakura_id):
    assert register(tokio, sakura_id, number="TMC-TWICE").status_code == 302
    again = register(tokio, sakura_id, number="TMC-TWICE")
    assert again.status_code == 422 and "already used" in text_of(again)
    assert count(Policy, number="TMC-TWICE") == 1


# ---- amend, cancel, lapse --------------------------------------------------------------------------------

def test_amend_makes_a_new_revision_and_opens_an_attestation_gap(tokio):
    pol = policy_by("TMC-USD-0042")
    page = f"/policies/{pol.id}/amend"
    html = tokio.get(page).get_data(as_text=True)
    assert 'value="10,000,000.00"' in html  # the current limit, typed back in major units
    r = tokio.post(page, {"limit": "12,000,000.00", "deductible": "100,000.00",
                          "perils": ["theft_hack", "insider_fraud", "operational_failure"],
                          "term_start": "2026-12-01", "term_end": "2028-11-30"}, page=page)
    assert r.status_code == 302
    p = policy_by("TMC-USD-0042")
    assert (p.revision, p.limit_amount) == (2, 1_200_000_000)
    assert [r.revision for r in p.revisions] == [1, 2]
    gaps = text_of(tokio.get("/attestations/"))
    assert "TMC-USD-0042" in gaps
    detail = text_of(tokio.get(f"/policies/{p.id}"))
    assert "Not attested (superseded" not in detail and "Not attested: this cover counts for nothing" in detail


def test_amend_refusals(tokio):
    pol = policy_by("TMC-USD-0042")
    page = f"/policies/{pol.id}/amend"
    same = {"limit": "10,000,000.00", "deductible": "100,000.00",
            "perils": ["theft_hack", "insider_fraud", "operational_failure"], "term_start": "2026-12-01",
            "term_end": "2028-11-30"}
    r = tokio.post(page, same, page=page)
    assert r.status_code == 422 and "The amendment changes nothing" in text_of(r)
    r = tokio.post(page, {**same, "limit": "10.001"}, page=page)
    assert r.status_code == 422 and "two decimals" in field_error(r.get_data(as_text=True), "limit")
    assert 'value="10.001"' in r.get_data(as_text=True)
    r = tokio.post(page, {**same, "deductible": "20,000,000.00"}, page=page)
    assert r.status_code == 422 and "below the limit" in field_error(r.get_data(as_text=True), "deductible")
    assert policy_by("TMC-USD-0042").revision == 1


def test_cancel_respects_the_notice_period_and_records_the_reason(tokio):
    pol = policy_by("TMC-USD-0042")  # 120 days' notice
    page = f"/policies/{pol.id}/cancel"
    assert "notice period is 120 days" in text_of(tokio.get(page))
    too_soon = (date.today() + timedelta(days=30)).isoformat()
    r = tokio.post(page, {"effective_on": too_soon, "reason": "non-payment"}, page=page)
    earliest = (date.today() + timedelta(days=120)).isoformat()
    assert r.status_code == 422 and f"must be {earliest} or later" in field_error(r.get_data(as_text=True),
                                                                                   "effective_on")
    assert policy_by("TMC-USD-0042").status == "active"
    r = tokio.post(page, {"effective_on": "", "reason": ""}, page=page)
    assert r.status_code == 422 and "required" in field_error(r.get_data(as_text=True), "effective_on")
    r = tokio.post(page, {"effective_on": earliest, "reason": "non-payment"}, page=page)
    assert r.status_code == 302
    p = policy_by("TMC-USD-0042")
    assert (p.status, p.cancelled_effective) == ("cancelled", date.today() + timedelta(days=120))
    ev = db.session.scalar(select(Event).filter_by(kind="policy.cancelled").order_by(Event.created_at.desc()))
    assert ev.payload["reason"] == "non-payment"
    again = tokio.post(page, {"effective_on": "2030-01-01"}, page=page)
    assert again.status_code == 422 and "only an active policy" in text_of(again)


def test_lapse_is_refused_while_the_term_runs(tokio):
    pol = policy_by("TMC-2026-0001")
    r = tokio.post(f"/policies/{pol.id}/lapse", {}, page=f"/policies/{pol.id}")
    assert r.status_code == 302
    assert "lapses only after that" in text_of(tokio.get(f"/policies/{pol.id}"))
    assert policy_by("TMC-2026-0001").status == "active"


# ---- signing keys ---------------------------------------------------------------------------------------

def test_keys_page_lists_the_custodial_key(tokio, world):
    text = text_of(tokio.get("/keys/"))
    key = db.session.scalar(select(SigningKey).filter_by(owner_id=world.org("tokio").id))
    assert key.kid in text and "Custodial (held by the service)" in text and "Active" in text


def test_register_a_public_jwk(tokio, world):
    key = KeyPair.generate()
    r = tokio.post("/keys/register", {"jwk": json.dumps(key.public_jwk)}, page="/keys/")
    assert r.status_code == 302
    row = db.session.get(SigningKey, key.kid)
    assert row.owner_id == world.org("tokio").id and row.private_wrapped is None and row.status == "active"
    text = text_of(tokio.get("/keys/"))
    assert "Your public key is registered" in text and "Registered (your own key)" in text
    r = tokio.post("/keys/register", {"jwk": json.dumps(key.public_jwk)}, page="/keys/")
    assert r.status_code == 302 and "already registered" in text_of(tokio.get("/keys/"))
    jwks = world.client.get(f"/api/v1/insurers/{world.org('tokio').id}/jwks.json").json
    assert key.kid in [k["kid"] for k in jwks["keys"]]


@pytest.mark.parametrize("pasted, words", [
    ("", "Paste your public key"),
    ("not json", "This is not JSON"),
    ("[1, 2]", "JSON object"),
    ('{"kty": "RSA"}', "must be an Ed25519 key"),
    ('{"kty": "OKP", "crv": "Ed25519", "x": "c2hvcnQ"}', "32 bytes"),
    ("{" + '"a": 1,' * 5000 + '"b": 2}', "too long"),
])
def test_unusable_jwks_are_refused_next_to_the_field(tokio, pasted, words):
    before = count(SigningKey)
    r = tokio.post("/keys/register", {"jwk": pasted}, page="/keys/")
    assert r.status_code == 422
    assert words in field_error(r.get_data(as_text=True), "jwk")
    assert count(SigningKey) == before


def test_a_private_jwk_is_refused_and_not_stored(tokio):
    key = KeyPair.generate()
    r = tokio.post("/keys/register", {"jwk": json.dumps(key.private_jwk())}, page="/keys/")
    assert r.status_code == 422 and "private key" in field_error(r.get_data(as_text=True), "jwk")
    assert db.session.get(SigningKey, key.kid) is None


def test_use_custodial_key_and_retire(portal, world):
    harbour = portal("harbour")
    hid = world.org("harbour").id
    existing = {k.kid for k in db.session.scalars(select(SigningKey).filter_by(owner_id=hid))}
    r = harbour.post("/keys/custodial", {}, page="/keys/")
    assert r.status_code == 302
    rows = db.session.scalars(select(SigningKey).filter_by(owner_id=hid, status="active")).all()
    custodial = [k for k in rows if k.private_wrapped is not None]
    assert len(custodial) == 1 and "custodial key" in text_of(harbour.get("/keys/"))
    kid = custodial[0].kid
    assert harbour.post(f"/keys/{kid}/retire", {}, page="/keys/").status_code == 302
    db.session.expire_all()
    assert db.session.get(SigningKey, kid).status == "retired"
    assert existing <= {k.kid for k in db.session.scalars(select(SigningKey).filter_by(owner_id=hid))}
    # another insurer's key is not found
    assert portal("tokio").post(f"/keys/{kid}/retire", {}, page="/keys/").status_code == 404


def test_an_unapproved_insurer_cannot_hold_a_key(portal):
    nova = portal("nova")
    r = nova.post("/keys/custodial", {}, page="/keys/")
    assert r.status_code == 422 and "is not approved by any regulator" in text_of(r)
    r = nova.post("/keys/register", {"jwk": json.dumps(KeyPair.generate().public_jwk)}, page="/keys/")
    assert r.status_code == 422 and "must be approved" in field_error(r.get_data(as_text=True), "jwk")


# ---- attestations -----------------------------------------------------------------------------------------

def test_attest_closes_the_gap(tokio, world, sakura_id):
    assert "Every active policy's current revision is attested" in text_of(tokio.get("/attestations/"))
    register(tokio, sakura_id, number="TMC-GAP")
    p = policy_by("TMC-GAP")
    r = tokio.get("/attestations/")
    assert "TMC-GAP" in text_of(r) and "Attest TMC-GAP" in r.get_data(as_text=True)
    r = tokio.post(f"/attestations/{p.id}/attest", {}, page="/attestations/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/attestations/")
    a = db.session.scalar(select(Attestation).filter_by(policy_id=p.id))
    assert (a.revision, a.custodial) == (1, True)
    text = text_of(tokio.get("/attestations/"))
    assert "Revision 1 of policy TMC-GAP is attested" in text and "Attest TMC-GAP" not in text
    again = tokio.post(f"/attestations/{p.id}/attest", {}, page="/attestations/")
    assert again.status_code == 422 and "already attested" in text_of(again)
    assert count(Attestation, policy_id=p.id) == 1
    assert world.call("get", f"/api/v1/policies/{p.id}/attestations", "tokio").json["items"][0]["kid"] == a.kid


def test_attest_from_the_policy_page_returns_there(tokio, sakura_id):
    register(tokio, sakura_id, number="TMC-GAP2")
    p = policy_by("TMC-GAP2")
    r = tokio.post(f"/attestations/{p.id}/attest", {"next": f"/policies/{p.id}"}, page=f"/policies/{p.id}")
    assert r.headers["Location"].endswith(f"/policies/{p.id}")
    r = tokio.post(f"/attestations/{p.id}/attest", {"next": "https://evil.example/"}, page=f"/policies/{p.id}")
    assert r.status_code == 422  # already attested; and never a redirect off-site


def test_a_jws_signed_offline_with_a_registered_key(tokio, world, sakura_id):
    key = KeyPair.generate()
    tokio.post("/keys/register", {"jwk": json.dumps(key.public_jwk)}, page="/keys/")
    register(tokio, sakura_id, number="TMC-OWN")
    p = policy_by("TMC-OWN")
    assert "Paste a signed JWS for TMC-OWN" in text_of(tokio.get("/attestations/"))
    payload = json.loads(tokio.get(f"/attestations/{p.id}/payload.json").get_data(as_text=True))
    assert payload["policyNumber"] == "TMC-OWN" and payload["limit"] == "1000000000"
    page = f"/attestations/{p.id}/jws"
    wrong = jws.sign({**payload, "limit": "5"}, key, "attestation+jwt")
    r = tokio.post(page, {"jws": wrong}, page=page)
    assert r.status_code == 422 and "limit" in field_error(r.get_data(as_text=True), "jws")
    r = tokio.post(page, {"jws": "not a jws"}, page=page)
    assert r.status_code == 422 and field_error(r.get_data(as_text=True), "jws")
    r = tokio.post(page, {"jws": ""}, page=page)
    assert r.status_code == 422 and "required" in field_error(r.get_data(as_text=True), "jws")
    stranger = jws.sign(payload, KeyPair.generate(), "attestation+jwt")
    r = tokio.post(page, {"jws": stranger}, page=page)
    assert r.status_code == 422 and "not registered to you" in field_error(r.get_data(as_text=True), "jws")
    assert count(Attestation, policy_id=p.id) == 0
    good = jws.sign(payload, key, "attestation+jwt")
    r = tokio.post(page, {"jws": good[:40] + "\n" + good[40:]}, page=page)  # a line break from pasting
    assert r.status_code == 302
    a = db.session.scalar(select(Attestation).filter_by(policy_id=p.id))
    assert (a.kid, a.custodial) == (key.kid, False)


# ---- bulk upload ------------------------------------------------------------------------------------------

def upload(client, content: bytes | str, filename: str = "policies.csv"):
    if isinstance(content, str):
        content = content.encode()
    return client.post("/policies/upload", {"file": (io.BytesIO(content), filename)}, page="/policies/upload",
                       content_type="multipart/form-data")


def csv_rows(*rows: str, header: str = HEADER, nl: str = "\n") -> str:
    return nl.join([header, *rows]) + nl


GOOD = "TMC-B-1,Kanto-FB-00099,JPY,\"1,000,000,000\",10000000,theft_hack;insider_fraud,2027-01-01,2027-12-31,90"


def test_template_has_the_header_row(tokio):
    r = tokio.get("/policies/upload/template.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.get_data(as_text=True).strip() == HEADER
    assert "attachment" in r.headers["Content-Disposition"]
    assert 'href="/policies/upload"' in tokio.get("/policies/").get_data(as_text=True)


def test_upload_registers_good_rows_and_reports_bad_ones(tokio, world, sakura_id):
    rhein = world.org("rhein").id
    content = csv_rows(
        GOOD,
        f"TMC-B-2,{rhein},EUR,2500000.50,0,theft_hack,2027-01-01,2027-06-30,30",
        "TMC-B-3,Kanto-FB-00099,JPY,lots,0,theft_hack,2027-13-01,2027-06-30,30",
        "TMC-2026-0001,Kanto-FB-00099,JPY,100,0,theft_hack,2027-01-01,2027-06-30,30",
        "TMC-B-1,Kanto-FB-00099,JPY,100,0,theft_hack,2027-01-01,2027-06-30,30",
        "TMC-B-6,NOWHERE-1,JPY,100,0,earthquake,2027-01-01,2027-06-30,30",
    )
    before = count(Policy)
    r = upload(tokio, content)
    assert r.status_code == 200
    text = text_of(r)
    assert "2 registered, 4 refused" in text
    assert count(Policy) == before + 2
    b1, b2 = policy_by("TMC-B-1"), policy_by("TMC-B-2")
    assert (b1.insured_id, b1.limit_amount, sorted(b1.perils)) == (sakura_id, 1_000_000_000,
                                                                    ["insider_fraud", "theft_hack"])
    assert (b2.insured_id, b2.currency, b2.limit_amount) == (rhein, "EUR", 250_000_050)
    rows = re.findall(r"<tr[^>]*>\s*<td>(\d+)</td>(.*?)</tr>", r.get_data(as_text=True), re.S)
    report = {int(n): text_of(cells) for n, cells in rows}
    assert report[2].startswith("TMC-B-1 Registered") and report[3].startswith("TMC-B-2 Registered")
    assert "Limit: enter an amount in JPY" in report[4] and "Term start: not a date" in report[4]
    assert "Policy number: already used" in report[5]
    assert "Policy number: already used" in report[6]  # the same number twice in one file
    assert "Perils: unknown peril earthquake" in report[7]
    assert policy_by("TMC-B-3") is None and policy_by("TMC-B-6") is None
    assert count(Policy, number="TMC-B-1") == 1
    # the refused rows come back as CSV, as they were typed, to fix and upload again
    rows_field = re.search(r'name="rows" value="([^"]*)"', r.get_data(as_text=True)).group(1)
    import html as html_mod

    back = tokio.post("/policies/upload/refused.csv", {"rows": html_mod.unescape(rows_field)},
                      page="/policies/upload")
    lines = back.get_data(as_text=True).splitlines()
    assert back.mimetype == "text/csv" and lines[0] == HEADER and len(lines) == 5
    assert lines[1].startswith("TMC-B-3,Kanto-FB-00099,JPY,lots")
    # the registered ones need attesting
    assert "TMC-B-1" in text_of(tokio.get("/attestations/"))


def test_uploading_the_same_file_twice_registers_nothing_twice(tokio):
    content = csv_rows(GOOD)
    assert "1 registered, 0 refused" in text_of(upload(tokio, content))
    r = upload(tokio, content)
    assert "0 registered, 1 refused" in text_of(r) and "already used" in text_of(r)
    assert count(Policy, number="TMC-B-1") == 1


def test_bom_crlf_headers_in_any_case_and_blank_lines_are_fine(tokio):
    content = "\ufeff" + csv_rows(GOOD, "", header=HEADER.upper(), nl="\r\n") + "\r\n\r\n"
    r = upload(tokio, content.encode("utf-8"))
    assert r.status_code == 200 and "1 registered, 0 refused" in text_of(r)
    assert policy_by("TMC-B-1") is not None


@pytest.mark.parametrize("content, words", [
    (b"", "The file is empty"),
    (b"   \r\n", "The file is empty"),
    (HEADER.encode() + b"\n", "header row but no policies"),
    (b"number,insured,limit\nA,B,1\n", "missing currency, deductible"),
    ((HEADER + ",colour\n").encode(), "unknown colour"),
    ((HEADER + ",number\n").encode(), "repeated number"),
    (b"\xff\xfe\x00n\x00u\x00m", "not UTF-8"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8"),
    ((HEADER + "\nA,\x00B\n").encode(), "binary data"),
    ((HEADER + "\n\"" + "x" * 200_000 + "\"\n").encode(), "cannot be read at line"),
    ((HEADER + "\n" + "\n".join(f"N{i},x,JPY,1,0,theft_hack,2027-01-01,2027-02-01,0" for i in range(1001))
      + "\n").encode(), "more than 1000 rows"),
])
def test_hostile_files_are_refused_as_a_whole_without_a_500(tokio, content, words):
    before = count(Policy)
    r = upload(tokio, content)
    assert r.status_code == 422, text_of(r)[:300]
    assert words in field_error(r.get_data(as_text=True), "file"), field_error(r.get_data(as_text=True), "file")
    assert count(Policy) == before


@pytest.mark.parametrize("row, words", [
    ("TMC-X,Kanto-FB-00099,JPY,1,0", "Cancellation notice (days): required"),
    (GOOD + ",extra", "this row has 10 cells"),
    ("\"TMC-\nX\",Kanto-FB-00099,JPY,1,0,theft_hack,2027-01-01,2027-02-01,0", "control characters"),
    ("TMC-X,Kanto-FB-00099,JPY,1,0,theft_hack,2027-01-01,2027-02-01," + "9" * 40, "Cancellation notice"),
    ("TMC-X,Kanto-FB-00099,JPY," + "9" * 30 + ",0,theft_hack,2027-01-01,2027-02-01,0", "Limit: enter an amount"),
    ("TMC-X,Kanto-FB-00099,JPY,-5,0,theft_hack,2027-01-01,2027-02-01,0", "Limit:"),
    ("TMC-X," + "y" * 5000 + ",JPY,1,0,theft_hack,2027-01-01,2027-02-01,0", "Insured exchange: too long"),
    ("=HYPERLINK(\"http://x\"),Kanto-FB-00099,JPY,0,0,theft_hack,2027-01-01,2027-02-01,0", "more than zero"),
])
def test_hostile_rows_are_refused_alone(tokio, row, words):
    before = count(Policy)
    r = upload(tokio, csv_rows(row, GOOD))
    assert r.status_code == 200, text_of(r)[:300]
    assert words in text_of(r) and "1 registered, 1 refused" in text_of(r)
    assert count(Policy) == before + 1


def test_no_file_and_a_huge_file(tokio):
    r = tokio.post("/policies/upload", {}, page="/policies/upload")
    assert r.status_code == 422 and "choose a CSV file" in field_error(r.get_data(as_text=True), "file")
    boundary = "----e2e-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + b"x" * (3 * 1024 * 1024) + f"\r\n--{boundary}--\r\n".encode()
    r = tokio.client.post("/policies/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                          headers={"Accept": "text/html"})
    assert r.status_code == 413 and r.mimetype == "text/html"
    assert "File too large" in text_of(r) and "larger than the 2 MB this site accepts" in text_of(r)
    assert count(Policy, number="x") == 0


def test_insured_by_exchange_id_and_an_exchange_not_insurable(portal, world):
    victoria = db.session.get(Exchange, world.org("victoria").id)
    rhein = db.session.get(Exchange, world.org("rhein").id)
    harbour = portal("harbour")  # JP and HK
    content = csv_rows(f"HSR-B-1,{victoria.org_id},HKD,100000,0,theft_hack,2027-01-01,2027-12-31,30",
                       f"HSR-B-2,{rhein.licence_number},EUR,100000,0,theft_hack,2027-01-01,2027-12-31,30")
    text = text_of(upload(harbour, content))
    assert "1 registered, 1 refused" in text and "Insured exchange: no exchange with this id" in text
    assert policy_by("HSR-B-1").insured_id == victoria.org_id and policy_by("HSR-B-2") is None


def test_japanese_pages_and_messages(tokio, sakura_id):
    tokio.get("/language/ja")
    try:
        for path in ("/insurer/", "/policies/", "/policies/register", "/policies/upload", "/keys/",
                     "/attestations/"):
            r = tokio.get(path)
            assert r.status_code == 200 and 'lang="ja"' in r.get_data(as_text=True), path
        html = register(tokio, sakura_id, number="TMC-2026-0001").get_data(as_text=True)
        assert "既に" in field_error(html, "number")
        html = register(tokio, sakura_id, limit="lots").get_data(as_text=True)
        assert "JPY" in field_error(html, "limit") and "金額" in field_error(html, "limit")
    finally:
        tokio.get("/language/en")
