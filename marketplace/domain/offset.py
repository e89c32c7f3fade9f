"""evaluate_offset: which allocations count against an obligation, and for how much (DESIGN 4.2).

Per allocation, in this order, each step rounded to whole minor units with the rule-set rounding:
1. deductible share = deductible x allocated / limit (the deductible is borne pro rata);
2. after haircut   = (allocated - deductible share) x (1 - rating haircut);
3. converted       = after haircut x reference rate (latest on or before the period start),
   then x (1 - FX-mismatch haircut) when the policy currency differs from the obligation's.
An allocation that fails any named check contributes 0. Checks a rule-set adds from version 2 on:
`perils.required` (the policy covers each; the reason names what is missing in words) replaces
`required_perils`; `eligibility.third_party_required` (MiCA Art. 67(5): an insurer in the exchange's group is
no third party) adds `third_party`; `eligibility.territories_required` (Art. 67(4)) adds `territories` (the
policy's territories include the obligation's jurisdiction; see domain/territories.py). The insurer's rating
is the one the obligation's regulator gives it. Then caps, each reducing the allocations it
touches pro rata (largest remainder, ties by allocation id): per insurer at max_insurer_share x
obligation, in total at max_insurance_share x obligation, and never above the obligation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from . import ratings, territories
from .cover import Allocation, Policy, peril_words
from .fx import FxRate, convert, pick_rate
from .money import Money, apportion, total
from .obligation import Obligation
from .rulesets import RuleSet


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class AllocationResult:
    allocation_id: str
    policy_id: str
    policy_number: str
    insurer_id: str
    allocated: Money
    checks: list[Check]
    steps: list[dict[str, Any]] = field(default_factory=list)
    fx: dict[str, str] | None = None
    before_caps: Money | None = None
    eligible: Money | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "allocation": self.allocation_id, "policy": self.policy_id, "policy_number": self.policy_number,
            "insurer": self.insurer_id, "allocated": self.allocated.as_dict(), "eligible": self.ok,
            "checks": [c.as_dict() for c in self.checks], "steps": self.steps, "fx": self.fx,
            "eligible_before_caps": self.before_caps.as_dict(), "eligible_offset": self.eligible.as_dict(),
        }


@dataclass(frozen=True)
class Offset:
    obligation: Money
    allocations: tuple[AllocationResult, ...]
    caps: tuple[dict[str, Any], ...]
    total: Money
    net_reserve: Money

    def as_dict(self) -> dict[str, Any]:
        return {
            "obligation": self.obligation.as_dict(), "allocations": [a.as_dict() for a in self.allocations],
            "caps": list(self.caps), "total_offset": self.total.as_dict(),
            "net_reserve": self.net_reserve.as_dict(),
        }


def _group(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()


def _perils(p: Policy, rs: RuleSet) -> Check:
    return perils_check(frozenset(p.perils), rs)


def perils_check(perils: frozenset[str], rs: RuleSet) -> Check:
    """Whether cover of these perils meets the rule-set (a policy's, or an offering's before a policy exists)."""
    if not rs.has("perils.required"):  # version 1: its list of codes, its words, exactly as before
        missing = sorted(set(rs.value("required_perils", [])) - perils)
        return Check("perils_covered", not missing, "covers every required peril" if not missing
                     else f"does not cover {', '.join(missing)}")
    required = sorted(set(rs.value("perils.required") or ()))
    missing = [r for r in required if r not in perils]
    if missing:
        return Check("perils_covered", False, f"does not cover: {peril_words(missing)}")
    return Check("perils_covered", True, f"covers every required peril ({len(required)})" if required
                 else "the rule-set requires no peril")


def _third_party(p: Policy) -> Check:
    ins, theirs, ours = p.insurer, _group(p.insurer.group), _group(p.insured_group)
    if theirs and theirs == ours:
        return Check("third_party", False, f"{ins.name} belongs to the exchange's own group "
                     f"({(p.insured_group or '').strip()}); the insurer must be a third party")
    if not ours:
        return Check("third_party", True, f"the exchange records no group; {ins.name} counts as a third party")
    return Check("third_party", True, f"{ins.name} is not in the exchange's group ({p.insured_group.strip()})")


def _territories(p: Policy, jurisdiction: str) -> Check:
    if not p.territories:
        return Check("territories", False, "the territories this policy covers are not recorded")
    listed = ", ".join(sorted(p.territories))
    if territories.covers(p.territories, jurisdiction):
        return Check("territories", True, f"territories {listed} include {jurisdiction}")
    if jurisdiction == territories.UNION:
        return Check("territories", False, f"territories {listed} do not cover the Union (EU) where the "
                     "services are provided: record EU or every member state")
    return Check("territories", False, f"territories {listed} do not include {jurisdiction}")


def _checks(ob: Obligation, a: Allocation, rs: RuleSet, rates: tuple[FxRate, ...]) -> list[Check]:
    p, ins, per = a.policy, a.policy.insurer, ob.period
    out = [Check("insurer_approved", ob.jurisdiction in ins.approved_in,
                 f"{ins.name} is approved in {ob.jurisdiction}" if ob.jurisdiction in ins.approved_in
                 else f"{ins.name} is not approved by the {ob.jurisdiction} regulator")]
    minimum = rs.value("min_insurer_rating")
    if minimum is None:
        out.append(Check("insurer_rating", True, "the rule-set sets no minimum rating"))
    else:
        good = ratings.at_least(ins.rating, minimum)
        out.append(Check("insurer_rating", good, f"rating {ins.rating or 'none'} "
                         + ("meets" if good else "is below") + f" the minimum {minimum}"))
    if rs.value("eligibility.third_party_required"):
        out.append(_third_party(p))
    in_term = p.term_start <= per.start and p.term_end >= per.end
    if p.status != "active":  # say so, not that the term falls short when it does not
        detail = f"policy {p.status}: it no longer counts as cover (term {p.term_start}..{p.term_end})"
    else:
        detail = f"policy active, term {p.term_start}..{p.term_end} " \
            + ("covers" if in_term else "does not cover") + f" {per.start}..{per.end}"
    out.append(Check("policy_active", p.status == "active" and in_term, detail))
    rem = rs.value("min_remaining_term_days")
    if rem is not None:
        ok = p.term_end >= per.end + timedelta(days=rem)
        out.append(Check("remaining_term", ok, f"term ends {p.term_end}; must run {rem} days past {per.end}"))
    initial = rs.value("min_initial_term_days")
    if initial is not None:
        days = (p.term_end - p.term_start).days + 1
        out.append(Check("initial_term", days >= initial, f"initial term {days} days; minimum {initial}"))
    notice = rs.value("min_cancellation_notice_days")
    if notice is not None:
        ok = p.cancellation_notice_days >= notice
        out.append(Check("cancellation_notice", ok,
                         f"cancellation notice {p.cancellation_notice_days} days; minimum {notice}"))
    out.append(_perils(p, rs))
    if rs.value("eligibility.territories_required"):
        out.append(_territories(p, ob.jurisdiction))
    named = p.insured_id == ob.exchange_id
    out.append(Check("insured_named", named, "names the exchange as insured" if named
                     else "the exchange is not the insured of this policy"))
    out.append(Check("insurer_attestation", p.attested,
                     "the insurer attested this policy revision" if p.attested
                     else "no valid insurer attestation for the current policy revision"))
    ok_amount = a.amount.amount > 0 and a.amount.currency == p.currency and a.amount <= p.limit
    out.append(Check("allocation_within_limit", ok_amount,
                     f"allocated {a.amount.format()} of limit {p.limit.format()}"))
    if p.currency != ob.currency:
        rate = pick_rate(rates, p.currency, ob.currency, per.start)
        out.append(Check("fx_rate", rate is not None,
                         f"reference rate {rate.pair} {rate.rate} of {rate.as_of} ({rate.source})" if rate
                         else f"no reference rate {p.currency}/{ob.currency} on or before {per.start}"))
    return out


def _amount(ob: Obligation, a: AllocationResult, alloc: Allocation, rs: RuleSet,
            rates: tuple[FxRate, ...]) -> Money:
    p, rnd = alloc.policy, rs.rounding
    share = Money(0, p.currency)
    if p.limit.amount > 0:
        share = p.deductible.scale(Decimal(alloc.amount.amount) / Decimal(p.limit.amount), rnd)
    net = alloc.amount - share.min(alloc.amount)
    haircut = rs.value("rating_haircuts", {}).get(p.insurer.rating, Decimal(0))
    after = net.scale(1 - haircut, rnd)
    a.steps += [
        {"step": "deductible_share", "amount": share.as_dict(),
         "detail": f"deductible {p.deductible.format()} x {alloc.amount.amount}/{p.limit.amount}"},
        {"step": "rating_haircut", "amount": after.as_dict(),
         "detail": f"({alloc.amount.format()} - {share.format()}) x (1 - {haircut}) for rating {p.insurer.rating}"},
    ]
    if p.currency == ob.currency:
        return after
    rate = pick_rate(rates, p.currency, ob.currency, ob.period.start)
    conv = convert(after, rate, rnd).result
    fx_cut = rs.value("fx_mismatch_haircut")
    final = conv.scale(1 - fx_cut, rnd)
    a.fx = rate.as_dict()
    a.steps += [
        {"step": "fx_conversion", "amount": conv.as_dict(),
         "detail": f"{after.format()} x {rate.rate} ({rate.pair}, {rate.as_of}, {rate.source})"},
        {"step": "fx_mismatch_haircut", "amount": final.as_dict(), "detail": f"{conv.format()} x (1 - {fx_cut})"},
    ]
    return final


def _cap(results: list[AllocationResult], limit: Money, name: str, detail: str) -> dict[str, Any] | None:
    before = total([r.eligible for r in results], limit.currency)
    if before <= limit:
        return None
    new = apportion([r.eligible.amount for r in results], limit.amount)
    for r, amount in zip(results, new, strict=False):
        r.eligible = Money(amount, limit.currency)
    return {"cap": name, "detail": detail, "limit": limit.as_dict(), "before": before.as_dict(),
            "after": limit.as_dict(), "allocations": [r.allocation_id for r in results]}


def evaluate_offset(ob: Obligation, allocations: list[Allocation] | tuple[Allocation, ...],
                    rates: list[FxRate] | tuple[FxRate, ...], rs: RuleSet) -> Offset:
    rates = tuple(rates)
    cur, rnd = ob.currency, rs.rounding
    results = []
    for alloc in sorted(allocations, key=lambda x: x.id):
        r = AllocationResult(alloc.id, alloc.policy.id, alloc.policy.number, alloc.policy.insurer.id,
                             alloc.amount, _checks(ob, alloc, rs, rates))
        r.before_caps = _amount(ob, r, alloc, rs, rates) if r.ok else Money.zero(cur)
        r.eligible = r.before_caps
        results.append(r)
    caps = []
    per_insurer = ob.total.scale(rs.value("max_insurer_share"), rnd)
    for insurer in sorted({r.insurer_id for r in results}):
        mine = [r for r in results if r.insurer_id == insurer]
        caps.append(_cap(mine, per_insurer, "per_insurer",
                         f"insurer {insurer} may cover at most {rs.value('max_insurer_share')} of the obligation"))
    caps.append(_cap(results, ob.total.scale(rs.value("max_insurance_share"), rnd), "total_insurance",
                     f"insurance may cover at most {rs.value('max_insurance_share')} of the obligation"))
    caps.append(_cap(results, ob.total, "obligation", "the offset never exceeds the obligation"))
    offset = total([r.eligible for r in results], cur)
    return Offset(ob.total, tuple(results), tuple(c for c in caps if c), offset, ob.total - offset)
