"""The insurer's journeys in a real browser, by labels and accessible names: register a policy for Sakura,
see its attestation gap and attest it; upload a CSV with a bad row and read the per-row report; register a
public key. Screenshots: dashboard, policies, attestations, keys, upload report."""

from __future__ import annotations

import json
from pathlib import Path

from marketplace.crypto.keys import KeyPair
from tests.e2e.conftest import shot, sign_in

HEADER = "number,insured,currency,limit,deductible,perils,term_start,term_end,cancellation_notice_days"


def test_tokio_registers_a_policy_for_sakura_sees_the_gap_and_attests_it(page, live):
    sign_in(page, live, "tokio")
    assert page.url.endswith("/insurer/")
    assert page.get_by_role("heading", name="Attestation gaps").is_visible()
    assert page.get_by_text("Exchange crime and custody cover (JPY)").first.is_visible()
    shot(page, "insurer-dashboard")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Policies").click()
    assert page.get_by_role("heading", name="Policies", level=1).is_visible()
    assert page.get_by_role("link", name="TMC-2026-0001").is_visible()
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
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Limit").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Policy number").input_value() == "TMC-E2E-1"
    page.get_by_label("Limit").fill("1,000,000,000")
    page.get_by_role("button", name="Register policy").click()

    assert page.get_by_role("heading", name="Policy TMC-E2E-1").is_visible()
    assert page.get_by_text("Policy TMC-E2E-1 is registered").is_visible()
    assert page.get_by_text("¥1,000,000,000").first.is_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Attestations").click()
    assert page.get_by_role("cell", name="TMC-E2E-1", exact=True).is_visible()
    shot(page, "insurer-attestations")
    page.get_by_role("button", name="Attest TMC-E2E-1").click()
    assert page.get_by_text("Revision 1 of policy TMC-E2E-1 is attested").is_visible()
    assert page.get_by_role("button", name="Attest TMC-E2E-1").count() == 0
    assert page.get_by_text("Every active policy's current revision is attested.").is_visible()

    page.goto("/insurer/")
    assert page.get_by_text("Every active policy's current revision is attested.").is_visible()


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
    assert page.get_by_role("heading", name="Upload report").is_visible()
    assert page.get_by_text("2 registered, 1 refused.").is_visible()
    report = page.get_by_role("table", name="Each row of the file")
    assert report.get_by_role("row").nth(1).inner_text().split()[:3] == ["2", "TMC-BULK-1", "Registered"]
    bad = report.get_by_role("row").nth(2).inner_text()
    assert "TMC-BULK-2" in bad and "Refused" in bad and "Deductible: must be at least zero and below the limit" in bad
    assert "Registered" in report.get_by_role("row").nth(3).inner_text()
    shot(page, "insurer-upload-report")
    with page.expect_download() as got:
        page.get_by_role("button", name="Download the refused rows (CSV)").click()
    lines = Path(got.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == HEADER and lines[1].startswith("TMC-BULK-2,") and len(lines) == 2
    page.get_by_role("link", name="TMC-BULK-3").click()
    assert page.get_by_role("heading", name="Policy TMC-BULK-3").is_visible()
    assert page.get_by_text("HK$2,500,000.50").first.is_visible()


def test_register_a_public_key(page, live):
    sign_in(page, live, "tokio")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Signing keys").click()
    assert page.get_by_text("Custodial (held by the service)").is_visible()
    page.get_by_label("Public JWK").fill("not json")
    page.get_by_role("button", name="Register public key").click()
    assert page.get_by_label("Public JWK").get_attribute("aria-invalid") == "true"
    key = KeyPair.generate()
    page.get_by_label("Public JWK").fill(json.dumps(key.public_jwk))
    page.get_by_role("button", name="Register public key").click()
    assert page.get_by_text(f"Your public key is registered: {key.kid}").is_visible()
    assert page.get_by_text("Registered (your own key)").is_visible()
    shot(page, "insurer-keys")
