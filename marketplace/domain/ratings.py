"""Insurer financial-strength rating scale, best first."""

SCALE: tuple[str, ...] = (
    "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-",
    "BB+", "BB", "BB-", "B+", "B", "B-", "CCC", "CC", "C", "D",
)


def is_rating(value: object) -> bool:
    return isinstance(value, str) and value in SCALE


def at_least(rating: str | None, minimum: str) -> bool:
    """True when `rating` is as good as `minimum` or better. No rating is never enough."""
    if rating not in SCALE:
        return False
    return SCALE.index(rating) <= SCALE.index(minimum)
