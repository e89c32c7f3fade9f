"""No event kind without a payload type and a handler entry; every DESIGN webhook type is a kind."""

import dataclasses

from marketplace.events import handlers, kinds

DESIGN_TYPES = {"certificate.issued", "certificate.revoked", "policy.bound", "policy.amended", "policy.cancelled",
                "policy.lapsed", "allocation.attached", "allocation.detached", "obligation.computed",
                "reserve.shortfall", "insurer.approved", "insurer.suspended", "insurer.rating_changed"}


def all_event_classes():
    def walk(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    return [c for c in walk(kinds.DomainEvent) if "kind" in c.__dict__]


def test_every_kind_class_is_listed_and_has_handlers():
    classes = all_event_classes()
    assert {c.kind for c in classes} == set(kinds.KINDS)
    assert set(kinds.KINDS) == set(handlers.HANDLERS)
    for kind, subs in handlers.HANDLERS.items():
        assert subs, kind
        assert set(subs) <= set(handlers.SUBSCRIBERS), kind


def test_design_webhook_types_are_exactly_the_kinds():
    assert set(kinds.KINDS) == DESIGN_TYPES


def test_every_kind_names_its_subject_and_jurisdiction():
    for cls in kinds.KINDS.values():
        names = {f.name for f in dataclasses.fields(cls)}
        assert cls.subject in names and "jurisdiction" in names, cls


def test_payload_round_trips_and_unknown_kinds_are_none():
    ev = kinds.PolicyCancelled(policy_id="p", number="N", insurer_id="i", exchange_id="x", jurisdiction="JP",
                               effective_on="2027-02-01", reason=None)
    assert kinds.from_row(ev.kind, ev.payload()) == ev
    assert ev.subject_id == "p" and ev.audience() == ["i", "x"]
    assert kinds.from_row("policy.exploded", {}) is None
