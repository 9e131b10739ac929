#!/usr/bin/env python3
"""Lake benchmark (issue #4): our query engine vs DuckDB and pyarrow.dataset.

1. Builds (once, kept in the cache directory ~/.cache/aggtrades-bench or
   $AGT_BENCH_CACHE, keyed by rows an hour, generator and lake format
   versions) a synthetic one-year lake of one symbol, 8,760 hourly Parquet
   files, written DIRECTLY through the lake's commit API
   (agt_lake_commit_hour via ctypes, no_fsync). A cached lake is verified
   before it is reused (every file there, every day's row count, a dozen
   hours bit for bit against the generator), and the report says so. Data are
   BTCUSDT-like: prices on a 0.01 tick grid following a random walk,
   quantities on a 0.00001 step, consecutive trade ids, µs timestamps that
   never decrease with many trades sharing one millisecond, an intraday
   activity cycle. The build is resumable (interrupt it and run again).
2. Checks that every engine returns the SAME rows (row count + exact
   equality of every returned column) or the same aggregate, then times
   warm runs (medians; cold cache is not measured):
     - 5-minute window, one-day window, one-month aggregate (--stats),
       trade_id lookup with and without the bloom filter;
     - planning time (agt_lake_query_open of a 5-minute window at the end of
       the range) on lakes of 1 day, 1 week, 1 month and 1 year (hard-linked
       prefixes of the year lake), next to DuckDB's 5-minute window on them.
3. Prints a table with ratios and its goals (report.publish) and writes
   lake-results.json for bench/plots.py.

Usage: .venv/bin/python bench/lake.py [--rows-per-hour N] [--days N] [--runs N] [--smoke]

``--days N`` builds only the first N days of the year (the growth then
stops at N days; the queries move to the last built days); ``--smoke`` is
8 days of 50 trades an hour, one run (make test).
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import json
import os
import queue
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lake_lib as L  # noqa: E402
import report  # noqa: E402

BENCH = Path(__file__).resolve().parent
OUT = report.out_dir()
SYMBOL = "BTCUSDT"
YEAR = 2023
GEN_VERSION = 1  # bump when the generator changes (invalidates the cache)
FIRST_ID = 2_400_000_000
SEED = 20231005


def utc_us(s: str) -> int:
    """'YYYY-MM-DD[ HH:MM:SS[.ffffff]]' (UTC) -> µs since the epoch."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in s else ("%Y-%m-%d %H:%M:%S" if ":" in s else "%Y-%m-%d")
    d = dt.datetime.strptime(s, fmt).replace(tzinfo=dt.timezone.utc)
    return (d - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


def fmt_us(us: int) -> str:
    d = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(us))
    return d.strftime("%Y-%m-%d %H:%M:%S.%f")


# ---------------------------------------------------------------------------
# synthetic data


