"""The bench scripts run (briefly) and print their ratios; the figures themselves are not asserted."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_verify_bench_runs():
    out = subprocess.run([sys.executable, "bench/verify.py", "0.05"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "raw Ed25519 verifications/s" in out.stdout and "ratio" in out.stdout


def test_portal_bench_runs():
    out = subprocess.run([sys.executable, "bench/portal.py", "3"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "exchange dashboard" in out.stdout and "verify page" in out.stdout and "p99 ms" in out.stdout


def test_supervision_bench_runs():
    out = subprocess.run([sys.executable, "bench/supervision.py", "20", "5"], cwd=ROOT, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "POST /api/v1/supervision/scenarios" in out.stdout and "target < 2 s" in out.stdout


def test_http_bench_runs():
    """bench/http_load.py at a tiny scale, a second per route, in a database of its own next to TEST_DATABASE_URL's
    (created and dropped by the bench); with wrk when installed, else its Python client."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL not configured (TEST_DATABASE_URL unset); .ci/run always sets it")
    out = subprocess.run([sys.executable, "bench/http_load.py", "--seconds", "1", "--exchanges", "6", "--insurers", "3",
                          "--offerings", "30", "--policies", "30", "--certificates", "30", "--next-to", url,
                          "--redis", "none"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    for route in ("GET /healthz", "POST /api/v1/verify", "GET /api/v1/offerings", "/offset",
                  "POST /api/v1/certificates"):
        assert route in out.stdout
    assert "p99 ms" in out.stdout and "ratios (req/s / GET /healthz req/s)" in out.stdout
    assert "load generator: wrk" in out.stdout or "the Python client may be the bottleneck" in out.stdout
    assert "max RSS" in out.stdout and "200 MB RSS" in out.stdout
    assert "conns/worker" in out.stdout and "connections per worker" in out.stdout


def test_floor_bench_runs():
    """bench/floor.py (the stack's floor under the HTTP targets) at a second per route, in a database of its own."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL not configured (TEST_DATABASE_URL unset); .ci/run always sets it")
    if not Path("/usr/bin/wrk").exists():
        pytest.skip("wrk is not installed (.ci/run installs it)")
    out = subprocess.run([sys.executable, "bench/floor.py", "--seconds", "1", "--next-to", url], cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    for route in ("GET /healthz", "floor: 1 read", "floor: verify", "floor: 25 writes + commit",
                  "ours: POST /api/v1/verify", "ours: GET .../offset"):
        assert route in out.stdout
    assert "ERRORS" not in out.stdout
    assert "one statement of a write path costs the machine" in out.stdout and "statements and a commit" in out.stdout
