"""The results-table benchmark drives the real table model through a stand-in for the
workstation's search and image services: when those services change shape, this
catches the benchmark before a session needs its figures (it once failed on every
page with "'function' object has no attribute 'run'")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_results_benchmark_runs_and_prints_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_ui_results", "--reads", "5000", "--pages", "2"],
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["rows_loaded"] > 200  # the first page and further pages arrived
    assert figures["page_of_rows_fetched_and_painted_p95_ms"] > 0
