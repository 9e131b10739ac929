#!/usr/bin/env python3
"""Exporting a range as CSV and JSON: ``aggtrades query --output csv|json`` against DuckDB's ``COPY ... TO``.

On the lake of bench/sample_lake.py, both write the month of ETHUSDT (~7.4 M
trades) and the busy BTCUSDT day (~1.9 M) to a file in /dev/shm-like scratch
space (``bench/out/export``): ours as a child process
(``aggtrades --root R query SYMBOL --start A --end B --output FMT > F``,
CPU = user + system of the child), DuckDB in this process
(``COPY (SELECT ... FROM read_parquet(hive) WHERE <time> AND <partitions>
[ORDER BY timestamp, trade_id]) TO F (FORMAT csv|json)``, CPU =
``process_time`` of this process, both of its threads). Ours writes the rows in
time order; DuckDB is timed both with the ORDER BY that gives the same order
and without it (its cheapest). Before timing, both files are read back with
pyarrow and compared column by column (same rows, same values: the
exchange's decimals print exactly in both).

Goal (issue 12): at least 3x faster than DuckDB (CPU and wall).

    .venv/bin/python bench/export.py [--runs 5] [--smoke]
"""

from __future__ import annotations

import io
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402
import sample_lake as S  # noqa: E402

COLS = "trade_id, timestamp, price, quantity, is_buyer_maker"


