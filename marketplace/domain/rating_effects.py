"""What a change of an insurer's rating does to the offset its cover gives (pure).

A regulator rates an insurer for its own jurisdiction; a change lowers the offset of a certificate issued
under a rule-set exactly when the share of the cover that counts falls. The share mirrors the offset rule
(domain.offset): zero below the rule-set's minimum rating, else one minus the rating's haircut. Caps
(per insurer, total) are applied after this share, so a fall in it is the one way a rating change can
lower an offset; a cap that happens to absorb the fall still counts as a reduction (revoking is the
conservative answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from .ratings import at_least


def counted_share(rating: str | None, minimum: str | None, haircuts: Mapping[str, Decimal]) -> Decimal:
    """The share of a cover's amount (after its deductible share) that counts at `rating`: 0 when a minimum
    is set and the rating is below it (no rating is below any minimum), else 1 - the rating's haircut (no
    haircut when the table has no entry for it, as domain.offset applies it)."""
    if minimum is not None and not at_least(rating, minimum):
        return Decimal(0)
    return Decimal(1) - Decimal(haircuts.get(rating, Decimal(0)) if rating is not None else Decimal(0))


def reduces_offset(old: str | None, new: str | None, minimum: str | None, haircuts: Mapping[str, Decimal]) -> bool:
    """True when moving an insurer from `old` to `new` lowers what its cover counts for under these rules."""
    return counted_share(new, minimum, haircuts) < counted_share(old, minimum, haircuts)


def downgrade_words(name: str, old: str | None, new: str | None, jurisdiction: str | None) -> str:
    """The revocation reason in words: who was downgraded, from what to what, by which regulator."""
    words = f"insurer {name} downgraded from {old or 'unrated'} to {new or 'unrated'}"
    return f"{words} by the {jurisdiction} regulator" if jurisdiction else words
