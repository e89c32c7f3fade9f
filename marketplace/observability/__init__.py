"""Observability (DESIGN 8): `GET /metrics` for Prometheus and log lines (JSON in production) with request
ids; nothing secret in either. `install(app)` is the one call create_app makes, before the database is
set up (logs.install keeps SQL parameters out of error messages)."""

from __future__ import annotations

from flask import Flask


def install(app: Flask) -> None:
    from . import logs, metrics, timing

    logs.install(app)
    metrics.install(app)
    timing.install(app)
