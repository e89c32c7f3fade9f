"""Builders for domain facts used by the unit tests."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from marketplace.domain.facts import CustodyBalance, ExchangeFacts, Volume
from marketplace.domain.money import Money
from marketplace.domain.rulesets import RuleSet, parse_ruleset

DATA = Path(__file__).resolve().parents[2] / "marketplace" / "rulesets" / "data"


def shipped_document(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


def shipped(name: str) -> RuleSet:
    return parse_ruleset(shipped_document(name))


JP, EU, HK = "JP-FSA-2026@1", "EU-MiCA-67@1", "HK-SFC-VATP@1"
MONTHS_2026 = [date(2026, m, 1) for m in range(1, 13)]


def jp_facts(spot: int = 100_000_000_000, derivatives: int = 50_000_000_000, hot: int = 5_000_000_000,
             **kw) -> ExchangeFacts:
    volumes = []
    for m in MONTHS_2026:
        volumes.append(Volume(m, "spot", Money(spot, "JPY")))
        volumes.append(Volume(m, "derivatives", Money(derivatives, "JPY")))
    defaults = {"exchange_id": "ex-jp", "name": "Test JP", "licence_number": "L-1", "jurisdiction": "JP",
                "volumes": tuple(volumes),
                "custody": (CustodyBalance(date(2026, 12, 31), "hot", Money(hot, "JPY")),)}
    defaults.update(kw)
    return ExchangeFacts(**defaults)
