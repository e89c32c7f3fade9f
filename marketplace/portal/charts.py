"""Server-rendered SVG charts: pure functions from integer amounts and words to an SVG document string.

No JavaScript and no chart library: the page carries the picture itself, and works offline and
without scripts. Each chart is an `<svg role="img">` labelled by its own `<title>` and `<desc>`; the
page shows an accessible table of the same numbers next to it (the chart is never the only way to
read them). Every piece of text is XML-escaped here, so a label can never inject markup.

Geometry: amounts are integer minor units and every coordinate is an integer number of pixels,
computed from them with integer arithmetic (floor division). No float is used anywhere, not even for
pixel coordinates, so the picture is exact and the same on every machine; bars are proportional to
their amounts within one pixel of rounding.

A chart is a list of `Bar`s, one per row, each spanning `start`..`end` on one shared horizontal scale
that always includes zero: a plain bar runs from 0 to its amount (negative amounts to the left of the
zero line), a reduction runs from where the total stood to where it ends (a waterfall step).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from xml.sax.saxutils import escape

from markupsafe import Markup

WIDTH = 880
LABEL_W = 290     # the row labels, right-aligned against the plot
VALUE_W = 170     # room right of the plot for the figures
PLOT_X = LABEL_W + 12
PLOT_W = WIDTH - PLOT_X - VALUE_W
ROW_H = 34
BAR_H = 20
TOP = 8
BOTTOM = 8
LABEL_BUDGET = 42  # label width in "narrow characters" (a wide East Asian character counts two)
FONT = "system-ui, -apple-system, 'Segoe UI', 'Hiragino Sans', 'Noto Sans JP', sans-serif"

# tone -> (fill, text colour): the fills differ in lightness too, and the shortfall is hatched and
# named in words, so nothing is told by colour alone.
TONES = {
    "value": ("#0b5cad", "#1b1f24"),
    "reduction": ("#8a5a00", "#1b1f24"),
    "offset": ("#136f3a", "#1b1f24"),
    "net": ("#274b73", "#1b1f24"),
    "cash": ("#5b6470", "#1b1f24"),
    "short": ("url(#{id}-hatch)", "#b3261e"),
    "surplus": ("#9cc5a1", "#1b1f24"),
}

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Bar:
    label: str       # the row's name
    start: int       # where the bar begins, in minor units (0 for a plain bar)
    end: int         # where it ends, in minor units (below `start` for a reduction)
    shown: str       # the figure as people read it (formatted money)
    tone: str = "value"
    note: str = ""   # more words for the bar's tooltip (<title>), e.g. the line's explanation


def text(value: object) -> str:
    """Escape for XML text and attribute values, dropping characters XML 1.0 cannot carry."""
    return escape(_INVALID_XML.sub("", str(value)), {'"': "&quot;", "'": "&#39;"})


def safe_id(value: str) -> str:
    cleaned = _SAFE_ID.sub("-", value).strip("-") or "chart"
    return cleaned if cleaned[0].isalpha() else f"c-{cleaned}"


def shorten(label: str, budget: int = LABEL_BUDGET) -> str:
    """The label cut to fit the label column (the whole label stays in the row's <title>)."""
    used, out = 0, []
    for ch in label:
        w = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > budget - 1:
            return "".join(out).rstrip() + "…"
        out.append(ch)
        used += w
    return label


class Scale:
    """Amount -> x pixel on a shared scale spanning min(0, all ends)..max(0, all ends). Integers only."""

    def __init__(self, values: list[int], left: int = PLOT_X, width: int = PLOT_W):
        self.lo = min([0, *values])
        self.hi = max([0, *values])
        self.span = (self.hi - self.lo) or 1  # all zero: every bar has no length, the zero line at the left
        self.left, self.width = left, width

    def x(self, amount: int) -> int:
        return self.left + (amount - self.lo) * self.width // self.span


def render(bars: list[Bar], title: str, desc: str, chart_id: str) -> Markup:
    """The chart as an SVG document string (valid XML, every text escaped), ready to place in a page."""
    cid = safe_id(chart_id)
    scale = Scale([v for b in bars for v in (b.start, b.end)])
    height = TOP + ROW_H * max(1, len(bars)) + BOTTOM
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="{cid}-title {cid}-desc" font-family="{text(FONT)}" '
        f'font-size="13">',
        f'<title id="{cid}-title">{text(title)}</title>',
        f'<desc id="{cid}-desc">{text(desc)}</desc>',
        f'<defs><pattern id="{cid}-hatch" patternUnits="userSpaceOnUse" width="8" height="8" '
        f'patternTransform="rotate(45)"><rect width="8" height="8" fill="#b3261e"/>'
        f'<line x1="0" y1="0" x2="0" y2="8" stroke="#ffffff" stroke-width="3"/></pattern></defs>',
    ]
    for i, bar in enumerate(bars):
        y = TOP + i * ROW_H
        x0, x1 = sorted((scale.x(bar.start), scale.x(bar.end)))
        width = x1 - x0
        if width == 0 and bar.start != bar.end:
            width = 1  # a non-zero amount too small for a pixel still shows
        fill, ink = TONES.get(bar.tone, TONES["value"])
        tip = f"{bar.label}: {bar.shown}" + (f" ({bar.note})" if bar.note else "")
        mid = y + ROW_H // 2
        out.append(f'<g class="bar {text(bar.tone)}"><title>{text(tip)}</title>')
        out.append(f'<text x="{LABEL_W}" y="{mid + 4}" text-anchor="end" fill="#1b1f24">'
                   f'{text(shorten(bar.label))}</text>')
        out.append(f'<rect x="{x0}" y="{mid - BAR_H // 2}" width="{width}" height="{BAR_H}" '
                   f'fill="{fill.format(id=cid)}" data-amount="{bar.end - bar.start}"/>')
        bold = ' font-weight="700"' if bar.tone == "short" else ""
        out.append(f'<text x="{x0 + width + 6}" y="{mid + 4}" fill="{ink}"{bold}>{text(bar.shown)}</text>')
        out.append("</g>")
    zero = scale.x(0)
    out.append(f'<line class="zero" x1="{zero}" y1="{TOP - 4}" x2="{zero}" y2="{height - BOTTOM + 4}" '
               f'stroke="#1b1f24" stroke-width="1"/>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 (every text and attribute value above went through text())


def plain_bars(items: list[tuple[str, int, str, str]]) -> list[Bar]:
    """(label, amount, shown, note) -> bars from zero; a negative amount (a cap) is a reduction."""
    return [Bar(label, 0, amount, shown, "value" if amount >= 0 else "reduction", note)
            for label, amount, shown, note in items]


@dataclass(frozen=True)
class ReserveWords:
    """The words of the reserve chart, already translated."""

    obligation: str
    offset: str
    net: str
    cash: str
    shortfall: str
    surplus: str
    no_cash: str


def reserve_bars(obligation: int, offset: int, net_reserve: int, cash_held: int | None, fmt,
                 words: ReserveWords) -> list[Bar]:
    """Obligation -> insurance offset -> net reserve required, then cash held against it: the shortfall
    (net reserve above cash) as its own hatched bar, or the surplus. `fmt(minor) -> str` writes money."""
    bars = [
        Bar(words.obligation, 0, obligation, fmt(obligation), "value"),
        Bar(words.offset, obligation, obligation - offset, "−" + fmt(offset) if offset else fmt(0), "offset"),
        Bar(words.net, 0, net_reserve, fmt(net_reserve), "net"),
        Bar(words.cash, 0, cash_held or 0, fmt(cash_held) if cash_held is not None else words.no_cash, "cash"),
    ]
    held = cash_held or 0
    if net_reserve > held:
        bars.append(Bar(words.shortfall, held, net_reserve, fmt(net_reserve - held), "short"))
    elif held > net_reserve:
        bars.append(Bar(words.surplus, net_reserve, held, fmt(held - net_reserve), "surplus"))
    return bars
