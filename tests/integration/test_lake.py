"""The lake through the Python binding (ctypes on libaggtrades.so) and
through other Parquet readers: what a pandas user of ``read_trades`` /
``read_changes`` sees, that pyarrow and DuckDB read the same files, the
layout on disk, and crash safety of a real writing process killed with
SIGKILL at random moments.

The writer side is driven through ctypes too (agt_lake_open /
agt_lake_commit_hour), in this process or in a child process.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aggtrades import _lib

try:
    _SO = _lib.lib()
except _lib.LibraryNotFound as exc:  # pragma: no cover
    pytest.skip(f"library not built: {exc}", allow_module_level=True)
if not hasattr(_SO, "agt_lake_commit_hour"):  # pragma: no cover
    pytest.skip("library built without the lake module", allow_module_level=True)

from aggtrades.lake import (  # noqa: E402
    LakeError, read_changes, read_trades, read_trades_arrow, read_trades_polars)

HOUR = 3_600_000_000


def _declare(so: ctypes.CDLL) -> ctypes.CDLL:
    p, vp = ctypes.POINTER, ctypes.c_void_p
    so.agt_lake_open.argtypes = [ctypes.c_char_p, ctypes.c_uint, p(vp), p(_lib.AgtError)]
    so.agt_lake_close.argtypes = [vp]
    so.agt_lake_close.restype = None
    so.agt_lake_commit_hour.argtypes = [vp, ctypes.c_char_p, ctypes.c_int64, p(_lib.AgtTrades),
                                        p(_lib.AgtHourMeta), p(_lib.AgtCommitResult),
                                        p(_lib.AgtError)]
    so.agt_trades_push.argtypes = [p(_lib.AgtTrades), ctypes.c_int64, ctypes.c_int64,
                                   ctypes.c_double, ctypes.c_double, ctypes.c_int]
    so.agt_trades_init.argtypes = [p(_lib.AgtTrades)]
    so.agt_trades_release.argtypes = [p(_lib.AgtTrades)]
    so.agt_lake_rebuild_stats.argtypes = [vp, ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64,
                                          p(ctypes.c_size_t), p(_lib.AgtError)]
    return so


class Writer:
    def __init__(self, root: Path) -> None:
        self.so = _declare(_lib.lib())
        self.h = ctypes.c_void_p()
        err = _lib.AgtError()
        st = self.so.agt_lake_open(os.fsencode(root), 2, ctypes.byref(self.h), ctypes.byref(err))
        if st:
            raise RuntimeError(err.message.decode())

    def commit(self, symbol: str, hour_us: int, rows: list[tuple], prev_id: int = -2,
               complete: int = 0) -> _lib.AgtCommitResult:
        t = _lib.AgtTrades()
        self.so.agt_trades_init(ctypes.byref(t))
        for r in rows:
            self.so.agt_trades_push(ctypes.byref(t), *r)
        meta = _lib.AgtHourMeta(prev_id, complete, b"rest", 0)
        res, err = _lib.AgtCommitResult(), _lib.AgtError()
        st = self.so.agt_lake_commit_hour(self.h, symbol.encode(), hour_us, ctypes.byref(t),
                                          ctypes.byref(meta), ctypes.byref(res), ctypes.byref(err))
        self.so.agt_trades_release(ctypes.byref(t))
        if st:
            raise RuntimeError(err.message.decode())
        return res

    def commit_arrays(self, symbol: str, hour_us: int, ids: np.ndarray, ts: np.ndarray,
                      price: np.ndarray, qty: np.ndarray, ibm: np.ndarray) -> None:
        """Commit an hour given as numpy columns (borrowed for the call)."""
        p = ctypes.POINTER
        t = _lib.AgtTrades(ids.ctypes.data_as(p(ctypes.c_int64)), ts.ctypes.data_as(p(ctypes.c_int64)),
                           price.ctypes.data_as(p(ctypes.c_double)), qty.ctypes.data_as(p(ctypes.c_double)),
                           ibm.ctypes.data_as(p(ctypes.c_uint8)), len(ids), len(ids))
        meta = _lib.AgtHourMeta(-2, 0, b"rest", 0)
        res, err = _lib.AgtCommitResult(), _lib.AgtError()
        st = self.so.agt_lake_commit_hour(self.h, symbol.encode(), hour_us, ctypes.byref(t),
                                          ctypes.byref(meta), ctypes.byref(res), ctypes.byref(err))
        if st:
            raise RuntimeError(err.message.decode())

    def rebuild_stats(self, symbol: str, start_us: int = 0, end_us: int = 2**63 - 1) -> int:
        n, err = ctypes.c_size_t(), _lib.AgtError()
        st = self.so.agt_lake_rebuild_stats(self.h, symbol.encode(), start_us, end_us,
                                            ctypes.byref(n), ctypes.byref(err))
        if st:
            raise RuntimeError(err.message.decode())
        return n.value

    def close(self) -> None:
        self.so.agt_lake_close(self.h)


def us(s: str) -> int:
    return int(pd.Timestamp(s, tz="UTC").value // 1000)


def hour_rows(hour_us: int, first: int, n: int, salt: float = 0.0) -> list[tuple]:
    step = (HOUR - 1) // max(n - 1, 1)
    return [(first + i, hour_us + i * step, 100.0 + (i % 7) * 0.5 + salt, 0.25 + i % 3, i & 1)
            for i in range(n)]


@pytest.fixture
def lake(tmp_path: Path):
    root = tmp_path / "data"
    w = Writer(root)
    yield root, w
    w.close()


def test_read_trades_window_and_dtypes(lake):
    root, w = lake
    h = us("2023-10-05 12:00")
    rows = hour_rows(h, 1000, 3600)
    w.commit("BTCUSDT", h, rows, prev_id=999, complete=1)
    df = read_trades(root, "BTCUSDT", "2023-10-05 12:30:00.500", "2023-10-05 12:35:00")
    assert list(df.columns) == ["trade_id", "timestamp", "price", "quantity", "is_buyer_maker"]
    assert str(df["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert df["trade_id"].dtype == np.int64 and df["is_buyer_maker"].dtype == bool
    lo, hi = us("2023-10-05 12:30:00.500"), us("2023-10-05 12:35:00")
    want = [r for r in rows if lo <= r[1] <= hi]
    assert len(df) == len(want) > 0
    assert df["trade_id"].tolist() == [r[0] for r in want]
    assert (df["timestamp"].astype("int64") // 1000).tolist() == [r[1] for r in want]
    # a bare date is the whole UTC day; an unknown symbol is empty, not an error
    assert len(read_trades(root, "BTCUSDT", "2023-10-05", "2023-10-05")) == 3600
    assert len(read_trades(root, "ETHUSDT", "2023-10-05", "2023-10-05")) == 0
    with pytest.raises(ValueError):
        read_trades(root, "../etc", "2023-10-05", "2023-10-05")


def test_read_trades_columns_arrow_polars(lake):
    """Every output of a range spanning partial and whole hours holds the same rows."""
    root, w = lake
    rows = []
    for k in range(4):
        h = us("2023-10-05 10:00") + k * HOUR
        rows += hour_rows(h, 1000 + 500 * k, 500, salt=k)
        w.commit("BTCUSDT", h, rows[-500:])
    lo, hi = us("2023-10-05 10:20"), us("2023-10-05 12:40")
    want = [r for r in rows if lo <= r[1] <= hi]
    full = read_trades(root, "BTCUSDT", lo, hi)
    assert full["trade_id"].tolist() == [r[0] for r in want]
    assert full["price"].tolist() == [r[2] for r in want]
    assert full["is_buyer_maker"].tolist() == [bool(r[4]) for r in want]
    part = read_trades(root, "BTCUSDT", lo, hi, columns=["timestamp", "quantity"])
    assert list(part.columns) == ["timestamp", "quantity"]
    pd.testing.assert_frame_equal(part, full[["timestamp", "quantity"]])
    only = read_trades(root, "BTCUSDT", lo, hi, columns=["price"])
    assert only["price"].tolist() == [r[2] for r in want]
    with pytest.raises(ValueError, match="unknown column 'volume'"):
        read_trades(root, "BTCUSDT", lo, hi, columns=["volume"])
    pa = pytest.importorskip("pyarrow")
    tb = read_trades_arrow(root, "BTCUSDT", lo, hi)
    assert tb.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert tb.column("trade_id").to_pylist() == [r[0] for r in want]
    assert tb.column("timestamp").cast(pa.int64()).to_pylist() == [r[1] for r in want]
    assert tb.column("is_buyer_maker").to_pylist() == [bool(r[4]) for r in want]
    pl = pytest.importorskip("polars")
    pf = read_trades_polars(root, "BTCUSDT", lo, hi, columns=["trade_id", "quantity"])
    assert isinstance(pf, pl.DataFrame) and pf.columns == ["trade_id", "quantity"]
    assert pf["quantity"].to_list() == [r[3] for r in want]
    # an empty range and an unknown symbol give empty tables of the right shape
    assert read_trades_arrow(root, "ETHUSDT", lo, hi).num_rows == 0
    assert len(read_trades(root, "BTCUSDT", "2023-10-06", "2023-10-06", columns=["price"])) == 0


def test_large_reads_each_own_their_columns(lake):
    """Columns of a megabyte and more come from the library's column memory (mapped
    for huge pages, kept when a frame is freed and reused by the next read): frames
    read one after the other, each freed or kept, hold exactly the files' rows, and a
    frame still alive is never overwritten by a later read."""
    pq = pytest.importorskip("pyarrow.parquet")
    root, w = lake
    rng = np.random.default_rng(7)
    n, first = 150_000, 1_000
    for k in range(3):
        h = us("2023-10-05 10:00") + k * HOUR
        ids = np.arange(first, first + n, dtype=np.int64)
        first += n
        ts = np.sort(rng.integers(h, h + HOUR, n)).astype(np.int64)
        price = np.round(20_000 + rng.random(n) * 100, 2)
        qty = np.round(rng.random(n) * 3, 5)
        ibm = (rng.random(n) < 0.5).astype(np.uint8)
        w.commit_arrays("BTCUSDT", h, ids, ts, price, qty, ibm)
    files = sorted(root.glob("symbol=BTCUSDT/**/*.parquet"))
    arrow = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    arrow["timestamp"] = arrow["timestamp"].astype("datetime64[ns, UTC]")
    lo, hi = us("2023-10-05 10:00"), us("2023-10-05 12:59:59.999999")
    first_frame = read_trades(root, "BTCUSDT", lo, hi)
    assert first_frame["price"].to_numpy().nbytes >= 2**20
    pd.testing.assert_frame_equal(first_frame, arrow)
    for _ in range(3):  # freed frames: their memory serves the next read
        pd.testing.assert_frame_equal(read_trades(root, "BTCUSDT", lo, hi), arrow)
    part = read_trades(root, "BTCUSDT", lo + HOUR // 2, hi, columns=["quantity", "timestamp"])
    pd.testing.assert_frame_equal(part, arrow.loc[arrow["timestamp"].astype("int64") // 1000 >= lo + HOUR // 2,
                                                  ["timestamp", "quantity"]].reset_index(drop=True),
                                  check_like=True)
    tb = read_trades_arrow(root, "BTCUSDT", lo, hi)
    del part
    second = read_trades(root, "BTCUSDT", lo, hi)
    pd.testing.assert_frame_equal(first_frame, arrow)
    pd.testing.assert_frame_equal(second, arrow)
    assert tb.column("trade_id").to_numpy().tolist() == arrow["trade_id"].tolist()
    assert np.array_equal(tb.column("price").to_numpy(), arrow["price"].to_numpy())


def test_layout_and_schema_files(lake):
    root, w = lake
    w.commit("ETHUSDT", us("2024-02-29 07:00"), hour_rows(us("2024-02-29 07:00"), 5, 10))
    assert (root / "symbol=ETHUSDT/year=2024/month=2/day=29/ETHUSDT_20240229_07.parquet").is_file()
    avsc = json.loads((root / "metadata/schema_version=1/_trades.avsc").read_text())
    assert avsc["type"] == "record"
    fields = {f["name"]: f["type"] for f in avsc["fields"]}
    assert fields["timestamp"] == {"type": "long", "logicalType": "timestamp-micros"}
    assert fields["is_buyer_maker"] == "boolean" and fields["trade_id"] == "long"
    stats = json.loads((root / "metadata/stats/symbol=ETHUSDT/_2024-02-29.json").read_text())
    assert stats["hours"][0]["rows"] == 10 and stats["hours"][0]["first_id"] == 5
    assert (root / "metadata/wal/_wal.log").is_file()


def test_other_readers_agree(lake):
    pa = pytest.importorskip("pyarrow.parquet")
    duckdb = pytest.importorskip("duckdb")
    root, w = lake
    for k in range(3):
        h = us("2023-12-31 22:00") + k * HOUR
        w.commit("BTCUSDT", h, hour_rows(h, 10_000 * k, 500, salt=k))
    ours = read_trades(root, "BTCUSDT", "2023-12-31", "2024-01-01")
    files = sorted(root.glob("symbol=BTCUSDT/**/*.parquet"))
    assert len(files) == 3
    arrow = pd.concat([pa.read_table(f).to_pandas() for f in files], ignore_index=True)
    assert arrow["trade_id"].tolist() == ours["trade_id"].tolist()
    assert arrow["price"].tolist() == ours["price"].tolist()
    n = duckdb.sql(f"select count(*), sum(quantity) from read_parquet('{root}/symbol=BTCUSDT/*/*/*/*.parquet')").fetchall()[0]
    assert n[0] == 1500 and abs(n[1] - ours["quantity"].sum()) < 1e-9
    md = pa.read_metadata(files[0]).metadata
    assert md[b"aggtrades.symbol"] == b"BTCUSDT" and md[b"aggtrades.schema_version"] == b"1"


def test_upsert_and_change_feed(lake):
    root, w = lake
    h = us("2023-10-01 00:00")
    rows = hour_rows(h, 100, 5)
    r1 = w.commit("ETHUSDT", h, rows)
    assert (r1.inserted, r1.updated, r1.skipped, r1.version) == (5, 0, 0, 1)
    r2 = w.commit("ETHUSDT", h, rows)  # all duplicates
    assert (r2.inserted, r2.updated, r2.skipped) == (0, 0, 5)
    changed = [(101, rows[1][1], 999.0, rows[1][3], rows[1][4]), (105, h + HOUR - 1, 1.0, 2.0, 1)]
    r3 = w.commit("ETHUSDT", h, changed)
    assert (r3.inserted, r3.updated, r3.skipped, r3.rows) == (1, 1, 0, 6)
    df = read_trades(root, "ETHUSDT", h, h + HOUR - 1)
    assert df["trade_id"].tolist() == [100, 101, 102, 103, 104, 105]
    assert df.loc[df.trade_id == 101, "price"].item() == 999.0
    ch = read_changes(root, "ETHUSDT", 0)
    assert ch["_change_type"].tolist() == ["insert"] * 5 + ["update_preimage", "update_postimage", "insert"]
    assert ch["_commit_version"].tolist() == [1] * 5 + [3, 3, 3]
    assert ch.loc[5, "price"] == rows[1][2] and ch.loc[6, "price"] == 999.0
    assert str(ch["_commit_timestamp"].dtype) == "datetime64[ns, UTC]"
    assert len(read_changes(root, "ETHUSDT", 2)) == 3
    assert len(read_changes(root, "ETHUSDT", 3)) == 0


def test_damaged_file_names_its_path(lake):
    root, w = lake
    h = us("2023-07-04 12:00")
    w.commit("BTCUSDT", h, hour_rows(h, 1, 2000))
    f = next(root.glob("symbol=BTCUSDT/**/*.parquet"))
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(LakeError) as ei:
        read_trades(root, "BTCUSDT", h, h + HOUR - 1)
    assert ei.value.status == "AGT_ECORRUPT" and f.name in str(ei.value)


@pytest.mark.parametrize("damage", ["scribble", "delete"])
def test_damaged_stats_refuse_then_rebuild(lake, damage):
    """A lost statistics file never shortens a read; rebuilding restores the same bytes."""
    root, w = lake
    h = us("2023-07-04 12:00")
    w.commit("BTCUSDT", h, hour_rows(h, 1, 2000), prev_id=0, complete=1)
    w.commit("BTCUSDT", h + HOUR, hour_rows(h + HOUR, 2001, 500), prev_id=2000, complete=1)
    stats = root / "metadata/stats/symbol=BTCUSDT/_2023-07-04.json"
    before = read_trades(root, "BTCUSDT", "2023-07-04", "2023-07-04")
    saved = stats.read_bytes()
    if damage == "scribble":
        stats.write_bytes(saved[:40])
    else:
        stats.unlink()
    with pytest.raises(LakeError) as ei:
        read_trades(root, "BTCUSDT", "2023-07-04", "2023-07-04")
    assert ei.value.status == "AGT_ECORRUPT" and str(stats) in str(ei.value)
    assert w.rebuild_stats("BTCUSDT") == 1
    assert stats.read_bytes() == saved
    assert w.rebuild_stats("BTCUSDT") == 0
    pd.testing.assert_frame_equal(read_trades(root, "BTCUSDT", "2023-07-04", "2023-07-04"), before)


def _killed_writer(root: str, start: int) -> None:  # runs in a child process
    w = Writer(Path(root))
    i = start
    while True:
        h = us("2024-03-01 00:00") + (i % 4) * HOUR
        base = (i % 4) * 100_000
        w.commit("BTCUSDT", h, [(base + j, h + j * 1000, 1.0 + (i // 4 + j) % 2, 1.0, 0)
                                 for j in range(i % 50, i % 50 + 40)])
        i += 1


def test_sigkill_child_process(tmp_path: Path):
    """Kill a Python process writing through the library at random moments."""
    root = tmp_path / "data"
    ctx = mp.get_context("fork")
    rng = random.Random(7)
    for _ in range(12):
        p = ctx.Process(target=_killed_writer, args=(str(root), 0))
        p.start()
        time.sleep(rng.uniform(0.05, 0.3))
        os.kill(p.pid, signal.SIGKILL)
        p.join()
        df = read_trades(root, "BTCUSDT", 0, 2**62) if root.exists() else pd.DataFrame({"trade_id": []})
        ids = df["trade_id"].tolist()
        assert ids == sorted(set(ids))  # every row once, in order
        w = Writer(root)  # recovery
        w.close()
        assert not list(root.rglob("*.tmp"))
