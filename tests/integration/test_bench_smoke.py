"""Every benchmark `make bench` runs (bench/run_all.py's BENCHMARKS), in its smoke version
(``--smoke``: tiny data, one run), so that none can rot between full runs. A benchmark
checks its engines agree before timing; a mismatch or a crash fails here. Each must
leave its results (the text of its RESULTS.md section and one entry per goal: our
figure, the peers', the ratio, a verdict); timings are printed, never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
from run_all import BENCHMARKS  # noqa: E402

PLOTS = ("plot_query_growth.png", "plot_ingest.png", "plot_memory.png", "plot_download_memory.png")
PLOTTED = ("lake", "ingest", "read", "rss")  # the benchmarks whose results the plots draw


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """run(name): the benchmark's smoke run (once per module, all in one output directory,
    as run_all.py runs them) -> its results/<name>.json."""
    out = tmp_path_factory.mktemp("bench-out")
    done: dict[str, dict] = {}

    def run(name: str) -> dict:
        if name not in done:
            env = dict(os.environ, AGT_BENCH_OUT=str(out))
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "python"), env.get("PYTHONPATH")) if p)
            args = list(BENCHMARKS[name]["smoke"])
            if name == "plots":
                (out / "png").mkdir(exist_ok=True)
                args += ["--out", str(out / "png")]
            r = subprocess.run([sys.executable, str(REPO / "bench" / f"{name}.py"), *args],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
            assert r.returncode == 0, f"{name} {args} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
            res = json.loads((out / "results" / f"{name}.json").read_text())
            assert res["smoke"] and res["text"].strip() and res["name"] == name
            assert res["command"].startswith(f".venv/bin/python bench/{name}.py")
            res["stdout"], res["out"] = r.stdout, out
            done[name] = res
        return done[name]

    return run


@pytest.mark.parametrize("name", [n for n in BENCHMARKS if n != "plots"])
def test_benchmark_smoke(smoke, name):
    res = smoke(name)
    assert res["goals"], f"{name} states no goal"
    for g in res["goals"]:
        assert g["goal"] and g["ours"] and g["peers"] and g["ratio"], g
        assert isinstance(g["met"], bool)
        assert g["goal"] in res["stdout"] and g["ratio"] in res["stdout"]  # printed, not only saved
    assert "|---" in res["text"]  # its table


def test_plots_smoke(smoke):
    for name in PLOTTED:
        smoke(name)
    res = smoke("plots")
    assert f"{len(PLOTS)} of {len(PLOTS)} plots written" in res["text"]
    for png in PLOTS:
        assert (res["out"] / "png" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_markdown_from_the_smoke_results(smoke):
    """RESULTS.md as run_all.py writes it: one summary row per goal, a section per benchmark,
    a benchmark without results said to have failed."""
    import report

    names = ["size", "changes"]
    for n in names:
        smoke(n)
    os.environ["AGT_BENCH_OUT"] = str(smoke("size")["out"])
    try:
        md = report.results_markdown(names + ["nothere"], {"size": "3 s", "nothere": "FAILED, exit status 1"},
                                     ["header line"])
    finally:
        del os.environ["AGT_BENCH_OUT"]
    assert md.startswith("# Benchmark results\n\nheader line\n")
    assert md.count("| size | data-file size") == 1 and md.count("| changes | change feed") == 1
    assert "## size\n\nCommand: `.venv/bin/python bench/size.py --smoke` (3 s)" in md
    assert "## nothere\n\nNo results: FAILED, exit status 1." in md


def test_run_all_writes_results_and_adds_a_benchmark(tmp_path):
    """run_all.py: a run writes RESULTS.md (here elsewhere) from its results alone; --add runs
    one more benchmark and adds it, the header naming both runs."""
    env = dict(os.environ, AGT_BENCH_OUT=str(tmp_path / "out"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "python"), env.get("PYTHONPATH")) if p)
    md = tmp_path / "RESULTS.md"
    run_all = [sys.executable, str(REPO / "bench" / "run_all.py"), "--results", str(md)]
    r = subprocess.run([*run_all, "--only", "size", "--size-args=--smoke", "--write"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    first = md.read_text()
    assert "From one run." in first and first.count("- Run: ") == 1
    assert "| size | data-file size" in first and "## changes" not in first
    r = subprocess.run([*run_all, "--only", "changes", "--changes-args=--smoke", "--add"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    both = md.read_text()
    assert both.count("- Run: ") == 2 and "`--add`" in both
    assert "| size | data-file size" in both and "| changes | change feed" in both
    assert both.index("## size") < both.index("## changes")  # the suite's order, not the runs'


def test_lake_cache_is_verified_before_reuse(tmp_path):
    """bench/lake.py keeps its lake in the cache directory: a second run reuses it after checking
    it, says so, and a lake that fails the check (a data file gone) is built again."""
    env = dict(os.environ, AGT_BENCH_CACHE=str(tmp_path / "cache"), AGT_BENCH_OUT=str(tmp_path / "out"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "python"), env.get("PYTHONPATH")) if p)
    build = [sys.executable, str(REPO / "bench" / "lake.py"), "--days", "2", "--rows-per-hour", "40", "--build-only"]

    def run() -> str:
        r = subprocess.run(build, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        return r.stdout

    assert "building " in run()
    (root,) = (tmp_path / "cache").glob("lake-BTCUSDT-2023-r40-g1-f1-d2")
    again = run()
    assert "lake reused from the cache" in again and "verified" in again and "building " not in again
    files = sorted((root / "symbol=BTCUSDT").rglob("*.parquet"))
    assert len(files) == 48
    files[7].unlink()
    rebuilt = run()
    assert "fails verification (47 data files, expected 48): rebuilt" in rebuilt and "building " in rebuilt
    assert len(list((root / "symbol=BTCUSDT").rglob("*.parquet"))) == 48
    assert "lake reused from the cache" in run()
