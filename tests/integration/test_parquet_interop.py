"""Interop of our C Parquet writer/reader with pyarrow, pandas, DuckDB, polars and Spark.

Files are written by the C library through ctypes and read back by every engine,
comparing each value bit for bit; files written by pyarrow are read by our reader.
A missing library is a failure, never a skip. The Parquet writer and reader
are internal (libaggtrades.so exports only the public API), so this drives
libaggtrades_testing.so, the same code with every symbol visible, built beside
it ($AGT_TESTING_LIB names another one).
"""
import ctypes as C
import math
import os
import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

_PUBLIC = os.environ.get("AGT_LIB") or os.path.join(os.path.dirname(__file__), "..", "..", "build",
                                                    "libaggtrades.so")
LIB_PATH = os.environ.get("AGT_TESTING_LIB") or os.path.join(os.path.dirname(_PUBLIC),
                                                             "libaggtrades_testing.so")
if not os.path.exists(LIB_PATH):
    raise RuntimeError(f"libaggtrades_testing.so not found at {LIB_PATH} (set AGT_TESTING_LIB or build build/)")
lib = C.CDLL(LIB_PATH)

AGT_OK, AGT_ECORRUPT, AGT_EUNSUPPORTED = 0, 10, 11
T_INT64, T_TS, T_DOUBLE, T_BOOL, T_INT32, T_STRING = range(6)
F_BLOOM, F_NO_DICT, F_BSS = 1, 2, 4


class Trades(C.Structure):
    _fields_ = [("trade_id", C.c_void_p), ("ts_us", C.c_void_p), ("price", C.c_void_p),
                ("quantity", C.c_void_p), ("is_buyer_maker", C.c_void_p),
                ("len", C.c_size_t), ("cap", C.c_size_t)]


class Buf(C.Structure):
    _fields_ = [("data", C.POINTER(C.c_uint8)), ("len", C.c_size_t), ("cap", C.c_size_t),
                ("max", C.c_size_t)]


class Err(C.Structure):
    _fields_ = [("status", C.c_int), ("http_status", C.c_int), ("api_code", C.c_int),
                ("sys_errno", C.c_int), ("attempts", C.c_int), ("message", C.c_char * 512)]


class KV(C.Structure):
    _fields_ = [("key", C.c_char_p), ("value", C.c_char_p)]


class Opts(C.Structure):
    _fields_ = [("zstd_level", C.c_int), ("bloom_fpp", C.c_double), ("page_rows", C.c_size_t),
                ("byte_stream_split", C.c_int), ("kv", C.POINTER(KV)), ("n_kv", C.c_size_t)]


class Column(C.Structure):
    _fields_ = [("name", C.c_char_p), ("type", C.c_int), ("flags", C.c_uint), ("values", C.c_void_p)]


lib.agt_pq_write_trades.argtypes = [C.POINTER(Trades), C.POINTER(Opts), C.POINTER(Buf), C.POINTER(Err)]
lib.agt_pq_write.argtypes = [C.POINTER(Column), C.c_size_t, C.c_size_t, C.POINTER(Opts),
                             C.POINTER(Buf), C.POINTER(Err)]
lib.agt_pq_open_mem.argtypes = [C.c_void_p, C.c_size_t, C.POINTER(C.c_void_p), C.POINTER(Err)]
lib.agt_pq_close.argtypes = [C.c_void_p]
lib.agt_pq_num_rows.argtypes = [C.c_void_p]
lib.agt_pq_num_rows.restype = C.c_int64
lib.agt_pq_read_trades.argtypes = [C.c_void_p, C.c_int64, C.c_int64, C.c_uint, C.POINTER(Trades),
                                   C.POINTER(Err)]
lib.agt_pq_kv_get.argtypes = [C.c_void_p, C.c_char_p]
lib.agt_pq_kv_get.restype = C.c_char_p
lib.agt_pq_find_trade.argtypes = [C.c_void_p, C.c_int64, C.c_int, C.POINTER(Trades),
                                  C.POINTER(C.c_int), C.POINTER(C.c_int), C.POINTER(Err)]
