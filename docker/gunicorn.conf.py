"""Gunicorn settings for the web image, and for the README's deploy steps by hand
(`gunicorn --config docker/gunicorn.conf.py wsgi:app`; run for real by tests/integration/test_deploy_path.py).

Metrics: with PROMETHEUS_MULTIPROC_DIR set, every worker writes its samples there and /metrics adds them
up; the directory is emptied when gunicorn starts (samples of an earlier run would be counted again) and
an exited worker is marked dead. Logs: gunicorn's own lines in the app's format (JSON in production); no
gunicorn access log, because the app writes one access line per request, with its request id.
"""

import errno
import os
import socket

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
# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new connections across them.
# On one shared socket, whichever worker wakes first accepts: a few keep-alive connections (a proxy's pool, the
# HTTP bench's 8) often all landed on one worker, which then did all the work on one core (bench/http_load.py:
# 8 of 8 connections on one worker in 2 runs of 3, /healthz 1,439-1,488 req/s against 2,824 when spread).
# Not for a unix socket, which the workers cannot each bind. GUNICORN_REUSE_PORT=0 turns it off.
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "1") != "0" and not bind.startswith(("unix:", "fd://"))
timeout = 30
graceful_timeout = 20
errorlog = "-"
accesslog = None
logger_class = AppLogger
logconfig_dict = gunicorn_logconfig(os.environ)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def _metrics_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _refuse_a_taken_address(address) -> None:
    """With SO_REUSEPORT the workers would share a port with any other process of this user that listens on
    it the same way (a second gunicorn started by mistake), and the two would split the traffic unnoticed.
    Bind the address once without it, as gunicorn does without reuse_port: taken, refuse to start."""
    if not isinstance(address, tuple):
        return
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise SystemExit(f"{address[0]}:{address[1]} is already in use: is another server running?") from e
            raise


def on_starting(server):
    if reuse_port:
        for address in server.cfg.address:
            _refuse_a_taken_address(address)
        server.log.info("Each worker listens on %s (SO_REUSEPORT)", ", ".join(map(str, server.cfg.address)))
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
