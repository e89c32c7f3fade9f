"""With FORCE_HTTPS, the API redirects to HTTPS but probes and the Prometheus scrape stay plain HTTP."""

from tests.conftest import make_app, wipe


def test_probes_and_metrics_are_exempt_from_the_https_redirect(sqlite_url, tmp_path):
    app = make_app(sqlite_url, tmp_path, FORCE_HTTPS=True)
    try:
        client = app.test_client()
        for path in ("/healthz", "/readyz", "/metrics"):
            assert client.get(path).status_code == 200, path
        r = client.get("/api/v1/rulesets")
        assert r.status_code in (301, 302) and r.headers["Location"].startswith("https://")
        assert client.get("/api/v1/log/checkpoint", base_url="https://localhost").status_code == 200
    finally:
        with app.app_context():
            wipe(app)
