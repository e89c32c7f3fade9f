"""The server-rendered SVG charts: valid XML, labelled for assistive technology, bars proportional to
their amounts, every text escaped, and sane for zero, negative and huge amounts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.portal import charts
from marketplace.portal.charts import Bar, ReserveWords

SVG = "{http://www.w3.org/2000/svg}"
WORDS = ReserveWords("Obligation", "Insurance offset", "Net reserve required", "Cash held", "Shortfall",
                     "Cash above the net reserve", "none reported")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def rects(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("data-amount") is not None]


def fmt(minor: int) -> str:
    return f"¥{minor:,}"


def chart(items, title="Line items", desc="Each bar is a line item"):
    return charts.render(charts.plain_bars([(label, amount, fmt(amount), "") for label, amount in items]),
                         title, desc, "test-chart")


def test_an_accessible_image_with_its_own_title_and_description():
    root = parse(chart([("Volume", 100), ("Custody", 50)]))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == "Line items" and desc.text == "Each bar is a line item"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["Volume", "¥100", "Custody", "¥50"]
    # every bar carries its full label and figure as a tooltip
    tips = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")]
    assert tips == ["Volume: ¥100", "Custody: ¥50"]


def test_bars_are_proportional_to_their_amounts():
    amounts = [1_860_000_000, 300_000_000, 1_436_250_000, 155_850_000, 974_062_500]
    widths = [int(r.get("width")) for r in rects(parse(chart([(f"line {i}", a) for i, a in enumerate(amounts)])))]
    assert widths[0] == charts.PLOT_W  # the largest spans the plot
    for a, w in zip(amounts, widths, strict=True):
        assert abs(w - a * charts.PLOT_W / amounts[0]) <= 1  # within one pixel of rounding
    assert widths[1] < widths[2] < widths[0]


def test_text_is_escaped_and_cannot_inject_markup():
    evil = '<script>alert("x")</script> & \'quotes\' \x00\x1f'
    svg = charts.render([Bar(evil, 0, 5, "<b>5</b>", note="a & b")], f"T {evil}", f"D {evil}", 'id"><x')
    root = parse(svg)
    assert "<script>" not in svg and "<b>" not in svg
    assert root.find(f"{SVG}title").text == 'T <script>alert("x")</script> & \'quotes\' '
    assert [t.text for t in root.iter(f"{SVG}text")][1] == "<b>5</b>"
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter("script"))
    assert root.find(f"{SVG}title").get("id") == "id-x-title"


def test_all_zero_amounts_draw_no_bars_and_no_division_by_zero():
    root = parse(chart([("a", 0), ("b", 0)]))
    assert [int(r.get("width")) for r in rects(root)] == [0, 0]


def test_negative_amounts_go_left_of_the_zero_line():
    root = parse(chart([("Subtotal", 1000), ("Cap", -250)]))
    zero = int(next(ln for ln in root.iter(f"{SVG}line") if ln.get("class") == "zero").get("x1"))
    pos, neg = rects(root)
    assert int(pos.get("x")) == zero and int(neg.get("x")) + int(neg.get("width")) == zero
    assert abs(int(neg.get("width")) * 4 - int(pos.get("width"))) <= 4
    assert pos.get("fill") != neg.get("fill")  # a reduction looks different


def test_only_negative_amounts():
    pos_free = rects(parse(chart([("a", -10), ("b", -5)])))
    assert int(pos_free[0].get("width")) == charts.PLOT_W and int(pos_free[0].get("x")) == charts.PLOT_X


def test_huge_amounts_stay_integers_and_tiny_ones_still_show():
    huge = 10**30
    root = parse(chart([("huge", huge), ("tiny", 1)]))
    big, tiny = rects(root)
    assert int(big.get("width")) == charts.PLOT_W and int(tiny.get("width")) == 1
    for r in rects(root):  # integer pixel coordinates only: no float ever enters the geometry
        for attr in ("x", "y", "width", "height"):
            assert r.get(attr).lstrip("-").isdigit()
    assert f"¥{huge:,}" in [t.text for t in root.iter(f"{SVG}text")]


def test_long_labels_are_shortened_in_the_picture_but_whole_in_the_tooltip():
    label = "Incident on 2024-05-31: custodian failure with a very long description indeed"
    root = parse(chart([(label, 1)]))
    shown = next(root.iter(f"{SVG}text")).text
    assert shown.endswith("…") and len(shown) <= charts.LABEL_BUDGET
    assert next(root.iter(f"{SVG}g")).find(f"{SVG}title").text.startswith(label)
    assert charts.shorten("あ" * 40, 10) == "あ" * 4 + "…"  # wide characters count double


def test_reserve_chart_with_a_shortfall():
    bars = charts.reserve_bars(5_883_337_500, 2_518_359_909, 3_364_977_591, 1_000_000_000, fmt, WORDS)
    assert [b.label for b in bars] == ["Obligation", "Insurance offset", "Net reserve required", "Cash held",
                                       "Shortfall"]
    short = bars[-1]
    assert (short.start, short.end, short.tone, short.shown) == (1_000_000_000, 3_364_977_591, "short",
                                                                  "¥2,364,977,591")
    root = parse(charts.render(bars, "Reserve", "Obligation to net reserve", "reserve"))
    widths = {g.find(f"{SVG}title").text.split(":")[0]: int(g.find(f"{SVG}rect").get("width"))
              for g in root.iter(f"{SVG}g")}
    assert widths["Obligation"] == charts.PLOT_W
    # offset + net reserve = obligation, in pixels too (within rounding)
    assert abs(widths["Insurance offset"] + widths["Net reserve required"] - widths["Obligation"]) <= 1
    assert abs(widths["Cash held"] + widths["Shortfall"] - widths["Net reserve required"]) <= 1
    hatched = [r for r in rects(root) if r.get("fill") == "url(#reserve-hatch)"]
    assert len(hatched) == 1 and root.find(f".//{SVG}pattern").get("id") == "reserve-hatch"


def test_reserve_chart_without_cash_reported_or_with_a_surplus():
    bars = charts.reserve_bars(1000, 0, 1000, None, fmt, WORDS)
    assert bars[3].shown == "none reported" and bars[4].tone == "short" and bars[4].shown == "¥1,000"
    bars = charts.reserve_bars(1000, 400, 600, 700, fmt, WORDS)
    assert bars[1].shown == "−¥400" and bars[4].tone == "surplus" and bars[4].shown == "¥100"
    bars = charts.reserve_bars(0, 0, 0, 0, fmt, WORDS)
    assert len(bars) == 4
    parse(charts.render(bars, "Reserve", "all zero", "reserve"))


@given(st.lists(st.tuples(st.text(max_size=60), st.integers(min_value=-10**20, max_value=10**20)), max_size=12))
def test_any_labels_and_amounts_make_well_formed_svg(items):
    root = parse(chart(items))
    assert len(rects(root)) == len(items)
    for r in rects(root):
        assert 0 <= int(r.get("width")) <= charts.PLOT_W
        assert charts.PLOT_X <= int(r.get("x")) <= charts.PLOT_X + charts.PLOT_W


@pytest.mark.parametrize("value", ["chart", "9lives", "", "a b/c"])
def test_ids_are_valid_xml_names(value):
    assert charts.safe_id(value)[0].isalpha()
