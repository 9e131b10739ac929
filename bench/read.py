#!/usr/bin/env python3
"""Reading a range into a dataframe: ``read_trades`` against pyarrow, DuckDB and polars.

On the lake of bench/sample_lake.py (a busy BTCUSDT day of ~1.9 M trades
and a quiet ETHUSDT month of ~7.4 M), every engine reads the same files and
the same range; the rows are checked equal before anything is timed:

- a busy day into pandas: ``aggtrades.read_trades``; pyarrow
  ``dataset(...).to_table(filter).to_pandas()`` (with the day's partition
  predicates, its best case); DuckDB ``read_parquet(hive) ... .df()``;
  polars ``scan_parquet(hive).filter().collect().to_pandas()``;
- the same day as an Arrow table (``read_trades_arrow`` against pyarrow's
  ``to_table`` and DuckDB's ``.arrow()``) and as a polars frame
  (``read_trades_polars`` against polars' ``collect()``);
- two columns (timestamp, price) of the day into pandas;
- peak memory of reading 1 day, 1 week and the month into pandas, each
  engine in a fresh child process: the growth of the peak RSS (VmHWM, reset just before)
  during the call, divided by the size of the frame it returns; with the time of that
  call, each engine's first (its allocator holds no memory yet: every page of the result
  is faulted in fresh), one sample each.

Times are medians of interleaved runs (see report.py), wall and CPU; the memory
table adds each engine's first call in a fresh process.
Goals (issue 12): into pandas at least 2x faster than pyarrow (wall), peak
memory at most 1.5x the result.

    .venv/bin/python bench/read.py [--runs 7] [--smoke]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402
import sample_lake as S  # noqa: E402

COLS = ["trade_id", "timestamp", "price", "quantity", "is_buyer_maker"]


class Peers:
    """The other engines over one symbol of the lake, for one whole UTC day range."""

    def __init__(self, root: Path, symbol: str, first: str, last: str):
        import duckdb
        import pandas as pd
        import polars as pl
        import pyarrow as pa
        import pyarrow.dataset as ds

        self.pl, self.ds = pl, ds
        lo = pd.Timestamp(first, tz="UTC")
        hi = pd.Timestamp(last, tz="UTC") + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        days = pd.date_range(lo.normalize(), hi.normalize(), freq="D")
        t = pa.timestamp("us", tz="UTC")
        part = None
        for d in days:
            c = (ds.field("year") == d.year) & (ds.field("month") == d.month) & (ds.field("day") == d.day)
            part = c if part is None else part | c
        self.dataset = ds.dataset(root / f"symbol={symbol}", format="parquet", partitioning="hive")
        self.filter = ((ds.field("timestamp") >= pa.scalar(lo.value // 1000, t))
                       & (ds.field("timestamp") <= pa.scalar(hi.value // 1000, t)) & part)
        self.con = duckdb.connect()
        self.con.sql("SET TimeZone='UTC'")
        dpart = " OR ".join(f"(year={d.year} AND month={d.month} AND day={d.day})" for d in days)
        self.sql = (f"SELECT {{cols}} FROM read_parquet('{root}/symbol={symbol}/**/*.parquet', "
                    f"hive_partitioning=true) WHERE timestamp BETWEEN TIMESTAMPTZ '{lo}' AND "
                    f"TIMESTAMPTZ '{hi}' AND ({dpart}) ORDER BY timestamp, trade_id")
        self.scan = pl.scan_parquet(str(root / f"symbol={symbol}" / "**" / "*.parquet"),
                                    hive_partitioning=True).filter(
            pl.col("timestamp").is_between(lo.to_pydatetime(), hi.to_pydatetime()))

    def arrow(self, cols=COLS):
        return self.dataset.to_table(columns=cols, filter=self.filter)

    def duck_arrow(self, cols=COLS):
        return self.con.sql(self.sql.format(cols=", ".join(cols))).to_arrow_table()

    def duck_pandas(self, cols=COLS):
        return self.con.sql(self.sql.format(cols=", ".join(cols))).df()

    def polars(self, cols=COLS):
        return self.scan.select(cols).collect()


def _us(ts) -> np.ndarray:
    """Any engine's timestamp column as int64 µs."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(ts, (pa.ChunkedArray, pa.Array)):
        ts = ts.to_pandas()
    s = pd.Series(ts)
    return (s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
            .astype("int64").to_numpy())