lib.agt_buf_init.argtypes = [C.POINTER(Buf), C.c_size_t]
lib.agt_buf_release.argtypes = [C.POINTER(Buf)]
lib.agt_trades_init.argtypes = [C.POINTER(Trades)]
lib.agt_trades_release.argtypes = [C.POINTER(Trades)]


def _opts(page_rows=0, kv=None, level=0, bss=0):
    o = Opts()
    o.zstd_level, o.bloom_fpp, o.page_rows, o.byte_stream_split = level, 0.01, page_rows or 4096, bss
    o._keep = []
    if kv:
        arr = (KV * len(kv))(*[KV(k.encode(), v.encode()) for k, v in kv.items()])
        o.kv, o.n_kv, o._keep = arr, len(kv), [arr]
    return o


def write_trades(ids, ts, price, qty, maker, **kw):
    cols = [np.ascontiguousarray(ids, np.int64), np.ascontiguousarray(ts, np.int64),
            np.ascontiguousarray(price, np.float64), np.ascontiguousarray(qty, np.float64),
            np.ascontiguousarray(maker, np.uint8)]
    n = len(cols[0])
    t = Trades(*[c.ctypes.data for c in cols], n, n)
    b, e = Buf(), Err()
    lib.agt_buf_init(C.byref(b), 0)
    o = _opts(**kw)
    rc = lib.agt_pq_write_trades(C.byref(t), C.byref(o), C.byref(b), C.byref(e))
    assert rc == AGT_OK, e.message
    data = C.string_at(b.data, b.len)
    lib.agt_buf_release(C.byref(b))
    return data


def read_ours(data, ts_min=-(2**63), ts_max=2**63 - 1):
    """Read a trade file with our reader: (status, message, dict of numpy arrays)."""
    buf = C.create_string_buffer(data, len(data))
    f, e = C.c_void_p(), Err()
    rc = lib.agt_pq_open_mem(buf, len(data), C.byref(f), C.byref(e))
    if rc != AGT_OK:
        return rc, e.message.decode(), None
    t = Trades()
    lib.agt_trades_init(C.byref(t))
    rc = lib.agt_pq_read_trades(f, ts_min, ts_max, 0x1F, C.byref(t), C.byref(e))
    out = None
    if rc == AGT_OK:
        n = t.len
        def arr(p, ct, dt):
            return np.ctypeslib.as_array(C.cast(p, C.POINTER(ct)), (n,)).astype(dt).copy() if n else np.zeros(0, dt)
        out = {"trade_id": arr(t.trade_id, C.c_int64, np.int64), "timestamp": arr(t.ts_us, C.c_int64, np.int64),
               "price": arr(t.price, C.c_double, np.float64), "quantity": arr(t.quantity, C.c_double, np.float64),
               "is_buyer_maker": arr(t.is_buyer_maker, C.c_uint8, np.uint8)}
    lib.agt_trades_release(C.byref(t))
    lib.agt_pq_close(f)
    return rc, e.message.decode(), out


def bits(a):
    return np.ascontiguousarray(a, np.float64).view(np.uint64)


def same_doubles(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = np.isnan(a), np.isnan(b)
    return a.shape == b.shape and (na == nb).all() and (bits(a)[~na] == bits(b)[~nb]).all()


# ---- the data sets ---------------------------------------------------------

def edge_table():
    """Every awkward value: int64 extremes, -0.0, subnormals, huge doubles, NaN, inf."""
    d = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
         -1.7976931348623157e308, float("nan"), float("inf"), float("-inf"), 87648.21, 1e-8]
    n = len(d) * 3
    ids = np.array([-(2**63), 2**63 - 1, 0, -1, 1] + list(range(10, 10 + n - 5)), np.int64)
    ts = 1767225600000000 + np.arange(n, dtype=np.int64) * 999_999  # about a day of µs steps
    ts[0] = -62135596800000000 + 1  # 0001-01-01 plus 1 µs
    ts[1] = 253402300799999999      # 9999-12-31 23:59:59.999999
    ts.sort()
    price = np.array(d * 3, np.float64)
    qty = np.array(list(reversed(d)) * 3, np.float64)
    maker = (np.arange(n) % 3 == 0).astype(np.uint8)
    return ids, ts, price, qty, maker


