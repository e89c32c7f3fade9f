"""Rule-sets: versioned, published parameter documents. Validation, typed access and digest.

A document is {id, version, jurisdiction, title, effective_from, currency, params} (and, optionally,
effective_from_source: what the effective date rests on); every param is {"value", "source", "provisional"}.
Rates are decimal strings (never floats), money amounts integer minor units of the rule-set currency.

A parameter's source is *sourced* when it names a URL (http/https) and, beside it, the section it rests on;
a value no published text sets says so: its source reads "service proposal (no published value)", possibly
followed by an explanation after a colon. `sourced_count` counts the first kind (issue 14).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import rfc8785

from . import ratings
from .errors import DomainError, RuleSetInvalid
from .money import EXPONENTS, Rounding, to_decimal

TOP_LEVEL = {"id", "version", "jurisdiction", "title", "effective_from", "currency", "params"}
OPTIONAL_TOP_LEVEL = {"effective_from_source"}
INCIDENT_PARAMS = (
    "incident_lookback_years", "incident_weights", "incident_decay_by_age_years",
    "uncompensated_multiplier", "incident_loading_cap",
)
COMPONENT_PARAMS = ("volume_rates", "custody_rates", "capital_by_service_class", "overheads_fraction")
WALLETS = ("hot", "cold", "other")  # storage kinds (HK: "other" storage is charged like hot)
PERIL_PARAMS = ("perils.vocabulary", "perils.required")
PROPOSAL = "service proposal (no published value)"
_URL = re.compile(r"https?://[^\s,;()]+")


@dataclass(frozen=True, slots=True)
class Param:
    value: Any  # parsed: Decimal, int, str, dict, list
    source: str
    provisional: bool


@dataclass(frozen=True)
class Tier:
    min_volume: int
    floor: int
    cap: int


@dataclass(frozen=True)
class RuleSet:
    id: str
    version: str
    jurisdiction: str
    title: str
    effective_from: date
    currency: str
    params: dict[str, Param]
    document: dict = field(repr=False, compare=False)
    digest: str = ""

    @property
    def ref(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version, "digest": self.digest}

    @property
    def sourced(self) -> dict[str, int]:
        """How many parameters name a URL and section: {"count": n, "of": all}."""
        return sourced_count(self.document)

    @property
    def rounding(self) -> Rounding:
        return self.params["rounding"].value

    def has(self, name: str) -> bool:
        return name in self.params

    def value(self, name: str, default: Any = None) -> Any:
        p = self.params.get(name)
        return default if p is None else p.value

    def cite(self, name: str) -> dict[str, Any]:
        """A parameter as cited in a computation: name, value, source, provisional."""
        p = self.params[name]
        return {"name": name, "value": _plain(p.value), "source": p.source, "provisional": p.provisional}


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, Rounding):
        return v.value
    if isinstance(v, Tier):
        return {"min_volume": str(v.min_volume), "floor": str(v.floor), "cap": str(v.cap)}
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def source_kind(source: Any) -> str:
    """"sourced" (a URL and, beside it, a section), "proposal" (no published value) or "unsourced"."""
    if not isinstance(source, str):
        return "unsourced"
    text = source.strip()
    if text == PROPOSAL or text.startswith(PROPOSAL + ":"):
        return "proposal"
    if _URL.search(text) and re.search(r"[A-Za-z0-9]", _URL.sub(" ", text)):
        return "sourced"
    return "unsourced"


def sourced_count(document: dict) -> dict[str, int]:
    """{"count": parameters whose source names a URL and section, "of": all parameters} of a document."""
    params = document.get("params") if isinstance(document, dict) else None
    params = params if isinstance(params, dict) else {}
    count = sum(1 for e in params.values() if isinstance(e, dict) and source_kind(e.get("source")) == "sourced")
    return {"count": count, "of": len(params)}


def digest_of(document: dict) -> str:
    """sha256:<hex> of the RFC 8785 canonical JSON of the document."""
    return "sha256:" + hashlib.sha256(rfc8785.dumps(document)).hexdigest()


# ---- value validators: each returns the parsed value or raises DomainError ----

def _decimal(lo: Decimal | None = None, hi: Decimal | None = None) -> Callable[[Any], Decimal]:
    def check(v: Any) -> Decimal:
        if not isinstance(v, str):
            raise DomainError("must be a decimal string")
        d = to_decimal(v)
        if lo is not None and d < lo:
            raise DomainError(f"must be >= {lo}")
        if hi is not None and d > hi:
            raise DomainError(f"must be <= {hi}")
        return d
    return check


def _int(lo: int, hi: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise DomainError(f"must be an integer from {lo} to {hi}")
        return v
    return check


def _minor(v: Any) -> int:
    return _int(0, 10**18)(v)


def _mapping(keys_ok: Callable[[str], bool], each: Callable[[Any], Any]) -> Callable[[Any], dict]:
    def check(v: Any) -> dict:
        if not isinstance(v, dict) or not v:
            raise DomainError("must be a non-empty object")
        out = {}
        for k, x in v.items():
            if not keys_ok(k):
                raise DomainError(f"key {k!r} is not allowed")
            try:
                out[k] = each(x)
            except DomainError as e:
                raise DomainError(f"{k}: {e}") from None
        return out
    return check


def _name(k: str) -> bool:
    return isinstance(k, str) and k.replace("_", "").isalnum() and k == k.lower() and 0 < len(k) <= 40


def _rounding(v: Any) -> Rounding:
    try:
        return Rounding(v)
    except ValueError:
        raise DomainError("must be ROUND_HALF_EVEN or ROUND_HALF_UP") from None


def _choice(*options: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in options:
            raise DomainError(f"must be one of {', '.join(options)}")
        return v
    return check


def _decay(v: Any) -> list[Decimal]:
    if not isinstance(v, list) or not v:
        raise DomainError("must be a non-empty list of decimal strings")
    out = [_decimal(Decimal(0), Decimal(1))(x) for x in v]
    if any(b > a for a, b in itertools.pairwise(out)):
        raise DomainError("must never increase with age")
    return out


def _perils(v: Any) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) and _name(x) for x in v):
        raise DomainError("must be a list of peril names")
    return sorted(set(v))


def _vocabulary(v: Any) -> list[str]:
    """A jurisdiction's peril names, in the order declared (each once)."""
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and _name(x) for x in v):
        raise DomainError("must be a non-empty list of peril names")
    if len(set(v)) != len(v):
        raise DomainError("names a peril twice")
    return list(v)


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise DomainError("must be true or false")
    return v


