"""The public face in a browser: the demo certificate's PDF uploaded on /verify says Valid, the QR code's
target /verify/<id> says Valid, a pasted JWS says Valid, and /api/docs renders its operations."""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot


def _client(live, org_name: str) -> dict:
    return next(c for c in live.credentials["clients"] if c["organization"]["name"] == org_name)


def _bearer(api, client: dict) -> dict:
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    token = api.post("/oauth/token", form={"grant_type": "client_credentials"},
                     headers={"Authorization": f"Basic {basic}"}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def demo_certificate(browser, live, tmp_path_factory) -> dict:
    """The demo's one certificate, fetched as the exchange's API client would: its id, JWS and PDF file."""
    context = browser.new_context(base_url=live.url)
    api = context.request
    auth = _bearer(api, _client(live, "Sakura Digital Exchange"))
    items = api.get("/api/v1/certificates", headers=auth).json()["items"]
    assert len(items) == 1, items
    cert = api.get(f"/api/v1/certificates/{items[0]['id']}", headers=auth).json()
    pdf = api.get(f"/api/v1/certificates/{cert['id']}.pdf", headers=auth)
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    path = tmp_path_factory.mktemp("download") / f"certificate-{cert['id']}.pdf"
    path.write_bytes(pdf.body())
    context.close()
    return {"id": cert["id"], "jws": cert["jws"], "pdf": path}


def test_the_demo_pdf_uploaded_on_the_verify_page_is_valid(page, demo_certificate):
    page.goto("/")
    page.get_by_role("link", name="Check a certificate").click()
    expect(page.get_by_role("heading", name="Verify a certificate", level=1)).to_be_visible()
    shot(page, "verify-form")
    page.get_by_label("File (JWS, bundle JSON or PDF)").set_input_files(str(demo_certificate["pdf"]))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Valid", exact=True, level=1)).to_be_visible()
    expect(page.get_by_text("Sakura Digital Exchange")).to_be_visible()
    checks = page.get_by_role("table", name="Checks")
    expect(checks.get_by_role("row")).to_have_count(9)  # the header and the eight checks
    expect(checks.get_by_text("Failed")).to_have_count(0)
    shot(page, "verify-valid")


def test_the_qr_code_target_and_a_pasted_jws_are_valid(page, demo_certificate):
    page.goto(f"/verify/{demo_certificate['id']}")
    expect(page.get_by_role("heading", name="Valid", exact=True)).to_be_visible()
    expect(page.get_by_role("table", name="Insurance cover counted in the offset").get_by_text("TMC-2026-0001")) \
        .to_be_visible()
    page.get_by_label("Certificate").fill(demo_certificate["jws"])
    page.get_by_role("button", name="Verify").click()
    # /verify/<id> already says Valid: the answer to the pasted JWS is the page the form posted to, /verify
    expect(page).to_have_url(re.compile(r"/verify$"))
    expect(page.get_by_role("heading", name="Valid", exact=True)).to_be_visible()
    page.get_by_label("Certificate").fill(demo_certificate["jws"][:-6] + "AAAAAA")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Invalid", exact=True)).to_be_visible()
    shot(page, "verify-invalid")


def test_the_api_docs_render_their_operations(page):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/api/docs")
    verify_op = page.locator(".opblock-post").filter(has=page.locator("[data-path='/api/v1/verify']"))
    verify_op.locator(".opblock-summary").click()
    expect(verify_op.get_by_text("Request body")).to_be_visible()
    expect(page.locator(".opblock").nth(40)).to_be_attached()  # a 41st: more than 40, every operation, not just one
    expect(page.get_by_text("Unable to render this definition")).to_have_count(0)
    assert not problems, problems  # no CSP refusal, no missing asset
    shot(page, "api-docs")


def test_after_the_regulator_suspends_the_insurer_the_same_pdf_says_revoked_with_the_reason(page, live,
                                                                                         demo_certificate):
    fsa = _bearer(page.request, _client(live, "Financial Services Agency (Japan)"))
    insurer = _client(live, "Tokio Mutual Cyber")["organization"]["id"]
    assert page.request.post(f"/api/v1/insurers/{insurer}/suspend", data={}, headers=fsa).ok
    reason = "revoked: insurer Tokio Mutual Cyber suspended by the JP regulator"
    page.goto("/verify")
    page.get_by_label("File (JWS, bundle JSON or PDF)").set_input_files(str(demo_certificate["pdf"]))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Revoked", exact=True)).to_be_visible()
    expect(page.get_by_text(reason).first).to_be_visible()
    shot(page, "verify-revoked")
