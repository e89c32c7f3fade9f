"""Territories a policy covers (MiCA Art. 67(4): a policy "covering the Union territories where crypto-asset
services are provided"): ISO 3166-1 alpha-2 country codes, or "EU" for the whole Union.

Whether a policy's territories cover an obligation's jurisdiction (`covers`):
- a country jurisdiction (JP, HK, or a member state): its own code, or EU when it is a member state;
- the EU: "EU", or every one of the 27 member states. The service does not record in which member states an
  exchange provides its services (passporting), so a list of some member states cannot show that the
  policy covers all of them: it does not count.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import DomainError

UNION = "EU"

# ISO 3166-1 alpha-2, officially assigned codes (249)
ISO_3166_ALPHA2 = frozenset({
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB",
    "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY",
    "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX",
    "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK",
    "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS",
    "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR",
    "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA",
    "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE",
    "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM",
    "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG",
    "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF",
    "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY",
    "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW"
})

# The 27 member states of the Union (ISO codes: Greece is GR)
EU_MEMBER_STATES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"
})

MAX_TERRITORIES = 300


def is_territory(code: object) -> bool:
    return isinstance(code, str) and (code == UNION or code in ISO_3166_ALPHA2)


def parse_territories(codes: Iterable[object]) -> list[str]:
    """Codes as typed ("fr", " EU ") -> sorted, unique, upper case. Raises DomainError naming the unknown ones."""
    out, bad = set(), []
    for c in codes:
        code = c.strip().upper() if isinstance(c, str) else c
        if is_territory(code):
            out.add(code)
        else:
            bad.append(str(c)[:8])
    if bad:
        raise DomainError(f"not an ISO 3166 alpha-2 country code or EU: {', '.join(bad[:10])}")
    return sorted(out)


def covers(territories: Iterable[str] | None, jurisdiction: str) -> bool:
    """Whether cover over these territories covers the obligation's jurisdiction (see the module's rules)."""
    have = frozenset(territories or ())
    if jurisdiction == UNION:
        return UNION in have or have >= EU_MEMBER_STATES
    return jurisdiction in have or (jurisdiction in EU_MEMBER_STATES and UNION in have)
