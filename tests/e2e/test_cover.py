"""In a browser: the exchange attaches part of a policy's remaining limit, requests a certificate and downloads
its PDF; the regulator finds the certificate by filtering its list by exchange."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import shot, sign_in


def attach(page, number: str, amount: str) -> None:
    value = page.locator("#policy option", has_text=number).get_attribute("value")
    page.get_by_label("Policy").select_option(value)
    page.get_by_label("Amount").fill(amount)
    page.get_by_role("button", name="Attach cover").click()


def test_attach_cover_request_a_certificate_and_the_regulator_finds_it(page, live, browser):
    sign_in(page, live, "sakura")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cover").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Cover attached to your obligation"
    policies = page.get_by_role("table", name="Your policies and their remaining limit")
    row = policies.get_by_role("row").filter(has_text="TMC-2026-0001")
    assert re.search(r"¥3,000,000,000\s+¥2,000,000,000\s+¥1,000,000,000", row.inner_text())
    offset_before = page.locator("dl.facts dd").nth(1).inner_text()

    # beyond what remains: refused next to the amount, nothing attached
    attach(page, "TMC-2026-0001", "1,500,000,000")
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Amount").get_attribute("aria-invalid") == "true"
    message = page.locator("#amount-error").inner_text()
    assert "Only ¥1,000,000,000 of the policy limit ¥3,000,000,000 remains." in message

    # part of the remaining limit: attached, and the offset moves
    attach(page, "TMC-2026-0001", "500,000,000")
    flash = page.get_by_role("status").inner_text()
    assert "Attached ¥500,000,000 of policy TMC-2026-0001." in flash and "Insurance offset" in flash
    row = page.get_by_role("table", name="Your policies and their remaining limit").get_by_role("row") \
        .filter(has_text="TMC-2026-0001")
    assert re.search(r"¥2,500,000,000\s+¥500,000,000", row.inner_text())
    assert page.locator("dl.facts dd").nth(1).inner_text() != offset_before
    assert page.get_by_role("button", name="Detach TMC-2026-0001").count() == 2
    shot(page, "exchange-cover")

    # request a certificate, then download its PDF
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Certificates").click()
    page.get_by_label("Obligation").select_option(index=0)
    page.get_by_role("button", name="Request certificate").click()
    assert "Certificate issued for 2027-Q1." in page.get_by_role("status").inner_text()
    cert_id = page.url.rstrip("/").rsplit("/", 1)[1]
    assert page.get_by_role("heading", level=1).inner_text() == "Certificate for Sakura Digital Exchange, 2027-Q1"
    assert page.get_by_role("link", name="Open the public verify page").get_attribute("href") == f"/verify/{cert_id}"
    shot(page, "exchange-certificate-detail")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    assert download.suggested_filename == f"certificate-{cert_id}.pdf"
    assert Path(download.path()).read_bytes()[:4] == b"%PDF"
    page.get_by_role("link", name="Back to certificates").click()
    listed = page.get_by_role("table", name=re.compile("Certificates found")).inner_text()
    assert cert_id in listed and "superseded by certificate" in listed
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
        table = fsa.get_by_role("table", name=re.compile("Certificates found"))
        assert "Certificates found: 1" in table.inner_text()
        assert table.get_by_role("link", name=cert_id).is_visible()
        assert "exchange=" in fsa.url
        revocations = fsa.get_by_role("table", name="Latest revocations in your jurisdiction").inner_text()
        assert f"superseded by certificate {cert_id}" in revocations
        shot(fsa, "regulator-certificates")
    finally:
        context.close()
