"""ctypes access to libaggtrades.so for the lake benchmark (bench/lake.py).

Only what the benchmark needs: open/close, commit_hour, newest, query
open/next/close, read_range, query_stats and find_trade. The structures the
binding already mirrors (python/aggtrades/_lib.py) come from there; the rest
mirror include/aggtrades/lake.h field for field.
The library is located with $AGT_LIB, else bench/../build-bench/libaggtrades.so,
which bench/lake.py builds (CMake, Release) when it is missing.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO / "build-bench"

sys.path.insert(0, str(REPO / "python"))
from aggtrades._lib import AgtCommitResult, AgtError, AgtHourMeta, AgtTrades  # noqa: E402

c_i64 = ctypes.c_int64
c_p = ctypes.c_void_p

AGT_LAKE_READ = 1
AGT_LAKE_WRITE = 2
COL_ALL = 0x1F
US = 1_000_000
US_PER_HOUR = 3600 * US
US_PER_DAY = 24 * US_PER_HOUR


class AgtLakeOpts(ctypes.Structure):
    _fields_ = [("io", c_p), ("wal_checkpoint_bytes", ctypes.c_uint64), ("no_fsync", ctypes.c_int),
                ("market", ctypes.c_char_p)]


class AgtRangeStats(ctypes.Structure):
    _fields_ = [
        ("count", c_i64),
        ("first_ts_us", c_i64),
        ("last_ts_us", c_i64),
        ("first_id", c_i64),
        ("last_id", c_i64),
        ("sum_qty", ctypes.c_double),
        ("quote_volume", ctypes.c_double),
        ("buyer_maker", c_i64),
        ("files_read", c_i64),
        ("files_from_stats", c_i64),
        ("sums_exact", ctypes.c_int),
        ("qty_e8_lo", ctypes.c_uint64),
        ("qty_e8_hi", ctypes.c_uint64),
        ("quote_e16_lo", ctypes.c_uint64),
        ("quote_e16_hi", ctypes.c_uint64),
        ("vwap", ctypes.c_double),
    ]


class AgtLookupInfo(ctypes.Structure):
    _fields_ = [
        ("hour_start_us", c_i64),
        ("stats_days_read", ctypes.c_int),
        ("files_opened", ctypes.c_int),
        ("bloom_checked", ctypes.c_int),
        ("bloom_negative", ctypes.c_int),
        ("pages_read", ctypes.c_int),
    ]


class LakeError(RuntimeError):
    pass


def library_path() -> Path:
    env = os.environ.get("AGT_LIB")
    return Path(env) if env else BUILD_DIR / "libaggtrades.so"


def build_library() -> Path:
    """Build build-bench/libaggtrades.so (Release) unless $AGT_LIB is set."""
    if os.environ.get("AGT_LIB"):
        return library_path()
    subprocess.run(["cmake", "-S", str(REPO), "-B", str(BUILD_DIR), "-DCMAKE_BUILD_TYPE=Release"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(BUILD_DIR), "-j2", "--target", "libaggtrades"],
                   check=True, stdout=subprocess.DEVNULL)
    return library_path()


_lib = None


def lib() -> ctypes.CDLL:
    global _lib
    if _lib is not None:
        return _lib
    L = ctypes.CDLL(str(library_path()))
    E, T = ctypes.POINTER(AgtError), ctypes.POINTER(AgtTrades)
    protos = {
        "agt_lake_open_opts": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_uint,
                                              ctypes.POINTER(AgtLakeOpts), ctypes.POINTER(c_p), E]),
        "agt_lake_close": (None, [c_p]),
        "agt_lake_commit_hour": (ctypes.c_int, [c_p, ctypes.c_char_p, c_i64, T,
                                                ctypes.POINTER(AgtHourMeta),
                                                ctypes.POINTER(AgtCommitResult), E]),
        "agt_lake_newest": (ctypes.c_int, [c_p, ctypes.c_char_p, ctypes.POINTER(c_i64),
                                           ctypes.POINTER(c_i64), ctypes.POINTER(c_i64), E]),
        "agt_lake_query_open": (ctypes.c_int, [c_p, ctypes.c_char_p, c_i64, c_i64, ctypes.c_uint,
                                               ctypes.POINTER(c_p), E]),
        "agt_query_next": (ctypes.c_int, [c_p, T, ctypes.POINTER(ctypes.c_int), E]),
        "agt_query_files_planned": (ctypes.c_size_t, [c_p]),
        "agt_query_close": (None, [c_p]),
        "agt_lake_read_range": (ctypes.c_int, [c_p, ctypes.c_char_p, c_i64, c_i64, ctypes.c_uint,
                                               T, E]),
        "agt_lake_query_stats": (ctypes.c_int, [c_p, ctypes.c_char_p, c_i64, c_i64,
                                                ctypes.POINTER(AgtRangeStats), E]),
        "agt_lake_find_trade": (ctypes.c_int, [c_p, ctypes.c_char_p, c_i64, ctypes.c_int, T,
                                               ctypes.POINTER(ctypes.c_int),
                                               ctypes.POINTER(AgtLookupInfo), E]),
        "agt_lake_hour_stats": (ctypes.c_int, [c_p, ctypes.c_char_p, c_i64, c_p, E]),
        "agt_trades_init": (None, [T]),
        "agt_trades_release": (None, [T]),
        "agt_trades_clear": (None, [T]),
    }
    for name, (res, args) in protos.items():
        fn = getattr(L, name)
        fn.restype = res
        fn.argtypes = args
    _lib = L
    return L


def check(status: int, err: AgtError, what: str) -> None:
    if status != 0:
        raise LakeError(f"{what}: status {status}: {err.message.decode(errors='replace')}")


class Trades:
    """An agt_trades owned by the C library (init/release)."""

    def __init__(self):
        self.t = AgtTrades()
        lib().agt_trades_init(ctypes.byref(self.t))

    def clear(self):
        lib().agt_trades_clear(ctypes.byref(self.t))

    def __len__(self):
        return self.t.len

    def columns(self) -> dict:
        """Copies of the columns as numpy arrays."""
        n = self.t.len
        if n == 0:
            return {"trade_id": np.zeros(0, np.int64), "ts_us": np.zeros(0, np.int64),
                    "price": np.zeros(0), "quantity": np.zeros(0),
                    "is_buyer_maker": np.zeros(0, np.uint8)}
        return {
            "trade_id": np.ctypeslib.as_array(self.t.trade_id, (n,)).copy(),
            "ts_us": np.ctypeslib.as_array(self.t.ts_us, (n,)).copy(),
            "price": np.ctypeslib.as_array(self.t.price, (n,)).copy(),
            "quantity": np.ctypeslib.as_array(self.t.quantity, (n,)).copy(),
            "is_buyer_maker": np.ctypeslib.as_array(self.t.is_buyer_maker, (n,)).copy(),
        }

    def close(self):
        lib().agt_trades_release(ctypes.byref(self.t))


def trades_view(ids, ts, price, qty, ibm) -> AgtTrades:
    """An agt_trades pointing at numpy arrays (borrowed; keep the arrays alive)."""
    n = len(ids)
    return AgtTrades(ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)),
                     ts.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)),
                     price.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                     qty.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                     ibm.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), n, n)


class Lake:
    def __init__(self, root: str | Path, write: bool = False, no_fsync: bool = True):
        self.err = AgtError()
        self.h = c_p()
        opts = AgtLakeOpts(None, 0, 1 if no_fsync else 0, None)
        st = lib().agt_lake_open_opts(str(root).encode(), AGT_LAKE_WRITE if write else AGT_LAKE_READ,
                                      ctypes.byref(opts), ctypes.byref(self.h),
                                      ctypes.byref(self.err))
        check(st, self.err, f"agt_lake_open {root}")

    def close(self):
        if self.h:
            lib().agt_lake_close(self.h)
            self.h = c_p()

    def commit_hour(self, symbol: bytes, hour_us: int, t: AgtTrades, meta: AgtHourMeta):
        res = AgtCommitResult()
        st = lib().agt_lake_commit_hour(self.h, symbol, hour_us, ctypes.byref(t), ctypes.byref(meta),
                                        ctypes.byref(res), ctypes.byref(self.err))
        check(st, self.err, "agt_lake_commit_hour")
        return res

    def newest(self, symbol: bytes):
        h, ts, i = c_i64(), c_i64(), c_i64()
        st = lib().agt_lake_newest(self.h, symbol, ctypes.byref(h), ctypes.byref(ts), ctypes.byref(i),
                                   ctypes.byref(self.err))
        if st == 13:  # AGT_ENOTFOUND
            return None
        check(st, self.err, "agt_lake_newest")
        return h.value, ts.value, i.value

    def query_open(self, symbol: bytes, start: int, end: int, cols: int = COL_ALL):
        q = c_p()
        st = lib().agt_lake_query_open(self.h, symbol, start, end, cols, ctypes.byref(q),
                                       ctypes.byref(self.err))
        check(st, self.err, "agt_lake_query_open")
        return q

    def read_range(self, symbol: bytes, start: int, end: int, out: Trades, cols: int = COL_ALL):
        st = lib().agt_lake_read_range(self.h, symbol, start, end, cols, ctypes.byref(out.t),
                                       ctypes.byref(self.err))
        check(st, self.err, "agt_lake_read_range")

    def query_stats(self, symbol: bytes, start: int, end: int) -> AgtRangeStats:
        r = AgtRangeStats()
        st = lib().agt_lake_query_stats(self.h, symbol, start, end, ctypes.byref(r),
                                        ctypes.byref(self.err))
        check(st, self.err, "agt_lake_query_stats")
        return r

    def find_trade(self, symbol: bytes, trade_id: int, use_bloom: int, out: Trades):
        found = ctypes.c_int()
        info = AgtLookupInfo()
        st = lib().agt_lake_find_trade(self.h, symbol, trade_id, use_bloom, ctypes.byref(out.t),
                                       ctypes.byref(found), ctypes.byref(info), ctypes.byref(self.err))
        check(st, self.err, "agt_lake_find_trade")
        return found.value, info