def _rating(v: Any) -> str:
    if not ratings.is_rating(v):
        raise DomainError(f"must be a rating on the scale {', '.join(ratings.SCALE)}")
    return v


def _tiers(v: Any) -> list[Tier]:
    if not isinstance(v, list) or not v:
        raise DomainError("must be a non-empty list of {min_volume, floor, cap}")
    tiers = []
    for i, t in enumerate(v):
        if not isinstance(t, dict) or set(t) != {"min_volume", "floor", "cap"}:
            raise DomainError(f"[{i}] must have exactly min_volume, floor, cap")
        try:
            tier = Tier(_minor(t["min_volume"]), _minor(t["floor"]), _minor(t["cap"]))
        except DomainError as e:
            raise DomainError(f"[{i}] {e}") from None
        if tier.floor > tier.cap:
            raise DomainError(f"[{i}] floor exceeds cap")
        tiers.append(tier)
    if tiers[0].min_volume != 0:
        raise DomainError("the first tier must start at min_volume 0")
    for a, b in itertools.pairwise(tiers):
        if not (b.min_volume > a.min_volume and b.floor >= a.floor and b.cap >= a.cap):
            raise DomainError("tiers must rise in min_volume, floor and cap")
    return tiers


SHARE = _decimal(Decimal(0), Decimal(1))
RATE = _decimal(Decimal(0), Decimal(100))

