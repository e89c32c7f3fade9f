"""The handler table: which subscribers receive each kind of event (cosmicpython's EVENT_HANDLERS).

Subscribers are named here and resolved by dotted path when a delivery runs, so this low layer
imports none of them. Adding a kind without an entry here fails tests/unit/test_event_kinds.py.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

SUBSCRIBERS: dict[str, str] = {
    "revocation": "marketplace.certificates.revocation.handle",   # revoke what the event affects
    "webhooks": "marketplace.webhooks.fanout.handle",             # subscriptions (regulators: all in their
                                                                  # jurisdiction: the notifications)
    "adequacy": "marketplace.adequacy.service.handle",            # recheck net reserve against cash held
}

HANDLERS: dict[str, tuple[str, ...]] = {
    "policy.bound": ("webhooks",),
    "policy.amended": ("revocation", "webhooks"),
    "policy.cancelled": ("revocation", "webhooks"),
    "policy.lapsed": ("revocation", "webhooks"),
    "allocation.attached": ("webhooks",),
    "allocation.detached": ("webhooks", "adequacy"),
    "obligation.computed": ("revocation", "webhooks", "adequacy"),
    "reserve.shortfall": ("webhooks",),
    "certificate.issued": ("webhooks",),
    "certificate.revoked": ("webhooks", "adequacy"),
    "insurer.approved": ("webhooks",),
    "insurer.suspended": ("revocation", "webhooks"),
    "insurer.rating_changed": ("revocation", "webhooks"),
}


def subscriber(name: str) -> Callable:
    module, _, attr = SUBSCRIBERS[name].rpartition(".")
    return getattr(importlib.import_module(module), attr)
