"""The demo world: regulators, insurers, custodians and one exchange per shipped jurisdiction."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

REGULATORS = [
    ("Financial Services Agency (Japan)", "JP"),
    ("BaFin (MiCA competent authority)", "EU"),
    ("Securities and Futures Commission (Hong Kong)", "HK"),
]

# name, rating, {jurisdiction: status}
INSURERS = [
    ("Tokio Mutual Cyber", "A", {"JP": "approved", "EU": "approved", "HK": "approved"}),
    ("Harbour Specialty Re", "BBB", {"JP": "approved", "HK": "approved"}),
    ("Nova Digital Assurance", None, {"JP": "pending"}),
]

CUSTODIANS = [
    ("Tokyo Wallet Services", "JP", "registered", "JP-WMS-0007"),
    ("Offshore Key Management", "JP", "unregistered", None),
]

# 24 months of volumes, 2025-01..2026-12 (enough for any 2026-Q1..2027-Q1 period).
MONTHS = [date(2025 + i // 12, i % 12 + 1, 1) for i in range(24)]


def jp_volumes(month: date) -> dict[str, int]:
    m = month.month
    return {"spot": 4_500_000_000_000 + (m % 5) * 150_000_000_000,
            "derivatives": 3_000_000_000_000 + (m % 3) * 100_000_000_000,
            "margin": 500_000_000_000}


def eu_volumes(month: date) -> dict[str, int]:
    return {"spot": 120_000_000_00 + (month.month % 4) * 5_000_000_00}


def hk_volumes(month: date) -> dict[str, int]:
    return {"spot": 2_400_000_000_00 + (month.month % 6) * 50_000_000_00}


EXCHANGES = [
    {
        "name": "Sakura Digital Exchange", "licence": "Kanto-FB-00099", "jurisdiction": "JP", "currency": "JPY",
        "volumes": jp_volumes, "service_classes": (),
        "custody": [(date(2026, 9, 30), "hot", 28_000_000_000), (date(2026, 9, 30), "cold", 560_000_000_000),
                    (date(2026, 12, 31), "hot", 30_000_000_000), (date(2026, 12, 31), "cold", 570_000_000_000)],
        "incidents": [
            (date(2019, 6, 1), "hack", 800_000_000, 800_000_000, "Hot-wallet key leak (outside look-back)"),
            (date(2022, 3, 14), "hack", 1_200_000_000, 1_200_000_000, "Hot-wallet compromise, fully repaid"),
            (date(2024, 5, 31), "custodian_failure", 4_820_000_000, 3_000_000_000,
             "Wallet-management provider compromise, partly repaid"),
            (date(2025, 9, 10), "operational_failure", 50_000_000, 50_000_000, "Matching engine outage"),
        ],
        "custodians": ["Tokyo Wallet Services", "Offshore Key Management"],
        "overheads": [],
        # cash in the reserve account: above the net reserve the demo cover leaves (no shortfall)
        "reserve": [(date(2026, 11, 30), 3_500_000_000)],
    },
    {
        "name": "Rhein Crypto Markets", "licence": "DE-CASP-0042", "jurisdiction": "EU", "currency": "EUR",
        "volumes": eu_volumes, "service_classes": (2, 3),
        "custody": [(date(2026, 12, 31), "hot", 4_000_000_00), (date(2026, 12, 31), "cold", 96_000_000_00)],
        "incidents": [(date(2025, 2, 3), "operational_failure", 120_000_00, 120_000_00, "Withdrawal queue stall")],
        "custodians": [],
        "overheads": [(2025, 900_000_00), (2026, 1_000_000_00)],
        "reserve": [],
    },
    {
        "name": "Victoria Harbour VATP", "licence": "SFC-BPX123", "jurisdiction": "HK", "currency": "HKD",
        "volumes": hk_volumes, "service_classes": (),
        "custody": [(date(2026, 12, 31), "hot", 120_000_000_00), (date(2026, 12, 31), "cold", 5_880_000_000_00)],
        "incidents": [(date(2023, 11, 20), "insider_fraud", 2_000_000_00, 0, "Employee misappropriation")],
        "custodians": [],
        "overheads": [],
        "reserve": [],
    },
]

FX_RATES = [
    ("USD", "JPY", Decimal("150.25"), date(2026, 12, 30), "Demo reference fixing"),
    ("EUR", "JPY", Decimal("162.40"), date(2026, 12, 30), "Demo reference fixing"),
    ("USD", "HKD", Decimal("7.7810"), date(2026, 12, 30), "Demo reference fixing"),
]

# Market (issue: coverage market). Offerings by (insurer, title).
OFFERINGS = [
    {"insurer": "Tokio Mutual Cyber", "title": "Exchange crime and custody cover (JPY)",
     "perils": ["theft_hack", "insider_fraud", "operational_failure", "custodian_failure"],
     "jurisdictions": ["JP", "HK"], "currency": "JPY", "min_limit": 500_000_000, "max_limit": 5_000_000_000,
     "capacity": 20_000_000_000, "deductible": 50_000_000, "min_term_months": 12, "max_term_months": 36,
     "indicative_rate": "0.012", "notice": 90},
    {"insurer": "Tokio Mutual Cyber", "title": "Global digital-asset cover (USD)",
     "perils": ["theft_hack", "insider_fraud", "operational_failure", "professional_liability",
                "business_disruption", "loss_of_documents"],
     "jurisdictions": ["JP", "EU", "HK"], "currency": "USD", "min_limit": 100_000_000, "max_limit": 2_000_000_000,
     "capacity": 5_000_000_000, "deductible": 10_000_000, "min_term_months": 12, "max_term_months": 36,
     "indicative_rate": "0.0135", "notice": 120},
    {"insurer": "Harbour Specialty Re", "title": "Hot-wallet theft cover",
     "perils": ["theft_hack", "insider_fraud", "operational_failure"],
     "jurisdictions": ["JP", "HK"], "currency": "JPY", "min_limit": 200_000_000, "max_limit": 2_000_000_000,
     "capacity": 8_000_000_000, "deductible": 20_000_000, "min_term_months": 6, "max_term_months": 24,
     "indicative_rate": "0.009", "notice": 90},
]

# The JP exchange's cover: one bound in the market, two registered directly (one in USD).
BOUND = {"offering": "Exchange crime and custody cover (JPY)", "number": "TMC-2026-0001", "limit": 3_000_000_000,
         "term_start": date(2026, 10, 1), "term_months": 24, "premium": 36_000_000}
REGISTERED = [
    {"insurer": "Harbour Specialty Re", "number": "HSR-JP-7781", "currency": "JPY", "limit": 1_000_000_000,
     "deductible": 20_000_000, "perils": ["theft_hack", "insider_fraud", "operational_failure"],
     "term_start": date(2026, 7, 1), "term_end": date(2027, 12, 31), "notice": 90},
    {"insurer": "Tokio Mutual Cyber", "number": "TMC-USD-0042", "currency": "USD", "limit": 1_000_000_000,
     "deductible": 10_000_000, "perils": ["theft_hack", "insider_fraud", "operational_failure"],
     "term_start": date(2026, 12, 1), "term_end": date(2028, 11, 30), "notice": 120},
]
# (policy number, amount in the policy currency) attached to the JP 2027-Q1 obligation.
ALLOCATIONS = [("TMC-2026-0001", 2_000_000_000), ("TMC-USD-0042", 500_000_000), ("HSR-JP-7781", 1_000_000_000)]
DEMO_PERIOD = "2027-Q1"

# one portal user per demo organization: <name>@demo.example (an admin of it), written with its password
# to instance/demo-credentials.json under "users"
USER_NAMES = {
    "Financial Services Agency (Japan)": "fsa", "BaFin (MiCA competent authority)": "bafin",
    "Securities and Futures Commission (Hong Kong)": "sfc", "Tokio Mutual Cyber": "tokio",
    "Harbour Specialty Re": "harbour", "Nova Digital Assurance": "nova", "Sakura Digital Exchange": "sakura",
    "Rhein Crypto Markets": "rhein", "Victoria Harbour VATP": "victoria",
}
