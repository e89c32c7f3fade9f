"""Configuration guards, and the web image's gunicorn command run for real."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from marketplace import create_app
from marketplace.config import ConfigError, normalise_db_url

ROOT = Path(__file__).resolve().parents[2]


def test_production_refuses_without_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETPLACE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path)})
    monkeypatch.setenv("SECRET_KEY", "s")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    with pytest.raises(ConfigError, match="PostgreSQL"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_database_url_forms():
    assert normalise_db_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_db_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_db_url("sqlite:///x") == "sqlite:///x"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dockerfile_gunicorn_command_serves(tmp_path):
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    cmd = re.search(r'^CMD \[(.*)\]$', dockerfile, re.M).group(1)
    argv = [a.strip().strip('"') for a in cmd.split(",")]
    assert argv[0] == "gunicorn"
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": "sqlite:///" + str(tmp_path / "g.db"), "GUNICORN_BIND": f"127.0.0.1:{port}",
           "GUNICORN_WORKERS": "1", "MARKETPLACE_INSTANCE_PATH": str(tmp_path)}
    bindir = Path(sys.executable).parent
    subprocess.run([bindir / "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    argv = [str(bindir / "gunicorn"), *argv[1:]]  # the image is laid out like the repository: run from its root
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.1)
        assert body is not None
        assert json.loads(body)["migrations"] == "at head"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
