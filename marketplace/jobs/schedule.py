"""Periodic work, one table for both modes: RQ's cron scheduler (`marketplace scheduler`) with Redis,
a background thread of the web process without it (so `make run` behaves like the deployment)."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

log = logging.getLogger("marketplace.schedule")

# (job name, every N seconds). The relay also runs on every commit's nudge; its schedule is what makes
# Redis loss a delay instead of a loss. Status lists live 300 s (statuslists.TTL_SECONDS): republish at 120.
SCHEDULE: tuple[tuple[str, int], ...] = (
    ("tlog.integrate", 1),  # the log's merge delay: nudged on every queued entry, this is the backstop
    ("relay", 10),
    ("webhooks.send", 10),
    ("statuslists.republish", 120),
    ("policies.lapse", 3600),
    ("adequacy.daily", 86400),
)


def register_cron(scheduler, queue_name: str) -> None:
    from .runner import run

    for name, every in SCHEDULE:
        scheduler.register(run, queue_name, args=(name, {}), interval=every, name=name)


def run_due(app: Flask, last: dict[str, float], now: float) -> list[str]:
    """Run (in this process) every job whose interval has passed; returns the names run."""
    from .runner import run

    ran = []
    for name, every in SCHEDULE:
        if now - last.get(name, 0.0) >= every:
            last[name] = now
            with app.app_context():
                try:
                    run(name, {})
                    ran.append(name)
                except Exception:  # one failing job must not stop the schedule
                    log.exception("scheduled job %s failed", name)
    return ran


def start_thread(app: Flask, tick: float = 1.0) -> threading.Thread:
    """The in-process scheduler: a daemon thread that dies with the server."""
    last: dict[str, float] = {}

    def loop():
        log.info("in-process scheduler started: %s", ", ".join(f"{n} every {s}s" for n, s in SCHEDULE))
        while True:
            run_due(app, last, time.monotonic())
            time.sleep(tick)

    thread = threading.Thread(target=loop, name="marketplace-scheduler", daemon=True)
    thread.start()
    return thread
