"""Application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import config as config_mod
from . import observability

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = str(ROOT / "migrations")


def _sqlite_pragmas(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()


def _install_api(app: Flask) -> None:
    from .allocations import service as allocations
    from .allocations.routes import bp as allocations_bp
    from .attestations.routes import bp as attestations_bp
    from .auth import server as oauth
    from .auth.clients import bp as clients_bp
    from .auth.routes import bp as oauth_bp
    from .auth.scopes import SCOPES
    from .certificates.routes import bp as certificates_bp
    from .certificates.routes import wellknown as wellknown_bp
    from .market.routes import bp as market_bp
    from .obligations.routes import bp as obligations_bp
    from .policies.routes import bp as policies_bp
    from .registry.routes import bp as registry_bp
    from .reports.routes import bp as reports_bp
    from .rulesets.routes import bp as rulesets_bp
    from .tlog.routes import bp as log_bp
    from .web import limits, security
    from .web.api import create_api
    from .web.media import install as install_media_check
    from .webhooks.routes import bp as webhooks_bp

    oauth.init_app(app)
    app.register_blueprint(oauth_bp)
    api = create_api(app, SCOPES)
    for bp in (registry_bp, clients_bp, rulesets_bp, reports_bp, obligations_bp, market_bp, policies_bp, allocations_bp,
               attestations_bp, certificates_bp, log_bp, webhooks_bp):
        api.register_blueprint(bp)
    api.register_blueprint(__import__("marketplace.supervision.routes", fromlist=["bp"]).bp)  # DESIGN 10
    app.register_blueprint(wellknown_bp)
    allocations.install()
    limits.install(app)
    security.install(app)
    install_media_check(app)


def create_app(config: dict | None = None) -> Flask:
    """Build the app. `config` overrides what the environment says."""
    import os

    instance = (config or {}).get("INSTANCE_PATH") or os.environ.get("MARKETPLACE_INSTANCE_PATH") or ROOT / "instance"
    app = Flask(__name__, instance_path=str(Path(instance).resolve()))
    from .web import jsonsafe, paths

    paths.install(app)
    jsonsafe.install(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(config_mod.from_env(app.instance_path))
    app.config.update(config or {})
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})  # liveness: db/liveness.py, not pool_pre_ping
    config_mod.check(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_mod.instance_secret_key(app.instance_path)
    observability.install(app)  # logs (once, unless testing), GET /metrics, request timing: before the engine
    config_mod.restrict_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    app.json.sort_keys = False

    from . import models  # noqa: F401  (register every table with the metadata)
    from .db import liveness
    from .extensions import db, migrate
    from .rulesets.service import load_shipped

    app.extensions["shipped_rulesets"] = load_shipped()
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, compare_type=True)
    with app.app_context():
        _sqlite_pragmas(db.engine)
        if not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
            liveness.install(db.engine)

    from .health.routes import bp as health_bp
    from .web import problems

    problems.install(app)
    app.register_blueprint(health_bp)
    _install_api(app)
    from . import portal

    portal.install(app)

    from .cli import marketplace_cli
    from .jobs import queues

    app.cli.add_command(marketplace_cli)
    queues.install(app)
    if app.config.get("SCHEDULER_THREAD") and not app.config.get("REDIS_URL"):
        from .jobs.schedule import start_thread

        start_thread(app)  # one machine: the schedule runs in the web process (`make run`)
    return app
