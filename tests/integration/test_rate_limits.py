"""Rate limits are counted in Redis when REDIS_URL is set: app instances and gunicorn workers share one
count (TEST_REDIS_URL). Without a reachable store each process still limits."""

import collections
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import make_app
from tests.integration.test_config_and_gunicorn import _free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis not configured (TEST_REDIS_URL unset); .ci/run always sets it")
    return url


def _wrong_secret(client, cid):
    return client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                             "client_secret": "wrong"}).status_code


def test_two_app_instances_share_the_count(sqlite_url, tmp_path, redis_url):
    """REDIS_URL alone is enough: the limits follow it, and each app counts in the same place."""
    limits = {"REDIS_URL": redis_url, "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
              "RATELIMIT_OAUTH_PER_CLIENT": "5/minute", "RATELIMIT_VERIFY_PER_ADDRESS": "4/minute"}
    apps = [make_app(sqlite_url, tmp_path / str(i), **limits) for i in range(2)]
    clients = [a.test_client() for a in apps]
    answers = [_wrong_secret(clients[i % 2], "mpc_shared") for i in range(12)]
    assert answers.count(401) == 5 and answers.count(429) == 7
    verify = [clients[i % 2].post("/api/v1/verify", json={"certificate": "a.b.c"}).status_code for i in range(10)]
    assert verify.count(200) == 4 and verify.count(429) == 6


def test_unreachable_store_still_limits_in_process(sqlite_url, tmp_path):
    app = make_app(sqlite_url, tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
                   RATELIMIT_OAUTH_PER_CLIENT="2/minute")
    client = app.test_client()
    assert [_wrong_secret(client, "mpc_x") for _ in range(4)] == [401, 401, 429, 429]


def _post(url: str, body: bytes, ctype: str) -> int:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        e.close()
        return e.code


def test_gunicorn_workers_share_the_count(tmp_path, redis_url):
    """2 workers x 4 threads, concurrent clients: exactly the configured number gets through."""
    port = _free_port()
    bindir = Path(sys.executable).parent
    env = {**os.environ, "DATABASE_URL": "sqlite:///" + str(tmp_path / "g.db"), "MARKETPLACE_INSTANCE_PATH":
           str(tmp_path), "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "REDIS_URL": redis_url,
           "MARKETPLACE_RATELIMIT_KEY_PREFIX": uuid.uuid4().hex, "MARKETPLACE_RATELIMIT_OAUTH_PER_CLIENT": "10/minute",
           "MARKETPLACE_RATELIMIT_OAUTH_PER_ADDRESS": "1000/minute",
           "MARKETPLACE_RATELIMIT_VERIFY_PER_ADDRESS": "30/minute"}
    subprocess.run([bindir / "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen([str(bindir / "gunicorn"), "--config", str(ROOT / "docker" / "gunicorn.conf.py"),
                             "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        token = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": "mpc_target",
                                        "client_secret": "wrong"}).encode()
        verify = json.dumps({"certificate": "a.b.c"}).encode()
        with ThreadPoolExecutor(8) as pool:
            tokens = collections.Counter(pool.map(
                lambda _: _post(f"{base}/oauth/token", token, "application/x-www-form-urlencoded"), range(60)))
            verifies = collections.Counter(pool.map(
                lambda _: _post(f"{base}/api/v1/verify", verify, "application/json"), range(120)))
        workers = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert tokens == {401: 10, 429: 50}, tokens
    assert verifies == {200: 30, 429: 90}, verifies
    assert len(workers) == 2  # each with its own memory: only a shared store gives these exact counts
