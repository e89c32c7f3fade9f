"""What the tests of the `marketplace verify` console script share: a world whose certificate is valid today,
status lists signed at a chosen time, offline bundles, and running the script as a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from marketplace.crypto import jws
from tests.unit.certs import World

MP = Path(sys.executable).parent / "marketplace"


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def current_world() -> World:
    """The test world with a certificate valid from yesterday for 30 days (the CLI checks against today)."""
    world = World()
    now = datetime.now(UTC)
    world.credential["validFrom"], world.credential["validUntil"] = stamp(now - timedelta(days=1)), \
        stamp(now + timedelta(days=30))
    return world


def status_list(w: World, fetched: datetime, key=None, revoked: bool = False, **extra) -> str:
    """The status list signed as of `fetched` with a 5-minute ttl (fresh when `fetched` is now)."""
    body = {**jws.parse(w.status_list(revoked)).payload, "validFrom": stamp(fetched), "ttl": 300_000, **extra}
    return jws.sign(body, key or w.platform, "vc+jwt")


def bundle(w: World, token=None, revoked: bool = False, **members) -> dict:
    """An offline bundle of the world's certificate with a fresh status list (members override its parts)."""
    token = token or w.token()
    return {"certificate": token, "receipt": w.receipt(token), "logKey": w.log_key, "platformJwks": w.jwks(),
            "insurerJwks": w.insurer_jwks(), "statusListCredential": status_list(w, datetime.now(UTC), revoked=revoked),
            **members}


def run_verify(cwd, *args, timeout: int = 120) -> subprocess.CompletedProcess:
    """The console script, as a user runs it (no Flask or database settings leak in); never a traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "DATABASE_URL"))}
    out = subprocess.run([str(MP), "verify", *args], capture_output=True, text=True, errors="replace", env=env,
                         cwd=cwd, timeout=timeout)
    assert "Traceback" not in out.stderr + out.stdout, out.stderr
    return out
