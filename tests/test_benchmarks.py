"""The benchmark runner works end to end (at a tiny size: timings are measured, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.bench
def test_benchmark_runner_at_a_tiny_size(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/run.py",
            "--students",
            "300",
            "--page-size",
            "100",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert results["day1"]["counts"]["students"] == 300
    assert results["day1"]["status"] == "staged"
    assert results["day2"]["changed_students"]["added"] > 0
    for day in ("day1", "day2"):
        assert set(results[day]["seconds"]) >= {"fetch", "stage", "validate", "diff", "merge"}
        assert results[day]["peak_rss_mb"]["sync"] > 0
    events = results["day2_events"]
    assert events["mode"] == "events" and events["same_changes_as_full"]
    assert sorted(events["sync_totals"])[1] == events["seconds"]["sync_total"]  # the median of 3
    assert len(results["dashboard_ms"]) >= 10
    assert "records/s" in done.stdout
