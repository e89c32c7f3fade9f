"""Stable identifiers used inside signed documents."""


def exchange_urn(org_id: str) -> str:
    return f"urn:marketplace:exchange:{org_id}"


def insurer_urn(org_id: str) -> str:
    return f"urn:marketplace:insurer:{org_id}"
