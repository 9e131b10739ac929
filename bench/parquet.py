"""Parquet benchmark: our C writer/reader against pyarrow and DuckDB on the same trades.

    AGT_TESTING_LIB=build-release/libaggtrades_testing.so .venv/bin/python bench/parquet.py \
        [--rows N] [--hour-rows N] [--reps N] [--smoke]

Data sets: simulator-like synthetic trades (prices on a 0.01 tick grid doing a
random walk, exponential quantities on a 1e-5 grid, ids consecutive, µs
timestamps with exponential gaps spanning ~0.9 h), at --rows (default 1M, a
stress case: a real hour holds at most ~500k rows) and at --hour-rows
(default 60k, a typical hour), and the genuine BTCUSDT archive excerpt in
/work/shared/realdata. For each writer: rows/s written (to a file), rows/s
read back (whole table into memory), bytes per trade, and ratios against
pyarrow's default ZSTD. Best of --reps runs (default 5). Goals, judged on
the typical hour: read at least as fast as pyarrow, files at most 0.8x
pyarrow's default. ``--smoke``: 20,000 and 5,000 rows, one run.

What "read" measures:
  ours (warm)  agt_pq_open + agt_pq_read_trades into an agt_trades that is
               reused between runs (emptied, capacity kept), + close.
  ours (cold)  the same into a fresh agt_trades each run (glibc malloc:
               the 33 MB of a 1M-row output is new memory every time, so
               ~40 % of the time goes to kernel page faults zeroing it).
  pyarrow      pq.read_table (multi-threaded; single-threaded on its own
               line). Its arrays come from pyarrow's default memory pool
               (mimalloc), which keeps freed pages mapped, so from the second
               run on its output memory is warm too: "warm" is the like-for-
               like comparison; the read × column uses it.
Our bloom filter's size and false-positive rate (exact model, see
src/parquet/bloom.c) are printed under each table.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402

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


REPS = 5


def best(fn, reps=None):
    return min(_time(fn) for _ in range(reps or REPS))


def _time(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def ours_write(tab, path):
    data = T.write_trades(*tab)
    with open(path, "wb") as f:
        f.write(data)


class OursReader:
    """Read a whole trade file with our reader; warm=True reuses the output between calls."""

    def __init__(self, warm):
        self.warm = warm
        self.t = T.Trades()
        T.lib.agt_trades_init(C.byref(self.t))

    def __call__(self, path):
        f, e = C.c_void_p(), T.Err()
        assert T.lib.agt_pq_open(path.encode(), C.byref(f), C.byref(e)) == 0, e.message
        if self.warm:
            self.t.len = 0
        else:
            T.lib.agt_trades_release(C.byref(self.t))
            T.lib.agt_trades_init(C.byref(self.t))
        assert T.lib.agt_pq_read_trades(f, -(2**63), 2**63 - 1, 0x1F, C.byref(self.t), C.byref(e)) == 0, e.message
        T.lib.agt_pq_close(f)
        return self.t.len

    def __del__(self):
        T.lib.agt_trades_release(C.byref(self.t))


def bloom_line(path, n):
    import duckdb
    ln = duckdb.execute(f"select bloom_filter_length from parquet_metadata('{path}') "
                        "where path_in_schema = 'trade_id'").fetchone()[0]
    if not ln:
        return "no bloom filter"
    nbytes = 1 << (int(ln).bit_length() - 1)  # header is a few bytes; bitset is a power of two
    lam = n / (nbytes / 32)
    # exact split-block rate: sum over Poisson(lam) block loads k of (1 - (31/32)^k)^8
    from math import exp, lgamma, log
    fpp = sum(exp(k * log(lam) - lam - lgamma(k + 1)) * (1 - (31 / 32) ** k) ** 8
              for k in range(0, int(lam * 3 + 60)))
    return (f"bloom filter on trade_id: {nbytes:,} bytes = {nbytes / n:.3f} B/trade, "
            f"{8 * nbytes / n:.1f} bits/id, false-positive rate {100 * fpp:.2f} %")


def run(label, tab, tmp):
    n = len(tab[0])
    table = T.pyarrow_trades_table(tab)
    import duckdb
    con = duckdb.connect()
    con.register("t", table)
    writers = {
        "aggtrades (writer defaults, bloom 1 %)": lambda p: ours_write(tab, p),
        "pyarrow default zstd": lambda p: pq.write_table(table, p, compression="zstd"),
        "pyarrow best (dict+delta, zstd 9)": lambda p: pq.write_table(
            table, p, compression="zstd", compression_level=9, use_dictionary=["price", "quantity"],
            column_encoding={"trade_id": "DELTA_BINARY_PACKED", "timestamp": "DELTA_BINARY_PACKED",
                             "is_buyer_maker": "PLAIN"}),
        "duckdb COPY zstd": lambda p: con.execute(
            f"COPY t TO '{p}' (FORMAT parquet, COMPRESSION zstd)"),
    }
    rows = []
    for name, w in writers.items():
        p = os.path.join(tmp, name.split()[0] + str(abs(hash(name))) + ".parquet")
        tw = best(lambda: w(p))
        size = os.path.getsize(p)
        extra = []
        if name.startswith("aggtrades"):
            ours_path = p
            warm, cold = OursReader(True), OursReader(False)
            tr = best(lambda: warm(p))
            extra.append(("  (ours, cold: fresh output each run)", n / best(lambda: cold(p))))
        elif name.startswith("duckdb"):
            tr = best(lambda: con.sql(f"select * from read_parquet('{p}')").to_arrow_table())
        else:
            tr = best(lambda: pq.read_table(p))
            if name.startswith("pyarrow default"):
                extra.append(("  (pyarrow read, use_threads=False)",
                              n / best(lambda: pq.read_table(p, use_threads=False))))
        rows.append((name, n / tw, n / tr, size / n, extra))
    base = rows[1]
    lines = [f"{label}: {n:,} trades", "",
             "| writer | write Mrows/s | read Mrows/s | B/trade | size x | write x | read x |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, w, r, b, extra in rows:
        lines.append(f"| {name} | {w / 1e6:.2f} | {r / 1e6:.2f} | {b:.3f} | {b / base[3]:.2f} | "
                     f"{w / base[1]:.2f} | {r / base[2]:.2f} |")
        for lab, r1 in extra:
            lines.append(f"| {lab.strip()} | | {r1 / 1e6:.2f} | | | | {r1 / base[2]:.2f} |")
    lines += ["", bloom_line(ours_path, n), ""]
    return lines, rows


def main():
    global REPS
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--hour-rows", type=int, default=60_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help="20,000 and 5,000 rows, one run")
    a = ap.parse_args()
    if a.smoke:
        a.rows, a.hour_rows, a.reps = 20_000, 5_000, 1
    REPS = a.reps
    lines = ["Ratios against pyarrow `compression=\"zstd\"` (its level 1, dictionary on every column). "
             f"Best of {REPS} runs. Write = encode + write file; read = the whole table into memory "
             "(ours warm: into an output reused between runs, as pyarrow's memory pool is; cold: a fresh "
             "output each run).", ""]
    with tempfile.TemporaryDirectory() as tmp:
        text, _ = run("synthetic (tick grid), stress size", synthetic(a.rows), tmp)
        lines += text
        text, hour = run("synthetic (tick grid), a typical hour", synthetic(a.hour_rows), tmp)
        lines += text
        text, _ = run("real BTCUSDT 2026-01-01 excerpt", real(), tmp)
        lines += text
    ours, default = hour[0], hour[1]
    pyarrow_peers = f"pyarrow default {default[2] / 1e6:.2f} Mrows/s, best {hour[2][2] / 1e6:.2f}, DuckDB {hour[3][2] / 1e6:.2f}"
    goals = [
        report.Goal(f"Parquet read of a {a.hour_rows:,}-row hour: >= pyarrow", f"{ours[2] / 1e6:.2f} Mrows/s",
                    pyarrow_peers, f"{ours[2] / default[2]:.2f}x", ours[2] >= default[2]),
        report.Goal(f"Parquet file of a {a.hour_rows:,}-row hour: <= 0.8x pyarrow default",
                    f"{ours[3]:.3f} B/trade",
                    f"pyarrow default {default[3]:.3f}, best {hour[2][3]:.3f}, DuckDB {hour[3][3]:.3f}",
                    f"{ours[3] / default[3]:.2f}", ours[3] <= 0.8 * default[3]),
    ]
    report.publish("parquet", lines, goals, a.smoke)


if __name__ == "__main__":
    main()
