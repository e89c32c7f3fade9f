"""Time each request from Flask's `request_started` to `request_finished` (every before/after-request hook
and error handler included): one latency observation and one access line per request."""

from __future__ import annotations

import time

from flask import Flask, request, request_finished, request_started

from . import logs

STARTED = "marketplace.started"


def _started(app: Flask, **_) -> None:
    request.environ[STARTED] = time.perf_counter()


def _finished(app: Flask, response, **_) -> None:
    started = request.environ.pop(STARTED, None)
    if started is None:
        return
    seconds = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else None
    if app.config.get("METRICS_ENABLED", True):
        from . import metrics

        metrics.observe(route, request.method, response.status_code, seconds)
    logs.access(route, response.status_code, seconds)


def install(app: Flask) -> None:
    request_started.connect(_started, app)
    request_finished.connect(_finished, app)
