"""Demo data for `make run`: loaded idempotently (a second load changes nothing)."""
