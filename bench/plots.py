#!/usr/bin/env python3
"""The benchmark plots (PNG, matplotlib) in bench/, from the results the benchmarks leave in bench/out/:

- plot_query_growth.png: planning time and the 5-minute window of each
  engine against the lake's size, 1 day -> 1 year (bench/lake.py,
  lake-results.json);
- plot_ingest.png: archive ingest time (wall and CPU) against the day's
  trades, ours and DuckDB (bench/ingest.py, ingest-results.json);
- plot_memory.png: peak memory of reading a range into pandas against the
  range's length, each engine, with the frame's own size (bench/read.py,
  read-results.json);
- plot_download_memory.png: peak RSS of ``download`` against the range's
  length (1, 3, 7 busy days), default --jobs and --jobs 1, against the
  64 MiB goal (bench/rss.py, rss-results.json).

A plot whose results are missing is skipped with a line saying which
benchmark to run. ``--out DIR`` writes elsewhere, ``--smoke`` plots the
results of the benchmarks' ``--smoke`` runs (the smoke test does both).

    .venv/bin/python bench/plots.py [--out bench] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import report  # noqa: E402


def _load(results: Path, name: str, bench: str):
    p = results / name
    if not p.exists():
        print(f"skipped: {p} is missing (run bench/{bench} first)")
        return None
    return json.loads(p.read_text())


def query_growth(res: dict, out: Path) -> None:
    g = res["growth"]
    days = [r["days"] for r in g]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    a.plot(days, [r["plan_s"] * 1e6 for r in g], "o-", label="aggtrades: plan (query open)")
    a.plot(days, [r["hour_stats_s"] * 1e6 for r in g], "s--", label="aggtrades: one day's statistics")
    a.set(xscale="log", xlabel="days in the lake", ylabel="µs", title="Planning a 5-minute window")
    a.set_ylim(bottom=0)
    for key, label in (("window_ours_s", "aggtrades"), ("window_duckdb_s", "DuckDB"),
                       ("window_pyarrow_s", "pyarrow.dataset")):
        b.plot(days, [r[key] * 1e3 for r in g], "o-", label=label)
    b.set(xscale="log", yscale="log", xlabel="days in the lake", ylabel="ms (log)",
          title="5-minute window query")
    for ax in (a, b):
        ax.set_xticks(days, [r["label"] for r in g])
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "plot_query_growth.png", dpi=110)
    plt.close(fig)


def ingest(res: list, out: Path) -> None:
    n = [r["trades"] / 1e6 for r in res]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for who, label in (("ours", "aggtrades download --source archive"), ("duckdb", "DuckDB read_csv -> COPY")):
        ax.plot(n, [r[who]["wall"] for r in res], "o-", label=f"{label}, wall")
        ax.plot(n, [r[who]["cpu"] for r in res], "s--", label=f"{label}, CPU")
    ax.set(xlabel="trades in the day (millions)", ylabel="seconds", title="Archive ingest of one day")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "plot_ingest.png", dpi=110)
    plt.close(fig)


def memory(res: dict, out: Path) -> None:
    mem = res["memory"]
    labels = list(mem)
    engines = list(next(iter(mem.values())))
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    x = range(len(labels))
    for e in engines:
        ax.plot(x, [mem[r][e]["growth_bytes"] / 2**20 for r in labels], "o-", label=e)
    ax.plot(x, [mem[r][engines[0]]["frame_bytes"] / 2**20 for r in labels], "k:", label="the frame itself")
    ax.set_xticks(list(x), labels)
    ax.set(yscale="log", xlabel="range read into pandas", ylabel="peak RSS growth, MiB (log)",
           title="Peak memory against range length")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "plot_memory.png", dpi=110)
    plt.close(fig)


def download_memory(res: dict, out: Path) -> None:
    pts = res["points"]
    days = [p["days"] for p in pts]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for key, label in (("default", f"default --jobs ({res['default_jobs']})"), ("jobs1", "--jobs 1")):
        ax.plot(days, [p[key]["rss_mib"] for p in pts], "o-", label=label)
    ax.axhline(res["goal_mib"], color="k", linestyle=":", label=f"goal: {res['goal_mib']} MiB")
    ax.set_xticks(days, [f"{d} day{'s' if d > 1 else ''}\n{p['trades'] / 1e6:.1f} M trades"
                         for d, p in zip(days, pts)])
    ax.set(xlabel="range downloaded (busy days)", ylabel="peak RSS, MiB",
           title="download --source archive: peak memory against range length")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "plot_download_memory.png", dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(BENCH))
    ap.add_argument("--smoke", action="store_true", help="plot the results of the --smoke runs")
    a = ap.parse_args(argv)
    tag = "-smoke" if a.smoke else ""
    out = Path(a.out)
    results = report.out_dir()
    lines = []
    for name, bench, fn, png, what in (
            ("lake-results", "lake.py", query_growth, "plot_query_growth.png",
             "planning time and 5-minute window latency against the lake's size"),
            ("ingest-results", "ingest.py", ingest, "plot_ingest.png", "archive ingest time against trades"),
            ("read-results", "read.py", memory, "plot_memory.png",
             "peak memory of reading a range into pandas against range length"),
            ("rss-results", "rss.py", download_memory, "plot_download_memory.png",
             "peak RSS of download against range length, default --jobs and --jobs 1")):
        res = _load(results, f"{name}{tag}.json", bench)
        if res is not None:
            fn(res, out)
            lines.append(f"- [{png}]({png}): {what} (bench/{bench})")
        else:
            lines.append(f"- {png}: not drawn, bench/{bench} left no results")
    lines.append(f"\n{sum('not drawn' not in x for x in lines)} of {len(lines)} plots written to {out}.")
    report.publish("plots", lines, [], a.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
