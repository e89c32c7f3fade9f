"""Fuzz tier: schemathesis over the whole OpenAPI document of an in-process app (WSGI), the demo world on
SQLite, once per actor (a regulator, an exchange, an insurer, each with its own token).

Short and deterministic by default (it runs in `make test`); FUZZ_EXAMPLES=N makes a longer, random run
(FUZZ_SEED=S repeats one; FUZZ_ACTORS=exchange,insurer picks actors). FUZZ_BACKEND=postgres runs it on the
PostgreSQL of TEST_DATABASE_URL instead: PostgreSQL refuses input SQLite takes (a number past an INTEGER
column's 32 bits, a NUL in text), and such a 500 shows only there. See README "Fuzzing" and DEVELOPERS.md.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest

from tests.conftest import backend_url, make_app, migrate_to_head, summary_section, wipe

# actor -> the demo organization whose token it uses (keys of tests.api.conftest.ORGS)
ACTORS = {"regulator": "fsa", "exchange": "sakura", "insurer": "tokio"}
SELECTED = [a.strip() for a in os.environ.get("FUZZ_ACTORS", "").split(",") if a.strip()] or sorted(ACTORS)

SHORT_EXAMPLES = 8  # per operation and actor in the fuzzing phase of the short run (examples/coverage: all)
LONG = bool(os.environ.get("FUZZ_EXAMPLES"))
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or SHORT_EXAMPLES)
SEED = int(os.environ["FUZZ_SEED"]) if os.environ.get("FUZZ_SEED") else (random.SystemRandom().randrange(2**32)
                                                                         if LONG else 20270101)
BACKEND = os.environ.get("FUZZ_BACKEND") or "sqlite"
if BACKEND not in ("sqlite", "postgres"):
    raise pytest.UsageError(f"FUZZ_BACKEND={BACKEND!r}: sqlite or postgres")
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES") or (MAX_EXAMPLES if LONG else 15))


def openapi_document() -> dict:
    """The document the app serves (built without a database: the document needs none)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-spec-") as instance:
        resp = make_app("sqlite://", instance).test_client().get("/api/openapi.json")
    assert resp.status_code == 200, resp.status
    return resp.json


def schemathesis_config(phases: tuple[str, ...]) -> dict:
    """What the fuzz tier runs and asserts (schemathesis.toml keys)."""
    return {
        "seed": SEED,
        # hypothesis' health checks judge generation speed and size, not the API; a slow request is not a bug here
        "suppress-health-check": ["all"],
        "generation": {
            "mode": "all",                 # schema-valid and schema-violating input
            "max-examples": MAX_EXAMPLES,
            "deterministic": not LONG,     # the short run draws the same cases every time (CI)
            "database": "none",            # no .hypothesis example database: runs do not depend on earlier ones
        },
        "phases": {
            **{name: {"enabled": name in phases} for name in ("examples", "coverage", "fuzzing", "stateful")},
            # the document has few examples: the examples phase fills what lacks one, so it sends one case each
            "examples": {"enabled": "examples" in phases, "fill-missing": True},
        },
        "checks": {
            # asserted: no 5xx; every status, media type, header and body as documented
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            # the web layer's own contract: 405 with Allow, 401 without a token, invalid input refused
            "unsupported_method": {"enabled": True},
            "missing_required_header": {"enabled": True},
            "ignored_auth": {"enabled": True},
            # refused input: schemathesis' list, plus 413 (a generated body past the 2 MiB limit is refused by size
            # before anything reads it: also a refusal)
            "negative_data_rejection": {"enabled": True, "expected-statuses": [
                "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]},
            "use_after_free": {"enabled": True},
            "ensure_resource_availability": {"enabled": True},
            # not asserted: a schema-valid request may still be refused for reasons JSON Schema cannot state
            # (fields that depend on `kind`, ids that do not exist, a request in the wrong state, role rules)
            "positive_data_acceptance": {"enabled": False},
        },
    }


@dataclass
class ActorStats:
    """Requests the app answered for one actor's run, by status, and the failures schemathesis reported."""

    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    seconds: float = 0.0


STATS: dict[str, ActorStats] = {}


class CountingMiddleware:
    def __init__(self, wsgi_app, stats: ActorStats):
        self.wsgi_app = wsgi_app
        self.stats = stats

    def __call__(self, environ, start_response):
        def counting_start_response(status, headers, exc_info=None):
            self.stats.requests += 1
            self.stats.statuses[int(status.split(" ", 1)[0])] += 1
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, counting_start_response)


@dataclass
class FuzzTarget:
    actor: str
    app: object
    headers: dict
    stats: ActorStats

    def call_kwargs(self) -> dict:
        return {"app": self.app, "headers": dict(self.headers)}

    def record(self, failures) -> None:
        for f in getattr(failures, "exceptions", [failures]):
            self.stats.failures[getattr(f, "title", None) or type(f).__name__] += 1


@pytest.fixture(scope="session")
def fuzz_database_url(request, tmp_path_factory) -> str:
    """The database the fuzz tier runs on (FUZZ_BACKEND), migrated once."""
    if BACKEND == "sqlite":
        return request.getfixturevalue("sqlite_url")
    url = backend_url("postgres", tmp_path_factory)  # skips without TEST_DATABASE_URL
    migrate_to_head(url, tmp_path_factory.mktemp("migrate"))
    return url


@pytest.fixture(scope="module", params=SELECTED)
def fuzz_target(request, fuzz_database_url, tmp_path_factory):
    """The demo world on the fuzz tier's database for one actor (shared by every operation of the module, wiped
    after)."""
    from marketplace.demo.service import load
    from marketplace.extensions import db
    from marketplace.tlog import sequencer
    from tests.api.conftest import World

    actor = request.param
    # One client floods from one address by design; the limits themselves are tested in tests/api.
    # Webhooks it subscribes are recorded, never sent: generated URLs must not reach the network.
    app = make_app(fuzz_database_url, tmp_path_factory.mktemp(f"fuzz-{actor}"), RATELIMIT_ENABLED=False,
                   WEBHOOKS_SEND=False)
    stats = STATS.setdefault(actor, ActorStats())
    with app.app_context():
        load()
        db.session.commit()
        sequencer.integrate()  # what the demo command's nudge does after its commit
        token = World(app).token(ACTORS[actor])
        app.wsgi_app = CountingMiddleware(app.wsgi_app, stats)
        started = time.monotonic()
        try:
            yield FuzzTarget(actor, app, {"Authorization": f"Bearer {token}"}, stats)
        finally:
            stats.seconds += time.monotonic() - started
            wipe(app)


def _summary() -> tuple[str, list[str]]:
    mode = (f"long, random, seed {SEED}" if LONG else f"short, deterministic, seed {SEED}") + f", on {BACKEND}"
    lines = []
    for actor, s in sorted(STATS.items()):
        by_class = Counter(f"{code // 100}xx" for code in s.statuses.elements())
        server_errors = sum(n for code, n in s.statuses.items() if code >= 500)
        lines.append(
            f"{actor:9} {s.requests:6} requests in {s.seconds:5.1f}s  "
            + " ".join(f"{k}:{v}" for k, v in sorted(by_class.items()))
            + f"  server errors: {server_errors}  failures: "
            + (", ".join(f"{k} x{v}" for k, v in s.failures.most_common()) or "none"))
    return f"fuzz: {MAX_EXAMPLES} examples per operation ({mode})", lines


def pytest_sessionfinish(session):
    if STATS:
        summary_section(session.config, *_summary())
