"""The regulator's journeys in a browser: suspend an insurer and see the certificate that relied on it
revoked; issue an API client and see its secret once (and use it); read and compare rule-sets.

The demo's certificate relies on Tokio Mutual Cyber's policies only (Harbour Specialty Re's BBB is below
the JP rule-set's minimum rating, so its policy earns no offset), so the suspension journey suspends Tokio.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_in


def test_fsa_suspends_tokio_and_the_certificate_that_relied_on_it_is_revoked(page, live):
    sign_in(page, live, "fsa")
    expect(page).to_have_url(re.compile(r"/regulator/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_text("No certificate has been revoked.")).to_be_visible()
    shot(page, "regulator-dashboard")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Registry").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Registry")
    insurers = page.get_by_role("table", name="Insurers admitted in JP")
    expect(insurers.get_by_role("row", name=re.compile("Tokio Mutual Cyber"))).to_contain_text("Approved")
    shot(page, "regulator-registry")

    page.get_by_role("button", name="Suspend Tokio Mutual Cyber").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Suspend Tokio Mutual Cyber")
    page.get_by_label("Reason").fill("Solvency margin below the requirement")
    page.get_by_role("button", name="Suspend Tokio Mutual Cyber").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Tokio Mutual Cyber")
    expect(page.get_by_role("status")).to_contain_text("Tokio Mutual Cyber is suspended in JP")
    expect(page.locator("dl.facts")).to_contain_text("Suspended")
    history = page.get_by_role("table", name="History of Tokio Mutual Cyber")
    expect(history.get_by_role("row").last).to_contain_text("Solvency margin below the requirement")
    expect(page.get_by_role("button", name="Reinstate Tokio Mutual Cyber")).to_be_visible()
    shot(page, "regulator-organization")

    # the certificate that relied on Tokio is revoked: on the dashboard, and for anyone through the public API
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    revoked = page.get_by_role("table", name="Certificates revoked most recently in JP")
    row = revoked.get_by_role("row").nth(1)
    expect(row).to_contain_text("insurer Tokio Mutual Cyber suspended by the JP regulator")
    expect(row).to_contain_text("Sakura Digital Exchange")
    cert_id = row.get_by_role("cell").first.inner_text().strip()
    shot(page, "regulator-dashboard-revoked")
    answer = page.request.get(f"/api/v1/certificates/{cert_id}/verification").json()
    assert answer["valid"] is False
    revocation = next(c for c in answer["checks"] if c["name"] == "revocation")
    assert not revocation["ok"] and "Tokio Mutual Cyber suspended" in revocation["detail"]
    # and the public verify page, the QR code's target, leads with the word (DESIGN 7)
    row.get_by_role("link", name=f"Verify certificate {cert_id}").click()
    expect(page.get_by_text("Revoked", exact=True).first).to_be_visible()


def test_fsa_creates_an_api_client_sees_the_secret_once_and_publishes_with_it(page, live):
    sign_in(page, live, "fsa")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Registry").click()
    page.get_by_role("main").get_by_role("link", name="API clients", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("API clients")
    page.get_by_label("Name").fill("Rule-set publisher")
    page.get_by_role("button", name="Create API client").click()
    expect(page.get_by_text("It is shown only this once")).to_be_visible()  # the new page, then read it
    client_id = page.get_by_label("Client ID", exact=True).inner_text().strip()
    secret = page.get_by_label("Client secret").inner_text().strip()
    assert client_id.startswith("mpc_") and len(secret) > 30
    shot(page, "regulator-api-client-created")

    page.goto("/auth/clients")  # any later page: the client is listed, its secret is not
    expect(page.get_by_role("button", name="Revoke Rule-set publisher")).to_be_visible()
    assert client_id in page.content() and secret not in page.content()

    # the secret works: publish a version 3 of the JP rule-set (2 ships with the service) through the API with it
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    token = page.request.post("/oauth/token", form={"grant_type": "client_credentials"},
                              headers={"Authorization": f"Basic {basic}"}).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    doc = page.request.get("/api/v1/rulesets/JP-FSA-2026/versions/1", headers=auth).json()["document"]
    doc["version"] = "3"
    doc["effective_from"] = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    doc["params"]["custody_rates"] = {"value": {"cold": "0.01"}, "provisional": True,
                                      "source": "Financial System Council WG report (2025-12-10): cold wallets"}
    del doc["params"]["unregistered_custodian_loading"]
    assert page.request.post("/api/v1/rulesets", data=doc, headers=auth).status == 201

    # rule-sets: the list, one version with every parameter and its source, and the diff of the two versions
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rule-sets").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rule-sets")
    shot(page, "regulator-rulesets")
    page.get_by_role("link", name="JP-FSA-2026 version 1").click()
    params = page.get_by_role("table", name="Parameters of JP-FSA-2026 version 1")
    expect(params.get_by_role("row", name=re.compile("custody_rates"))).to_contain_text("reserve against client")
    shot(page, "regulator-ruleset")
    page.get_by_role("link", name="All rule-sets").click()
    page.get_by_role("link", name="Compare two versions").click()
    page.get_by_label("From version").select_option("JP-FSA-2026@1")
    page.get_by_label("To version").select_option("JP-FSA-2026@3")
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", name="Parameters removed (1)")).to_be_visible()
    changed = page.get_by_role("table", name="Parameters changed: old → new")
    expect(changed.get_by_role("row", name=re.compile("custody_rates"))).to_contain_text("hot: 0.01 → —")
    expect(changed).to_contain_text("New source: Financial System Council WG report (2025-12-10): cold wallets")
    shot(page, "regulator-ruleset-diff")