PARAMS: dict[str, Callable[[Any], Any]] = {
    "rounding": _rounding,
    "aggregation": _choice("sum", "max"),
    "volume_window_months": _int(1, 36),
    "volume_rates": _mapping(_name, RATE),
    "custody_rates": _mapping(lambda k: k in WALLETS, RATE),
    "capital_by_service_class": _mapping(lambda k: k in {"1", "2", "3"}, _minor),
    "overheads_fraction": SHARE,
    "incident_lookback_years": _int(1, 30),
    "incident_weights": _mapping(_name, RATE),
    "incident_decay_by_age_years": _decay,
    "uncompensated_multiplier": _decimal(Decimal(1), Decimal(10)),
    "incident_loading_cap": RATE,
    "unregistered_custodian_loading": RATE,
    # version 2 (JP): a wallet-management provider that has not filed its prior notification (事前届出)
    "unnotified_custodian_loading": RATE,
    # version 2 (EU): MiCA Art. 67(3) deductions from the overheads; Art. 67(2) projected overheads
    "overheads_net_of_deductions": _bool,
    "projected_overheads_first_year": _bool,
    "tiers": _tiers,
    "min_insurer_rating": _rating,
    "rating_haircuts": _mapping(ratings.is_rating, SHARE),
    "min_initial_term_days": _int(0, 3650),
    "min_remaining_term_days": _int(0, 3650),
    "min_cancellation_notice_days": _int(0, 3650),
    "required_perils": _perils,
    "perils.vocabulary": _vocabulary,  # version 2: the jurisdiction's perils
    "perils.required": _perils,  # version 2: those a policy must cover (a subset of the vocabulary)
    # version 2 (EU): MiCA Art. 67(5) the insurer is a third party (not in the exchange's group); Art. 67(4)(b)
    # the policy covers the territories where the services are provided (domain.offset checks both)
    "eligibility.third_party_required": _bool,
    "eligibility.territories_required": _bool,
    "fx_mismatch_haircut": SHARE,
    "max_insurer_share": SHARE,
    "max_insurance_share": SHARE,
}
REQUIRED = ("rounding", "aggregation", "fx_mismatch_haircut", "max_insurer_share", "max_insurance_share")


def _float_pointers(v: Any, at: str = "") -> list[str]:
    """The JSON Pointer (RFC 6901) of every float in the document, in document order."""
    if isinstance(v, float):
        return [at]
    if isinstance(v, dict):
        return [p for k, x in v.items()
                for p in _float_pointers(x, f"{at}/{str(k).replace('~', '~0').replace('/', '~1')}")]
    if isinstance(v, list):
        return [p for i, x in enumerate(v) for p in _float_pointers(x, f"{at}/{i}")]
    return []


def _check_header(doc: dict, errors: list[tuple[str, str]]) -> date | None:
    for k in sorted(set(doc) - TOP_LEVEL - OPTIONAL_TOP_LEVEL):
        errors.append((f"/{k}", "unknown field"))
    src = doc.get("effective_from_source")
    if "effective_from_source" in doc and (not isinstance(src, str) or not src.strip() or len(src) > 2000):
        errors.append(("/effective_from_source", "must be a non-empty string naming what the date rests on"))
    for k in sorted(TOP_LEVEL - set(doc)):
        errors.append((f"/{k}", "missing"))
    for k in ("id", "version", "jurisdiction", "title"):
        v = doc.get(k)
        if k in doc and (not isinstance(v, str) or not v.strip() or len(v) > 200):
            errors.append((f"/{k}", "must be a non-empty string"))
    if isinstance(doc.get("id"), str) and not all(c.isalnum() or c in "-_." for c in doc["id"]):
        errors.append(("/id", "may hold only letters, digits, '-', '_' and '.'"))
    if "currency" in doc and not (isinstance(doc["currency"], str) and doc["currency"] in EXPONENTS):
        errors.append(("/currency", "unknown or unsupported ISO 4217 currency"))
    eff = None
    if "effective_from" in doc:
        try:
            eff = date.fromisoformat(doc["effective_from"])
        except (TypeError, ValueError):
            errors.append(("/effective_from", "must be a date YYYY-MM-DD"))
    return eff