def _rows(df) -> dict:
    """Comparable columns of a pandas / Arrow / polars result, sorted by (timestamp, id)."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        df = df.to_pandas()
    d = {c: (df[c].to_numpy() if c != "timestamp" else _us(df[c])) for c in df.columns if c in COLS}
    o = np.lexsort((d["trade_id"], d["timestamp"])) if "trade_id" in d else np.argsort(d["timestamp"], kind="stable")
    return {c: np.asarray(v)[o] for c, v in d.items()}


def _same(a, b) -> bool:
    x, y = _rows(a), _rows(b)
    return x.keys() == y.keys() and all(np.array_equal(x[c], y[c]) for c in x)


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/self/status")


def _reset_peak() -> int:
    """Reset the peak RSS (VmHWM) to the current RSS and return it, KiB. (ru_maxrss
    cannot be used: Linux keeps it across exec, so a child inherits its parent's peak.)"""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS")


def memory_child(root: str, engine: str, symbol: str, first: str, last: str) -> dict:
    """In a fresh process: peak RSS growth of one read into pandas, and the frame's size."""
    import pandas  # noqa: F401  (imports first: only the read is measured)
    import pyarrow.dataset  # noqa: F401
    from aggtrades import read_trades

    peers = Peers(Path(root), symbol, first, last) if engine != "aggtrades" else None
    base = _reset_peak()
    c0, w0 = time.process_time(), time.perf_counter()
    if engine == "aggtrades":
        df = read_trades(root, symbol, first, last)
    elif engine == "pyarrow":
        df = peers.arrow().to_pandas()
    elif engine == "duckdb":
        df = peers.duck_pandas()
    else:
        df = peers.polars().to_pandas()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    peak = _status_kib("VmHWM")
    return {"rows": len(df), "frame_bytes": int(df.memory_usage(deep=True).sum()),
            "growth_bytes": (peak - base) * 1024, "first_call_wall": wall, "first_call_cpu": cpu}


def memory(root: Path, symbol: str, first: str, last: str) -> dict:
    out = {}
    for engine in ("aggtrades", "pyarrow", "duckdb", "polars"):
        code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import read; "
                f"print(json.dumps(read.memory_child({str(root)!r}, {engine!r}, {symbol!r}, "
                f"{first!r}, {last!r})))")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        out[engine] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


