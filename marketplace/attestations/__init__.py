"""Insurer attestations: a compact JWS by the insurer's own key over each policy revision's terms."""
