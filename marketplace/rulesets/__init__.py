"""Rule-sets: shipped data files, published versions (immutable), selection by jurisdiction and date."""
