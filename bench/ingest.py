#!/usr/bin/env python3
"""Archive ingest of one day: ``aggtrades download --source archive`` against DuckDB's read_csv -> COPY.

For days of growing size (simulator ``--scale``), both start from the same
daily archive of the simulator (``tools/binance_sim.py``, over loopback):

- ours: ``aggtrades --root R download BTCUSDT --start D --end D --source
  archive`` into a fresh lake: download, checksum, inflate, parse, encode and
  commit the 24 hours. Measured per child with GNU time: CPU (user +
  system), wall time and peak RSS;
- DuckDB: the zip fetched and inflated to a CSV file first (not timed),
  then ``COPY (SELECT ... FROM read_csv(...)) TO file (FORMAT parquet,
  COMPRESSION zstd)`` in this process, CPU of both its threads.

Both results hold the same trade ids (checked). Goals (issue 12): CPU per
row at most DuckDB's, wall time below DuckDB's, peak RSS of the download at
most 64 MiB whatever the day's size. Writes bench/out/ingest-results.json
(for bench/plots.py).

    .venv/bin/python bench/ingest.py [--runs 3] [--smoke]
"""

from __future__ import annotations

import io
import json
import shutil
import statistics
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402
import sample_lake as S  # noqa: E402

NOW, DAY, SYMBOL = "2024-03-01T12:00:00Z", "2024-02-20", "BTCUSDT"
COLS = {"a": "BIGINT", "p": "DOUBLE", "q": "DOUBLE", "f": "BIGINT", "l": "BIGINT", "t": "BIGINT",
        "m": "BOOLEAN", "best": "BOOLEAN"}  # the archive's a,p,q,f,l,T,m,M (names are case-blind)


def ours(url: str, root: Path) -> dict:
    """One download child into a fresh lake: wall, CPU and peak RSS of that child alone."""
    if root.exists():
        shutil.rmtree(root)
    return report.timed_tool(["--root", str(root), "--api-url", url, "--archive-url", url, "--quiet", "download",
                              SYMBOL, "--start", DAY, "--end", DAY, "--source", "archive"], root.parent / "time.txt")


def archive_csv(url: str, path: Path) -> None:
    name = f"{SYMBOL}-aggTrades-{DAY}"
    with urllib.request.urlopen(f"{url}/data/spot/daily/aggTrades/{SYMBOL}/{name}.zip") as r:
        z = zipfile.ZipFile(io.BytesIO(r.read()))
    path.write_bytes(z.read(f"{name}.csv"))


def duck(con, csv: Path, out: Path) -> dict:
    cols = ", ".join(f"'{k}': '{v}'" for k, v in COLS.items())
    q = (f"COPY (SELECT a AS trade_id, make_timestamp(t * 1000) AS timestamp, p AS price, q AS quantity, "
         f"m AS is_buyer_maker FROM read_csv('{csv}', header=false, columns={{{cols}}})) "
         f"TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
    c0, w0 = time.process_time(), time.perf_counter()
    con.sql(q)
    return {"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0}


def median(runs: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main(argv=None) -> int:
    a = report.args(__doc__, 3, argv)
    import duckdb
    from aggtrades.lake import read_trades

    machine = report.machine()
    scratch = Path(S.lake_root(a.smoke)).parent / "ingest"
    scratch.mkdir(parents=True, exist_ok=True)
    results = []
    for scale in ([1.0] if a.smoke else [5.0, 25.0, 75.0]):
        sim, url = report.start_sim("--now", NOW, "--scale", str(scale))
        try:
            csv, out, root = scratch / "day.csv", scratch / "duck.parquet", scratch / "lake"
            archive_csv(url, csv)
            con = duckdb.connect()
            mine, theirs = [], []
            for _ in range(a.runs):  # interleaved
                mine.append(ours(url, root))
                theirs.append(duck(con, csv, out))
            ids = read_trades(root, SYMBOL, DAY, DAY, columns=["trade_id"])["trade_id"].to_numpy()
            dids = con.sql(f"SELECT trade_id FROM '{out}' ORDER BY trade_id").fetchnumpy()["trade_id"]
            con.close()
            if len(ids) != len(dids) or not (ids == dids).all():
                print(f"MISMATCH: scale {scale}: the lake and DuckDB hold different trade ids", file=sys.stderr)
                return 1
            r = {"scale": scale, "trades": int(len(ids)), "csv_bytes": csv.stat().st_size,
                 "ours": median(mine), "duckdb": median(theirs)}
            results.append(r)
            print(f"scale {scale}: {r['trades']:,} trades: ours {r['ours']}, duckdb {r['duckdb']}", flush=True)
        finally:
            sim.kill()
            sim.wait()
    shutil.rmtree(scratch)
    name = f"ingest-results{'-smoke' if a.smoke else ''}.json"  # for bench/plots.py
    (S.lake_root(a.smoke).parent / name).write_text(json.dumps(results, indent=1))

    lines = [
        f"Release build `build-release/aggtrades`; simulator archive of {SYMBOL} {DAY} at "
        f"{len(results)} scale(s), over loopback.",
        f"Machine: {machine}; {report.versions()}. Medians of {a.runs} interleaved runs. Ours: the whole "
        "`download --source archive` child (HTTP, SHA-256 check, inflate, parse, encode, commit with fsync), "
        "CPU = user + system and peak RSS from GNU time. DuckDB: `read_csv` of the already inflated CSV -> "
        "`COPY ... (FORMAT parquet, COMPRESSION zstd)`, CPU of this process (both threads).",
        "",
        "| trades | aggtrades wall s | aggtrades CPU s | CPU µs/trade | peak RSS MiB | DuckDB wall s | "
        "DuckDB CPU s | DuckDB µs/trade | CPU ours/DuckDB | wall ours/DuckDB | goals: CPU ≤ 1, wall < 1, RSS ≤ 64 MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        o, d, n = r["ours"], r["duckdb"], r["trades"]
        rc, rw = o["cpu"] / d["cpu"], o["wall"] / d["wall"]
        lines.append(
            f"| {n:,} | {o['wall']:.2f} | {o['cpu']:.2f} | {o['cpu'] / n * 1e6:.2f} | {o['rss_mib']:.0f} | "
            f"{d['wall']:.2f} | {d['cpu']:.2f} | {d['cpu'] / n * 1e6:.2f} | {rc:.2f} | {rw:.2f} | "
            f"CPU {report.verdict(rc <= 1)}, wall {report.verdict(rw < 1)}, RSS {report.verdict(o['rss_mib'] <= 64)} |")
    r = results[-1]  # the busiest day measured
    o, d, n = r["ours"], r["duckdb"], r["trades"]
    day = f"{n:,}-trade day"
    goals = [
        report.Goal(f"ingest CPU per trade ({day}): <= DuckDB", f"{o['cpu'] / n * 1e6:.2f} µs",
                    f"DuckDB {d['cpu'] / n * 1e6:.2f} µs", f"{o['cpu'] / d['cpu']:.2f}", o["cpu"] <= d["cpu"]),
        report.Goal(f"ingest wall time ({day}): < DuckDB", f"{o['wall']:.2f} s", f"DuckDB {d['wall']:.2f} s",
                    f"{o['wall'] / d['wall']:.2f}", o["wall"] < d["wall"]),
        report.Goal(f"ingest peak RSS ({day}): <= 64 MiB", f"{o['rss_mib']:.0f} MiB", "(no peer: a bound)",
                    f"{o['rss_mib'] / 64:.2f} of 64 MiB", o["rss_mib"] <= 64),
    ]
    report.publish("ingest", lines, goals, a.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
