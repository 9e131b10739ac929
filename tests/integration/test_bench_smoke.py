"""Every benchmark of bench/ in its smoke version (``--smoke``: a tiny data
set, one run, RESULTS.md untouched), so that none can rot between full runs
of ``make bench``. A benchmark checks its engines agree before timing; a
mismatch or a crash fails here. Timings are printed, never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_bench(script: str, tmp_path: Path, *args: str) -> str:
    env = dict(os.environ, AGT_BENCH_OUT=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "python"), env.get("PYTHONPATH")) if p)
    r = subprocess.run([sys.executable, str(REPO / "bench" / script), "--smoke", *args],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{script} --smoke failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def test_read_smoke(tmp_path):
    out = run_bench("read.py", tmp_path)
    for workload in ("busy day into pandas", "as an Arrow table", "as a polars frame",
                     "timestamp + price", "Peak memory"):
        assert workload in out


def test_export_smoke(tmp_path):
    out = run_bench("export.py", tmp_path)
    for workload in ("month to CSV", "month to JSON", "busy day to CSV", "busy day to JSON"):
        assert workload in out


def test_size_smoke(tmp_path):
    out = run_bench("size.py", tmp_path)
    assert "pyarrow best" in out and "bloom filters" in out


def test_ingest_read_and_plots_smoke(tmp_path):
    out = run_bench("ingest.py", tmp_path)
    assert "CPU ours/DuckDB" in out
    run_bench("read.py", tmp_path)
    plots = tmp_path / "plots"
    plots.mkdir()
    out = run_bench("plots.py", tmp_path, "--out", str(plots))
    assert "2 of 3 plots written" in out  # the lake growth needs bench/lake.py's year lake
    for name in ("plot_ingest.png", "plot_memory.png"):
        assert (plots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_changes_smoke(tmp_path):
    out = run_bench("changes.py", tmp_path)
    assert "change feed" in out and "every row copied" in out
