"""bench/metrics.py runs (briefly) and prints its ratio and scrape time; the figures are not asserted."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_metrics_bench_runs():
    out = subprocess.run([sys.executable, "bench/metrics.py", "1", "300"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ratio observed/baseline" in out.stdout and "GET /metrics over 300 event deliveries" in out.stdout