class Generator:
    """Deterministic BTCUSDT-like hours: hour k of the year is a pure function of (seed, k)."""

    def __init__(self, rows_per_hour: int, year: int = YEAR, seed: int = SEED):
        self.year0 = utc_us(f"{year}-01-01")
        self.n_hours = (utc_us(f"{year + 1}-01-01") - self.year0) // L.US_PER_HOUR
        rng = np.random.default_rng(seed)
        k = np.arange(self.n_hours)
        # intraday cycle (busiest around 14-16 UTC), weekly dip, noise
        cycle = 1 + 0.35 * np.sin(2 * np.pi * (k % 24 - 9) / 24)
        weekend = np.where(((k // 24) + 6) % 7 >= 5, 0.8, 1.0)  # 2023-01-01 was a Sunday
        noise = rng.lognormal(0, 0.12, self.n_hours)
        w = cycle * weekend * noise
        self.counts = np.maximum(1, np.round(rows_per_hour * w / w.mean())).astype(np.int64)
        self.first_ids = FIRST_ID + np.concatenate(([0], np.cumsum(self.counts)[:-1]))
        # hourly anchor prices: a geometric random walk from ~16,500 to ~42,000
        steps = rng.normal(0, 0.004, self.n_hours)
        steps += (np.log(42000 / 16500) - steps.sum()) / self.n_hours  # a bridge to 42,000
        self.anchor = 16500 * np.exp(np.concatenate(([0], np.cumsum(steps)[:-1])))
        self.seed = seed

    def hour_start(self, k: int) -> int:
        return self.year0 + k * L.US_PER_HOUR

    def hour(self, k: int):
        n = int(self.counts[k])
        rng = np.random.default_rng([self.seed, k])
        h0 = self.hour_start(k)
        ids = np.arange(self.first_ids[k], self.first_ids[k] + n, dtype=np.int64)
        # events: distinct milliseconds; each holds ~2.2 trades on average
        n_ev = max(1, int(n / 2.2))
        ev_ms = np.sort(rng.choice(3_600_000, size=n_ev, replace=False)).astype(np.int64)
        ev = np.sort(rng.integers(0, n_ev, n))
        # µs offsets inside the millisecond, sorted within each event
        off = rng.integers(0, 1000, n)
        order = np.lexsort((off, ev))
        off = off[order]
        ts = h0 + ev_ms[ev] * 1000 + off
        # price: random walk in ticks of 0.01 from the hour's anchor
        tick0 = int(round(self.anchor[k] * 100))
        moves = rng.choice(np.array([-2, -1, 0, 0, 0, 0, 1, 2]), size=n)
        ticks = tick0 + np.cumsum(moves)
        price = ticks.astype(np.float64) / 100.0
        qty_units = np.maximum(1, np.round(np.exp(rng.normal(np.log(500), 1.6, n)))).astype(np.int64)
        qty = np.minimum(qty_units, 500_000_000).astype(np.float64) / 1e5
        maker_ev = rng.integers(0, 2, n_ev).astype(np.uint8)
        ibm = maker_ev[ev]
        return ids, ts.astype(np.int64), price, qty, np.ascontiguousarray(ibm, dtype=np.uint8)


FORMAT_VERSION = 1  # the lake's on-disk format (metadata/schema_version=1, docs/lake-format.md)


def lake_dir(rows_per_hour: int, days: int, smoke: bool = False) -> Path:
    """The lake's directory: keyed by everything its content depends on (symbol, year, rows an
    hour, generator and format versions, days), in the cache (report.cache_dir(), kept across
    runs and checkouts) except the smoke lake, which goes to the output directory."""
    part = f"-d{days}" if days < 365 else ""
    base = OUT if smoke else report.cache_dir()
    return base / f"lake-{SYMBOL}-{YEAR}-r{rows_per_hour}-g{GEN_VERSION}-f{FORMAT_VERSION}{part}"


def verify_lake(root: Path, gen: Generator, n_hours: int) -> str:
    """Checks a lake built earlier before it is reused; returns what was checked, or raises
    ValueError saying what differs. Every hour's file is there, the statistics give each day's
    row count and first/last timestamp of the generator, and a dozen hours spread over the year
    (the queried day's among them) read back bit for bit equal to the generator's."""
    if not (root / "metadata" / f"schema_version={FORMAT_VERSION}").is_dir():
        raise ValueError(f"not a format-{FORMAT_VERSION} lake")
    files = sum(1 for _ in (root / f"symbol={SYMBOL}").rglob("*.parquet"))
    if files != n_hours:
        raise ValueError(f"{files} data files, expected {n_hours}")
    ours = Ours(root)
    try:
        for day in range(n_hours // 24):
            k = day * 24
            st = ours.stats(gen.hour_start(k), gen.hour_start(k + 24) - 1)
            want = int(gen.counts[k:k + 24].sum())
            if st["count"] != want:
                raise ValueError(f"day {day}: {st['count']:,} rows by the statistics, expected {want:,}")
        sample = sorted({0, n_hours - 1, *range(n_hours // 11, n_hours, n_hours // 11),
                         min(n_hours - 1, QUERY_DAY * 24 + 12)})
        for k in sample:
            ids, ts, price, qty, ibm = gen.hour(k)
            got = ours.window_rows(gen.hour_start(k), gen.hour_start(k + 1) - 1)
            if not rows_equal(got, _norm(ids, ts, price, qty, ibm)):
                raise ValueError(f"hour {k} differs from the generator's")
    finally:
        ours.close()
    return (f"{files:,} data files, every day's row count by the statistics, {len(sample)} hours read back "
            "equal to the generator's")


def writer_of(root: Path) -> str:
    """The Parquet writer that wrote the lake's first data file (its created_by)."""
    import pyarrow.parquet as pq
    first = next((root / f"symbol={SYMBOL}").rglob("*.parquet"))
    return pq.ParquetFile(first).metadata.created_by


def build_lake(rows_per_hour: int, days: int = 365, log=print, smoke: bool = False,
               rebuild: bool = False) -> tuple[Path, Generator, dict]:
    """Build (or finish, or verify and reuse) the lake of the first `days` days of the year."""
    root = lake_dir(rows_per_hour, days, smoke)
    gen = Generator(rows_per_hour)
    n_hours = min(gen.n_hours, days * 24)
    info_path = root / "bench-build.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    if info.get("done") and not rebuild:
        t0 = time.perf_counter()
        try:
            checked = verify_lake(root, gen, n_hours)
        except (ValueError, L.LakeError) as e:
            log(f"cached lake {root} fails verification ({e}): rebuilt")
            info = {}
        else:
            info["reused"] = {"checked": checked, "verify_s": time.perf_counter() - t0}
            info["cache_key"] = root.name
            log(f"lake reused from the cache: {root} ({info['rows']:,} rows, built {info.get('built_at', '?')} "
                f"in {info['build_s']:.0f} s by {info.get('writer', '?')}); verified in "
                f"{info['reused']['verify_s']:.1f} s: {checked}")
            return root, gen, info
    if not info or rebuild:
        shutil.rmtree(root, ignore_errors=True)
        info = {"build_s": 0.0}
    root.mkdir(parents=True, exist_ok=True)
    lake = L.Lake(root, write=True, no_fsync=True)
    sym = SYMBOL.encode()
    newest = lake.newest(sym)
    k0 = 0 if newest is None else (newest[0] - gen.year0) // L.US_PER_HOUR + 1
    log(f"building {root}: hours {k0}..{n_hours - 1}, ~{rows_per_hour:,} rows/hour "
        f"(commit API, no_fsync)")
    q: queue.Queue = queue.Queue(maxsize=3)

    def producer():
        for k in range(k0, n_hours):
            q.put((k, gen.hour(k)))
        q.put(None)

    th = threading.Thread(target=producer, daemon=True)
    th.start()
    t0 = time.perf_counter()
    last = t0
    while True:
        item = q.get()
        if item is None:
            break
        k, (ids, ts, price, qty, ibm) = item
        h0 = gen.hour_start(k)
        meta = L.AgtHourMeta(int(ids[0]) - 1, 1, b"rest", h0 + L.US_PER_HOUR + 60 * L.US)
        res = lake.commit_hour(sym, h0, L.trades_view(ids, ts, price, qty, ibm), meta)
        if res.rows != len(ids):
            raise SystemExit(f"hour {k}: committed {res.rows} rows, expected {len(ids)}")
        now = time.perf_counter()
        if now - last > 30 or k == n_hours - 1:
            done = k - k0 + 1
            rate = (now - t0) / done
            log(f"  {fmt_us(h0)[:13]}  {done}/{n_hours - k0} hours, {rate * 1000:.0f} ms/hour, "
                f"ETA {rate * (n_hours - 1 - k):.0f} s")
            last = now
    th.join()
    lake.close()
    info["build_s"] = info.get("build_s", 0.0) + time.perf_counter() - t0
    data_bytes = sum(p.stat().st_size for p in (root / f"symbol={SYMBOL}").rglob("*.parquet"))
    info.update({"done": True, "rows": int(gen.counts[:n_hours].sum()), "hours": int(n_hours), "days": days,
                 "rows_per_hour": rows_per_hour, "data_bytes": data_bytes, "generator": GEN_VERSION,
                 "format": FORMAT_VERSION, "writer": writer_of(root),
                 "built_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")})
    info_path.write_text(json.dumps(info, indent=1))
    log(f"built in {info['build_s']:.0f} s: {info['rows']:,} rows, {data_bytes / 1e9:.2f} GB of data files")
    return root, gen, info


# ---------------------------------------------------------------------------
# engines: each query returns comparable numpy columns (rows) or an aggregate


COLS = ["trade_id", "timestamp", "price", "quantity", "is_buyer_maker"]


def _norm(ids, ts, price, qty, ibm) -> dict:
    d = {"trade_id": np.asarray(ids, np.int64), "ts_us": np.asarray(ts, np.int64),
         "price": np.asarray(price, np.float64), "quantity": np.asarray(qty, np.float64),
         "is_buyer_maker": np.asarray(ibm).astype(np.uint8)}
    o = np.lexsort((d["trade_id"], d["ts_us"]))
    return {k: v[o] for k, v in d.items()}


def _arrow_rows(t) -> dict:
    ts = t.column("timestamp").combine_chunks().cast("int64").to_numpy()
    return _norm(t.column("trade_id").to_numpy(), ts, t.column("price").to_numpy(),
                 t.column("quantity").to_numpy(), t.column("is_buyer_maker").to_numpy(zero_copy_only=False))


def checksum(rows: dict) -> str:
    """Row count + XXH-free checksum: the sum of each column's raw bytes as uint64 words."""
    parts = [str(len(rows["trade_id"]))]
    for k in ("trade_id", "ts_us", "price", "quantity"):
        parts.append(f"{int(rows[k].view(np.uint64).sum(dtype=np.uint64)):016x}")
    parts.append(str(int(rows["is_buyer_maker"].sum())))
    return "/".join(parts)


def rows_equal(a: dict, b: dict) -> bool:
    return all(len(a[k]) == len(b[k]) and np.array_equal(a[k].view(np.uint8), b[k].view(np.uint8))
               for k in a)


class Ours:
    name = "aggtrades"

    def __init__(self, root):
        self.lake = L.Lake(root)
        self.sym = SYMBOL.encode()
        self.out = L.Trades()

    def window(self, s, e):
        self.out.clear()
        self.lake.read_range(self.sym, s, e, self.out)
        return len(self.out)

    def window_rows(self, s, e):
        self.window(s, e)
        c = self.out.columns()
        return _norm(c["trade_id"], c["ts_us"], c["price"], c["quantity"], c["is_buyer_maker"])

    def stats(self, s, e):
        r = self.lake.query_stats(self.sym, s, e)
        return {"count": r.count, "sum_qty": r.sum_qty, "quote_volume": r.quote_volume,
                "first_ts": r.first_ts_us, "last_ts": r.last_ts_us,
                "files_read": r.files_read, "files_from_stats": r.files_from_stats}

    def lookup(self, trade_id, bloom=1):
        self.out.clear()
        found, info = self.lake.find_trade(self.sym, trade_id, bloom, self.out)
        self.last_info = info
        return found

    def lookup_rows(self, trade_id, bloom=1):
        self.lookup(trade_id, bloom)
        c = self.out.columns()
        return _norm(c["trade_id"], c["ts_us"], c["price"], c["quantity"], c["is_buyer_maker"])

    def plan(self, s, e):
        q = self.lake.query_open(self.sym, s, e)
        n = L.lib().agt_query_files_planned(q)
        L.lib().agt_query_close(q)
        return n

    def hour_stats(self, hour_us):
        """agt_lake_hour_stats: load one day's statistics file, no directory listing."""
        buf = ctypes.create_string_buffer(4096)  # > sizeof(agt_file_stats)
        st = L.lib().agt_lake_hour_stats(self.lake.h, self.sym, ctypes.c_int64(hour_us), buf,
                                         ctypes.byref(self.lake.err))
        L.check(st, self.lake.err, "agt_lake_hour_stats")

    def close(self):
        self.out.close()
        self.lake.close()


def _ts_lit(us: int) -> str:
    return f"TIMESTAMPTZ '{fmt_us(us)}+00'"


class Duck:
    """DuckDB over the same files. prune=True adds the hive partition predicates
    (year/month/day) a careful user would write; the plain query filters on the
    timestamp only, as the question is asked."""

    def __init__(self, root, prune=False):
        import duckdb
        self.con = duckdb.connect()
        self.con.sql("SET TimeZone='UTC'")
        self.src = (f"read_parquet('{root}/symbol={SYMBOL}/**/*.parquet', hive_partitioning=true)")
        self.prune = prune
        self.name = "duckdb+partitions" if prune else "duckdb"

    def _where(self, s, e):
        w = f"timestamp BETWEEN {_ts_lit(s)} AND {_ts_lit(e)}"
        if self.prune:
            days = sorted({(d.year, d.month, d.day) for d in _days(s, e)})
            if len(days) <= 31:
                w += " AND (" + " OR ".join(f"(year={y} AND month={m} AND day={d})" for y, m, d in days) + ")"
        return w

    def window_table(self, s, e):
        return self.con.sql(f"SELECT {', '.join(COLS)} FROM {self.src} WHERE {self._where(s, e)}").to_arrow_table()

    def window(self, s, e):
        return self.window_table(s, e).num_rows

    def window_rows(self, s, e):
        return _arrow_rows(self.window_table(s, e))

    def stats(self, s, e):
        r = self.con.sql(
            f"SELECT count(*), sum(quantity), sum(price * quantity), epoch_us(min(timestamp)), "
            f"epoch_us(max(timestamp)) FROM {self.src} WHERE {self._where(s, e)}").fetchall()[0]
        return {"count": r[0], "sum_qty": r[1], "quote_volume": r[2], "first_ts": r[3], "last_ts": r[4]}

    def lookup_table(self, trade_id):
        return self.con.sql(f"SELECT {', '.join(COLS)} FROM {self.src} WHERE trade_id = {int(trade_id)}").to_arrow_table()

    def lookup(self, trade_id, bloom=1):
        return self.lookup_table(trade_id).num_rows

    def lookup_rows(self, trade_id, bloom=1):
        return _arrow_rows(self.lookup_table(trade_id))

    def close(self):
        self.con.close()


def _days(s, e):
    d0 = dt.datetime.fromtimestamp(s // L.US_PER_DAY * 86400, dt.timezone.utc)
    out = []
    while True:
        us = int(d0.timestamp()) * L.US
        if us > e:
            return out
        out.append(d0)
        d0 += dt.timedelta(days=1)


class Arrow:
    """pyarrow.dataset over the same files; the dataset (file discovery) is built
    once and reused, which favours pyarrow (its discovery time is reported apart)."""

    def __init__(self, root, prune=False):
        import pyarrow as pa
        import pyarrow.dataset as ds
        self.pa, self.ds = pa, ds
        t0 = time.perf_counter()
        self.dataset = ds.dataset(f"{root}/symbol={SYMBOL}", format="parquet", partitioning="hive")
        self.discovery_s = time.perf_counter() - t0
        self.prune = prune
        self.name = "pyarrow+partitions" if prune else "pyarrow"
        self.tstype = pa.timestamp("us", tz="UTC")

    def _filter(self, s, e):
        f = self.ds.field("timestamp")
        x = (f >= self.pa.scalar(s, self.tstype)) & (f <= self.pa.scalar(e, self.tstype))
        if self.prune:
            days = _days(s, e)
            if len(days) <= 31:
                p = None
                for d in days:
                    c = ((self.ds.field("year") == d.year) & (self.ds.field("month") == d.month)
                         & (self.ds.field("day") == d.day))
                    p = c if p is None else (p | c)
                x = x & p
        return x

    def window_table(self, s, e):
        return self.dataset.to_table(columns=COLS, filter=self._filter(s, e))

    def window(self, s, e):
        return self.window_table(s, e).num_rows

    def window_rows(self, s, e):
        return _arrow_rows(self.window_table(s, e))

    def stats(self, s, e):
        import pyarrow.compute as pc
        t = self.dataset.to_table(columns=["timestamp", "price", "quantity"], filter=self._filter(s, e))
        ts = t.column("timestamp").cast("int64")
        return {"count": t.num_rows, "sum_qty": pc.sum(t.column("quantity")).as_py(),
                "quote_volume": pc.sum(pc.multiply(t.column("price"), t.column("quantity"))).as_py(),
                "first_ts": pc.min(ts).as_py(), "last_ts": pc.max(ts).as_py()}

    def lookup_table(self, trade_id):
        return self.dataset.to_table(columns=COLS, filter=self.ds.field("trade_id") == int(trade_id))

    def lookup(self, trade_id, bloom=1):
        return self.lookup_table(trade_id).num_rows

    def lookup_rows(self, trade_id, bloom=1):
        return _arrow_rows(self.lookup_table(trade_id))

    def close(self):
        pass


SLOW_BUDGET_S = 6.0  # timed runs of one slow measurement stop after about this long


def timeit(fn, runs: int, warmup: int = 1, stat=statistics.median) -> float:
    """Median (or `stat`) wall time (s) of `runs` calls after `warmup` untimed calls (warm page
    cache; 0 where the check of the results has just made the same call). A call slower than a
    second gets only as many runs as fit in SLOW_BUDGET_S (at least one): a peer taking seconds
    over the year lake is hundreds of times slower than ours, its run-to-run noise does not change
    that, and its full runs made the suite exceed 30 minutes."""
    for _ in range(warmup):
        fn()
    v: list[float] = []
    while len(v) < runs:
        t0 = time.perf_counter()
        fn()
        v.append(time.perf_counter() - t0)
        if v[0] > 1.0 and sum(v) + v[0] > SLOW_BUDGET_S:
            break
    return stat(v)


def stats_equal(a: dict, b: dict) -> bool:
    if a["count"] != b["count"] or a["first_ts"] != b["first_ts"] or a["last_ts"] != b["last_ts"]:
        return False
    return all(abs(a[k] - b[k]) <= 1e-9 * max(1.0, abs(a[k])) for k in ("sum_qty", "quote_volume"))


# ---------------------------------------------------------------------------
# prefixes of the year lake (hard links) for the growth measurement


VIEW_VERSION = 2  # 2: the schema file, which tells readers the layout, is linked too


def prefix_lake(root: Path, gen: Generator, n_days: int, built_days: int, built_at: str) -> Path:
    """A lake holding the first n_days days of `root` as hard links: statistics, data files and
    the schema file (metadata/schema_version=1/_trades.avsc: without it a reader takes the lake
    for the first layout and looks for the old names, docs/lake-format.md)."""
    if n_days >= built_days:
        return root
    view = root.parent / f"{root.name}-first{n_days}d"
    done = view / "bench-view.json"
    mark = {"days": n_days, "version": VIEW_VERSION, "lake_built_at": built_at}  # a rebuilt lake: new links
    if done.exists() and json.loads(done.read_text()) == mark:
        return view
    shutil.rmtree(view, ignore_errors=True)
    schema = Path("metadata") / "schema_version=1" / "_trades.avsc"
    (view / schema).parent.mkdir(parents=True)
    os.link(root / schema, view / schema)
    sroot = root / "metadata" / "stats" / f"symbol={SYMBOL}"
    for k in range(n_days):
        d = dt.datetime.fromtimestamp(gen.year0 // L.US + k * 86400, dt.timezone.utc)
        src = sroot / f"_{d:%Y-%m-%d}.json"
        dst = view / "metadata" / "stats" / f"symbol={SYMBOL}" / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.link(src, dst)
        rel = Path(f"symbol={SYMBOL}/year={d.year}/month={d.month}/day={d.day}")
        (view / rel).mkdir(parents=True, exist_ok=True)
        for f in (root / rel).glob("*.parquet"):
            os.link(f, view / rel / f.name)
    done.write_text(json.dumps(mark))
    return view


# ---------------------------------------------------------------------------
# the benchmark


QUERY_DAY = 277  # 2023-10-05, the day the queries look at when the lake holds it


def run_benchmarks(root: Path, gen: Generator, info: dict, a) -> int:
    runs = a.runs
    days = info.get("days", 365)
    qday = gen.year0 + min(QUERY_DAY, max(days - 2, 0)) * L.US_PER_DAY
    d = dt.datetime.fromtimestamp(qday // L.US, dt.timezone.utc)
    month0 = utc_us(f"{d:%Y-%m}-01")
    month1 = min(utc_us(f"{d.year + d.month // 12}-{d.month % 12 + 1:02d}-01"), gen.year0 + days * L.US_PER_DAY)
    w5 = (qday + (12 * 3600 + 30 * 60) * L.US + 500_000, qday + (12 * 3600 + 35 * 60) * L.US)
    w1d = (qday, qday + L.US_PER_DAY - 1)
    wmon = (month0, month1 - 1)
    # a trade in the middle of the query day's 12:00 hour (a 5-minute-window neighbour)
    k_hour = (qday - gen.year0) // L.US_PER_HOUR + 12
    lookup_id = int(gen.first_ids[k_hour] + gen.counts[k_hour] // 2)

    ours = Ours(root)
    duck, duckp = Duck(root), Duck(root, prune=True)
    arrow, arrowp = Arrow(root), Arrow(root, prune=True)
    engines = [ours, duck, duckp, arrow, arrowp]
    res = {"lake": str(root), "build": info, "runs": runs,
           "duckdb_threads": duck.con.sql("SELECT current_setting('threads')").fetchall()[0][0],
           "pyarrow_discovery_s": arrow.discovery_s, "queries": {}}

    def record(qname, label, times, extra=None):
        row = {"times_s": times, "label": label}
        if extra:
            row.update(extra)
        res["queries"][qname] = row

    # --- correctness first --------------------------------------------------
    print("checking results are equal across engines ...", flush=True)
    checks = {}
    for qname, (s, e) in (("window_5min", w5), ("window_1day", w1d)):
        ref = ours.window_rows(s, e)
        for eng in engines[1:]:
            got = eng.window_rows(s, e)
            if not rows_equal(ref, got):
                raise SystemExit(f"MISMATCH {qname}: {eng.name} {checksum(got)} vs ours {checksum(ref)}")
        checks[qname] = {"rows": len(ref["trade_id"]), "checksum": checksum(ref)}
        print(f"  {qname}: {checks[qname]['rows']:,} rows, identical in all engines "
              f"(checksum {checks[qname]['checksum']})")
    ref = ours.stats(*wmon)
    for eng in engines[1:]:
        got = eng.stats(*wmon)
        if not stats_equal(ref, got):
            raise SystemExit(f"MISMATCH month stats: {eng.name} {got} vs ours {ref}")
    checks["stats_1month"] = {k: ref[k] for k in ("count", "sum_qty", "quote_volume", "first_ts", "last_ts")}
    print(f"  stats_1month: count {ref['count']:,}, sums equal to 1e-9 relative in all engines "
          f"({ref['files_from_stats']} files from statistics, {ref['files_read']} decoded)")
    r = ours.lookup_rows(lookup_id, 1)
    if len(r["trade_id"]) != 1 or r["trade_id"][0] != lookup_id:
        raise SystemExit(f"lookup {lookup_id} returned {r['trade_id']}")
    if not rows_equal(r, ours.lookup_rows(lookup_id, 0)):
        raise SystemExit(f"MISMATCH lookup {lookup_id}: ours with and without the bloom filter")
    for eng in engines[1:]:  # (each peer once: its look-up takes seconds on the year lake)
        if not rows_equal(r, eng.lookup_rows(lookup_id)):
            raise SystemExit(f"MISMATCH lookup {lookup_id}: {eng.name}")
    checks["lookup"] = {"trade_id": lookup_id, "rows": 1}
    print(f"  lookup {lookup_id}: same row in all engines")
    res["checks"] = checks

    # --- timings ------------------------------------------------------------
    def bench_all(qname, label, call):
        times = {}
        for eng in engines:
            times[eng.name] = timeit(lambda: call(eng), runs, warmup=0)  # the check warmed it
        record(qname, label, times)
        print(f"  {label:<44}" + "".join(f" {n}={t * 1e3:.2f}ms" for n, t in times.items()), flush=True)

    print(f"timing (median of {runs} warm runs) ...", flush=True)
    bench_all("window_5min", f"5-minute window {fmt_us(w5[0])[:23]}..{fmt_us(w5[1])[11:19]}",
              lambda e: e.window(*w5))
    bench_all("window_1day", f"one-day window {fmt_us(w1d[0])[:10]}", lambda e: e.window(*w1d))
    bench_all("stats_1month", f"one-month --stats {fmt_us(wmon[0])[:10]}..{fmt_us(wmon[1])[:10]} "
              "(count, sums, first/last)", lambda e: e.stats(*wmon))
    t_b = timeit(lambda: ours.lookup(lookup_id, 1), runs)  # (ours: microseconds, warmed up regardless)
    info_b = ours.last_info
    t_nb = timeit(lambda: ours.lookup(lookup_id, 0), runs)
    info_nb = ours.last_info
    other = {eng.name: timeit(lambda: eng.lookup(lookup_id), runs, warmup=0) for eng in engines[1:]}
    record("lookup_bloom", f"trade_id = {lookup_id}, bloom filter on", {"aggtrades": t_b, **other},
           {"lookup_info": {"stats_days_read": info_b.stats_days_read, "bloom_checked": info_b.bloom_checked,
                            "pages_read": info_b.pages_read}})
    record("lookup_nobloom", f"trade_id = {lookup_id}, bloom filter off", {"aggtrades": t_nb, **other},
           {"lookup_info": {"stats_days_read": info_nb.stats_days_read,
                            "bloom_checked": info_nb.bloom_checked, "pages_read": info_nb.pages_read}})
    # an id beyond every file: answered from the statistics alone
    last_hour = info["hours"] - 1
    absent = int(gen.first_ids[last_hour] + gen.counts[last_hour] + 1000)
    t_abs = timeit(lambda: ours.lookup(absent, 1), runs)
    other_abs = {eng.name: timeit(lambda: eng.lookup(absent), max(3, runs // 2), warmup=0)
                 for eng in engines[1:]}  # the page cache is warm from the lookup above
    record("lookup_absent", f"trade_id = {absent} (absent)", {"aggtrades": t_abs, **other_abs})
    print(f"  lookups: bloom {t_b * 1e6:.0f}us, no bloom {t_nb * 1e6:.0f}us, absent {t_abs * 1e6:.0f}us; "
          + " ".join(f"{n}={t * 1e3:.1f}ms" for n, t in other.items()), flush=True)
    for e in engines:
        e.close()

    # --- growth: planning time and 5-minute window as the lake grows ---------
    print("lake growth (5-minute window 12:30:00.500-12:35:00 on the last day) ...", flush=True)
    growth = []
    sizes = [(n, lbl) for n, lbl in ((1, "1 day"), (7, "1 week"), (31, "1 month"), (365, "1 year")) if n < days]
    for n_days, label in sizes + [(days, "1 year" if days == 365 else f"{days} days")]:
        view = prefix_lake(root, gen, n_days, days, info.get("built_at", ""))
        last_day = gen.year0 + (n_days - 1) * L.US_PER_DAY
        s, e = last_day + (12 * 3600 + 30 * 60) * L.US + 500_000, last_day + (12 * 3600 + 35 * 60) * L.US
        o = Ours(view)
        d = Duck(view)
        ar = Arrow(view)
        n_ours = o.window(s, e)
        if n_ours != d.window(s, e) or n_ours != ar.window(s, e):
            raise SystemExit(f"MISMATCH growth {label}")
        plan_runs = max(runs, 51)
        row = {"days": n_days, "label": label, "files": sum(1 for _ in (view / f"symbol={SYMBOL}").rglob("*.parquet")),
               "rows": n_ours, "files_planned": o.plan(s, e),
               # the fastest of many runs: microseconds, which a busy machine's noise would swamp
               "plan_s": timeit(lambda: o.plan(s, e), plan_runs, warmup=3, stat=min),
               "hour_stats_s": timeit(lambda: o.hour_stats(last_day + 12 * L.US_PER_HOUR), plan_runs,
                                      warmup=3, stat=min),
               "window_ours_s": timeit(lambda: o.window(s, e), runs),
               "window_duckdb_s": timeit(lambda: d.window(s, e), runs, warmup=0),  # the check warmed them
               "window_pyarrow_s": timeit(lambda: ar.window(s, e), runs, warmup=0),
               "pyarrow_discovery_s": ar.discovery_s}
        o.close()
        d.close()
        growth.append(row)
        print(f"  {label:<8} {row['files']:>5} files: plan {row['plan_s'] * 1e6:7.1f} us, hour_stats "
              f"{row['hour_stats_s'] * 1e6:.1f} us, window ours "
              f"{row['window_ours_s'] * 1e3:.2f} ms, duckdb {row['window_duckdb_s'] * 1e3:.1f} ms, "
              f"pyarrow {row['window_pyarrow_s'] * 1e3:.1f} ms", flush=True)
    res["growth"] = growth
    # ctypes call overhead, for reading the microsecond figures
    res["ctypes_call_s"] = timeit(lambda: L.lib().agt_query_files_planned(None), 1001, warmup=10)

    name = f"lake-results{'-smoke' if a.smoke else ''}.json"  # for bench/plots.py
    (OUT / name).write_text(json.dumps(res, indent=1, default=str))
    report.publish("lake", report_lines(res), goals(res), a.smoke)
    return 0


def _ms(t: float) -> str:
    return f"{t * 1e3:.3f}" if t < 0.01 else (f"{t * 1e3:.2f}" if t < 1 else f"{t * 1e3:.0f}")


def goals(res: dict) -> list:
    """The issue's goals: the 5-minute window >= 20x DuckDB, planning flat as the lake grows, and
    what was ahead before (--stats, look-ups) still ahead of every peer."""
    q, g = res["queries"], res["growth"]

    def peers(t):
        return ", ".join(f"{n} {_ms(v)} ms" for n, v in t.items() if n != "aggtrades")

    w = q["window_5min"]["times_s"]
    st = q["stats_1month"]["times_s"]
    flat = g[-1]["plan_s"] / g[0]["plan_s"]
    return [
        report.Goal("5-minute window: >= 20x DuckDB over the same lake", f"{_ms(w['aggtrades'])} ms", peers(w),
                    f"{w['duckdb'] / w['aggtrades']:.0f}x DuckDB, {w['duckdb+partitions'] / w['aggtrades']:.0f}x "
                    f"with partitions", w["duckdb"] / w["aggtrades"] >= 20),
        report.Goal(f"planning a 5-minute window: flat from {g[0]['label']} to {g[-1]['label']} "
                    "(at most 1.5x)", " -> ".join(f"{r['plan_s'] * 1e6:.0f}" for r in g) + " µs",
                    "DuckDB window " + " -> ".join(_ms(r["window_duckdb_s"]) for r in g) + " ms",
                    f"{flat:.2f}x", flat <= 1.5),
        report.Goal("one-month --stats: ahead of every peer", f"{_ms(st['aggtrades'])} ms", peers(st),
                    f"{min(v for n, v in st.items() if n != 'aggtrades') / st['aggtrades']:.0f}x the fastest peer",
                    all(v > st["aggtrades"] for n, v in st.items() if n != "aggtrades")),
    ]


def report_lines(res: dict) -> list[str]:
    b = res["build"]
    built = f"built through agt_lake_commit_hour in {b['build_s']:.0f} s"
    if "reused" in b:  # the lake comes from the cache (report.cache_dir()), checked first
        built = (f"not built by this run: {built} on {b.get('built_at', '?')} by `{b.get('writer', '?')}` and "
                 f"kept in the cache ({b.get('cache_key', '?')}: keyed by rows an hour, generator version and "
                 f"lake format version; `--rebuild` builds it again), verified before use in "
                 f"{b['reused']['verify_s']:.1f} s ({b['reused']['checked']})")
    lines = [
        f"Lake: {b['hours']:,} hourly files of {SYMBOL} {YEAR}, {b['rows']:,} rows "
        f"(mean {b['rows_per_hour']:,} rows/hour), {b['data_bytes'] / 1e9:.2f} GB of data files; {built}.",
        f"Medians of {res['runs']} warm runs (a call slower than 1 s: as many as fit in {SLOW_BUDGET_S:.0f} s, at "
        "least one; files in the page cache, cold cache not measured). "
        f"DuckDB threads={res['duckdb_threads']}; pyarrow dataset discovery "
        f"({b['hours']:,} files) {res['pyarrow_discovery_s'] * 1e3:.0f} ms, done once, not in the figures.",
        "",
        "| query | aggtrades ms | DuckDB ms | DuckDB+partitions ms | pyarrow ms | pyarrow+partitions ms "
        "| vs DuckDB | vs DuckDB+part. | vs pyarrow | vs pyarrow+part. |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for q in ("window_5min", "window_1day", "stats_1month", "lookup_bloom", "lookup_nobloom", "lookup_absent"):
        r = res["queries"][q]
        t = r["times_s"]
        ours = t["aggtrades"]
        cells = [_ms(t[n]) for n in ("aggtrades", "duckdb", "duckdb+partitions", "pyarrow", "pyarrow+partitions")]
        ratios = [f"{t[n] / ours:.1f}x" for n in ("duckdb", "duckdb+partitions", "pyarrow", "pyarrow+partitions")]
        lines.append(f"| {r['label']} | " + " | ".join(cells + ratios) + " |")
    lines += ["", "Ratios are the other engine's time divided by ours (higher = we are faster). "
              "Partition columns are not used by DuckDB/pyarrow for a trade_id lookup (same figure in both).",
              "",
              "Growth: 5-minute window 12:30:00.500-12:35:00 on the last day of lakes holding the first "
              + ", ".join(str(g["days"]) for g in res["growth"]) + " days (hard links to the same files; "
              "bench/plot_query_growth.png).",
              "",
              "| lake | files | planning (query open) µs, best | one hour's stats µs, best | window aggtrades ms "
              "| window DuckDB ms | window pyarrow ms | pyarrow discovery ms |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for g in res["growth"]:
        lines.append(f"| {g['label']} | {g['files']:,} | {g['plan_s'] * 1e6:.1f} | {g['hour_stats_s'] * 1e6:.1f} | "
                     f"{_ms(g['window_ours_s'])} | "
                     f"{_ms(g['window_duckdb_s'])} | {_ms(g['window_pyarrow_s'])} | "
                     f"{g['pyarrow_discovery_s'] * 1e3:.0f} |")
    lines += ["", f"(one ctypes call costs ~{res['ctypes_call_s'] * 1e6:.1f} µs and is included in our figures)"]
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows-per-hour", type=int, default=50_000,
                    help="mean aggTrades per hour (default 50000 = 1.2M/day, BTCUSDT-like)")
    ap.add_argument("--days", type=int, default=365, help="build only the first N days (default: the year)")
    ap.add_argument("--runs", type=int, default=7, help="timed warm runs per measurement (median)")
    ap.add_argument("--build-only", action="store_true", help="build (or resume, or verify) the lake and stop")
    ap.add_argument("--rebuild", action="store_true", help="build the lake again even if a verified one is cached")
    ap.add_argument("--smoke", action="store_true", help="8 days of 50 trades an hour, one run")
    a = ap.parse_args(argv)
    if a.smoke:
        a.rows_per_hour, a.days, a.runs = 50, 8, 1
    a.days = max(2, min(a.days, 365))
    if not L.library_path().exists():
        L.build_library()
    root, gen, info = build_lake(a.rows_per_hour, a.days, smoke=a.smoke, rebuild=a.rebuild)
    if a.build_only:
        return 0
    return run_benchmarks(root, gen, info, a)


if __name__ == "__main__":
    sys.exit(main())
