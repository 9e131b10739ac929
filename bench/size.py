#!/usr/bin/env python3
"""Bytes per trade of the lake's data files against pyarrow and DuckDB writing the same hours.

Commits hours of bench/sample_lake.py's generator into a fresh scratch lake
with the library as built (so the writer measured is the current one): the
busy BTCUSDT day (24 hours, ~1.9 M trades) and the first week of the quiet
ETHUSDT month (168 hours, ~1.7 M). Then every hour file is read back with
pyarrow and written again, one file per hour as the lake does, by:

- pyarrow, default ``compression="zstd"``;
- pyarrow "best": dictionary for price and quantity, DELTA_BINARY_PACKED for
  trade_id and timestamp, PLAIN booleans, ZSTD level 9;
- DuckDB ``COPY ... (FORMAT parquet, COMPRESSION zstd)``.

Each rewrite is read back and checked equal to our file's rows. Reports
bytes per trade of each and our bloom filter's share. Goal (issue 12): our
data files at most the size of pyarrow best.

    .venv/bin/python bench/size.py [--smoke]
"""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lake as LB  # noqa: E402
import lake_lib as L  # noqa: E402
import report  # noqa: E402
import sample_lake as S  # noqa: E402

COLS = ["trade_id", "timestamp", "price", "quantity", "is_buyer_maker"]


def build(root: Path, smoke: bool) -> None:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    lake = L.Lake(root, write=True, no_fsync=True)
    try:
        day = LB.Generator(S.DAY_ROWS_PER_HOUR)
        k = (LB.utc_us(S.DAY) - day.year0) // L.US_PER_HOUR
        S.commit_hours(lake, S.DAY_SYMBOL, day, range(k, k + (2 if smoke else 24)), print)
        month = LB.Generator(S.MONTH_ROWS_PER_HOUR)
        k = (LB.utc_us(S.MONTH[0]) - month.year0) // L.US_PER_HOUR
        S.commit_hours(lake, S.MONTH_SYMBOL, month, range(k, k + (2 if smoke else 168)), print)
    finally:
        lake.close()


def main(argv=None) -> int:
    a = report.args(__doc__, 1, argv)
    import duckdb
    import pyarrow.parquet as pq

    machine = report.machine()
    root = Path(S.lake_root(a.smoke)).parent / f"size-lake{'-smoke' if a.smoke else ''}"
    build(root, a.smoke)
    con = duckdb.connect()
    total = {"aggtrades": 0, "pyarrow default zstd": 0, "pyarrow best (dict + delta + zstd 9)": 0,
             "DuckDB COPY zstd": 0}
    bloom, rows, files = 0, 0, sorted(root.glob("symbol=*/**/*.parquet"))
    scratch = root / "rewrite.parquet"
    for f in files:
        t = pq.read_table(f).select(COLS)
        rows += t.num_rows
        total["aggtrades"] += f.stat().st_size
        bloom += con.sql(f"SELECT bloom_filter_length FROM parquet_metadata('{f}') "
                         f"WHERE path_in_schema = 'trade_id'").fetchall()[0][0] or 0
        writers = {
            "pyarrow default zstd": lambda p: pq.write_table(t, p, compression="zstd"),
            "pyarrow best (dict + delta + zstd 9)": lambda p: pq.write_table(
                t, p, compression="zstd", compression_level=9, use_dictionary=["price", "quantity"],
                column_encoding={"trade_id": "DELTA_BINARY_PACKED", "timestamp": "DELTA_BINARY_PACKED",
                                 "is_buyer_maker": "PLAIN"}),
            "DuckDB COPY zstd": lambda p: con.sql(
                f"COPY (SELECT * FROM read_parquet('{f}')) TO '{p}' (FORMAT parquet, COMPRESSION zstd)"),
        }
        for name, write in writers.items():
            write(str(scratch))
            if not pq.read_table(scratch).select(COLS).equals(t):
                print(f"MISMATCH: {name} rewrote {f} with other rows", file=sys.stderr)
                return 1
            total[name] += scratch.stat().st_size
    scratch.unlink(missing_ok=True)
    best = total["pyarrow best (dict + delta + zstd 9)"]
    lines = [
        f"Release build. {len(files)} hour "
        f"files, {rows:,} trades: the busy {S.DAY_SYMBOL} day of bench/sample_lake.py and the first "
        f"week of its {S.MONTH_SYMBOL} month, committed through the lake; each file rewritten by the "
        f"others one file per hour, read back and compared. Machine: {machine}; {report.versions()}.",
        "",
        "| writer | bytes | bytes / trade | / pyarrow best | goal |",
        "|---|---:|---:|---:|---|",
    ]
    for name, v in total.items():
        goal = ("≤ 1.00: " + report.verdict(v <= best)) if name == "aggtrades" else ""
        lines.append(f"| {name} | {v:,} | {v / rows:.3f} | {v / best:.3f} | {goal} |")
    lines += ["", f"Our bloom filters on trade_id: {bloom:,} bytes, {bloom / rows:.3f} byte a trade "
              f"({8 * bloom / rows:.2f} bits an id); without them our files would be "
              f"{(total['aggtrades'] - bloom) / best:.3f} of pyarrow best."]
    ours = total["aggtrades"]
    goals = [report.Goal("data-file size: <= pyarrow best (dict + delta + zstd 9) on the same hours",
                         f"{ours / rows:.3f} B/trade",
                         ", ".join(f"{k} {v / rows:.3f}" for k, v in total.items() if k != "aggtrades"),
                         f"{ours / best:.3f}", ours <= best)]
    report.publish("size", lines, goals, a.smoke)
    shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
