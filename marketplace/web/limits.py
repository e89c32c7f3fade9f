"""Rate limits for endpoints anyone can call: `@limited("oauth")`, `@limited("verify")`.

Counted with the `limits` library (flask-limiter's engine) in Redis when REDIS_URL (or
RATELIMIT_STORAGE_URI) is set, so every worker and host shares one count; otherwise in this process.
Each app has its own counter store (an app factory: tests build many apps). Rates are config keys
("10/minute"), read per request. Over the limit: 429 problem+json with Retry-After.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from urllib.parse import unquote

from flask import Flask, current_app, request
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .problems import problem

log = logging.getLogger("marketplace.limits")
EXTENSION = "marketplace.limits"

DEFAULTS = {
    "RATELIMIT_OAUTH_PER_CLIENT": "20/minute",     # /oauth/token and /oauth/revoke, per client id
    "RATELIMIT_OAUTH_PER_ADDRESS": "60/minute",    # the same, per remote address (any client id)
    "RATELIMIT_VERIFY_PER_ADDRESS": "120/minute",  # public verification, per remote address
    "RATELIMIT_LOGIN_FAILURES": "5/15 minutes",    # portal sign-in: failed attempts per email, then locked
    "RATELIMIT_LOGIN_PER_ADDRESS": "30/minute",    # portal sign-in attempts per remote address
}


def remote_address() -> str:
    return request.remote_addr or "unknown"


def oauth_client_id() -> str | None:
    """The client id a token/revocation request names (HTTP Basic or form), as authlib reads it."""
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username:
        return unquote(auth.username)[:128]
    cid = request.form.get("client_id") if request.mimetype == "application/x-www-form-urlencoded" else None
    return cid[:128] if cid else None


# policy -> (config key, who is counted); every rule of a policy is counted on each request
POLICIES: dict[str, tuple[tuple[str, Callable[[], str | None]], ...]] = {
    "oauth": (("RATELIMIT_OAUTH_PER_CLIENT", oauth_client_id), ("RATELIMIT_OAUTH_PER_ADDRESS", remote_address)),
    "verify": (("RATELIMIT_VERIFY_PER_ADDRESS", remote_address),),
}


class _Counters:
    def __init__(self, uri: str, prefix: str):
        self.uri, self.prefix = uri, prefix
        self.shared = MovingWindowRateLimiter(storage_from_string(uri))
        self.local = MovingWindowRateLimiter(MemoryStorage())  # when the shared store is unreachable
        self.warned = False

    def _shared_or_local(self, fn):
        try:
            return fn(self.shared)
        except Exception:
            if not self.warned:
                log.warning("rate-limit store %s unreachable; counting in this process", self.uri.split("@")[-1])
                self.warned = True
            return fn(self.local)

    def blocked(self, rate: str, key: str, who: str) -> float | None:
        """The seconds left while `who` has used up `rate` (without counting this look), else None."""
        item = parse(rate)

        def look(limiter):
            if limiter.test(item, self.prefix, key, who):
                return None
            return max(1.0, limiter.get_window_stats(item, self.prefix, key, who).reset_time - time.time())

        return self._shared_or_local(look)

    def strike(self, rate: str, key: str, who: str) -> None:
        self._shared_or_local(lambda limiter: limiter.hit(parse(rate), self.prefix, key, who))

    def forget(self, rate: str, key: str, who: str) -> None:
        self._shared_or_local(lambda limiter: limiter.clear(parse(rate), self.prefix, key, who))

    def hit(self, rate: str, key: str, who: str) -> float | None:
        """Count one request; the seconds to wait when it is over the limit, else None."""
        item = parse(rate)
        try:
            return self._hit(self.shared, item, self.prefix, key, who)
        except Exception:  # Redis down: keep limiting, per process, rather than answer 500 or nothing
            if not self.warned:
                log.warning("rate-limit store %s unreachable; counting in this process", self.uri.split("@")[-1])
                self.warned = True
            return self._hit(self.local, item, self.prefix, key, who)

    @staticmethod
    def _hit(limiter: MovingWindowRateLimiter, item, *ids: str) -> float | None:
        if limiter.hit(item, *ids):
            return None
        return max(1.0, limiter.get_window_stats(item, *ids).reset_time - time.time())


def check(policy: str):
    """None when the request is within every rule of `policy`, else the 429 answer."""
    app = current_app
    if not app.config.get("RATELIMIT_ENABLED", True):
        return None
    counters: _Counters = app.extensions[EXTENSION]
    waits = []
    for key, who_fn in POLICIES[policy]:
        who = who_fn()
        if who:
            wait = counters.hit(app.config[key], key.lower(), who)
            if wait is not None:
                waits.append(wait)
    if not waits:
        return None
    retry = math.ceil(max(waits))
    resp = problem(429, "Too many requests", f"Rate limit exceeded; retry in {retry} seconds.")
    resp.headers["Retry-After"] = str(retry)
    return resp


def _email_key(email: str) -> str:
    import hashlib

    return hashlib.sha256(email.encode("utf-8")).hexdigest()[:32]  # no address in the store


def login_wait(email: str) -> int | None:
    """Portal sign-in: the seconds to wait when this address is over its rate or this email has failed
    too often (a lockout that holds for every worker, and for unknown emails alike), else None. Counts the
    attempt against the address."""
    app = current_app
    if not app.config.get("RATELIMIT_ENABLED", True):
        return None
    counters: _Counters = app.extensions[EXTENSION]
    waits = [counters.hit(app.config["RATELIMIT_LOGIN_PER_ADDRESS"], "login_address", remote_address()),
             counters.blocked(app.config["RATELIMIT_LOGIN_FAILURES"], "login_failures", _email_key(email))]
    waits = [w for w in waits if w is not None]
    return math.ceil(max(waits)) if waits else None


def login_failed(email: str) -> None:
    if current_app.config.get("RATELIMIT_ENABLED", True):
        current_app.extensions[EXTENSION].strike(current_app.config["RATELIMIT_LOGIN_FAILURES"], "login_failures",
                                                 _email_key(email))


def login_succeeded(email: str) -> None:
    if current_app.config.get("RATELIMIT_ENABLED", True):
        current_app.extensions[EXTENSION].forget(current_app.config["RATELIMIT_LOGIN_FAILURES"], "login_failures",
                                                 _email_key(email))


def limited(policy: str):
    """Count each call of the view under `policy` (a key of POLICIES) before any work is done."""
    if policy not in POLICIES:
        raise ValueError(f"unknown rate-limit policy {policy!r}")

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            refused = check(policy)
            return refused if refused is not None else fn(*args, **kwargs)

        return wrapper

    return decorate


def install(app: Flask) -> None:
    from ..config import ConfigError

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
        try:
            parse(app.config[key])
        except ValueError:
            raise ConfigError(f"{key}={app.config[key]!r} is not a rate such as '10/minute'") from None
    uri = app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL") or "memory://"
    if uri.startswith("memory") and app.config.get("ENV_NAME") == "production":
        log.warning("rate limits are counted per process: set REDIS_URL so that every worker shares them")
    app.extensions[EXTENSION] = _Counters(uri, app.config.get("RATELIMIT_KEY_PREFIX") or "mp")
