"""The regulator's portal pages: registry, API clients, rule-sets, dashboard. Each change goes through the
same service as the API and leaves the database as the API would; refusals put the error next to the field
and keep nothing; other regulators' objects are 404 and other kinds of organization get 403."""

from __future__ import annotations

import base64
import html
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from marketplace.auth.models import OAuthClient
from marketplace.certificates.models import Certificate
from marketplace.domain.rulesets import diff_documents
from marketplace.extensions import db
from marketplace.registry import service as registry
from marketplace.registry.models import Custodian, Exchange, InsurerApproval, Organization, OrgHistory
from marketplace.rulesets.models import RuleSetVersion
from marketplace.rulesets.service import document_of
from tests.portal_client import text_of

R = "/api/v1"


def _fresh():
    db.session.rollback()
    db.session.expire_all()


def _status(insurer: Organization, regulator: Organization) -> str | None:
    _fresh()
    return db.session.scalar(select(InsurerApproval.status).filter_by(insurer_id=insurer.id,
                                                                      regulator_id=regulator.id))


def _by_name(kind: str, name: str) -> Organization | None:
    _fresh()
    return db.session.scalar(select(Organization).filter_by(kind=kind, name=name))


def _error_next_to(resp, field: str) -> str:
    """The message shown next to a form field (the macros give it the id <field>-error)."""
    m = re.search(rf'id="{re.escape(field)}-error">(.*?)</p>', resp.get_data(as_text=True), re.S)
    assert m, f"no error next to {field!r} in: {text_of(resp)[:600]}"
    return html.unescape(m.group(1)).strip()


def _counts() -> tuple[int, int, int]:
    _fresh()
    return (db.session.query(Organization).count(), db.session.query(OrgHistory).count(),
            db.session.query(OAuthClient).count())


# ---- registry: what the regulator sees ----

def test_the_registry_lists_insurers_with_their_standing_exchanges_and_custodians(portal, world):
    fsa = portal("fsa")
    resp = fsa.get("/registry/")
    assert resp.status_code == 200
    text = text_of(resp)
    assert "Tokio Mutual Cyber Approved A" in text
    assert "Harbour Specialty Re Approved BBB" in text
    assert "Nova Digital Assurance Pending approval Unrated" in text
    assert "Sakura Digital Exchange Kanto-FB-00099" in text
    assert "Tokyo Wallet Services Registered JP-WMS-0007" in text
    assert "Offshore Key Management Not registered" in text
    page_html = resp.get_data(as_text=True)
    for button in ("Approve Nova Digital Assurance", "Suspend Tokio Mutual Cyber", "Suspend Harbour Specialty Re",
                   "Admit insurer", "Register exchange", "Register custodian"):
        assert f">{button}</button>" in page_html, button
    assert "Rhein Crypto Markets" not in text  # the EU's exchange is BaFin's, not the FSA's


def test_the_registry_shows_the_same_organizations_as_the_api(portal, world):
    text = text_of(portal("fsa").get("/registry/"))
    api = world.call("get", f"{R}/organizations?per_page=100", "fsa").json["items"]
    for org in api:
        if org["kind"] != "regulator":
            assert org["name"] in text, org["name"]
    bafin_text = text_of(portal("bafin").get("/registry/"))
    for org in world.call("get", f"{R}/organizations?per_page=100", "bafin").json["items"]:
        if org["kind"] != "regulator":
            assert org["name"] in bafin_text
    assert "Harbour Specialty Re" not in bafin_text and "Sakura Digital Exchange" not in bafin_text


def test_an_organization_page_shows_standing_rating_and_history(portal, world):
    tokio = world.org("tokio")
    resp = portal("fsa").get(f"/registry/organizations/{tokio.id}")
    assert resp.status_code == 200
    text = text_of(resp)
    assert "Status in JP Approved" in text and "Your rating (JP) A" in text  # the FSA's own rating (per regulator)
    assert "History of Tokio Mutual Cyber" in text and "Status in JP" in text and "Rating in JP" in text
    for jurisdiction in ("JP", "EU", "HK"):  # its standing and rating with each regulator, as the API's approvals say
        assert re.search(rf"{jurisdiction} .*? Approved A ", text)


# ---- insurers ----