def synthetic(n, seed=7):
    rng = np.random.default_rng(seed)
    ids = np.arange(3_800_000_000, 3_800_000_000 + n, dtype=np.int64)
    ts = 1767225600000000 + np.cumsum(rng.integers(0, 7200, n)).astype(np.int64)
    price = np.round(87000 + np.cumsum(rng.choice([-0.01, 0, 0.01], n)), 2)
    qty = np.round(rng.exponential(0.05, n) + 0.00001, 5)
    maker = rng.integers(0, 2, n).astype(np.uint8)
    return ids, ts, price, qty, maker


COLS = ["trade_id", "timestamp", "price", "quantity", "is_buyer_maker"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("pq")
    out = {}
    for name, tab, kw in [("edge", edge_table(), {"page_rows": 7}),
                          ("one", tuple(a[:1] for a in synthetic(1)), {}),
                          ("big", synthetic(1_000_000), {}),
                          ("bss", synthetic(5000), {"bss": 1})]:
        p = d / f"{name}.parquet"
        p.write_bytes(write_trades(*tab, kv={"symbol": "BTCUSDT", "schema_version": "1"}, **kw))
        out[name] = (str(p), tab)
    return out


def check_columns(tab, got):
    ids, ts, price, qty, maker = tab
    assert np.array_equal(np.asarray(got["trade_id"], np.int64), ids)
    assert np.array_equal(np.asarray(got["timestamp"], np.int64), ts)
    assert same_doubles(got["price"], price)
    assert same_doubles(got["quantity"], qty)
    assert np.array_equal(np.asarray(got["is_buyer_maker"]).astype(np.uint8), maker)


# ---- our files, read by others ----------------------------------------------

@pytest.mark.parametrize("name", ["edge", "one", "big", "bss"])
def test_pyarrow_reads_ours(files, name):
    path, tab = files[name]
    t = pq.read_table(path)
    assert t.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert not any(f.nullable for f in t.schema)
    got = {c: t[c].to_numpy() if c != "timestamp" else t[c].cast(pa.int64()).to_numpy() for c in COLS}
    check_columns(tab, got)
    md = pq.ParquetFile(path).metadata
    assert md.created_by.startswith("aggtrades version ")
    assert pq.ParquetFile(path).schema_arrow.metadata[b"symbol"] == b"BTCUSDT"
    for i in range(5):
        cc = md.row_group(0).column(i)
        assert cc.compression == "ZSTD"
        assert cc.statistics.has_min_max or name == "edge"
        assert cc.has_offset_index
    if name == "big":
        st = md.row_group(0).column(0).statistics
        assert (st.min, st.max) == (int(tab[0][0]), int(tab[0][-1]))
        assert md.row_group(0).column(2).encodings == ("PLAIN", "RLE", "RLE_DICTIONARY")


@pytest.mark.parametrize("name", ["edge", "one", "big"])
def test_pandas_reads_ours(files, name):
    import pandas as pd
    path, tab = files[name]
    df = pd.read_parquet(path, dtype_backend="pyarrow")
    got = {c: df[c].to_numpy() for c in COLS if c != "timestamp"}
    got["timestamp"] = pa.array(df["timestamp"]).cast(pa.int64()).to_numpy()
    check_columns(tab, got)


@pytest.mark.parametrize("name", ["edge", "one", "big", "bss"])
def test_duckdb_reads_ours(files, name):
    import duckdb
    con = duckdb.connect()  # its own: results left on the default connection leak into later tests
    path, tab = files[name]
    t = con.execute(f"select trade_id, epoch_us(timestamp) as timestamp, price, quantity, "
                    f"is_buyer_maker from read_parquet('{path}')").to_arrow_table()
    got = {c: t[c].to_numpy() for c in COLS}
    check_columns(tab, got)
    types = dict(con.execute(f"select name, type from parquet_schema('{path}')").fetchall())
    assert types["timestamp"] == "INT64" and types["price"] == "DOUBLE"
    lt = con.execute(f"select logical_type from parquet_schema('{path}') where name='timestamp'").fetchone()[0]
    assert "isAdjustedToUTC=1" in lt.replace(" ", "") and "MICROS" in lt
    md = con.execute(f"select path_in_schema, compression, stats_min_value, stats_max_value, "
                     f"stats_null_count, bloom_filter_offset from parquet_metadata('{path}')").fetchall()
    for p, comp, mn, mx, nulls, bloom in md:
        assert comp == "ZSTD" and nulls == 0
        if p == "trade_id":
            assert int(mn) == tab[0].min() and int(mx) == tab[0].max() and bloom is not None
    if name != "edge":
        present, absent = int(tab[0][len(tab[0]) // 2]), int(tab[0][-1]) + 12345
        q = "select bloom_filter_excludes from parquet_bloom_probe('{}', 'trade_id', {})"
        assert con.execute(q.format(path, present)).fetchone()[0] is False
        assert con.execute(q.format(path, absent)).fetchone()[0] is True
        # a point query agrees
        assert con.execute(f"select count(*) from '{path}' where trade_id = {present}").fetchone()[0] == 1


@pytest.mark.parametrize("name", ["edge", "one", "big", "bss"])
def test_polars_reads_ours(files, name):
    import polars as pl
    path, tab = files[name]
    df = pl.read_parquet(path)
    assert str(df.schema["timestamp"]) == "Datetime(time_unit='us', time_zone='UTC')"
    got = {c: df[c].to_numpy() for c in COLS if c != "timestamp"}
    got["timestamp"] = df["timestamp"].dt.epoch("us").to_numpy()
    check_columns(tab, got)


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession
    s = (SparkSession.builder.master("local[1]").appName("pq-interop")
         .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
         .config("spark.driver.memory", "1g").getOrCreate())
    yield s
    s.stop()


@pytest.mark.parametrize("name", ["edge", "one", "big"])
def test_spark_reads_ours(spark, files, name):
    from pyspark.sql import functions as F
    path, tab = files[name]
    df = spark.read.parquet(path)
    assert dict(df.dtypes)["timestamp"] == "timestamp"
    df = df.select("trade_id", F.unix_micros("timestamp").alias("timestamp"), "price", "quantity",
                   F.col("is_buyer_maker").cast("tinyint").alias("is_buyer_maker"))
    if name == "big":  # keep it fast: aggregate checks plus a window of rows
        base = int(tab[1][0])
        agg = df.agg(F.count("*"), F.sum(F.col("trade_id") - 3_800_000_000),
                     F.sum(F.col("timestamp") - F.lit(base)), F.sum("price"),
                     F.sum("is_buyer_maker")).collect()[0]
        assert agg[0] == len(tab[0]) and agg[1] == int((tab[0] - 3_800_000_000).sum())
        assert agg[2] == int((tab[1] - base).sum())
        assert agg[4] == int(tab[4].sum())
        lo, hi = int(tab[0][123_456]), int(tab[0][123_456 + 999])
        rows = df.where((F.col("trade_id") >= lo) & (F.col("trade_id") <= hi)).orderBy("trade_id").collect()
        sl = slice(123_456, 123_456 + 1000)
        tab = tuple(a[sl] for a in tab)
    else:
        rows = df.orderBy("trade_id").collect()
    got = {c: np.array([r[c] for r in rows]) for c in COLS}
    order = np.argsort(tab[0], kind="stable")
    check_columns(tuple(a[order] for a in tab), got)


# ---- our reader ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["edge", "one", "big", "bss"])
def test_our_reader_round_trip(files, name):
    path, tab = files[name]
    data = open(path, "rb").read()
    rc, msg, got = read_ours(data)
    assert rc == AGT_OK, msg
    check_columns(tab, got)


def test_our_time_range_matches_pyarrow(files):
    path, tab = files["big"]
    data = open(path, "rb").read()
    ts = tab[1]
    for lo_i, hi_i in [(0, 0), (4095, 4096), (500_000, 500_250), (999_000, 999_999)]:
        lo, hi = int(ts[lo_i]), int(ts[hi_i])
        rc, msg, got = read_ours(data, lo, hi)
        assert rc == AGT_OK, msg
        t = pq.read_table(path, filters=[("trade_id", ">=", 0)])
        mask = (ts >= lo) & (ts <= hi)
        check_columns(tuple(a[mask] for a in tab), got)


def pyarrow_trades_table(tab, nullable=False):
    ids, ts, price, qty, maker = tab
    schema = pa.schema([pa.field("trade_id", pa.int64(), nullable), pa.field("timestamp", pa.timestamp("us", "UTC"), nullable),
                        pa.field("price", pa.float64(), nullable), pa.field("quantity", pa.float64(), nullable),
                        pa.field("is_buyer_maker", pa.bool_(), nullable)])
    return pa.table([pa.array(ids), pa.array(ts).cast(pa.timestamp("us", "UTC")), pa.array(price), pa.array(qty),
                     pa.array(maker.astype(bool))], schema=schema)


@pytest.mark.parametrize("kw", [
    dict(compression="zstd"),
    dict(compression="none"),
    dict(compression="zstd", compression_level=9, use_dictionary=["price", "quantity"],
         column_encoding={"trade_id": "DELTA_BINARY_PACKED", "timestamp": "DELTA_BINARY_PACKED"}),
    dict(compression="zstd", use_dictionary=False, column_encoding={"price": "BYTE_STREAM_SPLIT"}),
    dict(compression="zstd", row_group_size=30_000, data_page_size=4096),
    dict(compression="zstd", write_page_index=True),
])
@pytest.mark.parametrize("nullable", [False, True])
def test_our_reader_reads_pyarrow(tmp_path, kw, nullable):
    tab = synthetic(100_000, seed=3)
    p = tmp_path / "pa.parquet"
    pq.write_table(pyarrow_trades_table(tab, nullable), p, **kw)
    rc, msg, got = read_ours(p.read_bytes())
    assert rc == AGT_OK, msg
    check_columns(tab, got)
    lo, hi = int(tab[1][40_000]), int(tab[1][40_100])
    rc, msg, got = read_ours(p.read_bytes(), lo, hi)
    mask = (tab[1] >= lo) & (tab[1] <= hi)
    check_columns(tuple(a[mask] for a in tab), got)


def test_our_reader_rejects_snappy_clearly(tmp_path):
    p = tmp_path / "snappy.parquet"
    pq.write_table(pyarrow_trades_table(synthetic(100)), p)  # pyarrow default: snappy
    rc, msg, _ = read_ours(p.read_bytes())
    assert rc == AGT_EUNSUPPORTED and "snappy" in msg


def test_string_and_int32_columns(tmp_path):
    import duckdb
    con = duckdb.connect()  # its own: results left on the default connection leak into later tests
    n = 5000
    seq = np.arange(n, dtype=np.int32) * 3 - 7000
    names = [f"op-{i % 17}-é" for i in range(n)]
    enc = [s.encode() for s in names]
    arr = (C.c_char_p * n)(*enc)
    cols = (Column * 2)(Column(b"seq", T_INT32, F_BLOOM, seq.ctypes.data), Column(b"op", T_STRING, 0, C.cast(arr, C.c_void_p)))
    b, e = Buf(), Err()
    lib.agt_buf_init(C.byref(b), 0)
    o = _opts(page_rows=1000)
    assert lib.agt_pq_write(cols, 2, n, C.byref(o), C.byref(b), C.byref(e)) == AGT_OK, e.message
    p = tmp_path / "s.parquet"
    p.write_bytes(C.string_at(b.data, b.len))
    lib.agt_buf_release(C.byref(b))
    t = pq.read_table(p)
    assert t.schema.field("op").type == pa.string() and t.schema.field("seq").type == pa.int32()
    assert t["op"].to_pylist() == names and np.array_equal(t["seq"].to_numpy(), seq)
    assert con.execute(f"select count(*) from '{p}' where op = 'op-3-é'").fetchone()[0] == len([s for s in names if s == "op-3-é"])
    import polars as pl
    assert pl.read_parquet(p)["op"].to_list() == names


# ---- a data file of the lake: its bloom filter at the lake's rate ------------------

def _split_block_fpp(ndv: int, nbytes: int) -> float:
    """Exact false-positive rate of a split-block filter (as src/parquet/bloom.c computes it)."""
    lam = ndv / (nbytes / 32)
    return sum(math.exp(k * math.log(lam) - lam - math.lgamma(k + 1)) * (1 - (31 / 32) ** k) ** 8
               for k in range(0, int(lam * 3 + 60)))


@pytest.fixture(scope="module")
def lake_file(tmp_path_factory):
    """One hour committed through the lake, even ids only: every odd id of its range is absent."""
    from test_lake import HOUR, Writer, us  # the lake's own ctypes writer

    root = tmp_path_factory.mktemp("lake") / "data"
    w = Writer(root)
    h = us("2024-03-01 10:00")
    ids = list(range(1_000_000, 1_020_000, 2))
    w.commit("BTCUSDT", h, [(i, h + k * (HOUR // len(ids)), 100.0 + k % 7, 0.5, k & 1)
                            for k, i in enumerate(ids)])
    w.close()
    (path,) = root.glob("symbol=BTCUSDT/**/*.parquet")
    return str(path), ids


def test_lake_bloom_filter_read_by_duckdb(lake_file):
    """Present ids are never excluded; absent ids inside the file's id range are excluded
    at the rate the filter's size gives (the lake asks for 0.97: see src/lake/commit.c)."""
    import duckdb
    path, ids = lake_file
    con = duckdb.connect()  # its own: the module's default connection may hold another test's result
    nbytes = con.sql(f"select bloom_filter_length from parquet_metadata('{path}') "
                        "where path_in_schema = 'trade_id'").fetchall()[0][0]
    assert nbytes and nbytes < len(ids) // 2  # ~2 bits an id, not the 1 % default's ~10
    bitset = 1 << (int(nbytes).bit_length() - 1)  # the header is a few bytes on top
    want = 1 - _split_block_fpp(len(ids), bitset)
    q = "select bloom_filter_excludes from parquet_bloom_probe('{}', 'trade_id', {})"
    present = ids[::20]
    assert not any(con.sql(q.format(path, i)).fetchall()[0][0] for i in present)
    absent = [i + 1 for i in ids[::10]]
    excluded = sum(bool(con.sql(q.format(path, i)).fetchall()[0][0]) for i in absent)
    assert 0.02 < want < 0.25
    assert abs(excluded / len(absent) - want) < 0.05, (excluded, len(absent), want)
    assert con.sql(f"select count(*) from '{path}' where trade_id = {ids[77]}").fetchall()[0][0] == 1
    assert con.sql(f"select count(*) from '{path}' where trade_id = {ids[77] + 1}").fetchall()[0][0] == 0


def test_lake_bloom_filter_read_by_spark(spark, lake_file):
    from pyspark.sql import functions as F
    path, ids = lake_file
    df = spark.read.parquet(path)
    assert df.where(F.col("trade_id") == ids[77]).count() == 1
    assert df.where(F.col("trade_id") == ids[77] + 1).count() == 0
    assert df.where(F.col("trade_id") == ids[-1] + 2).count() == 0
