"""compute_obligation: an exchange's reserve for a period under a rule-set, with every line explained.

Rules (DESIGN 4.1), all parameters from the rule-set:
- volume: trailing-window volume per product class (the complete months before the period) x rate;
- custody: latest balance per wallet on or before the period start x rate (the wallets the rule-set
  charges: JP version 2 cold only, HK hot, other and cold); an exchange that never reported "other"
  storage holds none (a zero line), hot and cold must be reported;
- capital: permanent minimum capital of the highest authorised service class;
- overheads: fraction of the preceding calendar year's fixed overheads; with `overheads_net_of_deductions`
  (MiCA Art. 67(3)) net of the reported deductions, and with `projected_overheads_first_year` (Art. 67(2))
  a firm that reports no overheads for the preceding year uses the projected overheads it reported for
  its first year of business (the period's year);
- base = sum of components, or the greatest of them (aggregation "max": the others show 0);
- incident loading: each incident within the look-back adds base x weight(kind) x decay(age in whole
  years) x (multiplier when customers are not fully repaid); the sum is capped at base x cap;
- unregistered custodian loading: base x rate when any linked custodian is unregistered (version 2 of
  JP: `unnotified_custodian_loading`, a wallet-management provider that has not filed its prior
  notification, 事前届出);
- floor and cap of the tier chosen by trailing-window volume.
Each line amount is rounded to whole minor units with the rule-set's rounding; caps and floors are
lines too, so the lines always sum exactly to the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import IncompleteFacts
from .facts import ExchangeFacts
from .money import Money, total
from .period import Period, full_years_between
from .rulesets import RuleSet


@dataclass(frozen=True)
class Line:
    component: str
    amount: Money
    explanation: str
    inputs: dict[str, str]
    parameter: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "component": self.component, "amount": self.amount.as_dict(), "explanation": self.explanation,
            "inputs": dict(self.inputs), "parameter": self.parameter,
        }


@dataclass(frozen=True)
class Obligation:
    exchange_id: str
    jurisdiction: str
    period: Period
    ruleset: dict[str, str]
    total: Money
    lines: tuple[Line, ...]

    @property
    def currency(self) -> str:
        return self.total.currency

    def as_dict(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange_id, "jurisdiction": self.jurisdiction,
            "period": {"label": self.period.label, "start": self.period.start.isoformat(),
                       "end": self.period.end.isoformat()},
            "ruleset": dict(self.ruleset), "total": self.total.as_dict(),
            "lines": [ln.as_dict() for ln in self.lines],
        }


def pct(rate: Decimal) -> str:
    """A rate as a percentage with no trailing zeros: Decimal('0.000025') -> '0.0025%'."""
    return f"{(rate * 100).normalize():f}%"


class _Builder:
    def __init__(self, rs: RuleSet):
        self.rs = rs
        self.cur = rs.currency
        self.lines: list[Line] = []

    def money(self, minor: int) -> Money:
        return Money(minor, self.cur)

    def scaled(self, base: Money, factor: Decimal) -> Money:
        return base.scale(factor, self.rs.rounding)

    def add(self, component: str, amount: Money, explanation: str, inputs: dict[str, Any],
            param: str | None) -> Line:
        line = Line(component, amount, explanation, {k: str(v) for k, v in inputs.items()},
                    self.rs.cite(param) if param else None)
        self.lines.append(line)
        return line

    def subtotal(self) -> Money:
        return total([ln.amount for ln in self.lines], self.cur)


def _trailing_volume(facts: ExchangeFacts, period: Period, rs: RuleSet) -> tuple[dict[str, Money], list]:
    months = period.months_before(rs.value("volume_window_months"))
    reported = {v.month for v in facts.volumes}
    missing = [m.strftime("%Y-%m") for m in months if m not in reported]
    if missing:
        raise IncompleteFacts(f"no volume reported for {', '.join(missing)}")
    sums: dict[str, Money] = {}
    for v in facts.volumes:
        if v.month in months:
            sums[v.product_class] = sums.get(v.product_class, Money.zero(rs.currency)) + v.amount
    return sums, months


def _volume_lines(b: _Builder, facts: ExchangeFacts, period: Period) -> Money:
    sums, months = _trailing_volume(facts, period, b.rs)
    rates = b.rs.value("volume_rates")
    window = f"{months[0]:%Y-%m}..{months[-1]:%Y-%m}"
    unrated = sorted(set(sums) - set(rates))
    if unrated:
        raise IncompleteFacts(f"rule-set {b.rs.id} has no volume rate for product class {', '.join(unrated)}")
    for cls in sorted(rates):
        vol = sums.get(cls, Money.zero(b.cur))
        amount = b.scaled(vol, rates[cls])
        b.add(f"volume:{cls}", amount,
              f"{cls} volume {vol.format()} over {window} x {pct(rates[cls])}",
              {"product_class": cls, "window": window, "volume": vol.amount}, "volume_rates")
    return total(list(sums.values()), b.cur)


OPTIONAL_WALLETS = ("other",)  # storage an exchange may not have at all: none reported is none held


def _custody_lines(b: _Builder, facts: ExchangeFacts, period: Period) -> None:
    rates = b.rs.value("custody_rates")
    for wallet in sorted(rates):
        rows = [c for c in facts.custody if c.wallet == wallet and c.as_of <= period.start]
        if not rows and wallet in OPTIONAL_WALLETS:
            b.add(f"custody:{wallet}", b.money(0),
                  f"{wallet}-storage customer assets: none reported on or before {period.start}",
                  {"wallet": wallet, "as_of": "", "balance": 0}, "custody_rates")
            continue
        if not rows:
            raise IncompleteFacts(f"no {wallet}-wallet custody balance on or before {period.start}")
        latest = max(rows, key=lambda c: c.as_of)
        amount = b.scaled(latest.amount, rates[wallet])
        b.add(f"custody:{wallet}", amount,
              f"{wallet}-wallet customer assets {latest.amount.format()} on {latest.as_of} x {pct(rates[wallet])}",
              {"wallet": wallet, "as_of": latest.as_of.isoformat(), "balance": latest.amount.amount},
              "custody_rates")


def _capital_lines(b: _Builder, facts: ExchangeFacts, period: Period) -> None:
    if b.rs.has("capital_by_service_class"):
        table = b.rs.value("capital_by_service_class")
        classes = [c for c in facts.service_classes if str(c) in table]
        if not classes:
            raise IncompleteFacts("no authorised service class on record for the exchange")
        cls = max(classes)
        b.add("permanent_minimum_capital", b.money(table[str(cls)]),
              f"permanent minimum capital for service class {cls} (highest authorised)",
              {"service_classes": ",".join(str(c) for c in sorted(classes)), "class_used": cls},
              "capital_by_service_class")
    if b.rs.has("overheads_net_of_deductions") or b.rs.has("projected_overheads_first_year"):
        _overheads_v2(b, facts, period)
    elif b.rs.has("overheads_fraction"):
        year = period.start.year - 1
        rows = [o for o in facts.overheads if o.fiscal_year == year]
        if not rows:
            raise IncompleteFacts(f"no fixed overheads reported for {year}")
        frac = b.rs.value("overheads_fraction")
        b.add("fixed_overheads", b.scaled(rows[0].amount, frac),
              f"{frac} x fixed overheads of {year} ({rows[0].amount.format()})",
              {"fiscal_year": year, "overheads": rows[0].amount.amount}, "overheads_fraction")


def _overheads_v2(b: _Builder, facts: ExchangeFacts, period: Period) -> None:
    """MiCA Art. 67(1)(b) with (2) and (3): a fraction of the preceding year's fixed overheads net of the
    deductions; a firm in its first year of business uses the projected overheads it reported."""
    rs = b.rs
    net_rule = rs.value("overheads_net_of_deductions", False)
    first_year = rs.value("projected_overheads_first_year", False)
    year = period.start.year - 1
    by_year = {o.fiscal_year: o for o in facts.overheads}
    row = by_year.get(year)
    if row is None and first_year and by_year.get(period.start.year) and by_year[period.start.year].projected:
        row = by_year[period.start.year]
    if row is None:
        also = f" nor projected overheads for a first year of business in {period.start.year}" if first_year else ""
        raise IncompleteFacts(f"no fixed overheads reported for {year}{also}")
    if row.projected and not first_year:
        raise IncompleteFacts(f"the overheads reported for {row.fiscal_year} are projected; "
                              f"rule-set {rs.id} takes only actual overheads")
    if row.deductions > row.amount.amount:
        raise IncompleteFacts(f"the deductions reported for {row.fiscal_year} exceed its fixed overheads")
    frac = rs.value("overheads_fraction")
    basis = row.net if net_rule else row.amount
    what = (f"projected fixed overheads of the first 12 months of business (reported for {row.fiscal_year})"
            if row.projected else f"fixed overheads of {row.fiscal_year}")
    if net_rule:
        ded = Money(row.deductions, row.amount.currency)
        why = (f"{frac} x {what} net of the Art. 67(3) deductions "
               f"({row.amount.format()} - {ded.format()} = {basis.format()})")
    else:
        why = f"{frac} x {what} ({row.amount.format()})"
    b.add("fixed_overheads", b.scaled(basis, frac), why,
          {"fiscal_year": row.fiscal_year, "overheads": row.amount.amount, "deductions": row.deductions,
           "net_overheads": basis.amount, "projected": str(row.projected).lower()}, "overheads_fraction")


def _apply_max(b: _Builder) -> None:
    """Aggregation 'max': keep the greatest component (first on ties), show the others at zero."""
    if not b.lines:
        return
    keep = max(range(len(b.lines)), key=lambda i: (b.lines[i].amount.amount, -i))
    for i, ln in enumerate(b.lines):
        if i != keep:
            b.lines[i] = Line(ln.component, b.money(0),
                              f"not applied (would be {ln.amount.format()}): the higher requirement applies",
                              ln.inputs, ln.parameter)


def _incident_lines(b: _Builder, facts: ExchangeFacts, period: Period, base: Money) -> None:
    rs = b.rs
    lookback, weights = rs.value("incident_lookback_years"), rs.value("incident_weights")
    decay, mult = rs.value("incident_decay_by_age_years"), rs.value("uncompensated_multiplier")
    added = []
    for inc in sorted(facts.incidents, key=lambda i: (i.occurred_on, i.id)):
        if inc.occurred_on >= period.start:
            continue
        age = full_years_between(inc.occurred_on, period.start)
        if age >= lookback:
            continue
        if inc.kind not in weights:
            raise IncompleteFacts(f"rule-set {rs.id} has no weight for incident kind {inc.kind!r}")
        factor = weights[inc.kind] * decay[age] * (mult if inc.uncompensated else 1)
        why = f"{inc.kind} on {inc.occurred_on}: weight {weights[inc.kind]} x decay {decay[age]} (age {age}y)"
        if inc.uncompensated:
            why += f" x {mult} (customer loss not fully repaid)"
        why += f" of base {base.format()}"
        added.append(b.add(f"incident:{inc.occurred_on}:{inc.kind}", b.scaled(base, factor), why,
                           {"incident": inc.id, "kind": inc.kind, "occurred_on": inc.occurred_on.isoformat(),
                            "age_years": age, "factor": factor, "uncompensated": inc.uncompensated},
                           "incident_weights"))
    cap = b.scaled(base, rs.value("incident_loading_cap"))
    loaded = total([ln.amount for ln in added], b.cur)
    if loaded > cap:
        b.add("incident_loading_cap", cap - loaded,
              f"incident loading {loaded.format()} capped at {cap.format()}",
              {"loading": loaded.amount, "cap": cap.amount}, "incident_loading_cap")


def _custodian_line(b: _Builder, facts: ExchangeFacts, base: Money) -> None:
    unregistered = sorted(c.name for c in facts.custodians if not c.registered)
    if unregistered:
        rate = b.rs.value("unregistered_custodian_loading")
        b.add("unregistered_custodian", b.scaled(base, rate),
              f"depends on unregistered custodian(s) {', '.join(unregistered)}: +{pct(rate)} of base",
              {"custodians": ",".join(unregistered)}, "unregistered_custodian_loading")


def _notification_line(b: _Builder, facts: ExchangeFacts, base: Money) -> None:
    unnotified = sorted(c.name for c in facts.custodians if not c.registered)
    if unnotified:
        rate = b.rs.value("unnotified_custodian_loading")
        b.add("unnotified_custodian", b.scaled(base, rate),
              f"depends on wallet-management provider(s) {', '.join(unnotified)} without a filed prior "
              f"notification (事前届出): +{pct(rate)} of base",
              {"custodians": ",".join(unnotified)}, "unnotified_custodian_loading")


def _floor_cap_lines(b: _Builder, volume: Money) -> None:
    tiers = b.rs.value("tiers")
    tier_no = max(i for i, t in enumerate(tiers) if t.min_volume <= volume.amount)
    tier = tiers[tier_no]
    sub = b.subtotal()
    inputs = {"tier": tier_no + 1, "trailing_volume": volume.amount, "subtotal": sub.amount}
    if sub.amount < tier.floor:
        b.add("floor", b.money(tier.floor) - sub,
              f"raised to the tier {tier_no + 1} floor {b.money(tier.floor).format()}", inputs, "tiers")
    elif sub.amount > tier.cap:
        b.add("cap", b.money(tier.cap) - sub,
              f"limited to the tier {tier_no + 1} cap {b.money(tier.cap).format()}", inputs, "tiers")


def compute_obligation(facts: ExchangeFacts, period: Period, rs: RuleSet) -> Obligation:
    """The reserve `facts`' exchange must hold for `period` under `rs`."""
    if facts.jurisdiction != rs.jurisdiction:
        raise IncompleteFacts(f"rule-set {rs.id} is for {rs.jurisdiction}, the exchange is in {facts.jurisdiction}")
    b = _Builder(rs)
    volume = Money.zero(b.cur)
    if rs.has("volume_rates"):
        volume = _volume_lines(b, facts, period)
    if rs.has("custody_rates"):
        _custody_lines(b, facts, period)
    _capital_lines(b, facts, period)
    if rs.value("aggregation") == "max":
        _apply_max(b)
    base = b.subtotal()
    if rs.has("incident_weights"):
        _incident_lines(b, facts, period, base)
    if rs.has("unregistered_custodian_loading"):
        _custodian_line(b, facts, base)
    if rs.has("unnotified_custodian_loading"):
        _notification_line(b, facts, base)
    if rs.has("tiers"):
        _floor_cap_lines(b, volume)
    return Obligation(facts.exchange_id, facts.jurisdiction, period, rs.ref, b.subtotal(), tuple(b.lines))
