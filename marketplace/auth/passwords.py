"""argon2 hashing for client secrets (and portal passwords)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError

_hashers: dict[bool, PasswordHasher] = {}


def _hasher() -> PasswordHasher:
    from flask import current_app, has_app_context

    fast = has_app_context() and bool(current_app.config.get("ARGON2_FAST"))
    if fast not in _hashers:
        # Tests use cheap parameters; the default is argon2-cffi's RFC 9106 low-memory profile.
        _hashers[fast] = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if fast else PasswordHasher()
    return _hashers[fast]


def hash_secret(secret: str) -> str:
    return _hasher().hash(secret)


def verify(stored: str, candidate: str) -> bool:
    try:
        return _hasher().verify(stored, candidate or "")
    except (Argon2Error, InvalidHashError):
        return False


_dummy_hashes: dict[int, str] = {}


def dummy_verify(candidate: str) -> None:
    """The work of checking a secret, for unknown clients: same hasher and parameters, always fails."""
    hasher = _hasher()
    if id(hasher) not in _dummy_hashes:
        _dummy_hashes[id(hasher)] = hasher.hash("no client has this secret")
    verify(_dummy_hashes[id(hasher)], candidate)
