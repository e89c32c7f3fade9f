"""The insurer's journeys in a real browser, by labels and accessible names: register a policy for Sakura,
see its attestation gap and attest it; upload a CSV with a bad row and read the per-row report; register a
public key. Screenshots: dashboard, policies, attestations, keys, upload report."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import expect

from marketplace.crypto.keys import KeyPair
from tests.e2e.conftest import shot, sign_in

HEADER = "number,insured,currency,limit,deductible,perils,term_start,term_end,cancellation_notice_days"


def test_tokio_registers_a_policy_for_sakura_sees_the_gap_and_attests_it(page, live):
    sign_in(page, live, "tokio")
    expect(page).to_have_url(re.compile(r"/insurer/$"))
    expect(page.get_by_role("heading", name="Attestation gaps")).to_be_visible()
    expect(page.get_by_text("Exchange crime and custody cover (JPY)").first).to_be_visible()
    shot(page, "insurer-dashboard")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Policies").click()
    expect(page.get_by_role("heading", name="Policies", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="TMC-2026-0001")).to_be_visible()
    shot(page, "insurer-policies")

    page.get_by_role("link", name="Register policy").click()
    page.get_by_label("Policy number").fill("TMC-E2E-1")
    page.get_by_label("Insured exchange").select_option(label="Sakura Digital Exchange (Kanto-FB-00099, JP)")
    page.get_by_label("Currency").select_option("JPY")
    page.get_by_label("Limit").fill("lots")
    page.get_by_label("Deductible").fill("10,000,000")
    page.get_by_label("Theft or hack").check()
    page.get_by_label("Insider fraud").check()
    page.get_by_label("Term start").fill("2027-01-01")
    page.get_by_label("Term end").fill("2027-12-31")
    page.get_by_label("Cancellation notice (days)").fill("90")
    page.get_by_role("button", name="Register policy").click()
    # refused next to the field, with everything else kept
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Limit")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Policy number")).to_have_value("TMC-E2E-1")
    page.get_by_label("Limit").fill("1,000,000,000")
    page.get_by_role("button", name="Register policy").click()

    expect(page.get_by_role("heading", name="Policy TMC-E2E-1")).to_be_visible()
    expect(page.get_by_text("Policy TMC-E2E-1 is registered")).to_be_visible()
    expect(page.get_by_text("¥1,000,000,000").first).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Attestations").click()
    expect(page.get_by_role("cell", name="TMC-E2E-1", exact=True)).to_be_visible()
    shot(page, "insurer-attestations")
    page.get_by_role("button", name="Attest TMC-E2E-1").click()
    expect(page.get_by_text("Revision 1 of policy TMC-E2E-1 is attested")).to_be_visible()  # the new page, then:
    expect(page.get_by_role("button", name="Attest TMC-E2E-1")).to_have_count(0)
    expect(page.get_by_text("Every active policy's current revision is attested.")).to_be_visible()

    page.goto("/insurer/")
    expect(page.get_by_text("Every active policy's current revision is attested.")).to_be_visible()


def test_bulk_upload_with_a_bad_row_shows_the_per_row_report(page, live):
    sign_in(page, live, "tokio")
    page.goto("/policies/")
    page.get_by_role("link", name="Upload policies (CSV)").click()
    with page.expect_download() as got:
        page.get_by_role("link", name="Download the CSV template").click()
    assert Path(got.value.path()).read_text(encoding="utf-8").strip() == HEADER
    rows = [HEADER,
            "TMC-BULK-1,Kanto-FB-00099,JPY,\"500,000,000\",0,theft_hack;insider_fraud,2027-01-01,2027-12-31,90",
            "TMC-BULK-2,Kanto-FB-00099,JPY,500000000,600000000,theft_hack,2027-01-01,2027-12-31,90",
            "TMC-BULK-3,SFC-BPX123,HKD,2500000.50,0,operational_failure,2027-02-01,2028-01-31,60"]
    page.get_by_label("CSV file").set_input_files({"name": "policies.csv", "mimeType": "text/csv",
                                                    "buffer": ("\r\n".join(rows) + "\r\n").encode()})
    page.get_by_role("button", name="Upload policies").click()
    expect(page.get_by_role("heading", name="Upload report")).to_be_visible()
    expect(page.get_by_text("2 registered, 1 refused.")).to_be_visible()
    report = page.get_by_role("table", name="Each row of the file")
    report_rows = report.get_by_role("row")
    expect(report_rows.nth(1)).to_have_text(re.compile(r"^\s*2\s+TMC-BULK-1\s+Registered(\s|$)"), use_inner_text=True)
    for part in ("TMC-BULK-2", "Refused", "Deductible: must be at least zero and below the limit"):
        expect(report_rows.nth(2)).to_contain_text(part, use_inner_text=True)
    expect(report_rows.nth(3)).to_contain_text("Registered", use_inner_text=True)
    shot(page, "insurer-upload-report")
    with page.expect_download() as got:
        page.get_by_role("button", name="Download the refused rows (CSV)").click()
    lines = Path(got.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == HEADER and lines[1].startswith("TMC-BULK-2,") and len(lines) == 2
    page.get_by_role("link", name="TMC-BULK-3").click()
    expect(page.get_by_role("heading", name="Policy TMC-BULK-3")).to_be_visible()
    expect(page.get_by_text("HK$2,500,000.50").first).to_be_visible()


def test_register_a_public_key(page, live):
    sign_in(page, live, "tokio")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Signing keys").click()
    expect(page.get_by_text("Custodial (held by the service)")).to_be_visible()
    page.get_by_label("Public JWK").fill("not json")
    page.get_by_role("button", name="Register public key").click()
    expect(page.get_by_label("Public JWK")).to_have_attribute("aria-invalid", "true")
    key = KeyPair.generate()
    page.get_by_label("Public JWK").fill(json.dumps(key.public_jwk))
    page.get_by_role("button", name="Register public key").click()
    expect(page.get_by_text(f"Your public key is registered: {key.kid}")).to_be_visible()
    expect(page.get_by_text("Registered (your own key)")).to_be_visible()
    shot(page, "insurer-keys")