def test_admit_then_approve_an_insurer_as_the_api_does(portal, world):
    fsa, regulator = portal("fsa"), world.org("fsa")
    resp = fsa.post("/registry/insurers/new", {"name": "Kaze Re", "rating": "A+"}, page="/registry/insurers/new")
    assert resp.status_code == 302
    kaze = _by_name("insurer", "Kaze Re")
    assert resp.headers["Location"].endswith(f"/registry/organizations/{kaze.id}")
    assert kaze.rating == "A+" and kaze.jurisdiction == "JP"
    assert _status(kaze, regulator) == "pending"
    api = world.call("get", f"{R}/organizations/{kaze.id}", "fsa").json
    assert api["approvals"][0]["status"] == "pending" and api["rating"] == "A+"
    assert "Kaze Re is admitted" in text_of(fsa.get(resp.headers["Location"]))

    resp = fsa.post(f"/registry/insurers/{kaze.id}/approve", {"back": "registry"}, page="/registry/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/registry/")
    assert _status(kaze, regulator) == "approved"
    history = world.call("get", f"{R}/organizations/{kaze.id}/history", "fsa").json["items"]
    assert [(h["field"], h["new_value"]) for h in history] == [
        ("created", "insurer"), ("status:JP", "pending"), ("rating", "A+"), ("status:JP", "approved")]
    assert history[-1]["changed_by"] == "user:fsa.admin@portal.test"

    # a double submit is refused as the API refuses it (409), on the page, with nothing changed
    before = _counts()
    again = fsa.post(f"/registry/insurers/{kaze.id}/approve", {"back": "registry"}, page="/registry/")
    assert again.status_code == 409
    assert "cannot approve an insurer whose status is 'approved'" in text_of(again)
    assert _counts() == before


def test_admitting_with_bad_input_shows_errors_next_to_the_fields_and_keeps_nothing(portal, world):
    fsa = portal("fsa")
    before = _counts()
    resp = fsa.post("/registry/insurers/new", {"name": "", "rating": "ZZZ"}, page="/registry/insurers/new")
    assert resp.status_code == 422
    assert _error_next_to(resp, "name")
    assert _error_next_to(resp, "rating")
    resp = fsa.post("/registry/insurers/new", {"name": "N" * 500}, page="/registry/insurers/new")
    assert resp.status_code == 422 and "between 1 and 200" in _error_next_to(resp, "name")
    assert 'value="' + "N" * 500 + '"' in resp.get_data(as_text=True)  # what was typed is kept
    resp = fsa.post("/registry/insurers/new", {"name": "Kaze Re", "licence_number": "X"},
                    page="/registry/insurers/new")
    assert resp.status_code == 422 and "only for kind exchange" in text_of(resp)
    assert _counts() == before


