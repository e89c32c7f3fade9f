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
    },
    {
        "name": "Rhein Crypto Markets", "licence": "DE-CASP-0042", "jurisdiction": "EU", "currency": "EUR",
        "volumes": eu_volumes, "service_classes": (2, 3),
        "custody": [(date(2026, 12, 31), "hot", 4_000_000_00), (date(2026, 12, 31), "cold", 96_000_000_00)],
        "incidents": [(date(2025, 2, 3), "operational_failure", 120_000_00, 120_000_00, "Withdrawal queue stall")],
        "custodians": [],
        "overheads": [(2025, 900_000_00), (2026, 1_000_000_00)],
    },
    {
        "name": "Victoria Harbour VATP", "licence": "SFC-BPX123", "jurisdiction": "HK", "currency": "HKD",
        "volumes": hk_volumes, "service_classes": (),
        "custody": [(date(2026, 12, 31), "hot", 120_000_000_00), (date(2026, 12, 31), "cold", 5_880_000_000_00)],
        "incidents": [(date(2023, 11, 20), "insider_fraud", 2_000_000_00, 0, "Employee misappropriation")],
        "custodians": [],
        "overheads": [],
    },
]

FX_RATES = [
    ("USD", "JPY", Decimal("150.25"), date(2026, 12, 30), "Demo reference fixing"),
    ("EUR", "JPY", Decimal("162.40"), date(2026, 12, 30), "Demo reference fixing"),
    ("USD", "HKD", Decimal("7.7810"), date(2026, 12, 30), "Demo reference fixing"),
]