def ours(root: Path, symbol: str, first: str, last: str, fmt: str, out: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one `aggtrades query` child writing `out`."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    with open(out, "wb") as f:  # stdout to the file, as `> out.csv` (--file would add an fsync)
        subprocess.run([str(report.binary()), "--root", str(root), "query", symbol, "--start", first, "--end",
                        last, "--output", fmt], check=True, stdout=f)
    wall = time.perf_counter() - w0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


class Duck:
    def __init__(self, root: Path, symbol: str, first: str, last: str):
        import duckdb
        import pandas as pd

        self.con = duckdb.connect()
        self.con.sql("SET TimeZone='UTC'")
        lo = pd.Timestamp(first, tz="UTC")
        hi = pd.Timestamp(last, tz="UTC") + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        days = pd.date_range(lo.normalize(), hi.normalize(), freq="D")
        part = " OR ".join(f"(year={d.year} AND month={d.month} AND day={d.day})" for d in days)
        self.select = (f"SELECT {COLS} FROM read_parquet('{root}/symbol={symbol}/**/*.parquet', "
                       f"hive_partitioning=true) WHERE timestamp BETWEEN TIMESTAMPTZ '{lo}' AND "
                       f"TIMESTAMPTZ '{hi}' AND ({part})")

    def copy(self, fmt: str, out: Path, ordered: bool) -> tuple[float, float]:
        q = self.select + (" ORDER BY timestamp, trade_id" if ordered else "")
        opts = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT json"
        c0, w0 = time.process_time(), time.perf_counter()
        self.con.sql(f"COPY ({q}) TO '{out}' ({opts})")
        return time.perf_counter() - w0, time.process_time() - c0


def _table(path: Path, fmt: str, ours_json: bool):
    """A written file as an Arrow table with the five columns in time order."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.json as pjson

    if fmt == "csv":
        t = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types={
            "trade_id": pa.int64(), "price": pa.float64(), "quantity": pa.float64(),
            "is_buyer_maker": pa.bool_(), "timestamp": pa.timestamp("us", tz="UTC")}))
    else:
        data = path.read_bytes()
        if ours_json:  # one JSON array, one object a line: as JSON lines
            data = data.strip()[1:-1].replace(b"},\n", b"}\n").strip() + b"\n"
        t = pjson.read_json(io.BytesIO(data))
        ts = t.column("timestamp")
        ts = pc.cast(ts if pa.types.is_timestamp(ts.type) else pc.cast(ts, pa.string()),
                     pa.timestamp("us", tz="UTC"))
        t = t.set_column(t.schema.get_field_index("timestamp"), "timestamp", ts)
    t = t.select(["trade_id", "timestamp", "price", "quantity", "is_buyer_maker"])
    return t.sort_by([("timestamp", "ascending"), ("trade_id", "ascending")])


def same(a: Path, b: Path, fmt: str) -> bool:
    x, y = _table(a, fmt, True), _table(b, fmt, False)
    if x.num_rows != y.num_rows:
        return False
    for c in x.column_names:
        u, v = x.column(c).combine_chunks(), y.column(c).combine_chunks()
        if c == "timestamp":
            u, v = u.cast("int64"), v.cast("int64")
        if not np.array_equal(u.to_numpy(zero_copy_only=False), v.to_numpy(zero_copy_only=False)):
            return False
    return True


def main(argv=None) -> int:
    a = report.args(__doc__, 5, argv)
    runs = a.runs
    root, info = S.build(a.smoke)
    machine = report.machine()
    scratch = root.parent / "export"
    scratch.mkdir(exist_ok=True)
    cases = [("month", S.MONTH_SYMBOL, S.MONTH[0], info["month_end"], info["month_rows"]),
             ("busy day", S.DAY_SYMBOL, S.DAY, S.DAY, info["day_rows"])]
    results = []
    for label, sym, first, last, n in cases:
        duck = Duck(root, sym, first, last)
        for fmt in ("csv", "json"):
            mine, theirs = scratch / f"ours.{fmt}", scratch / f"duck.{fmt}"
            ours(root, sym, first, last, fmt, mine)
            duck.copy(fmt, theirs, True)
            if not same(mine, theirs, fmt):
                print(f"MISMATCH: {label} {fmt}: aggtrades and DuckDB wrote different rows", file=sys.stderr)
                return 1
            t = {"aggtrades": [], "duckdb ordered": [], "duckdb": []}
            for _ in range(runs):  # interleaved
                t["aggtrades"].append(ours(root, sym, first, last, fmt, mine))
                t["duckdb ordered"].append(duck.copy(fmt, theirs, True))
                t["duckdb"].append(duck.copy(fmt, theirs, False))
            med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in t.items()}
            size = mine.stat().st_size
            results.append((label, fmt, n, size, med))
            print(f"{label} {fmt} ({n:,} rows, {size / 2**20:.0f} MiB): " + ", ".join(
                f"{k} {report.ms(w)} ms (cpu {report.ms(c)})" for k, (w, c) in med.items()), flush=True)
        duck.con.close()
    for p in scratch.iterdir():
        p.unlink()

    lines = [
        "Release build `build-release/aggtrades`; lake of bench/sample_lake.py.",
        f"Machine: {machine}; {report.versions()}. Medians of {runs} interleaved runs, files in the "
        "page cache, output to a file on the same disk. Ours is a child process (its CPU = user + "
        "system of the child, start-up included); DuckDB runs in this process with 2 threads (CPU of "
        "both). Both files are read back and compared before timing.",
        "",
        "| workload | rows | aggtrades ms (cpu) | DuckDB ORDER BY ms (cpu) | DuckDB unordered ms (cpu) | "
        "DuckDB / ours, wall | DuckDB / ours, cpu | goal ≥ 3x (cpu, unordered DuckDB) |",
        "|---|---:|---:|---:|---:|---|---|---|",
    ]
    for label, fmt, n, size, med in results:
        (ow, oc), (dw, dc), (uw, uc) = med["aggtrades"], med["duckdb ordered"], med["duckdb"]
        lines.append(
            f"| {label} to {fmt.upper()} ({size / 2**20:.0f} MiB) | {n:,} | {report.ms(ow)} ({report.ms(oc)}) | "
            f"{report.ms(dw)} ({report.ms(dc)}) | {report.ms(uw)} ({report.ms(uc)}) | "
            f"ordered {dw / ow:.2f}x, unordered {uw / ow:.2f}x | ordered {dc / oc:.2f}x, unordered {uc / oc:.2f}x | "
            f"{report.verdict(uc / oc >= 3)} |")
    goals = []
    for label, fmt, n, size, med in results:
        (ow, oc), (dw, dc), (uw, uc) = med["aggtrades"], med["duckdb ordered"], med["duckdb"]
        goals.append(report.Goal(f"{label} to {fmt.upper()}: >= 3x DuckDB COPY (CPU)", f"{report.ms(oc)} ms CPU",
                                 f"DuckDB {report.ms(uc)} ms CPU, ORDER BY {report.ms(dc)} ms CPU",
                                 f"{uc / oc:.2f}x", uc / oc >= 3))
    report.publish("export", lines, goals, a.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
