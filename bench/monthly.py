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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--market", default="cm", choices=("spot", "um", "cm"))
    ap.add_argument("--symbol", default="BTCUSD_240628")
    ap.add_argument("--month", default="2024-01")
    args = ap.parse_args()
    import aggtrades

    y, m = map(int, args.month.split("-"))
    last = {2: 29 if y % 4 == 0 else 28, 4: 30, 6: 30, 9: 30, 11: 30}.get(m, 31)
    sim = subprocess.Popen([sys.executable, str(SIM), "--port", "0", "--now", "2024-07-01T00:00:00Z",
                            "--weight-limit", "1000000", "--futures-weight-limit", "1000000"],
                           stdout=subprocess.PIPE, text=True)
    try:
        url = sim.stdout.readline().split()[-1]
        rows = {}
        print(f"{args.market} {args.symbol} {args.month}: one month into a fresh lake, source auto")
        print(f"{'archive files':<16}{'requests':>10}{'archive':>9}{'rest':>7}{'MB':>8}{'wall s':>9}")
        for monthly in (True, False):
            urllib.request.urlopen(urllib.request.Request(url + "/_control", method="POST",
                                   data=b'{"reset_counters": true}')).read()
            with tempfile.TemporaryDirectory() as root:
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
            print(f"{'monthly' if monthly else 'daily only':<16}{archive + rest:>10}{archive:>9}{rest:>7}"
                  f"{rep.bytes / 1e6:>8.2f}{wall:>9.2f}")
        assert rows[True] == rows[False] and rows[True], "the two lakes differ"
        print(f"same {len(rows[True]):,} trades in both lakes")
    finally:
        sim.terminate()
        sim.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
