"""Benchmark: data requests per hour of the two walks of ``agt_fetch_hour``.

The time walk (``paging="time"``, the default: ``endTime`` + ``limit=1000``
backwards, ``fromId`` only inside a millisecond holding more than 1000
trades) against the id walk (``paging="id"``: the first page by time, then
``fromId`` blocks), over every hour of a simulated day, fetched from
``tools/binance_sim.py`` over loopback. The simulator's ``/_stats`` counts
the requests it received (``data_requests``) and by which parameters
(``agg_modes``). Every fetched hour is checked complete and equal in both
walks. The fault-free bound is ``ceil(n/1000) + 2`` data requests for an
hour of ``n`` trades, bursts (a millisecond holding more than 1000 trades)
excepted.

Usage::

    PYTHONPATH=python AGT_LIB=build/libaggtrades.so \\
        .venv/bin/python bench/paging.py [--scale 20] [--day 2024-02-20] [--symbol BTCUSDT] [--smoke]

``--smoke``: four hours at scale 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import subprocess
import sys
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "python"))
sys.path.insert(0, str(REPO / "bench"))

import binance_sim  # noqa: E402
import report  # noqa: E402
from aggtrades import fetch_hour  # noqa: E402

HOUR_US = 3_600_000_000


def _post(url: str, body: dict) -> None:
    req = urllib.request.Request(url + "/_control", data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(req, timeout=30).read()


def _stats(url: str) -> dict:
    return json.loads(urllib.request.urlopen(url + "/_stats", timeout=30).read())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--day", default="2024-02-20")
    ap.add_argument("--symbol", default="BTCUSDT")
    ap.add_argument("--smoke", action="store_true", help="four hours at scale 1")
    args = ap.parse_args()
    if args.smoke:
        args.scale = 1.0
    hours = range(4) if args.smoke else range(24)

    sim = subprocess.Popen([sys.executable, str(REPO / "tools" / "binance_sim.py"), "--port", "0",
                            "--now", "2024-03-01T12:00:00Z", "--scale", str(args.scale),
                            "--weight-limit", "1000000"], stdout=subprocess.PIPE, text=True)
    try:
        url = sim.stdout.readline().split()[-1]
        market = binance_sim.Market(seed=1, scale=args.scale)
        day = dt.date.fromisoformat(args.day)
        start = binance_sim.parse_time(args.day)
        bursts = set(market.burst_hours(args.symbol, start - HOUR_US, start + 24 * HOUR_US))
        rows = []
        for h in hours:
            got = {}
            for paging in ("time", "id"):
                _post(url, {"reset_counters": True})
                frame, info = fetch_hour(args.symbol, day, h, base_url=url, paging=paging,
                                         interval_ms=0)
                st = _stats(url)
                assert info["complete"], (h, paging)
                got[paging] = (len(frame), st["data_requests"], dict(st["agg_modes"]),
                               frame["trade_id"].tolist())
            assert got["time"][3] == got["id"][3], h
            n = got["time"][0]
            burst = start + h * HOUR_US in bursts or start + (h - 1) * HOUR_US in bursts
            rows.append((h, n, got["time"][1], got["time"][2].get("fromId", 0), got["id"][1],
                         math.ceil(n / 1000) + 2, burst))
    finally:
        sim.terminate()
        sim.wait()

    lines = [f"{args.symbol} {args.day}, simulator --scale {args.scale:g}, fault-free, over loopback: "
             "data requests per hour counted by the simulator (`/_stats`); both walks return the same "
             "rows and prove every hour complete. The time walk is the default (`endTime` + "
             "`limit=1000` backwards, `fromId` only through a millisecond of more than 1000 trades); "
             "the id walk (`paging=\"id\"`) is the peer.", "",
             "| hour | trades | time walk | of them fromId | id walk | bound ceil(n/1000)+2 | burst |",
             "|---|---|---|---|---|---|---|"]
    for h, n, t, tf, i, bound, burst in rows:
        lines.append(f"| {h:02d} | {n:,} | {t} | {tf} | {i} | {bound} | {'yes' if burst else ''} |")
    tot_n = sum(r[1] for r in rows)
    tot_t = sum(r[2] for r in rows)
    tot_i = sum(r[4] for r in rows)
    over = [r[0] for r in rows if r[2] > r[5] and not r[6]]
    lines.append(f"| all | {tot_n:,} | {tot_t} | {sum(r[3] for r in rows)} | {tot_i} | "
                 f"{sum(r[5] for r in rows)} | {sum(1 for r in rows if r[6])} |")
    lines += ["", f"time walk / id walk = {tot_t / tot_i:.3f}; hours over the bound without a burst: "
              f"{len(over)} {over}"]
    goals = [report.Goal("requests per hour: <= ceil(n/1000) + 2 in every hour without a burst",
                         f"{tot_t} requests for {tot_n:,} trades", f"id walk {tot_i} requests",
                         f"{tot_t / tot_i:.3f}; {len(over)} hours over", not over)]
    report.publish("paging", lines, goals, args.smoke)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