def _check_params(raw: Any, errors: list[tuple[str, str]]) -> dict[str, Param]:
    params: dict[str, Param] = {}
    if not isinstance(raw, dict):
        errors.append(("/params", "must be an object"))
        return params
    for name, entry in raw.items():
        path = f"/params/{name}"
        if name not in PARAMS:
            errors.append((path, "unknown parameter"))
            continue
        if not isinstance(entry, dict) or set(entry) != {"value", "source", "provisional"}:
            errors.append((path, "must be exactly {value, source, provisional}"))
            continue
        if not isinstance(entry["source"], str) or not entry["source"].strip():
            errors.append((path + "/source", "must name the document and section"))
        if not isinstance(entry["provisional"], bool):
            errors.append((path + "/provisional", "must be true or false"))
        try:
            params[name] = Param(PARAMS[name](entry["value"]), entry["source"], entry["provisional"])
        except DomainError as e:
            errors.append((path + "/value", str(e)))
    return params


def _check_consistency(raw: dict, params: dict[str, Param], errors: list[tuple[str, str]]) -> None:
    for name in REQUIRED:
        if name not in raw:
            errors.append((f"/params/{name}", "missing"))
    if not any(n in raw for n in COMPONENT_PARAMS):
        errors.append(("/params", f"needs at least one component: {', '.join(COMPONENT_PARAMS)}"))
    present = [n for n in INCIDENT_PARAMS if n in raw]
    if present and len(present) != len(INCIDENT_PARAMS):
        for n in INCIDENT_PARAMS:
            if n not in raw:
                errors.append((f"/params/{n}", "missing: incident parameters come all together"))
    if "volume_rates" in raw and "volume_window_months" not in raw:
        errors.append(("/params/volume_window_months", "missing: needed by volume_rates"))
    present = [n for n in PERIL_PARAMS if n in raw]
    if present and len(present) != len(PERIL_PARAMS):
        for n in PERIL_PARAMS:
            if n not in raw:
                errors.append((f"/params/{n}", "missing: perils.vocabulary and perils.required come together"))
    vocab, req = params.get("perils.vocabulary"), params.get("perils.required")
    if vocab and req:
        unknown = [p for p in req.value if p not in vocab.value]
        if unknown:
            errors.append(("/params/perils.required/value",
                           f"not in this jurisdiction's vocabulary: {', '.join(unknown)}"))
    if "required_perils" in raw and present:
        errors.append(("/params/required_perils", "use perils.required with perils.vocabulary, not both"))
    overheads_rules = "overheads_net_of_deductions" in raw or "projected_overheads_first_year" in raw
    if overheads_rules and "overheads_fraction" not in raw:
        errors.append(("/params/overheads_fraction", "missing: needed by the overheads rules"))
    lb, decay = params.get("incident_lookback_years"), params.get("incident_decay_by_age_years")
    if lb and decay and len(decay.value) != lb.value:
        errors.append(("/params/incident_decay_by_age_years/value", "needs one factor per look-back year"))
    mn, hc = params.get("min_insurer_rating"), params.get("rating_haircuts")
    if mn and hc:
        missing = [r for r in ratings.SCALE if ratings.at_least(r, mn.value) and r not in hc.value]
        if missing:
            errors.append(("/params/rating_haircuts/value", f"no haircut for eligible ratings {', '.join(missing)}"))


