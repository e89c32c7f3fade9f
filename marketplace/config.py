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
        "FORCE_HTTPS": _flag(env.get("MARKETPLACE_FORCE_HTTPS"), False),
        "TRUSTED_PROXIES": int(env.get("MARKETPLACE_TRUSTED_PROXIES") or 0),
        "RATELIMIT_ENABLED": _flag(env.get("MARKETPLACE_RATELIMIT_ENABLED"), True),
        "SCHEDULER_THREAD": _flag(env.get("MARKETPLACE_SCHEDULER_THREAD"), False),
        # webhooks to private, loopback and link-local addresses: refused in production unless allowed
        "WEBHOOKS_ALLOW_PRIVATE": _flag(env.get("MARKETPLACE_WEBHOOKS_ALLOW_PRIVATE"), mode != "production"),
        "WEBHOOKS_SEND": _flag(env.get("MARKETPLACE_WEBHOOKS_SEND"), True),  # false: record deliveries, send none
        # observability (marketplace/observability): GET /metrics, log format and level
        "METRICS_ENABLED": _flag(env.get("MARKETPLACE_METRICS_ENABLED"), True),
        "METRICS_TOKEN": env.get("MARKETPLACE_METRICS_TOKEN") or None,  # set: /metrics needs this bearer token
        "LOG_FORMAT": log_format(env),
        "LOG_LEVEL": (env.get("MARKETPLACE_LOG_LEVEL") or "INFO").upper(),
        **{key: env[f"MARKETPLACE_{key}"] for key in RATE_KEYS if env.get(f"MARKETPLACE_{key}")},
    }


def instance_secret_key(instance_path: str) -> str:
    """Development only: a random key kept in instance/secret_key (0600), so portal sessions survive a
    restart of `make run`. Production must set SECRET_KEY (check() refuses to start without it)."""
    import secrets

    path = Path(instance_path) / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def log_format(env: dict[str, str]) -> str:
    """MARKETPLACE_LOG_FORMAT, by default JSON lines in production and text elsewhere (gunicorn.conf.py too)."""
    production = env.get("MARKETPLACE_ENV", "development") == "production"
    return (env.get("MARKETPLACE_LOG_FORMAT") or ("json" if production else "text")).strip().lower()


# MARKETPLACE_<key> in the environment; the rates' defaults are in web/limits.py
RATE_KEYS = ("RATELIMIT_STORAGE_URI", "RATELIMIT_KEY_PREFIX", "RATELIMIT_OAUTH_PER_CLIENT",
             "RATELIMIT_OAUTH_PER_ADDRESS", "RATELIMIT_VERIFY_PER_ADDRESS",
             "RATELIMIT_LOGIN_FAILURES", "RATELIMIT_LOGIN_PER_ADDRESS")


def _flag(value: str | None, default: bool) -> bool:
    return default if value is None or value == "" else value.strip().lower() in ("1", "true", "yes", "on")


def sqlite_file(uri: str, instance_path: str) -> Path | None:
    """The file a SQLite URL names (relative paths are under instance/, as Flask-SQLAlchemy resolves them)."""
    from sqlalchemy.engine import make_url

    url = make_url(uri)
    db = url.database
    if url.get_backend_name() != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db) if Path(db).is_absolute() else Path(instance_path) / db


def restrict_sqlite_file(uri: str, instance_path: str) -> None:
    """Create the database file 0600 before SQLite does (it would honour the umask, often 0644), and
    tighten an existing one and its journals: it holds hashed secrets and wrapped keys."""
    path = sqlite_file(uri, instance_path)
    if path is None:
        return
    if path.parent.is_dir() and not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        if p.exists() and p.stat().st_mode & 0o077:
            p.chmod(0o600)


def check(config: dict) -> None:
    """Refuse to start in production without the secrets it needs, or with settings that cannot work."""
    if config.get("ENV_NAME") == "production":
        if not config.get("SECRET_KEY"):
            raise ConfigError("SECRET_KEY must be set when MARKETPLACE_ENV=production")
        if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            raise ConfigError("DATABASE_URL must point at PostgreSQL when MARKETPLACE_ENV=production")
        if not config.get("KEY_ENCRYPTION_KEY"):
            raise ConfigError("MARKETPLACE_KEY_ENCRYPTION_KEY must be set when MARKETPLACE_ENV=production "
                              f"(it wraps every private signing key; make one with: {KEK_RECIPE})")
    if config.get("KEY_ENCRYPTION_KEY") and not _kek_ok(config["KEY_ENCRYPTION_KEY"]):
        raise ConfigError(f"MARKETPLACE_KEY_ENCRYPTION_KEY must be 32 bytes, base64url without padding ({KEK_RECIPE})")
    if config.get("LOG_FORMAT", "text") not in ("json", "text"):
        raise ConfigError(f"MARKETPLACE_LOG_FORMAT must be json or text, not {config['LOG_FORMAT']!r}")
    if config.get("LOG_LEVEL", "INFO") not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"MARKETPLACE_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, "
                          f"not {config['LOG_LEVEL']!r}")


KEK_RECIPE = ("python -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).rstrip(b\"=\").decode())'")


def _kek_ok(value: str) -> bool:
    """What keys.service.kek() accepts: 32 bytes, base64url without padding."""
    from .crypto.b64 import unb64u

    try:
        return len(unb64u(value.strip())) == 32
    except (ValueError, TypeError):
        return False
