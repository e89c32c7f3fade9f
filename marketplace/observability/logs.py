"""Log lines: JSON (one object per line) or text, with the request id, and nothing secret in them.

A small `logging.Formatter` rather than structlog: every logger that matters here is a stdlib logger
(ours, Flask's, authlib's, RQ's, gunicorn's, SQLAlchemy's), so one formatter on the root handler (and on
gunicorn's own, `gunicorn_logconfig`) covers them all with no second logging pipeline and no new
dependency. Each line carries `time`, `level`, `logger`, `message`, the `request_id` inside a request
(the one `web.problems` answers in `X-Request-ID`), the RQ `job_id` inside a job, any `extra=` fields
(the access line: `method`, `path`, `route`, `status`, `duration_ms`) and `exc` for a traceback.

Redaction is applied to everything a formatter writes (message, extras, traceback), as a safety net
under the rule that code never logs a secret: fields named like a secret (authorization, cookie,
password, secret, token, api key, private key, key-encryption key) are replaced, and so are
`Authorization:`/`Bearer` values, `name=value` / `"name": "value"` pairs with such names, Standard
Webhooks secrets (`whsec_…`) and passwords in URLs. SQL parameters never reach a log line: the engine
is created with `hide_parameters` and SQLAlchemy's statement logger is held at WARNING.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, has_request_context, request

FORMATS = ("json", "text")
REDACTED = "[redacted]"
_OURS = "_marketplace_handler"  # marks the root handler `configure` installed (replaced, never stacked)

# a field or parameter whose name contains one of these holds a secret
SECRET_NAME = re.compile(r"authori[sz]ation|cookie|passw(or)?d|secret|token|api[_-]?key|private|credential|"
                         r"encryption[_-]?key|\bkek\b", re.I)
_PATTERNS: tuple[tuple[re.Pattern, Any], ...] = (
    # Authorization: Bearer xyz / Basic xyz (header dumps, reprs of header lists)
    (re.compile(r"(?i)\b((?:proxy-)?authori[sz]ation['\"]?\s*[:=,]\s*['\"]?)(?:(bearer|basic|token)\s+)?"
                r"[^\s'\",;}\]]+"), lambda m: m[1] + (m[2] + " " if m[2] else "") + REDACTED),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    # client_secret=..., "password": "...", access_token: ..., X-Api-Key=...
    (re.compile(r"(?i)(\b[\w-]*(?:secret|passw(?:or)?d|token|api[_-]?key)[\w-]*['\"]?\s*[:=]\s*['\"]?)"
                r"(?!\[redacted\])[^\s'\"&,;}\]]+"), r"\1" + REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+"), "whsec_" + REDACTED),  # Standard Webhooks secrets
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), r"\1" + REDACTED + "@"),  # URL password
)
# Every pattern above needs one of these in the text. Most lines (every access line) have none, and one search for
# them costs a fifth of the five substitutions (tests/unit/test_log_redaction.py: same result for any text).
_MAYBE_SECRET = re.compile(r"(?i)authori[sz]ation|bearer|secret|passw|token|api[_-]?key|whsec_|://")
# LogRecord attributes that are not `extra=` fields
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    if not _MAYBE_SECRET.search(text):
        return text
    return redact_every_pattern(text)


def redact_every_pattern(text: str) -> str:
    """redact() without its first search: each substitution over the whole text."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(name: str, value: Any) -> Any:
    if SECRET_NAME.search(name):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_value("", v) for v in value]
    return value


def _context() -> dict[str, str]:
    if has_request_context():
        from ..web.problems import _request_id

        return {"request_id": _request_id()}
    if "rq" in sys.modules:  # inside `marketplace worker`: name the job
        from rq import get_current_job

        job = get_current_job()
        if job is not None:
            return {"job_id": job.id}
    return {}


def _message(record: logging.LogRecord) -> str:
    if isinstance(record.args, Mapping) and record.args:  # "%(client_secret)s" style: redact by name
        record = logging.makeLogRecord({**record.__dict__,
                                        "args": {k: _redact_value(str(k), v) for k, v in record.args.items()}})
    return redact(record.getMessage())


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _message(record),
        }
        out.update(_context())
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in out:
                out[key] = _redact_value(key, value)
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            out["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger [request id] message`, for development terminals; redacted like the JSON."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ctx = _context()
        record.context = f" [{next(iter(ctx.values()))}]" if ctx else ""
        line = super().format(record)
        del record.context
        return redact(line)

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _message(record)
        return super().formatMessage(record)


def formatter(fmt: str) -> logging.Formatter:
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure(fmt: str = "json", level: str | int = "INFO", stream=None) -> logging.Handler:
    """Send every logger's records through one root handler in this format (replacing the one an earlier
    call installed). Returns the handler (tests pass a stream and remove it afterwards)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _OURS, False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter(fmt))
    handler.addFilter(_not_chatter)
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    root.setLevel(level)
    # statements with their parameters (hashed secrets, wrapped keys) at INFO: never, whatever the level
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    return handler


# alembic says these on every migration-state check (each /readyz probe, each worker start): not worth a line
_CHATTER = {"alembic.runtime.migration": ("Context impl ", "Will assume "), "alembic.runtime.plugins": ("",)}


def _not_chatter(record: logging.LogRecord) -> bool:
    prefixes = _CHATTER.get(record.name)
    return not (prefixes and isinstance(record.msg, str) and record.msg.startswith(prefixes))


def unconfigure(handler: logging.Handler) -> None:
    logging.getLogger().removeHandler(handler)


def gunicorn_logconfig(env: Mapping[str, str]) -> dict:
    """gunicorn's `logconfig_dict`: its own log (gunicorn.error) in the app's format; no gunicorn access log,
    because the app writes one access line per request with its request id. The root logger is left to
    the app, which configures it in each worker."""
    from ..config import log_format

    fmt = log_format(dict(env))
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "WARNING", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["marketplace"], "propagate": False,
                               "qualname": "gunicorn.error"},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False, "qualname": "gunicorn.access"},
        },
        "handlers": {"marketplace": {"class": "logging.StreamHandler", "formatter": "marketplace",
                                     "stream": "ext://sys.stderr"}},
        "formatters": {"marketplace": {"()": JsonFormatter if fmt == "json" else TextFormatter}},
    }


def install(app: Flask) -> None:
    """Keep SQL parameters out of exception messages (and so out of tracebacks), then configure logging once
    for this process unless testing (tests capture records themselves, see tests/api/test_observability.py)."""
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("hide_parameters", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if app.testing:
        return
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)  # records go to the root handler, formatted like the rest
    configure(app.config.get("LOG_FORMAT") or "json", app.config.get("LOG_LEVEL") or "INFO")


access_log = logging.getLogger("marketplace.access")
QUIET_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})  # scraped every few seconds: DEBUG, not INFO


def access(route: str | None, status: int, seconds: float) -> None:
    """The access line of the request being answered (the query string is never logged)."""
    level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
    if not access_log.isEnabledFor(level):
        return
    path = request.path.encode("unicode_escape").decode("ascii")  # no control characters in a text line
    ms = round(seconds * 1000, 2)
    access_log.log(level, "%s %s %s %sms", request.method, path, status, ms,
                   extra={"method": request.method, "path": path, "route": route, "status": status,
                          "duration_ms": ms, "remote_addr": request.remote_addr})
