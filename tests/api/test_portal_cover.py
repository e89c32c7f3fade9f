"""Portal: the exchange attaches and detaches cover, requests certificates and downloads them; regulators and
insurers list the certificates their tenancy lets them see. Same services and rules as the API."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, timedelta

from sqlalchemy import func, select

from marketplace.allocations.models import Allocation
from marketplace.certificates.models import Certificate
from marketplace.domain.money import Money
from marketplace.extensions import db
from marketplace.obligations.models import ObligationRecord
from marketplace.policies import service as policies
from marketplace.policies.models import Policy
from marketplace.registry.models import Exchange
from tests.portal_client import text_of

R = "/api/v1"


def obligation(world, key: str = "sakura") -> ObligationRecord:
    return db.session.scalar(select(ObligationRecord).filter_by(exchange_id=world.org(key).id, superseded_at=None))


def policy(number: str) -> Policy:
    return db.session.scalar(select(Policy).filter_by(number=number))


def live_allocations() -> list[tuple[str, int, str]]:
    db.session.expire_all()
    return sorted(db.session.execute(select(Allocation.policy_id, Allocation.amount, Allocation.obligation_id)
                                     .where(Allocation.status == "live")).all())


def offset(world, ob_id: str) -> int:
    return int(world.call("get", f"{R}/obligations/{ob_id}/offset", "sakura").json["total_offset"]["amount"])


def field_error(html: str, name: str) -> str:
    """The message shown next to a field (the macros give it the id <name>-error)."""
    m = re.search(rf'<p class="field-error" id="{name}-error">(.*?)</p>', html, re.S)
    return re.sub(r"\s+", " ", m.group(1)).strip() if m else ""


def listed(resp) -> set[str]:
    """The certificates linked from the list (the table before the revocations)."""
    html = resp.get_data(as_text=True).split("<h2>Revocations</h2>")[0]
    return set(re.findall(r'href="/certificates/([0-9a-f-]{36})"', html))


def rhein_obligation(world) -> ObligationRecord:
    r = world.call("post", f"{R}/obligations", "rhein", json={"period": "2027-Q1"})
    assert r.status_code in (200, 201), r.json
    return db.session.get(ObligationRecord, r.json["id"])


def rhein_policy(world) -> Policy:
    ex = db.session.get(Exchange, world.org("rhein").id)
    p = policies.create(world.org("tokio"), ex, "TMC-EU-TEST-1", Money(100_000_000, "EUR"), Money(0, "EUR"),
                        ["theft_hack"], date(2026, 10, 1), date(2028, 9, 30), 120, "registered", "test")
    db.session.commit()
    return p


# ---- the cover page -------------------------------------------------------------------------------------

def test_cover_page_shows_allocations_reasons_and_remaining_limits(portal, world):
    c = portal("sakura")
    r = c.get("/allocations/")
    assert r.status_code == 200
    text = text_of(r)
    assert "Obligation for 2027-Q1" in text
    # the Harbour policy counts for nothing, and the page says why in words
    assert re.search(r"HSR-JP-7781 Harbour Specialty Re ¥1,000,000,000 ¥0 Not eligible: The insurer's rating is "
                     r"below the rule-set's minimum \(rating BBB is below the minimum", text)
    # policies with their limit, allocated anywhere, and what remains
    assert "TMC-2026-0001 Tokio Mutual Cyber Active" in text
    assert re.search(r"TMC-2026-0001 Tokio Mutual Cyber Active .*? ¥3,000,000,000 ¥2,000,000,000 ¥1,000,000,000", text)
    assert "$10,000,000.00 $5,000,000.00 $5,000,000.00" in text
    # one Detach button per allocation, named by its policy; the attach form is labelled
    html = r.get_data(as_text=True)
    for number in ("TMC-2026-0001", "TMC-USD-0042", "HSR-JP-7781"):
        assert f">Detach {number}</button>" in html
    assert '<label for="policy">Policy</label>' in html and '<label for="amount">Amount</label>' in html
    assert ">Attach cover</button>" in html
    # only the exchange itself uses the page
    assert portal("fsa").get("/allocations/").status_code == 403
    assert portal("tokio").get("/allocations/").status_code == 403
    assert c.get("/allocations/?period=2031-Q4").status_code == 404


def test_attach_within_the_remaining_limit_changes_the_offset(portal, world):
    c = portal("sakura")
    ob, tmc = obligation(world), policy("TMC-2026-0001")
    before = offset(world, ob.id)
    r = c.post(f"/allocations/{ob.id}/attach", {"policy": tmc.id, "amount": "¥500,000,000"}, page="/allocations/")
    assert r.status_code == 302, text_of(r)
    assert (tmc.id, 500_000_000, ob.id) in live_allocations()
    after = offset(world, ob.id)
    assert after > before
    page = c.get(r.headers["Location"])
    text = text_of(page)
    assert f"Attached ¥500,000,000 of policy TMC-2026-0001. Insurance offset ¥{before:,} → ¥{after:,}" in text
    assert f"Insurance offset ¥{after:,}" in text  # the totals on the page are the new ones
    assert re.search(r"TMC-2026-0001 Tokio Mutual Cyber Active .*? ¥3,000,000,000 ¥2,500,000,000 ¥500,000,000", text)


def test_attach_beyond_the_remaining_limit_is_refused_at_the_amount_field(portal, world):
    c = portal("sakura")
    ob, tmc = obligation(world), policy("TMC-2026-0001")
    before = live_allocations()
    r = c.post(f"/allocations/{ob.id}/attach", {"policy": tmc.id, "amount": "1,500,000,000"}, page="/allocations/")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert field_error(html, "amount") == "Only ¥1,000,000,000 of the policy limit ¥3,000,000,000 remains."
    assert 'id="amount" name="amount" value="1,500,000,000"' in html and 'aria-invalid="true"' in html
    assert f'<option value="{tmc.id}" selected>' in html  # what the user chose is kept
    assert live_allocations() == before


def test_bad_amounts_and_policies_are_errors_next_to_the_field(portal, world):
    c = portal("sakura")
    ob, tmc, usd = obligation(world), policy("TMC-2026-0001"), policy("TMC-USD-0042")
    before = live_allocations()
    cases = [
        ({"policy": tmc.id, "amount": "lots"}, "amount", "enter an amount in JPY"),
        ({"policy": tmc.id, "amount": ""}, "amount", "enter an amount in JPY"),
        ({"policy": tmc.id, "amount": "0"}, "amount", "Enter an amount above zero."),
        ({"policy": tmc.id, "amount": "-5"}, "amount", "Enter an amount above zero."),
        ({"policy": tmc.id, "amount": "1.5"}, "amount", "JPY amounts have no decimals"),
        ({"policy": tmc.id, "amount": "9" * 40}, "amount", "too large"),
        ({"policy": usd.id, "amount": "12.345"}, "amount", "USD amounts have 2 decimal places"),
        ({"policy": "", "amount": "100"}, "policy", "Choose a policy."),
    ]
    for form, name, message in cases:
        r = c.post(f"/allocations/{ob.id}/attach", form, page="/allocations/")
        assert r.status_code == 422, (form, r.status_code)
        assert message in field_error(r.get_data(as_text=True), name), (form, text_of(r)[:600])
    # USD cents are fine: 1,234.50 dollars is 123450 minor units
    r = c.post(f"/allocations/{ob.id}/attach", {"policy": usd.id, "amount": "1,234.50"}, page="/allocations/")
    assert r.status_code == 302
    assert (usd.id, 123_450, ob.id) in live_allocations()
    assert len(live_allocations()) == len(before) + 1


def test_detach_and_a_second_detach(portal, world):
    c = portal("sakura")
    ob, hsr = obligation(world), policy("HSR-JP-7781")
    a = db.session.scalar(select(Allocation).filter_by(policy_id=hsr.id, obligation_id=ob.id, status="live"))
    url = f"/allocations/{ob.id}/allocations/{a.id}/detach"
    r = c.post(url, {}, page="/allocations/")
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Allocation, a.id).status == "detached"
    text = text_of(c.get(r.headers["Location"]))
    assert "Detached ¥1,000,000,000 of policy HSR-JP-7781." in text
    assert re.search(r"HSR-JP-7781 Harbour Specialty Re Active .*? ¥1,000,000,000 ¥0 ¥1,000,000,000", text)
    again = c.post(url, {}, page="/allocations/")  # a double submit
    assert again.status_code == 422
    assert "The cover of policy HSR-JP-7781 is already detached." in text_of(again)


def test_other_exchanges_obligations_allocations_and_policies_are_404(portal, world):
    sakura, rhein = portal("sakura"), portal("rhein")
    ob, tmc = obligation(world), policy("TMC-2026-0001")
    theirs, their_policy = rhein_obligation(world), rhein_policy(world)
    before = live_allocations()
    # sakura, on rhein's obligation, and with rhein's policy
    assert sakura.post(f"/allocations/{theirs.id}/attach", {"policy": tmc.id, "amount": "1"},
                       page="/allocations/").status_code == 404
    r = sakura.post(f"/allocations/{ob.id}/attach", {"policy": their_policy.id, "amount": "1"}, page="/allocations/")
    assert r.status_code == 404
    assert field_error(r.get_data(as_text=True), "policy") == "Choose one of your policies."
    # rhein, on sakura's obligation and allocation
    a = db.session.scalar(select(Allocation).filter_by(obligation_id=ob.id, status="live"))
    assert rhein.post(f"/allocations/{ob.id}/attach", {"policy": their_policy.id, "amount": "1"},
                      page="/allocations/").status_code == 404
    assert rhein.post(f"/allocations/{ob.id}/allocations/{a.id}/detach", {}, page="/allocations/").status_code == 404
    assert rhein.post(f"/allocations/{theirs.id}/allocations/{a.id}/detach", {},
                      page="/allocations/").status_code == 404
    assert "TMC-2026-0001" not in text_of(rhein.get("/allocations/"))
    assert live_allocations() == before


def test_forms_without_the_csrf_token_are_refused(portal, world):
    ob, tmc = obligation(world), policy("TMC-2026-0001")
    before = live_allocations()
    r = portal("sakura").post(f"/allocations/{ob.id}/attach", {"policy": tmc.id, "amount": "1"}, csrf=False)
    assert r.status_code == 400
    assert live_allocations() == before


# ---- certificates ---------------------------------------------------------------------------------------

def request_certificate(c, ob_id: str) -> str:
    r = c.post("/certificates/request", {"obligation": ob_id}, page="/certificates/")
    assert r.status_code == 302, text_of(r)[:800]
    m = re.fullmatch(r".*/certificates/([0-9a-f-]{36})", r.headers["Location"])
    return m.group(1)


def test_request_a_certificate_and_download_it(portal, world):
    c = portal("sakura")
    ob = obligation(world)
    old = db.session.scalar(select(Certificate.id).filter_by(exchange_id=world.org("sakura").id, status="valid"))
    cid = request_certificate(c, ob.id)
    db.session.expire_all()
    cert = db.session.get(Certificate, cid)
    assert (cert.obligation_id, cert.status, cert.created_by) == (ob.id, "valid", "user:sakura.admin@portal.test")
    assert db.session.get(Certificate, old).status == "revoked"  # superseded, as by the API

    detail = c.get(f"/certificates/{cid}")
    assert detail.status_code == 200
    text, html = text_of(detail), detail.get_data(as_text=True)
    assert "Certificate issued for 2027-Q1." in text and "Valid" in text
    assert "Certificate for Sakura Digital Exchange, 2027-Q1" in text
    assert "TMC-2026-0001 Tokio Mutual Cyber" in text
    assert re.search(r"Log entry \d+ Log size at the checkpoint \d+ Checkpoint origin \S+/reserve-offset-log", text)
    assert f'href="/verify/{cid}"' in html
    for link in ("pdf", "bundle", "jws"):
        assert f'href="/certificates/{cid}/{link}"' in html

    pdf = c.get(f"/certificates/{cid}/pdf")
    assert (pdf.status_code, pdf.mimetype) == (200, "application/pdf") and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"] == f'attachment; filename="certificate-{cid}.pdf"'
    bundle = c.get(f"/certificates/{cid}/bundle")
    assert (bundle.status_code, bundle.mimetype) == (200, "application/json")
    assert bundle.headers["Content-Disposition"] == f'attachment; filename="certificate-{cid}.json"'
    doc = json.loads(bundle.data)
    assert doc["certificate"] == cert.jws and doc["receipt"]["leafIndex"] >= 0
    assert set(doc) == set(world.call("get", f"{R}/certificates/{cid}/bundle", "sakura").json)
    jws = c.get(f"/certificates/{cid}/jws")
    assert jws.status_code == 200 and jws.get_data(as_text=True) == cert.jws
    assert jws.headers["Content-Disposition"] == f'attachment; filename="certificate-{cid}.jws"'

    listing = text_of(c.get("/certificates/"))
    assert f"{cid} 2027-Q1" in listing
    assert f"{old} 2027-Q1" in listing and f"Revoked superseded by certificate {cid}" in listing


def test_requesting_for_a_foreign_or_missing_obligation(portal, world):
    c = portal("sakura")
    theirs = rhein_obligation(world)
    count = db.session.scalar(select(func.count(Certificate.id)))
    r = c.post("/certificates/request", {"obligation": theirs.id}, page="/certificates/")
    assert r.status_code == 404
    assert field_error(r.get_data(as_text=True), "obligation") == "Choose an obligation from the list."
    r = c.post("/certificates/request", {"obligation": ""}, page="/certificates/")
    assert r.status_code == 422 and field_error(r.get_data(as_text=True), "obligation") == "Choose an obligation."
    assert portal("fsa").post("/certificates/request", {"obligation": theirs.id},
                              page="/certificates/").status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Certificate.id))) == count


def test_regulator_filters_and_jurisdictions(portal, world):
    sakura_cert = request_certificate(portal("sakura"), obligation(world).id)
    rhein_cert = request_certificate(portal("rhein"), rhein_obligation(world).id)
    superseded = db.session.scalar(select(Certificate.id).filter_by(exchange_id=world.org("sakura").id,
                                                                    status="revoked"))
    fsa, bafin = portal("fsa"), portal("bafin")

    everything = text_of(fsa.get("/certificates/"))
    assert sakura_cert in everything and superseded in everything and rhein_cert not in everything
    assert "Certificates found: 2" in everything
    # revocations list: date, certificate, exchange, reason in words
    assert re.search(rf"Revocations .*{superseded} \(2027-Q1\) Sakura Digital Exchange superseded by certificate "
                     rf"{sakura_cert}", everything)

    sakura_id = world.org("sakura").id
    by_exchange = text_of(fsa.get(f"/certificates/?exchange={sakura_id}"))
    assert sakura_cert in by_exchange and "Certificates found: 2" in by_exchange
    assert listed(fsa.get("/certificates/?status=revoked")) == {superseded}
    assert listed(fsa.get(f"/certificates/?status=valid&period=2027-Q1&exchange={sakura_id}")) == {sakura_cert}
    # the days (UTC) the two were issued, from their rows: date.today() moves on if the test runs across midnight
    days = sorted({v.astimezone(UTC).date() for v in db.session.scalars(
        select(Certificate.valid_from).where(Certificate.id.in_([sakura_cert, superseded])))})
    today = days[-1]
    issued_today = text_of(fsa.get(f"/certificates/?issued_from={days[0]}&issued_to={today}"))
    assert "Certificates found: 2" in issued_today
    tomorrow = today + timedelta(days=1)
    assert "Certificates found: 0" in text_of(fsa.get(f"/certificates/?issued_from={tomorrow}"))
    assert "Certificates found: 0" in text_of(fsa.get("/certificates/?period=2031-Q1"))

    # bad filters: errors next to the field, never a 500
    bad = fsa.get("/certificates/?issued_from=31/01/2027")
    assert bad.status_code == 422
    assert field_error(bad.get_data(as_text=True), "issued_from") == "Enter a date such as 2027-01-31."
    bad = fsa.get(f"/certificates/?issued_from={tomorrow}&issued_to={today}")
    assert field_error(bad.get_data(as_text=True), "issued_to") == "The end date must not be before the start date."
    bad = fsa.get("/certificates/?status=maybe&page=0")
    assert bad.status_code == 422 and field_error(bad.get_data(as_text=True), "status") == "Choose Valid or Revoked."

    # BaFin sees only its jurisdiction: Rhein's certificate, never Sakura's
    theirs = bafin.get("/certificates/")
    assert listed(theirs) == {rhein_cert}
    assert "Sakura Digital Exchange" not in text_of(theirs)
    assert bafin.get(f"/certificates/?exchange={sakura_id}").status_code == 422
    for path in ("", "/pdf", "/bundle", "/jws"):
        assert bafin.get(f"/certificates/{sakura_cert}{path}").status_code == 404
        assert fsa.get(f"/certificates/{rhein_cert}{path}").status_code == 404
        assert portal("rhein").get(f"/certificates/{sakura_cert}{path}").status_code == 404
    assert fsa.get(f"/certificates/{sakura_cert}").status_code == 200


def test_insurers_see_the_certificates_that_rely_on_their_policies(portal, world):
    cert = db.session.scalar(select(Certificate.id).filter_by(exchange_id=world.org("sakura").id, status="valid"))
    tokio, harbour = portal("tokio"), portal("harbour")
    listing = text_of(tokio.get("/certificates/"))
    assert cert in listing and "Sakura Digital Exchange" in listing
    assert tokio.get(f"/certificates/{cert}/pdf").data.startswith(b"%PDF")
    # Harbour's policy is attached but not eligible, so the certificate does not rely on it
    assert cert not in text_of(harbour.get("/certificates/"))
    assert harbour.get(f"/certificates/{cert}").status_code == 404
    # the portal lists what the API lists, for every kind
    for key in ("sakura", "fsa", "bafin", "tokio", "harbour"):
        api = {c["id"] for c in world.call("get", f"{R}/certificates?per_page=100", key).json["items"]}
        assert listed(portal(key).get("/certificates/")) == api, key


def test_pages_in_japanese_and_every_message_translated(portal, world):
    from marketplace.portal.catalog import missing

    mine = ("allocations/views.py", "allocations/templates", "certificates/views.py", "certificates/templates")
    untranslated = {m: where for m, where in missing("ja").items() if any(p in w for w in where for p in mine)}
    assert not untranslated, untranslated
    c = portal("sakura")
    r = c.get("/allocations/", headers={"Accept-Language": "ja"})
    assert r.status_code == 200 and "補償を充当" in text_of(r) and "￥1,000,000,000" in text_of(r)
    r = c.get("/certificates/", headers={"Accept-Language": "ja"})
    assert ">証明書を請求</button>" in r.get_data(as_text=True)
