"""Certificate verification (DESIGN 7): the same checks online (API) and offline (CLI, bundle or PDF)."""
