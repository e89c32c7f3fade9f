"""Portal page render times at demo scale: p50 and p99 of the exchange dashboard, the verify page for the
demo certificate (GET /verify/<id>: a full online verification) and the home page, next to GET /healthz
measured in the same run on the same app, with the ratios.

In process through Flask's test client (no network, no browser: server-side render time), SQLite in a
temporary directory with the demo loaded, a signed-in demo exchange user. Interleaved rounds.
Run: .venv/bin/python bench/portal.py [requests per page]
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, ".")

from marketplace import create_app

HTML = {"Accept": "text/html"}


def setup(path: str):
    from flask_migrate import upgrade

    from marketplace.auth import users
    from marketplace.certificates.models import Certificate
    from marketplace.demo.service import load
    from marketplace.extensions import db
    from marketplace.registry.models import Organization

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}/bench.db", "INSTANCE_PATH": path,
                      "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False, "ARGON2_FAST": True,
                      "LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        load()
        sakura = db.session.query(Organization).filter_by(name="Sakura Digital Exchange").one()
        users.create(sakura, "bench@bench.test", "bench", "member", "bench", password="bench password 123")
        db.session.commit()
        cert_id = db.session.query(Certificate.id).first()[0]
    client = app.test_client()
    page = client.get("/login", headers=HTML).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"email": "bench@bench.test", "password": "bench password 123",
                                    "csrf_token": token}, headers=HTML)
    assert r.status_code == 302, r.status_code
    return app, client, cert_id


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    import logging

    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        _app, client, cert_id = setup(tmp)
        pages = {"/healthz": "/healthz", "exchange dashboard": "/exchange/", "verify page": f"/verify/{cert_id}",
                 "home page": "/"}
        times: dict[str, list[float]] = {k: [] for k in pages}
        for path in pages.values():  # warm up
            assert client.get(path, headers=HTML).status_code == 200, path
        for _ in range(n):
            for name, path in pages.items():
                start = time.perf_counter()
                resp = client.get(path, headers=HTML)
                times[name].append(time.perf_counter() - start)
                assert resp.status_code == 200
        base = statistics.median(times["/healthz"])
        print(f"{'page':<20} {'p50 ms':>8} {'p99 ms':>8} {'p50 / healthz p50':>18}   ({n} requests each)")
        for name, ts in times.items():
            ts.sort()
            p50, p99 = statistics.median(ts), ts[min(len(ts) - 1, int(len(ts) * 0.99))]
            print(f"{name:<20} {p50 * 1000:8.2f} {p99 * 1000:8.2f} {p50 / base:18.1f}")


if __name__ == "__main__":
    main()
