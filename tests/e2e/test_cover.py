"""In a browser: the exchange attaches part of a policy's remaining limit, requests a certificate and downloads
its PDF; the regulator finds the certificate by filtering its list by exchange."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_in


def attach(page, number: str, amount: str) -> None:
    value = page.locator("#policy option", has_text=number).get_attribute("value")
    page.get_by_label("Policy").select_option(value)
    page.get_by_label("Amount").fill(amount)
    page.get_by_role("button", name="Attach cover").click()


def test_attach_cover_request_a_certificate_and_the_regulator_finds_it(page, live, browser):
    sign_in(page, live, "sakura")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cover").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cover attached to your obligation", use_inner_text=True)
    policies = page.get_by_role("table", name="Your policies and their remaining limit")
    row = policies.get_by_role("row").filter(has_text="TMC-2026-0001")
    expect(row).to_contain_text(re.compile(r"¥3,000,000,000\s+¥2,000,000,000\s+¥1,000,000,000"), use_inner_text=True)
    offset_before = page.locator("dl.facts dd").nth(1).inner_text()

    # beyond what remains: refused next to the amount, nothing attached
    attach(page, "TMC-2026-0001", "1,500,000,000")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Amount")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#amount-error")).to_contain_text(
        "Only ¥1,000,000,000 of the policy limit ¥3,000,000,000 remains.", use_inner_text=True)

    # part of the remaining limit: attached, and the offset moves
    attach(page, "TMC-2026-0001", "500,000,000")
    flash = page.get_by_role("status")
    expect(flash).to_contain_text("Attached ¥500,000,000 of policy TMC-2026-0001.", use_inner_text=True)
    expect(flash).to_contain_text("Insurance offset", use_inner_text=True)
    row = page.get_by_role("table", name="Your policies and their remaining limit").get_by_role("row") \
        .filter(has_text="TMC-2026-0001")
    expect(row).to_contain_text(re.compile(r"¥2,500,000,000\s+¥500,000,000"), use_inner_text=True)
    expect(page.locator("dl.facts dd").nth(1)).not_to_have_text(offset_before, use_inner_text=True)
    expect(page.get_by_role("button", name="Detach TMC-2026-0001")).to_have_count(2)
    shot(page, "exchange-cover")

    # request a certificate, then download its PDF
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Certificates").click()
    page.get_by_label("Obligation").select_option(index=0)
    page.get_by_role("button", name="Request certificate").click()
    expect(page.get_by_role("status")).to_contain_text("Certificate issued for 2027-Q1.", use_inner_text=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate for Sakura Digital Exchange, 2027-Q1",
                                                              use_inner_text=True)
    cert_id = page.url.rstrip("/").rsplit("/", 1)[1]  # read once the certificate's own page is there
    expect(page.get_by_role("link", name="Open the public verify page")).to_have_attribute("href", f"/verify/{cert_id}")
    shot(page, "exchange-certificate-detail")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    assert download.suggested_filename == f"certificate-{cert_id}.pdf"
    assert Path(download.path()).read_bytes()[:4] == b"%PDF"
    page.get_by_role("link", name="Back to certificates").click()
    listed = page.get_by_role("table", name=re.compile("Certificates found"))
    expect(listed).to_contain_text(cert_id, use_inner_text=True)
    expect(listed).to_contain_text("superseded by certificate", use_inner_text=True)
    shot(page, "exchange-certificates")

    # the regulator, in its own session, filters its list by the exchange
    context = browser.new_context(base_url=live.url, locale="en-US")
    try:
        fsa = context.new_page()
        sign_in(fsa, live, "fsa")
        fsa.get_by_role("navigation", name="Main").get_by_role("link", name="Certificates").click()
        fsa.get_by_label("Exchange").select_option(label="Sakura Digital Exchange")
        fsa.get_by_label("Status", exact=True).select_option(label="Valid")
        fsa.get_by_role("button", name="Apply filters").click()
        expect(fsa).to_have_url(re.compile("exchange="))  # the filtered list, not the one the filters were set on
        table = fsa.get_by_role("table", name=re.compile("Certificates found"))
        expect(table).to_contain_text("Certificates found: 1", use_inner_text=True)
        expect(table.get_by_role("link", name=cert_id)).to_be_visible()
        revocations = fsa.get_by_role("table", name="Latest revocations in your jurisdiction")
        expect(revocations).to_contain_text(f"superseded by certificate {cert_id}", use_inner_text=True)
        shot(fsa, "regulator-certificates")
    finally:
        context.close()
