"""Benchmark: our fetch (C via the binding) against the reference Python fetcher.

Both fetch the same big simulated hour from ``tools/binance_sim.py`` over
loopback. Each measured run is a fresh child process, so peak memory
(``ru_maxrss``) is comparable; inside the child only the fetching call is
timed with ``time.process_time()`` (CPU of the fetching process: user+system,
all its threads; the simulator is another process and is not counted).
Both results are checked to be identical row for row (digest of the columns).

Usage::

    PYTHONPATH=python AGT_LIB=build/libaggtrades.so \\
        .venv/bin/python bench/fetch.py [--scale 100] [--repeat 3] [--hour 2024-02-01T14] [--smoke]

Prints a Markdown table. Goal: CPU per trade at most 1/5 of the reference's.
``--smoke``: a small hour (scale 2), one run each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import report  # noqa: E402
NOW = "2024-03-01T12:00:00Z"
IMPLS = ("ours", "reference")


# --------------------------------------------------------------------------
# child: one measured fetch


def _digest(df: Any) -> str:
    h = hashlib.sha256()
    h.update(df["trade_id"].to_numpy().tobytes())
    h.update(df["timestamp"].array.asi8.tobytes())
    h.update(df["price"].to_numpy().tobytes())
    h.update(df["quantity"].to_numpy().tobytes())
    h.update(df["is_buyer_maker"].to_numpy().tobytes())
    h.update(str(list(df.dtypes.astype(str))).encode())
    return h.hexdigest()[:16]


def child(impl: str, url: str, symbol: str, day: dt.date, hour: int, interval_ms: int) -> dict[str, Any]:
    # Import everything first, so only the fetch itself is measured.
    import pandas  # noqa: F401

    if impl == "ours":
        import aggtrades

        client = aggtrades.Client(url, interval_ms=interval_ms)

        def run() -> Any:
            return client.fetch_hour(symbol, day, hour)[0]

    else:
        sys.path.insert(0, str(REPO / "bench"))
        import reference_fetch

        ref = reference_fetch.ReferenceFetcher(url, interval_ms=interval_ms)

        def run() -> Any:
            return ref.fetch_hour(symbol, day, hour)

    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    w0, c0 = time.perf_counter(), time.process_time()
    df = run()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "impl": impl,
        "rows": len(df),
        "cpu_s": cpu,
        "wall_s": wall,
        "base_rss_kb": base_rss,
        "peak_rss_kb": peak_rss,
        "digest": _digest(df),
    }


# --------------------------------------------------------------------------
# parent: simulator, repeats, table


def run_child(args: argparse.Namespace, impl: str, url: str) -> dict[str, Any]:
    cmd = [
        sys.executable, __file__, "--child", impl, "--url", url, "--symbol", args.symbol,
        "--hour", args.hour, "--interval-ms", str(args.interval_ms),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "python"), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(results: dict[str, list[dict[str, Any]]]) -> tuple[list[str], list[report.Goal]]:
    head = ["implementation", "trades", "CPU s (median)", "CPU µs/trade", "wall s", "peak RSS MiB", "RSS growth MiB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    per_trade: dict[str, float] = {}
    peak: dict[str, float] = {}
    for impl, runs in results.items():
        cpu = statistics.median(r["cpu_s"] for r in runs)
        n = runs[0]["rows"]
        per_trade[impl] = cpu / max(n, 1) * 1e6
        peak[impl] = statistics.median(r["peak_rss_kb"] for r in runs) / 1024
        growth = statistics.median(r["peak_rss_kb"] - r["base_rss_kb"] for r in runs) / 1024
        row = [impl, f"{n}", f"{cpu:.3f}", f"{per_trade[impl]:.2f}",
               f"{statistics.median(r['wall_s'] for r in runs):.2f}", f"{peak[impl]:.1f}", f"{growth:.1f}"]
        lines.append("| " + " | ".join(row) + " |")
    ratio = per_trade["ours"] / per_trade["reference"]
    lines += ["", f"CPU per trade, ours / reference = {ratio:.3f} (1/{1 / ratio:.1f}); "
              f"peak RSS, ours / reference = {peak['ours'] / peak['reference']:.2f}"]
    goals = [report.Goal("fetch CPU per trade: <= 1/5 of the specification's requests + tenacity + pandas",
                         f"{per_trade['ours']:.2f} µs", f"reference {per_trade['reference']:.2f} µs",
                         f"{ratio:.3f} (1/{1 / ratio:.1f})", ratio <= 0.2)]
    return lines, goals


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=100.0, help="simulator --scale (default 100: ~100k trades/h)")
    ap.add_argument("--symbol", default="BTCUSDT")
    ap.add_argument("--hour", default="2024-02-01T14", help="UTC hour YYYY-MM-DDTHH (default 2024-02-01T14)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--interval-ms", type=int, default=0, help="request spacing for both (default 0)")
    ap.add_argument("--smoke", action="store_true", help="a small hour (scale 2), one run each")
    ap.add_argument("--child", choices=IMPLS, help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.smoke:
        args.scale, args.repeat = 2.0, 1
    day = dt.date.fromisoformat(args.hour[:10])
    hour = int(args.hour[11:13])

    if args.child:
        print(json.dumps(child(args.child, args.url, args.symbol, day, hour, args.interval_ms)))
        return 0

    proc, url = report.start_sim("--now", NOW, "--scale", str(args.scale))
    try:
        start_us = int(dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.timezone.utc).timestamp()) * 10**6
        with urllib.request.urlopen(
            f"{url}/_truth?symbol={args.symbol}&startTime={start_us}&endTime={start_us + 3_600_000_000 - 1}",
            timeout=300,
        ) as resp:  # warm the simulator's cache of this hour
            resp.read()
        results: dict[str, list[dict[str, Any]]] = {impl: [] for impl in IMPLS}
        for _ in range(args.repeat):
            for impl in IMPLS:  # interleaved, so drifts hit both alike
                results[impl].append(run_child(args, impl, url))
    finally:
        proc.terminate()
        proc.wait()

    digests = {r["digest"] for runs in results.values() for r in runs}
    if len(digests) != 1:
        print(f"MISMATCH: the two fetchers returned different rows: {digests}", file=sys.stderr)
        return 1
    lines, goals = table(results)
    lines = [f"Hour {args.symbol} {args.hour}:00Z from tools/binance_sim.py --scale {args.scale:g} over loopback, "
             f"{args.repeat} runs each (a fresh child process per run, interleaved), request spacing "
             f"{args.interval_ms} ms for both. Ours: `agt_fetch_hour` through the Python binding, "
             "DataFrame included; reference: bench/reference_fetch.py (the specification's requests + "
             "tenacity + pandas fetcher). CPU: `time.process_time()` of the child around the fetch; "
             "peak RSS: the child's `ru_maxrss`. Both results are identical (digest of every column).",
             "", *lines]
    report.publish("fetch", lines, goals, args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
