"""Configuration from the environment. Read only when create_app() runs."""

from __future__ import annotations

import os
from pathlib import Path


class ConfigError(RuntimeError):
    pass


def normalise_db_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def from_env(instance_path: str, env: dict[str, str] | None = None) -> dict:
    env = dict(os.environ if env is None else env)
    mode = env.get("MARKETPLACE_ENV", "development")
    default_db = "sqlite:///" + str(Path(instance_path) / "marketplace.db")
    return {
        "ENV_NAME": mode,
        "SQLALCHEMY_DATABASE_URI": normalise_db_url(env.get("DATABASE_URL") or default_db),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        "BASE_URL": (env.get("MARKETPLACE_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "KEY_ENCRYPTION_KEY": env.get("MARKETPLACE_KEY_ENCRYPTION_KEY") or None,
        "MAX_CONTENT_LENGTH": int(env.get("MARKETPLACE_MAX_BODY_BYTES", 2 * 1024 * 1024)),
        "OAUTH_TOKEN_TTL": int(env.get("MARKETPLACE_TOKEN_TTL_SECONDS", 3600)),
        "TLOG_ORIGIN": env.get("MARKETPLACE_LOG_ORIGIN") or None,
    }


def check(config: dict) -> None:
    """Refuse to start in production without the secrets it needs."""
    if config.get("ENV_NAME") == "production":
        if not config.get("SECRET_KEY"):
            raise ConfigError("SECRET_KEY must be set when MARKETPLACE_ENV=production")
        if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            raise ConfigError("DATABASE_URL must point at PostgreSQL when MARKETPLACE_ENV=production")
