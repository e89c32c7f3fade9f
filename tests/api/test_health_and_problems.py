import pytest
from flask import abort

from marketplace.extensions import db


def test_healthz(sqlite_app):
    r = sqlite_app.test_client().get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok"}


def test_readyz_at_head(sqlite_app):
    r = sqlite_app.test_client().get("/readyz")
    assert r.status_code == 200
    assert r.json["database"] == "reachable" and r.json["migrations"] == "at head"


def test_readyz_behind_when_not_migrated(tmp_path):
    from tests.conftest import make_app

    app = make_app("sqlite:///" + str(tmp_path / "empty.db"), tmp_path)
    with app.app_context():
        r = app.test_client().get("/readyz")
        db.engine.dispose()
    assert r.status_code == 503
    assert r.json["migrations"] == "behind" and r.json["current"] is None


def test_readyz_when_database_unreachable(tmp_path):
    from tests.conftest import make_app

    app = make_app("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1", tmp_path)
    with app.app_context():
        r = app.test_client().get("/readyz")
    assert r.status_code == 503 and r.json["database"] == "unreachable"
    assert "nobody" not in r.get_data(as_text=True)


@pytest.mark.parametrize(("method", "path", "status"), [("get", "/nope", 404), ("post", "/healthz", 405)])
def test_http_errors_are_problem_json(sqlite_app, method, path, status):
    r = getattr(sqlite_app.test_client(), method)(path)
    assert r.status_code == status
    assert r.mimetype == "application/problem+json"
    assert r.json["status"] == status and r.json["type"] == "about:blank" and r.json["title"]
    if status == 405:
        assert "GET" in r.headers["Allow"]


def test_request_id_echoed_and_generated(sqlite_app):
    c = sqlite_app.test_client()
    assert c.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = c.get("/healthz", headers={"X-Request-ID": "bad id; drop"}).headers["X-Request-ID"]
    assert generated != "bad id; drop" and len(generated) == 32


def test_unexpected_error_has_no_traceback_or_secret(sqlite_app, caplog):
    @sqlite_app.get("/boom")
    def boom():
        raise RuntimeError("secret-password-123 in SELECT * FROM users")

    r = sqlite_app.test_client().get("/boom", headers={"X-Request-ID": "req-42"})
    body = r.get_data(as_text=True)
    assert r.status_code == 500 and r.mimetype == "application/problem+json"
    assert "secret" not in body and "SELECT" not in body and "Traceback" not in body
    assert r.json["request_id"] == "req-42" and "req-42" in r.json["detail"]
    assert any("req-42" in rec.getMessage() for rec in caplog.records)


def test_abort_with_413(sqlite_app):
    @sqlite_app.post("/upload")
    def upload():
        abort(413)

    r = sqlite_app.test_client().post("/upload")
    assert r.status_code == 413 and r.mimetype == "application/problem+json"


def test_oversized_api_body_is_413_problem(sqlite_app):
    sqlite_app.config["MAX_CONTENT_LENGTH"] = 1000
    r = sqlite_app.test_client().post("/api/v1/reports/volumes", data="x" * 5000, content_type="text/csv",
                                      headers={"Authorization": "Bearer whatever"})
    assert r.status_code == 413 and r.mimetype == "application/problem+json"
