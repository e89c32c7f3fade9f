"""The bench scripts run (briefly) and print their ratios; the figures themselves are not asserted."""

import subprocess
import sys
from pathlib import Path

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
