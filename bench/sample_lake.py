"""The small lake the read and export benchmarks share (bench/read.py, bench/export.py).

Two symbols, written through the lake's commit API (agt_lake_commit_hour,
no_fsync) with bench/lake.py's BTCUSDT-like generator:

- ``BTCUSDT``: one busy weekday, 2023-01-03, about 1.8 M trades (74,000 a
  mean hour; the busiest real BTCUSDT days hold 1.1-1.9 M);
- ``ETHUSDT``: the month of January 2023 at 10,000 trades a mean hour, about
  7.4 M trades (a quiet month).

``smoke=True`` builds a small version (2,000 trades a mean hour for the day,
500 for one day of the month symbol) for the smoke runs of ``make test``.
Cached in ``bench/out/sample-lake-g<version>[-smoke]`` (or under
``$AGT_BENCH_OUT``); a partial build is finished on the next call.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import lake as LB
import lake_lib as L

VERSION = 1
DAY_SYMBOL, DAY = "BTCUSDT", "2023-01-03"
MONTH_SYMBOL, MONTH = "ETHUSDT", ("2023-01-01", "2023-01-31")
DAY_ROWS_PER_HOUR = 74_000
MONTH_ROWS_PER_HOUR = 10_000


def lake_root(smoke: bool = False) -> Path:
    """Under $AGT_BENCH_OUT if set (the smoke tests use a scratch directory), else bench/out."""
    out = Path(os.environ.get("AGT_BENCH_OUT") or LB.OUT)
    return out / f"sample-lake-g{VERSION}{'-smoke' if smoke else ''}"


def commit_hours(lake, symbol: str, gen, hours, log) -> int:
    """Commit the generator's hours `hours` of `symbol` not yet in the lake; returns the rows."""
    sym = symbol.encode()
    newest = lake.newest(sym)
    rows = 0
    for k in hours:
        h0 = gen.hour_start(k)
        if newest is not None and h0 <= newest[0]:
            continue
        ids, ts, price, qty, ibm = gen.hour(k)
        meta = L.AgtHourMeta(int(ids[0]) - 1, 1, b"rest", h0 + L.US_PER_HOUR + 60 * L.US)
        res = lake.commit_hour(sym, h0, L.trades_view(ids, ts, price, qty, ibm), meta)
        if res.rows != len(ids):
            raise SystemExit(f"{symbol} hour {k}: committed {res.rows} rows, expected {len(ids)}")
        rows += len(ids)
    log(f"  {symbol}: {rows:,} rows committed")
    return rows


def build(smoke: bool = False, log=print) -> tuple[Path, dict]:
    """Build (or reuse) the lake; returns its root and a summary."""
    root = lake_root(smoke)
    info_path = root / "bench-build.json"
    if info_path.exists():
        info = json.loads(info_path.read_text())
        if info.get("done"):
            return root, info
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    log(f"building {root} (commit API, no_fsync)")
    lake = L.Lake(root, write=True, no_fsync=True)
    try:
        day_gen = LB.Generator(2_000 if smoke else DAY_ROWS_PER_HOUR)
        k_day = (LB.utc_us(DAY) - day_gen.year0) // L.US_PER_HOUR
        month_gen = LB.Generator(500 if smoke else MONTH_ROWS_PER_HOUR)
        k0 = (LB.utc_us(MONTH[0]) - month_gen.year0) // L.US_PER_HOUR
        k1 = (LB.utc_us(MONTH[1]) - month_gen.year0) // L.US_PER_HOUR + 24
        if smoke:
            k1 = k0 + 24
        commit_hours(lake, DAY_SYMBOL, day_gen, range(k_day, k_day + 24), log)
        commit_hours(lake, MONTH_SYMBOL, month_gen, range(k0, k1), log)
    finally:
        lake.close()
    day_rows = int(day_gen.counts[k_day:k_day + 24].sum())
    month_rows = int(month_gen.counts[k0:k1].sum())
    info = {"done": True, "build_s": time.perf_counter() - t0, "day_rows": day_rows,
            "month_rows": month_rows, "month_end": MONTH[0] if smoke else MONTH[1]}
    info_path.write_text(json.dumps(info, indent=1))
    log(f"built in {info['build_s']:.0f} s: {day_rows:,} + {month_rows:,} rows")
    return root, info
