"""Scopes per action, and which organization kinds may hold each."""

SCOPES: dict[str, str] = {
    "registry:read": "read organizations visible to the caller",
    "registry:write": "admit insurers, register exchanges and custodians, issue client credentials",
    "rulesets:write": "publish rule-set versions for the regulator's jurisdiction",
    "reports:read": "read exchange reports (own, or the regulator's exchanges)",
    "reports:write": "report volumes, custody balances and incidents",
    "obligations:read": "read obligations",
    "obligations:write": "compute obligations",
    "market:read": "search offerings; read coverage requests addressed to or sent by the caller",
    "market:write": "insurers: list offerings, quote, decline, bind; exchanges: request, accept, withdraw",
    "policies:read": "read policies (insurer: its own; exchange: where insured; regulator: its jurisdiction)",
    "policies:write": "insurers: register, amend, cancel and lapse policies",
    "allocations:write": "exchanges: attach and detach policy limit to their obligations",
    "certificates:read": "read certificates, bundles and PDFs",
    "certificates:write": "exchanges: request certificates of their offset",
    "webhooks:read": "read the organization's webhooks and their delivery logs",
    "webhooks:write": "subscribe, delete and redeliver the organization's webhooks",
}

BY_KIND: dict[str, tuple[str, ...]] = {
    "regulator": ("registry:read", "registry:write", "rulesets:write", "reports:read", "obligations:read",
                  "obligations:write", "market:read", "policies:read", "certificates:read", "webhooks:read",
                  "webhooks:write"),
    "exchange": ("registry:read", "reports:read", "reports:write", "obligations:read", "obligations:write",
                 "market:read", "market:write", "policies:read", "allocations:write", "certificates:read",
                 "certificates:write", "webhooks:read", "webhooks:write"),
    "insurer": ("registry:read", "market:read", "market:write", "policies:read", "policies:write",
                "certificates:read", "webhooks:read", "webhooks:write"),
    "custodian": ("registry:read",),
}


def check(kind: str, requested: list[str] | tuple[str, ...]) -> list[str]:
    """The problems with giving `requested` scopes to an organization of `kind` (empty when fine)."""
    problems = [f"unknown scope {s!r}" for s in requested if s not in SCOPES]
    allowed = BY_KIND.get(kind, ())
    problems += [f"an organization of kind {kind} cannot hold {s!r}" for s in requested
                 if s in SCOPES and s not in allowed]
    return problems
