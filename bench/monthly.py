"""Benchmark: a month's backfill from the monthly archive file against the daily files.

Downloads one calendar month of one symbol into a fresh lake through the
library's engine (``aggtrades.download``, source auto) against
``tools/binance_sim.py`` over loopback, twice: with the monthly file
(``monthly=True``, the default) and with the daily files only
(``monthly=False``). Prints the HTTP requests each sent (archive and REST,
from the simulator's ``/_stats``), the bytes received, and the wall time;
both lakes are checked to hold the same trades.

Usage::

    PYTHONPATH=python AGT_LIB=build/libaggtrades.so \\
        .venv/bin/python bench/monthly.py [--market cm] [--symbol BTCUSD_240628] [--month 2024-01]
            [--scale 1] [--smoke]

Goal: fewer requests than the daily files (each request costs a round trip
and, on futures, REST weight). ``--smoke``: the same month at scale 0.02,
the lakes in /dev/shm when there is one (the 2 x 744 hour commits' fsyncs
would take most of a minute on disk).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIM = REPO / "tools" / "binance_sim.py"
sys.path.insert(0, str(REPO / "bench"))
import report  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--market", default="cm", choices=("spot", "um", "cm"))
    ap.add_argument("--symbol", default="BTCUSD_240628")
    ap.add_argument("--month", default="2024-01")
    ap.add_argument("--scale", type=float, default=1.0, help="simulator --scale")
    ap.add_argument("--smoke", action="store_true", help="the month at scale 0.02")
    args = ap.parse_args()
    if args.smoke:
        args.scale = 0.02
    import aggtrades

    y, m = map(int, args.month.split("-"))
    last = {2: 29 if y % 4 == 0 else 28, 4: 30, 6: 30, 9: 30, 11: 30}.get(m, 31)
    sim = subprocess.Popen([sys.executable, str(SIM), "--port", "0", "--now", "2024-07-01T00:00:00Z",
                            "--weight-limit", "1000000", "--futures-weight-limit", "1000000",
                            "--scale", str(args.scale)],
                           stdout=subprocess.PIPE, text=True)
    try:
        url = sim.stdout.readline().split()[-1]
        rows, req_total = {}, {}
        lines = [f"{args.market} {args.symbol} {args.month}, simulator --scale {args.scale:g}: one calendar "
                 "month into a fresh lake by the library's engine (`aggtrades.download`, source auto) over "
                 "loopback, with the monthly archive file (the default) and with the daily files only "
                 "(`monthly=False`); requests counted by the simulator (`/_stats`).", "",
                 "| archive files | requests | archive | rest | MB received | wall s |",
                 "|---|---:|---:|---:|---:|---:|"]
        for monthly in (True, False):
            urllib.request.urlopen(urllib.request.Request(url + "/_control", method="POST",
                                   data=b'{"reset_counters": true}')).read()
            shm = "/dev/shm" if args.smoke and Path("/dev/shm").is_dir() else None
            with tempfile.TemporaryDirectory(dir=shm) as root:
                t0 = time.perf_counter()
                rep = aggtrades.download(root, args.symbol, f"{args.month}-01", f"{args.month}-{last}",
                                         market=args.market, api_url=url, archive_url=url,
                                         interval_ms=0, monthly=monthly, progress=lambda ev: None)
                wall = time.perf_counter() - t0
                assert rep.status == "AGT_OK", rep
                df = aggtrades.read_trades(root, args.symbol, f"{args.month}-01", f"{args.month}-{last}",
                                           market=args.market)
                rows[monthly] = df["trade_id"].tolist()
            st = json.loads(urllib.request.urlopen(url + "/_stats").read())
            req = st["requests"]
            archive = sum(n for p, n in req.items() if p.startswith("/data/"))
            rest = sum(n for p, n in req.items() if not p.startswith("/data/") and not p.startswith("/_"))
            req_total[monthly] = archive + rest
            lines.append(f"| {'monthly' if monthly else 'daily only'} | {archive + rest} | {archive} | {rest} | "
                         f"{rep.bytes / 1e6:.2f} | {wall:.2f} |")
        if rows[True] != rows[False] or not rows[True]:
            print("MISMATCH: the two lakes hold different trades", file=sys.stderr)
            return 1
        lines += ["", f"Same {len(rows[True]):,} trades in both lakes."]
    finally:
        sim.terminate()
        sim.wait()
    goals = [report.Goal("a month's backfill: fewer requests with the monthly file than with daily files",
                         f"{req_total[True]} requests", f"daily files only {req_total[False]} requests",
                         f"{req_total[True] / req_total[False]:.3f}", req_total[True] < req_total[False])]
    report.publish("monthly", lines, goals, args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
