"""Gunicorn settings for the web image, and for the README's deploy steps by hand
(`gunicorn --config docker/gunicorn.conf.py wsgi:app`; run for real by tests/integration/test_deploy_path.py).

Metrics: with PROMETHEUS_MULTIPROC_DIR set, every worker writes its samples there and /metrics adds them
up; the directory is emptied when gunicorn starts (samples of an earlier run would be counted again) and
an exited worker is marked dead. Logs: gunicorn's own lines in the app's format (JSON in production); no
gunicorn access log, because the app writes one access line per request, with its request id.
"""

import os

from gunicorn.glogging import Logger

from marketplace.observability.logs import gunicorn_logconfig


class AppLogger(Logger):
    """gunicorn's logger without its access log: the app writes one access line per request (with its
    request id). Given a logconfig_dict, gunicorn would otherwise build every request's access-log fields
    and a log record that no handler takes."""

    def access(self, resp, req, environ, request_time):
        return None


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
errorlog = "-"
accesslog = None
logger_class = AppLogger
logconfig_dict = gunicorn_logconfig(os.environ)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def _metrics_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def on_starting(server):
    path = _metrics_dir()
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))


def child_exit(server, worker):
    if _metrics_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
