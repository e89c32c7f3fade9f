"""Stable identifiers used inside signed documents."""


def exchange_urn(org_id: str) -> str:
    return f"urn:marketplace:exchange:{org_id}"


INSURER_URN_PREFIX = "urn:marketplace:insurer:"


def insurer_urn(org_id: str) -> str:
    return INSURER_URN_PREFIX + org_id
