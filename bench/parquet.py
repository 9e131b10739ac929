"""Parquet benchmark: our C writer/reader against pyarrow and DuckDB on the same trades.

    AGT_LIB=build/libaggtrades.so .venv/bin/python bench/parquet.py [--rows N]

Data sets: simulator-like synthetic trades (prices on a 0.01 tick grid doing a
random walk, exponential quantities on a 1e-5 grid, ids consecutive, µs
timestamps with exponential gaps), and the genuine BTCUSDT archive excerpt in
/work/shared/realdata. For each writer: rows/s written (to a file), rows/s
read back (whole table into memory), bytes per trade, and ratios against
pyarrow's default ZSTD. Best of 3 runs.
"""
import argparse
import ctypes as C
import os
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import test_parquet_interop as T  # noqa: E402  (ctypes bindings of our library)

T.lib.agt_pq_open.argtypes = [C.c_char_p, C.POINTER(C.c_void_p), C.POINTER(T.Err)]

REAL = "/work/shared/realdata/BTCUSDT-aggTrades-2026-01-01.csv"


def synthetic(n, seed=1):
    rng = np.random.default_rng(seed)
    ids = np.arange(3_800_000_000, 3_800_000_000 + n, dtype=np.int64)
    ts = 1767225600_000_000 + np.cumsum(rng.exponential(3600e6 / n * 0.9, n)).astype(np.int64)
    ticks = 8_700_000 + np.cumsum(rng.choice([-1, 0, 0, 0, 1], n, p=[.15, .25, .2, .25, .15]))
    price = ticks / 100.0
    qty = np.maximum(np.round(rng.exponential(0.02, n) * 1e5), 1) / 1e5
    maker = (rng.random(n) < 0.5).astype(np.uint8)
    return ids, ts, price, qty, maker


def real():
    import pandas as pd
    df = pd.read_csv(REAL, header=None)
    return (df[0].to_numpy(np.int64), df[5].to_numpy(np.int64), df[1].to_numpy(np.float64),
            df[2].to_numpy(np.float64), df[6].astype(bool).to_numpy(np.uint8))


def best(fn, reps=3):
    t = min(_time(fn) for _ in range(reps))
    return t


def _time(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def ours_write(tab, path):
    data = T.write_trades(*tab)
    with open(path, "wb") as f:
        f.write(data)


def ours_read(path):
    f, e = C.c_void_p(), T.Err()
    assert T.lib.agt_pq_open(path.encode(), C.byref(f), C.byref(e)) == 0, e.message
    t = T.Trades()
    T.lib.agt_trades_init(C.byref(t))
    assert T.lib.agt_pq_read_trades(f, -(2**63), 2**63 - 1, 0x1F, C.byref(t), C.byref(e)) == 0, e.message
    n = t.len
    T.lib.agt_trades_release(C.byref(t))
    T.lib.agt_pq_close(f)
    return n


def run(label, tab, tmp):
    n = len(tab[0])
    table = T.pyarrow_trades_table(tab)
    import duckdb
    con = duckdb.connect()
    con.register("t", table)
    writers = {
        "aggtrades (zstd 3)": lambda p: ours_write(tab, p),
        "pyarrow default zstd": lambda p: pq.write_table(table, p, compression="zstd"),
        "pyarrow best (dict+delta, zstd 9)": lambda p: pq.write_table(
            table, p, compression="zstd", compression_level=9, use_dictionary=["price", "quantity"],
            column_encoding={"trade_id": "DELTA_BINARY_PACKED", "timestamp": "DELTA_BINARY_PACKED",
                             "is_buyer_maker": "PLAIN"}),
        "duckdb COPY zstd": lambda p: con.execute(
            f"COPY t TO '{p}' (FORMAT parquet, COMPRESSION zstd)"),
    }
    readers = {
        "aggtrades (zstd 3)": ours_read,
    }
    rows = []
    for name, w in writers.items():
        p = os.path.join(tmp, name.split()[0] + str(abs(hash(name))) + ".parquet")
        tw = best(lambda: w(p))
        size = os.path.getsize(p)
        if name in readers:
            tr = best(lambda: readers[name](p))
        elif name.startswith("duckdb"):
            tr = best(lambda: con.execute(f"select * from read_parquet('{p}')").to_arrow_table())
        else:
            tr = best(lambda: pq.read_table(p))
        tr1 = best(lambda: pq.read_table(p, use_threads=False)) if name.startswith("pyarrow default") else None
        rows.append((name, n / tw, n / tr, size / n, tr1 and n / tr1))
    base = rows[1]
    print(f"\n{label}: {n:,} trades")
    print(f"{'writer':36} {'write Mrows/s':>13} {'read Mrows/s':>13} {'B/trade':>8} "
          f"{'size x':>7} {'write x':>8} {'read x':>7}")
    for name, w, r, b, r1 in rows:
        print(f"{name:36} {w / 1e6:13.2f} {r / 1e6:13.2f} {b:8.3f} {b / base[3]:7.2f} "
              f"{w / base[1]:8.2f} {r / base[2]:7.2f}")
        if r1:
            print(f"{'  (pyarrow read, use_threads=False)':36} {'':13} {r1 / 1e6:13.2f}")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("synthetic (tick grid)", synthetic(a.rows), tmp)
        run("real BTCUSDT 2026-01-01 excerpt", real(), tmp)


if __name__ == "__main__":
    main()
