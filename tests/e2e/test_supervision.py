"""The regulator's systemic view in a browser, on a fresh demo: exposure per insurer with its chart, and a
failure scenario whose figures are the demo's, worked by hand.

Sakura's 2027-Q1 obligation is ¥5,883,337,500; Tokio's cover counts ¥2,518,359,909 of it (Harbour's BBB is
below JP's A-, so it counts nothing); Sakura reports ¥3,500,000,000 of cash. If Tokio fails, the offset falls
to ¥0, the net reserve required becomes ¥5,883,337,500 and the shortfall ¥5,883,337,500 − ¥3,500,000,000 =
¥2,383,337,500.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_in


def test_exposure_and_a_failure_scenario(page, live):
    sign_in(page, live, "fsa")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Supervision").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Supervision")
    exposure = page.get_by_role("table", name=re.compile("Eligible offset per insurer"))
    expect(exposure.get_by_role("row").filter(has_text="Tokio Mutual Cyber")).to_contain_text("¥2,518,359,909")
    expect(page.locator("svg[role=img]").first).to_be_visible()  # the concentration chart
    shot(page, "regulator-supervision")
    page.get_by_label("Tokio Mutual Cyber").check()
    page.get_by_role("button", name="Run scenario").click()
    result = page.get_by_role("table", name="Each exchange's reserve after the failure, largest shortfall first")
    row = result.get_by_role("row").filter(has_text="Sakura Digital Exchange")
    expect(row).to_contain_text(re.compile(r"¥5,883,337,500\s+¥2,518,359,909\s+¥0\s+¥5,883,337,500\s+"
                                           r"¥3,500,000,000\s+¥2,383,337,500"))
    shot(page, "regulator-scenario")