def test_suspending_tokio_revokes_the_certificate_that_relied_on_it(portal, world):
    """The demo's certificate relies on Tokio's policies (Harbour's BBB is below JP's minimum, so its policy
    earns no offset). The page calls the API's service; the event's revocation subscriber does the rest."""
    fsa, tokio, regulator = portal("fsa"), world.org("tokio"), world.org("fsa")
    cert_id = db.session.scalar(select(Certificate.id).where(Certificate.status == "valid"))
    page = fsa.get(f"/registry/insurers/{tokio.id}/suspend")
    assert page.status_code == 200 and "Suspend Tokio Mutual Cyber" in text_of(page)
    resp = fsa.post(f"/registry/insurers/{tokio.id}/suspend", {"reason": "capital below the requirement"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/registry/organizations/{tokio.id}")
    assert _status(tokio, regulator) == "suspended"
    assert _status(tokio, world.org("bafin")) == "approved"  # one regulator's decision stays in its jurisdiction
    history = db.session.scalars(select(OrgHistory).filter_by(org_id=tokio.id).order_by(OrgHistory.id)).all()
    assert (history[-1].field, history[-1].new_value, history[-1].reason) == (
        "status:JP", "suspended", "capital below the requirement")
    cert = db.session.get(Certificate, cert_id)
    assert cert.status == "revoked"
    assert cert.revoked_reason == "insurer Tokio Mutual Cyber suspended by the JP regulator"
    public = world.call("get", f"{R}/certificates/{cert_id}/verification").json
    assert public["valid"] is False
    assert "revoked" in next(c for c in public["checks"] if c["name"] == "revocation")["detail"]

    detail = text_of(fsa.get(resp.headers["Location"]))
    assert "Tokio Mutual Cyber is suspended in JP" in detail and "Status in JP Suspended" in detail
    dashboard = text_of(fsa.get("/regulator/"))
    assert "insurer Tokio Mutual Cyber suspended by the JP regulator" in dashboard
    assert cert_id in dashboard

    # suspending again is refused (409) with the reason kept in the form; nothing changes
    before = _counts()
    again = fsa.post(f"/registry/insurers/{tokio.id}/suspend", {"reason": "twice"})
    assert again.status_code == 409 and "cannot suspend" in text_of(again)
    assert ">twice</textarea>" in again.get_data(as_text=True)
    assert _counts() == before
    # and reinstating is the button that remains
    assert ">Reinstate Tokio Mutual Cyber</button>" in fsa.get("/registry/").get_data(as_text=True)
    assert fsa.post(f"/registry/insurers/{tokio.id}/reinstate", {}, page="/registry/").status_code == 302
    assert _status(tokio, regulator) == "approved"


def test_suspending_harbour_changes_only_its_standing_in_japan(portal, world):
    fsa, harbour = portal("fsa"), world.org("harbour")
    valid_before = db.session.query(Certificate).filter_by(status="valid").count()
    resp = fsa.post(f"/registry/insurers/{harbour.id}/suspend", {"reason": "late filing"},
                    page=f"/registry/insurers/{harbour.id}/suspend")
    assert resp.status_code == 302
    assert _status(harbour, world.org("fsa")) == "suspended"
    assert _status(harbour, world.org("sfc")) == "approved"
    assert db.session.query(Certificate).filter_by(status="valid").count() == valid_before  # none relied on it
    api = world.call("get", f"{R}/organizations/{harbour.id}", "fsa").json
    assert {a["jurisdiction"]: a["status"] for a in api["approvals"]} == {"JP": "suspended", "HK": "approved"}


def test_a_long_reason_is_refused_next_to_its_field(portal, world):
    fsa, harbour = portal("fsa"), world.org("harbour")
    resp = fsa.post(f"/registry/insurers/{harbour.id}/suspend", {"reason": "x" * 2001},
                    page=f"/registry/insurers/{harbour.id}/suspend")
    assert resp.status_code == 422 and _error_next_to(resp, "reason")
    assert _status(harbour, world.org("fsa")) == "approved"


def test_set_rating_with_a_reason_and_refuse_a_rating_off_the_scale(portal, world):
    fsa, harbour = portal("fsa"), world.org("harbour")
    path = f"/registry/organizations/{harbour.id}"
    resp = fsa.post(f"/registry/insurers/{harbour.id}/rating", {"rating": "A-", "reason": "new capital"}, page=path)
    assert resp.status_code == 302
    # ratings are per regulator: the FSA's rating (JP) changes; the rating asked for at admission and the
    # SFC's rating (HK) stay as they were
    assert registry.rating_in(harbour.id, "JP") == "A-" and registry.rating_in(harbour.id, "HK") == "BBB"
    assert _by_name("insurer", "Harbour Specialty Re").rating == "BBB"
    last = db.session.scalars(select(OrgHistory).filter_by(org_id=harbour.id).order_by(OrgHistory.id.desc())).first()
    assert (last.field, last.jurisdiction, last.old_value, last.new_value, last.reason) == (
        "rating", "JP", "BBB", "A-", "new capital")
    assert "Your rating of Harbour Specialty Re in JP is now A-" in text_of(fsa.get(path))

    before = _counts()
    for bad in ({"rating": "Z"}, {"rating": ""}, {}):
        resp = fsa.post(f"/registry/insurers/{harbour.id}/rating", {**bad, "reason": "r"}, page=path)
        assert resp.status_code == 422 and _error_next_to(resp, "rating"), bad
    assert _counts() == before and registry.rating_in(harbour.id, "JP") == "A-"

    resp = fsa.post(f"/registry/insurers/{harbour.id}/rating", {"rating": "unrated"}, page=path)
    assert resp.status_code == 302 and registry.rating_in(harbour.id, "JP") is None
    assert registry.rating_in(harbour.id, "HK") == "BBB"


# ---- exchanges and custodians ----

def test_register_an_exchange_with_classes_and_a_custodian_then_unlink_and_link(portal, world):
    fsa = portal("fsa")
    tws = _by_name("custodian", "Tokyo Wallet Services")
    resp = fsa.post("/registry/exchanges/new", {"name": "Fuji Exchange", "licence_number": "Kanto-FB-00200",
                                                "service_classes": ["2", "3"], "custodians": [tws.id]},
                    page="/registry/exchanges/new")
    assert resp.status_code == 302, text_of(resp)[:500]
    fuji = _by_name("exchange", "Fuji Exchange")
    api = world.call("get", f"{R}/organizations/{fuji.id}", "fsa").json
    assert api["exchange"] == {"licence_number": "Kanto-FB-00200", "jurisdiction": "JP",
                               "regulator": world.org("fsa").id, "service_classes": [2, 3], "custodians": [tws.id]}
    detail = f"/registry/organizations/{fuji.id}"
    page_html = fsa.get(detail).get_data(as_text=True)
    assert ">Unlink Tokyo Wallet Services</button>" in page_html

    assert fsa.post(f"/registry/exchanges/{fuji.id}/custodians/{tws.id}/unlink", {}, page=detail).status_code == 302
    assert world.call("get", f"{R}/organizations/{fuji.id}", "fsa").json["exchange"]["custodians"] == []
    again = fsa.post(f"/registry/exchanges/{fuji.id}/custodians/{tws.id}/unlink", {}, page=detail)
    assert again.status_code == 404 and "is not linked" in text_of(again)  # a double submit, as the API says

    resp = fsa.post(f"/registry/exchanges/{fuji.id}/custodians", {"custodian": tws.id}, page=detail)
    assert resp.status_code == 302
    assert world.call("get", f"{R}/organizations/{fuji.id}", "fsa").json["exchange"]["custodians"] == [tws.id]
    resp = fsa.post(f"/registry/exchanges/{fuji.id}/custodians", {"custodian": "nope"}, page=detail)
    assert resp.status_code == 422 and _error_next_to(resp, "custodian")


def test_registering_an_exchange_refuses_bad_input_next_to_each_field(portal, world):
    fsa = portal("fsa")
    before = _counts()
    new = "/registry/exchanges/new"
    resp = fsa.post(new, {"name": "Fuji Exchange"}, page=new)
    assert resp.status_code == 422 and "required for an exchange" in _error_next_to(resp, "licence_number")
    resp = fsa.post(new, {"name": "Fuji", "licence_number": "Kanto-FB-00099"}, page=new)
    assert resp.status_code == 409 and "already registered" in _error_next_to(resp, "licence_number")
    resp = fsa.post(new, {"name": "Fuji", "licence_number": "L-1", "service_classes": ["4"]}, page=new)
    assert resp.status_code == 422 and _error_next_to(resp, "service_classes")
    # a custodian of another jurisdiction (or any id this regulator cannot see) is no custodian here
    other = world.call("post", f"{R}/organizations", "bafin", json={
        "kind": "custodian", "name": "Frankfurt Keys", "registration_status": "registered"}).json["id"]
    before = _counts()
    resp = fsa.post(new, {"name": "Fuji", "licence_number": "L-2", "custodians": [other]}, page=new)
    assert resp.status_code == 422 and "no such custodian" in _error_next_to(resp, "custodians")
    assert _counts() == before and _by_name("exchange", "Fuji") is None


def test_register_a_custodian_and_change_its_registration_status(portal, world):
    fsa = portal("fsa")
    new = "/registry/custodians/new"
    resp = fsa.post(new, {"name": "Kyoto Keys", "registration_status": "pending",
                          "registration_number": "JP-WMS-0100"}, page=new)
    assert resp.status_code == 302
    kyoto = _by_name("custodian", "Kyoto Keys")
    api = world.call("get", f"{R}/organizations/{kyoto.id}", "fsa").json
    assert api["custodian"] == {"registration_status": "pending", "registration_number": "JP-WMS-0100"}
    detail = f"/registry/organizations/{kyoto.id}"
    resp = fsa.post(f"/registry/custodians/{kyoto.id}/registration", {"status": "registered",
                                                                      "reason": "filed its notification"}, page=detail)
    assert resp.status_code == 302
    _fresh()
    assert db.session.get(Custodian, kyoto.id).registration_status == "registered"
    text = text_of(fsa.get(detail))
    assert "Registration status Registered" in text and "filed its notification" in text

    before = _counts()
    resp = fsa.post(f"/registry/custodians/{kyoto.id}/registration", {"status": "maybe"}, page=detail)
    assert resp.status_code == 422 and _error_next_to(resp, "status")
    resp = fsa.post(new, {"name": "", "registration_status": ""}, page=new)
    assert resp.status_code == 422 and _error_next_to(resp, "name") and _error_next_to(resp, "registration_status")
    assert _counts() == before


# ---- who may see and do what ----

def test_bafin_cannot_see_or_act_on_the_fsa_s_exchange_or_insurers(portal, world):
    bafin = portal("bafin")
    sakura, harbour = world.org("sakura"), world.org("harbour")
    tws = _by_name("custodian", "Tokyo Wallet Services")
    text = text_of(bafin.get("/registry/"))
    assert "Rhein Crypto Markets" in text and "Sakura Digital Exchange" not in text
    assert bafin.get(f"/registry/organizations/{sakura.id}").status_code == 404
    assert bafin.get(f"/registry/organizations/{harbour.id}").status_code == 404
    bafin.get("/registry/")
    assert bafin.post(f"/registry/exchanges/{sakura.id}/custodians", {"custodian": tws.id}).status_code == 404
    assert bafin.post(f"/registry/exchanges/{sakura.id}/custodians/{tws.id}/unlink", {}).status_code == 404
    assert bafin.post(f"/registry/insurers/{harbour.id}/suspend", {"reason": "x"}).status_code == 404
    assert bafin.post(f"/registry/insurers/{harbour.id}/rating", {"rating": "D"}).status_code == 404
    assert bafin.post(f"/registry/custodians/{tws.id}/registration", {"status": "pending"}).status_code == 404
    assert bafin.get(f"/auth/clients?org={sakura.id}").status_code == 404
    _fresh()
    assert _status(harbour, world.org("fsa")) == "approved" and harbour.rating == "BBB"
    assert db.session.get(Custodian, tws.id).registration_status == "registered"
    assert [c.org_id for c in db.session.get(Exchange, sakura.id).custodians].count(tws.id) == 1


def test_an_exchange_or_insurer_user_gets_403_on_regulator_pages(portal, world):
    sakura, tokio = portal("sakura"), portal("tokio")
    nova = world.org("nova")
    for path in ("/registry/", "/registry/insurers/new", f"/registry/organizations/{nova.id}", "/regulator/",
                 "/regulator/supervision"):
        assert sakura.get(path).status_code == 403, path
        assert tokio.get(path).status_code == 403, path
    sakura.get("/rulesets/")
    assert sakura.post(f"/registry/insurers/{nova.id}/approve", {}).status_code == 403
    assert _status(nova, world.org("fsa")) == "pending"


def test_signed_out_visitors_are_sent_to_sign_in(world):
    client = world.app.test_client()
    resp = client.get("/registry/", headers={"Accept": "text/html"})
    assert resp.status_code == 302 and "/login?next=/registry/" in resp.headers["Location"]


# ---- API clients ----

def _token(world, client_id: str, secret: str):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return world.client.post("/oauth/token", data={"grant_type": "client_credentials"},
                             headers={"Authorization": f"Basic {basic}"})


def test_a_regulator_creates_a_client_for_an_exchange_and_sees_the_secret_once(portal, world):
    fsa, sakura = portal("fsa"), world.org("sakura")
    page = f"/auth/clients?org={sakura.id}"
    listing = fsa.get(page)
    assert listing.status_code == 200
    # only the scopes an exchange may hold
    page_html = listing.get_data(as_text=True)
    assert 'value="reports:write"' in page_html and 'value="registry:write"' not in page_html
    resp = fsa.post(page, {"name": "Nightly reporting", "scopes": ["reports:write", "certificates:read"]}, page=page)
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    shown = resp.get_data(as_text=True)
    client_id = re.search(r'aria-label="Client ID">([^<]+)<', shown).group(1)
    secret = re.search(r'aria-label="Client secret">([^<]+)<', shown).group(1)
    _fresh()
    client = db.session.get(OAuthClient, client_id)
    assert (client.org_id, client.name, client.scope) == (sakura.id, "Nightly reporting",
                                                          "reports:write certificates:read")
    assert client.created_by == "user:fsa.admin@portal.test" and secret not in client.secret_hash
    token = _token(world, client_id, secret)
    assert token.status_code == 200 and token.json["scope"] == "reports:write certificates:read"

    later = fsa.get(page)
    assert later.headers.get("Cache-Control") != "no-store"
    assert secret not in later.get_data(as_text=True) and client_id in later.get_data(as_text=True)
    assert ">Revoke Nightly reporting</button>" in later.get_data(as_text=True)

    assert fsa.post(f"/auth/clients/{client_id}/revoke", {}, page=page).status_code == 302
    _fresh()
    assert db.session.get(OAuthClient, client_id).revoked_at is not None
    assert _token(world, client_id, secret).status_code in (400, 401)
    text = text_of(fsa.get(page))
    assert "Nightly reporting is revoked" in text and secret not in text


def test_creating_a_client_refuses_bad_input_next_to_the_fields(portal, world):
    fsa, sakura = portal("fsa"), world.org("sakura")
    page = f"/auth/clients?org={sakura.id}"
    fsa.get(page)
    before = _counts()
    resp = fsa.post(page, {"name": "", "scopes": ["reports:write"]}, page=page)
    assert resp.status_code == 422 and _error_next_to(resp, "name")
    assert 'value="reports:write" checked' in resp.get_data(as_text=True)  # the ticks are kept
    resp = fsa.post(page, {"name": "Too much", "scopes": ["registry:write"]}, page=page)
    assert resp.status_code == 422 and "cannot hold 'registry:write'" in _error_next_to(resp, "scopes")
    assert _counts() == before


def test_an_admin_manages_its_own_clients_and_nobody_else_s(portal, world):
    admin, member = portal("sakura"), portal("sakura", role="member")
    resp = admin.post("/auth/clients", {"name": "Own job", "scopes": ["reports:read"]}, page="/auth/clients")
    assert resp.status_code == 200 and "Client secret" in text_of(resp)
    _fresh()
    assert db.session.scalar(select(OAuthClient.org_id).filter_by(name="Own job")) == world.org("sakura").id
    assert admin.get(f"/auth/clients?org={world.org('fsa').id}").status_code == 404
    assert admin.get(f"/auth/clients?org={world.org('rhein').id}").status_code == 404
    assert member.get("/auth/clients").status_code == 403
    own = db.session.scalar(select(OAuthClient.client_id).filter_by(name="Own job"))
    assert member.post(f"/auth/clients/{own}/revoke", {}, page="/rulesets/").status_code == 404
    fsa_client = world.credentials("fsa")[0]
    assert admin.post(f"/auth/clients/{fsa_client}/revoke", {}, page="/auth/clients").status_code == 404
    _fresh()
    assert db.session.get(OAuthClient, own).revoked_at is None
    assert db.session.get(OAuthClient, fsa_client).revoked_at is None


# ---- rule-sets ----

def _publish_jp_v2(world) -> dict:
    """A version 3 built from version 1 (version 2 ships with the service), published through the API."""
    doc = document_of(db.session.scalar(select(RuleSetVersion).filter_by(ruleset_id="JP-FSA-2026", version="1")))
    doc["version"] = "3"
    doc["effective_from"] = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    params = doc["params"]
    params["custody_rates"] = {"value": {"cold": "0.01"}, "source": "WG report: the reserve targets cold wallets",
                               "provisional": True}
    params["min_insurer_rating"] = {**params["min_insurer_rating"], "value": "A"}
    params["max_insurer_share"] = {**params["max_insurer_share"], "source": "Revised source"}
    del params["unregistered_custodian_loading"]
    params["min_initial_term_days"] = {"value": 365, "source": "Service proposal", "provisional": True}
    resp = world.call("post", f"{R}/rulesets", "fsa", json=doc)
    assert resp.status_code == 201, resp.json
    return doc


def test_rulesets_list_and_a_version_with_every_parameter_and_its_source(portal, world):
    c = portal("fsa")
    text = text_of(c.get("/rulesets/"))
    for rid in ("JP-FSA-2026 version 1", "EU-MiCA-67 version 1", "HK-SFC-VATP version 1"):
        assert rid in text
    row = db.session.scalar(select(RuleSetVersion).filter_by(ruleset_id="JP-FSA-2026", version="1"))
    assert row.digest in text
    detail = c.get("/rulesets/JP-FSA-2026/versions/1")
    assert detail.status_code == 200
    detail_text = text_of(detail)
    for name, entry in document_of(row)["params"].items():
        assert name in detail_text and entry["source"] in detail_text, name
    assert "From volume ¥0: floor ¥200,000,000, cap ¥5,000,000,000" in detail_text
    assert c.get("/rulesets/JP-FSA-2026/versions/9").status_code == 404
    assert portal("sakura").get("/rulesets/JP-FSA-2026/versions/1").status_code == 200  # public documents


def test_the_diff_of_two_versions_names_what_was_added_removed_and_changed(portal, world):
    _publish_jp_v2(world)
    c = portal("fsa")
    resp = c.get("/rulesets/diff?from=JP-FSA-2026@1&to=JP-FSA-2026@3")
    assert resp.status_code == 200
    text = text_of(resp)
    assert "Parameters added (1) Parameters added Parameter Value Source min_initial_term_days 365 Service proposal" \
        in text
    assert "Parameters removed (1)" in text and "unregistered_custodian_loading 0.25" in text
    assert "Parameters changed (3)" in text
    assert "min_insurer_rating A- A" in text
    assert "custody_rates hot: 0.01 cold: 0.01" in text and "cold: — → 0.01" in text and "hot: 0.01 → —" in text
    assert "Old source: Financial System Council WG report (2025-12-10): reserve against client assets" in text
    assert "New source: WG report: the reserve targets cold wallets" in text
    assert "New source: Revised source" in text and "Value unchanged." in text
    assert re.search(r"Document fields changed .*version 1 3", text)
    # the page's answer is the pure function's
    rows = {r.version: r for r in db.session.scalars(select(RuleSetVersion).filter_by(ruleset_id="JP-FSA-2026"))}
    d = diff_documents(document_of(rows["1"]), document_of(rows["3"]))
    assert [c.name for c in d.added] == ["min_initial_term_days"]
    assert [c.name for c in d.removed] == ["unregistered_custodian_loading"]
    assert [c.name for c in d.changed] == ["custody_rates", "max_insurer_share", "min_insurer_rating"]


def test_the_diff_form_preselects_versions_and_refuses_unknown_ones_next_to_the_field(portal, world):
    c = portal("fsa")
    first = c.get("/rulesets/diff")
    assert first.status_code == 200 and "From version" in text_of(first) and "To version" in text_of(first)
    resp = c.get("/rulesets/diff?from=JP-FSA-2026@7&to=nonsense")
    assert resp.status_code == 422
    assert _error_next_to(resp, "from") and _error_next_to(resp, "to")
    same = c.get("/rulesets/diff?from=EU-MiCA-67@1&to=EU-MiCA-67@1")
    assert same.status_code == 200 and "No differences" in text_of(same)


# ---- dashboard and supervision ----

def test_the_dashboard_counts_what_the_regulator_supervises(portal, world):
    text = text_of(portal("fsa").get("/regulator/"))
    assert "1 Insurers pending approval" in text and "2 Approved insurers" in text
    assert "1 Exchanges" in text and "2 Custodians" in text
    assert "1 Valid certificates" in text and "0 Revoked certificates" in text
    assert "Nova Digital Assurance" in text and "No certificate has been revoked." in text
    bafin = text_of(portal("bafin").get("/regulator/"))
    assert "0 Insurers pending approval" in bafin and "0 Valid certificates" in bafin


def test_supervision_shows_exposure_chart_and_the_scenario_form(portal, world):
    resp = portal("fsa").get("/regulator/supervision")  # the page of issue 14 (more: test_supervision_api)
    assert resp.status_code == 200
    text = text_of(resp)
    assert "Exposure by insurer" in text and "Run scenario" in text and "<svg" in resp.get_data(as_text=True)


def test_the_regulator_pages_speak_japanese(portal, world):
    fsa = portal("fsa")
    ja = {"Accept-Language": "ja"}
    registry = text_of(fsa.get("/registry/", headers=ja))
    assert "登録簿" in registry and "保険会社を登録" in registry and "Tokio Mutual Cyber の承認を停止" in registry
    assert "Tokyo Wallet Services 登録済み" in registry and "承認待ち" in registry
    assert "名称" in text_of(fsa.get("/registry/insurers/new", headers=ja))
    assert "出典" in text_of(fsa.get("/rulesets/JP-FSA-2026/versions/1", headers=ja))
    assert "API クライアントを作成" in text_of(fsa.get("/auth/clients", headers=ja))
    assert "承認待ちの保険会社" in text_of(fsa.get("/regulator/", headers=ja))
    assert "シナリオを実行" in text_of(fsa.get("/regulator/supervision", headers=ja))
