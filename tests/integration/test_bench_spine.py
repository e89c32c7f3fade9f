"""bench/spine.py runs (briefly, on PostgreSQL with its own Redis) and prints its figures and ratios; the figures
themselves are not asserted."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import drills

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_spine_bench_runs():
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL not configured (TEST_DATABASE_URL unset); .ci/run always sets it")
    if not drills.redis_available():
        pytest.skip("redis-server is not installed (the bench starts its own)")
    out = subprocess.run([sys.executable, "bench/spine.py", "3", "30", "1", "1", url], cwd=ROOT, capture_output=True,
                         text=True, timeout=280)
    assert out.returncode == 0, out.stderr[-3000:]
    for figure in ("cancel -> certificate.revoked delivered", "recovery after Redis returns", "relay throughput"):
        assert figure in out.stdout, out.stdout
    assert out.stdout.count("ratio") == 3, out.stdout