def parse_ruleset(document: Any) -> RuleSet:
    """Validate a rule-set document and return it typed. Raises RuleSetInvalid with every problem."""
    errors: list[tuple[str, str]] = []
    if not isinstance(document, dict):
        raise RuleSetInvalid([("", "a rule-set must be a JSON object")])
    if floats := _float_pointers(document):
        raise RuleSetInvalid([(p, "numbers with a fraction must be decimal strings, never floats") for p in floats])
    eff = _check_header(document, errors)
    raw = document.get("params", {})
    params = _check_params(raw, errors)
    if isinstance(raw, dict):
        _check_consistency(raw, params, errors)
    if errors:
        raise RuleSetInvalid(errors)
    return RuleSet(
        id=document["id"], version=document["version"], jurisdiction=document["jurisdiction"],
        title=document["title"], effective_from=eff, currency=document["currency"],
        params=params, document=document, digest=digest_of(document),
    )


def select_ruleset(rulesets: list[RuleSet], jurisdiction: str, on: date) -> RuleSet | None:
    """The rule-set in force for a jurisdiction on a date: latest effective_from <= on."""
    usable = [r for r in rulesets if r.jurisdiction == jurisdiction and r.effective_from <= on]
    return max(usable, key=lambda r: (r.effective_from, r.version)) if usable else None


# ---- comparing two published versions (the regulator's diff page) ----

HEADER_FIELDS = ("id", "version", "jurisdiction", "title", "effective_from", "effective_from_source", "currency")


@dataclass(frozen=True)
class ParamChange:
    """One parameter in a comparison: its entry ({value, source, provisional}, as published) in the older
    and the newer document (None where it is absent), and which of its parts differ."""

    name: str
    old: dict | None
    new: dict | None
    parts: tuple[str, ...] = ()  # of "value", "source", "provisional"
    # for object values: (key, old, new) per key that differs, None where the key is absent
    keys: tuple[tuple[str, Any, Any], ...] = ()


@dataclass(frozen=True)
class RuleSetDiff:
    header: tuple[tuple[str, Any, Any], ...]  # (field, old, new) for each differing top-level field
    added: tuple[ParamChange, ...]
    removed: tuple[ParamChange, ...]
    changed: tuple[ParamChange, ...]
    unchanged: tuple[str, ...]

    @property
    def same(self) -> bool:
        return not (self.header or self.added or self.removed or self.changed)


def _entry(raw: Any) -> dict:
    if isinstance(raw, dict) and "value" in raw:
        return {"value": raw.get("value"), "source": raw.get("source"), "provisional": raw.get("provisional")}
    return {"value": raw, "source": None, "provisional": None}


def diff_documents(old: dict, new: dict) -> RuleSetDiff:
    """What changed from the `old` rule-set document to the `new` one: top-level fields, and parameters
    added, removed and changed (in value, source or provisional flag), each with both entries so the
    sources can be shown. Pure: compares the documents as published (values exactly as written)."""
    header = tuple((f, old.get(f), new.get(f)) for f in HEADER_FIELDS if old.get(f) != new.get(f))
    a, b = old.get("params") or {}, new.get("params") or {}
    added = tuple(ParamChange(n, None, _entry(b[n])) for n in sorted(set(b) - set(a)))
    removed = tuple(ParamChange(n, _entry(a[n]), None) for n in sorted(set(a) - set(b)))
    changed, unchanged = [], []
    for n in sorted(set(a) & set(b)):
        x, y = _entry(a[n]), _entry(b[n])
        parts = tuple(p for p in ("value", "source", "provisional") if x[p] != y[p])
        if not parts:
            unchanged.append(n)
            continue
        keys: tuple[tuple[str, Any, Any], ...] = ()
        if "value" in parts and isinstance(x["value"], dict) and isinstance(y["value"], dict):
            keys = tuple((k, x["value"].get(k), y["value"].get(k)) for k in sorted(set(x["value"]) | set(y["value"]))
                         if x["value"].get(k) != y["value"].get(k))
        changed.append(ParamChange(n, x, y, parts, keys))
    return RuleSetDiff(header, added, removed, tuple(changed), tuple(unchanged))
