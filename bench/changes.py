#!/usr/bin/env python3
"""Bytes of the change feed against the data files it describes.

Commits through the library as built (so the writer measured is the current
one) the hours of bench/sample_lake.py's generator that bench/size.py uses
(the busy BTCUSDT day and the first week of the quiet ETHUSDT month), then
commits every hour a second time as ``update --force`` does: a tenth of the
hours with every 50th trade's price changed (real updates: before and after
images), the others unchanged (duplicates skipped). Then compares the bytes
of the change files (``metadata/_changes``) with those of the data files,
and with the same changes written by pyarrow one file per commit with every
row copied (``read_changes`` per commit, zstd): what the feed cost when it
copied the inserted rows. ``read_changes`` is checked against the commits
made (every inserted row once, each update with its before and after image).
Goal (issue 12): the change feed at most 0.25x the data files' bytes.

    .venv/bin/python bench/changes.py [--smoke]
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lake as LB  # noqa: E402
import lake_lib as L  # noqa: E402
import report  # noqa: E402
import sample_lake as S  # noqa: E402

GOAL = 0.25


def hours(smoke: bool):
    day = LB.Generator(S.DAY_ROWS_PER_HOUR)
    k = (LB.utc_us(S.DAY) - day.year0) // L.US_PER_HOUR
    month = LB.Generator(S.MONTH_ROWS_PER_HOUR)
    m = (LB.utc_us(S.MONTH[0]) - month.year0) // L.US_PER_HOUR
    yield from ((S.DAY_SYMBOL, day, h) for h in range(k, k + (2 if smoke else 24)))
    yield from ((S.MONTH_SYMBOL, month, h) for h in range(m, m + (2 if smoke else 168)))


def commit(lake: L.Lake, symbol: str, gen, k: int, changed: bool) -> tuple[int, int]:
    ids, ts, price, qty, ibm = gen.hour(k)
    if changed:
        price = price.copy()
        price[::50] += 0.01
    h0 = gen.hour_start(k)
    meta = L.AgtHourMeta(int(ids[0]) - 1, 1, b"rest", h0 + L.US_PER_HOUR + 60 * L.US)
    lake.commit_hour(symbol.encode(), h0, L.trades_view(ids, ts, price, qty, ibm), meta)
    return len(ids), (len(price[::50]) if changed else 0)


def dir_bytes(d: Path, pattern: str) -> tuple[int, int]:
    files = [p for p in d.glob(pattern) if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def main(argv=None) -> int:
    a = report.args(__doc__, 1, argv)
    import pyarrow as pa
    import pyarrow.parquet as pq
    from aggtrades import read_changes

    machine = report.machine()
    root = Path(S.lake_root(a.smoke)).parent / f"changes-lake{'-smoke' if a.smoke else ''}"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    lake = L.Lake(root, write=True, no_fsync=True)
    trades = updated = commits = 0
    try:
        for symbol, gen, k in hours(a.smoke):
            trades += commit(lake, symbol, gen, k, False)[0]
            commits += 1
        for i, (symbol, gen, k) in enumerate(hours(a.smoke)):
            updated += commit(lake, symbol, gen, k, i % 10 == 0)[1]
            commits += 1
    finally:
        lake.close()
    data, n_data = dir_bytes(root, "symbol=*/**/*.parquet")
    feed, n_feed = dir_bytes(root / "metadata" / "_changes", "*/*.pq")
    # the same changes with every row copied, one pyarrow file per commit
    copied, scratch = 0, root / "copy.parquet"
    for symbol in (S.DAY_SYMBOL, S.MONTH_SYMBOL):
        ch = read_changes(root, symbol)
        kinds = ch["_change_type"].value_counts().to_dict()
        if kinds.get("insert", 0) != trades_of(root, symbol) or \
                kinds.get("update_preimage", 0) != kinds.get("update_postimage", 0):
            print(f"MISMATCH: read_changes of {symbol} gives {kinds}", file=sys.stderr)
            return 1
        for _, part in ch.groupby("_commit_version"):
            pq.write_table(pa.Table.from_pandas(part, preserve_index=False), scratch, compression="zstd")
            copied += scratch.stat().st_size
    scratch.unlink(missing_ok=True)
    ratio = feed / data
    lines = [
        f"Bytes do not depend on the build. {trades:,} trades in "
        f"{n_data} hour files (the busy {S.DAY_SYMBOL} day and the first week of the {S.MONTH_SYMBOL} month "
        f"of bench/sample_lake.py), each hour committed twice as `update --force` does: {commits} commits, "
        f"{updated:,} trades updated (a tenth of the hours, every 50th price), the rest skipped. "
        f"Machine: {machine}; {report.versions()}.",
        "",
        "| what | bytes | bytes / trade | / data files | goal |",
        "|---|---:|---:|---:|---|",
        f"| data files | {data:,} | {data / trades:.3f} | 1.000 | |",
        f"| change feed ({n_feed} files; inserts by reference) | {feed:,} | {feed / trades:.3f} | "
        f"{ratio:.3f} | ≤ {GOAL:.2f}: {report.verdict(ratio <= GOAL)} |",
        f"| the same changes, every row copied (pyarrow zstd, a file per commit) | {copied:,} | "
        f"{copied / trades:.3f} | {copied / data:.3f} | |",
        "",
        "`read_changes` gives every inserted trade once and each update's two images, checked above.",
    ]
    goals = [report.Goal("change feed: <= 0.25x the data files' bytes", f"{feed / trades:.3f} B/trade",
                         f"every row copied (pyarrow zstd) {copied / trades:.3f} B/trade; "
                         f"data files {data / trades:.3f} B/trade", f"{ratio:.3f}", ratio <= GOAL)]
    report.publish("changes", lines, goals, a.smoke)
    shutil.rmtree(root)
    return 0 if ratio <= GOAL or a.smoke else 1


def trades_of(root: Path, symbol: str) -> int:
    from aggtrades import read_trades
    return len(read_trades(root, symbol, 0, 2**62, columns=["trade_id"]))


if __name__ == "__main__":
    sys.exit(main())