def main(argv=None) -> int:
    a = report.args(__doc__, 7, argv)
    runs = a.runs

    from aggtrades.lake import read_trades, read_trades_arrow, read_trades_polars

    root, info = S.build(a.smoke)
    machine = report.machine()
    day = (S.DAY_SYMBOL, S.DAY, S.DAY)
    peers = Peers(root, *day)
    two = ["timestamp", "price"]
    ours = {
        "pandas": lambda: read_trades(root, *day),
        "arrow": lambda: read_trades_arrow(root, *day),
        "polars": lambda: read_trades_polars(root, *day),
        "two": lambda: read_trades(root, *day, columns=two),
    }
    workloads = [
        ("busy day into pandas", "pandas", {
            "pyarrow": lambda: peers.arrow().to_pandas(), "duckdb": peers.duck_pandas,
            "polars": lambda: peers.polars().to_pandas()}),
        ("busy day as an Arrow table", "arrow", {"pyarrow": peers.arrow, "duckdb": peers.duck_arrow}),
        ("busy day as a polars frame", "polars", {"polars": peers.polars}),
        ("busy day, timestamp + price, into pandas", "two", {
            "pyarrow": lambda: peers.arrow(two).to_pandas(), "duckdb": lambda: peers.duck_pandas(two),
            "polars": lambda: peers.polars(two).to_pandas()}),
    ]
    rows = []
    for title, key, others in workloads:
        mine = ours[key]()
        for name, fn in others.items():
            if not _same(mine, fn()):
                print(f"MISMATCH: {title}: aggtrades and {name} differ", file=sys.stderr)
                return 1
        t = report.interleaved({"aggtrades": ours[key], **others}, runs)
        rows.append((title, len(mine), t))
        print(f"{title} ({len(mine):,} rows): " + ", ".join(
            f"{k} {report.ms(v['wall'])} ms (cpu {report.ms(v['cpu'])})" for k, v in t.items()), flush=True)
    ranges = [("1 day", S.MONTH[0]), ("1 week", "2023-01-07"), ("1 month", info["month_end"])]
    mem = {}
    for label, last in ranges if not a.smoke else ranges[:1]:
        mem[label] = m = memory(root, S.MONTH_SYMBOL, S.MONTH[0], last)
        for k, v in m.items():
            print(f"{label} into pandas, {k}: {v['rows']:,} rows, frame {v['frame_bytes'] / 2**20:.0f} MiB, "
                  f"peak RSS growth {v['growth_bytes'] / 2**20:.0f} MiB, first call "
                  f"{report.ms(v['first_call_wall'])} ms (cpu {report.ms(v['first_call_cpu'])})", flush=True)
        if len({v["rows"] for v in m.values()}) != 1:
            print(f"MISMATCH: the row counts of {label} differ", file=sys.stderr)
            return 1
    name = f"read-results{'-smoke' if a.smoke else ''}.json"  # for bench/plots.py
    (S.lake_root(a.smoke).parent / name).write_text(json.dumps({"memory": mem}, indent=1))

    lines = [
        "Lake of bench/sample_lake.py (release build): %s %s, %s trades; %s %s..%s, %s trades." % (
            S.DAY_SYMBOL, S.DAY, f"{info['day_rows']:,}", S.MONTH_SYMBOL, S.MONTH[0],
            info["month_end"], f"{info['month_rows']:,}"),
        f"Machine: {machine}; {report.versions()}. Medians of {runs} interleaved warm runs "
        "(files in the page cache; each engine's allocator may reuse what its previous run freed: "
        "pyarrow's memory pool, the library's kept column memory), wall ms and CPU ms (all threads). "
        "The machine is shared: wall times move with the load, CPU times much less.",
        "",
        "| workload | rows | aggtrades ms (cpu) | peer ms (cpu) | peer / ours, wall | peer / ours, cpu | goal |",
        "|---|---:|---:|---|---|---|---|",
    ]
    for title, n, t in rows:
        me = t["aggtrades"]
        peer = "; ".join(f"{k} {report.ms(v['wall'])} ({report.ms(v['cpu'])})" for k, v in t.items() if k != "aggtrades")
        rw = "; ".join(f"{k} {v['wall'] / me['wall']:.2f}x" for k, v in t.items() if k != "aggtrades")
        rc = "; ".join(f"{k} {v['cpu'] / me['cpu']:.2f}x" for k, v in t.items() if k != "aggtrades")
        goal = ""
        if title == "busy day into pandas":
            goal = "≥ 2x pyarrow (wall): " + report.verdict(t["pyarrow"]["wall"] / me["wall"] >= 2)
        lines.append(f"| {title} | {n:,} | {report.ms(me['wall'])} ({report.ms(me['cpu'])}) | {peer} | {rw} | {rc} | {goal} |")
    lines += ["", f"Peak memory reading {S.MONTH_SYMBOL} from {S.MONTH[0]} into pandas (fresh child "
              "process per engine and range; bench/plot_memory.png). The goal is judged on the month: a "
              "few MiB of the growth are fixed costs of a first call (pandas' lazy imports, thread stacks), "
              "which dominate the ratio of small frames. The call's time is the engine's first read in "
              "that process (nothing of its allocator to reuse yet; one sample).", "",
              "| range | engine | rows | frame MiB | peak RSS growth MiB | growth / frame | first call ms (cpu) | goal |",
              "|---|---|---:|---:|---:|---:|---:|---|"]
    for label, m in mem.items():
        for k, v in m.items():
            r = v["growth_bytes"] / max(v["frame_bytes"], 1)
            goal = ("≤ 1.5x: " + report.verdict(r <= 1.5)) if k == "aggtrades" and label == "1 month" else ""
            lines.append(f"| {label} | {k} | {v['rows']:,} | {v['frame_bytes'] / 2**20:.0f} | "
                         f"{v['growth_bytes'] / 2**20:.0f} | {r:.2f} | {report.ms(v['first_call_wall'])} "
                         f"({report.ms(v['first_call_cpu'])}) | {goal} |")
    day = rows[0][2]
    peers_day = ", ".join(f"{k} {report.ms(v['wall'])} ms" for k, v in day.items() if k != "aggtrades")
    last = list(mem)[-1]
    m = mem[last]
    growth = {k: v["growth_bytes"] / max(v["frame_bytes"], 1) for k, v in m.items()}
    goals = [
        report.Goal("busy day into pandas: >= 2x pyarrow (wall)", f"{report.ms(day['aggtrades']['wall'])} ms",
                    peers_day, f"{day['pyarrow']['wall'] / day['aggtrades']['wall']:.2f}x",
                    day["pyarrow"]["wall"] / day["aggtrades"]["wall"] >= 2),
        report.Goal(f"peak memory, {last} into pandas: <= 1.5x the frame", f"{growth['aggtrades']:.2f}x",
                    ", ".join(f"{k} {v:.2f}x" for k, v in growth.items() if k != "aggtrades"),
                    f"{growth['aggtrades']:.2f}", growth["aggtrades"] <= 1.5),
    ]
    report.publish("read", lines, goals, a.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
