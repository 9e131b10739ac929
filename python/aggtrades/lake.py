"""Reading an aggtrades lake from Python (pandas), through ``libaggtrades.so``.

::

    from aggtrades import read_trades, read_changes
    df = read_trades("data", "BTCUSDT", "2023-10-05 12:30:00.500", "2023-10-05 12:35:00")
    px = read_trades("data", "BTCUSDT", "2023-10-05", "2023-10-05", columns=["timestamp", "price"])
    tb = read_trades_arrow("data", "BTCUSDT", "2023-10-05", "2023-10-05")   # pyarrow.Table
    pl = read_trades_polars("data", "BTCUSDT", "2023-10-05", "2023-10-05")  # polars.DataFrame
    ch = read_changes("data", "BTCUSDT", since_version=0)

Both ends of a time range are inclusive and exact to the microsecond. Times
may be ``YYYY-MM-DD`` (a whole UTC day: the start at 00:00:00.000000, the end
at 23:59:59.999999), ``YYYY-MM-DD HH:MM:SS[.ffffff]`` or ISO 8601 strings,
``datetime``/``date``/``pandas.Timestamp`` (naive means UTC) or integer
microseconds since the epoch. Opening the lake for reading never blocks a
writer and never sees a half-written file.

The trades of a range are counted first (the statistics give the rows of
the files lying wholly inside it; only the files at its edges are
decoded), then each column is allocated once, at its exact size, and the
library decodes the files into those arrays in place, several at a time
(one thread per CPU; each thread is the first to touch its files' part of
the arrays, so the page faults are shared too). Columns not asked for are
not decoded. For pandas the same threads turn each file's timestamps into
nanoseconds while they are in cache. The frame (one block per column:
pandas neither copies nor consolidates them), the Arrow table and the
polars frame are built on these arrays without copying them (except
``is_buyer_maker`` in Arrow and polars, whose booleans are bits), so a
read needs little more memory than its result.

The columns' memory comes from the library (``agt_lake_column_alloc``), not
from numpy: a column of 1 MiB or more is mapped for transparent huge pages,
and when the last array using it is freed the library keeps it, lazily
released to the kernel, for the next read to fill without page faults (at
most 16 columns and 512 MiB are kept). Faulting in and zeroing fresh memory
otherwise takes a third or more of a large read's CPU.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import os
import re
from typing import Any

import numpy as np
import pandas as pd

from . import _lib
from .fetch import _SYMBOL_RE, _check_market

__all__ = ["LakeError", "market_root", "read_changes", "read_trades", "read_trades_arrow",
           "read_trades_polars", "CHANGE_TYPES", "TRADE_COLUMNS"]

#: ``_change_type`` values, indexed by ``enum agt_change_type``.
CHANGE_TYPES = ("insert", "update_preimage", "update_postimage")

_AGT_LAKE_READ = 1
_COL_ALL = 0x1F
_TS_NS = 1 << 5  # AGT_LAKE_TS_NS: timestamps in nanoseconds, converted by the decoding threads

#: The columns of a trade, in order; the bit of each is ``1 << index``.
TRADE_COLUMNS = ("trade_id", "timestamp", "price", "quantity", "is_buyer_maker")
_DTYPES = (np.int64, np.int64, np.float64, np.float64, np.bool_)
_US_PER_DAY = 86_400_000_000


class LakeError(RuntimeError):
    """A lake call failed; ``status`` is the ``agt_status`` name (e.g. ``AGT_ECORRUPT``)."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(f"{status}: {message}" if message else status)
        self.status = status
        self.message = message


_Changes = _lib.AgtChanges


_declared: set[int] = set()


def _so() -> ctypes.CDLL:
    so = _lib.lib()
    if id(so) not in _declared:
        p = ctypes.POINTER
        vp = ctypes.c_void_p
        so.agt_lake_open.argtypes = [ctypes.c_char_p, ctypes.c_uint, p(vp), p(_lib.AgtError)]
        so.agt_lake_open.restype = ctypes.c_int
        so.agt_lake_close.argtypes = [vp]
        so.agt_lake_close.restype = None
        so.agt_lake_read_range.argtypes = [
            vp, ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint,
            p(_lib.AgtTrades), p(_lib.AgtError),
        ]
        so.agt_lake_read_range.restype = ctypes.c_int
        so.agt_lake_query_open.argtypes = [
            vp, ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint, p(vp), p(_lib.AgtError),
        ]
        so.agt_lake_query_open.restype = ctypes.c_int
        so.agt_query_count.argtypes = [vp, p(ctypes.c_size_t), p(_lib.AgtError)]
        so.agt_query_count.restype = ctypes.c_int
        so.agt_query_read_into.argtypes = [vp, p(_lib.AgtTrades), ctypes.c_uint, p(_lib.AgtError)]
        so.agt_query_read_into.restype = ctypes.c_int
        so.agt_query_close.argtypes = [vp]
        so.agt_query_close.restype = None
        so.agt_lake_column_alloc.argtypes = [ctypes.c_size_t]
        so.agt_lake_column_alloc.restype = vp
        so.agt_lake_column_free.argtypes = [vp, ctypes.c_size_t]
        so.agt_lake_column_free.restype = None
        so.agt_changes_init.argtypes = [p(_Changes)]
        so.agt_changes_init.restype = None
        so.agt_changes_release.argtypes = [p(_Changes)]
        so.agt_changes_release.restype = None
        so.agt_lake_read_changes_table.argtypes = [
            vp, ctypes.c_char_p, ctypes.c_int64, p(_Changes), p(_lib.AgtError),
        ]
        so.agt_lake_read_changes_table.restype = ctypes.c_int
        _declared.add(id(so))
    return so


def _fail(status: int, err: _lib.AgtError) -> LakeError:
    names = _lib.AGT_STATUS_NAMES
    name = names[status] if 0 <= status < len(names) else f"AGT_E{status}"
    return LakeError(name, err.message.decode("utf-8", "replace"))


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _to_us(value: Any, end: bool) -> int:
    """A time bound as µs since the epoch, UTC; a bare date covers its whole day."""
    if isinstance(value, bool):
        raise TypeError("a time bound cannot be a bool")
    if isinstance(value, (int, np.integer)):
        return int(value)
    whole_day = False
    if isinstance(value, str):
        s = value.strip()
        whole_day = bool(_DATE_ONLY.match(s))
        ts = pd.Timestamp(s)
    elif isinstance(value, _dt.datetime):
        ts = pd.Timestamp(value)
    elif isinstance(value, _dt.date):
        ts = pd.Timestamp(value.year, value.month, value.day)
        whole_day = True
    elif isinstance(value, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(value)
    else:
        raise TypeError(f"unsupported time bound {value!r}")
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    else:
        ts = ts.tz_convert("UTC")
    us = int(ts.value // 1000)
    if whole_day and end:
        us += _US_PER_DAY - 1
    return us


def _symbol(symbol: str) -> bytes:
    if not isinstance(symbol, str) or not _SYMBOL_RE.fullmatch(symbol):
        raise ValueError(f"invalid symbol {symbol!r}")
    return symbol.encode()


def market_root(root: str | os.PathLike[str], market: str = "spot") -> str:
    """The folder holding ``market``'s lake: ``root`` itself for spot, the market's
    folder under it for ``"um"`` and ``"cm"`` (``root/_futures/um``): the path an
    engine opens to read that market (docs/engines.md)."""
    sub = _so().agt_market_lake_dir(_check_market(market)).decode()
    return os.path.join(os.fspath(root), sub) if sub else os.fspath(root)


def _col(ptr: Any, n: int, dtype: Any) -> np.ndarray:
    if n == 0 or not ptr:
        return np.empty(0, dtype=dtype)
    return np.ctypeslib.as_array(ptr, shape=(n,)).copy()


def _trades_frame(t: _lib.AgtTrades) -> dict[str, np.ndarray]:
    n = int(t.len)
    return {
        "trade_id": _col(t.trade_id, n, np.int64),
        "timestamp": pd.to_datetime(_col(t.ts_us, n, np.int64) * 1000, utc=True),
        "price": _col(t.price, n, np.float64),
        "quantity": _col(t.quantity, n, np.float64),
        "is_buyer_maker": _col(t.is_buyer_maker, n, np.uint8) != 0,
    }


class _Lake:
    """A read-only lake handle, closed on exit."""

    def __init__(self, root: str | os.PathLike[str], market: str = "spot") -> None:
        self.so = _so()
        self.h = ctypes.c_void_p()
        err = _lib.AgtError()
        path = os.fsencode(market_root(root, market))
        st = self.so.agt_lake_open(path, _AGT_LAKE_READ, ctypes.byref(self.h), ctypes.byref(err))
        if st != 0:
            raise _fail(st, err)

    def __enter__(self) -> _Lake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.so.agt_lake_close(self.h)
        self.h = ctypes.c_void_p()


def _wanted(columns: Any) -> tuple[str, ...]:
    if columns is None:
        return TRADE_COLUMNS
    if isinstance(columns, str):
        raise TypeError("columns must be a list of column names, not a string")
    names = tuple(columns)
    bad = [c for c in names if c not in TRADE_COLUMNS]
    if bad:
        raise ValueError(f"unknown column {bad[0]!r} (columns: {', '.join(TRADE_COLUMNS)})")
    if not names or len(set(names)) != len(names):
        raise ValueError("columns must name at least one column, each once")
    return names


class _Column:
    """A column's memory from ``agt_lake_column_alloc``, seen by numpy through the array
    interface: the array made from it keeps it as its base, so it is given back to the
    library when the last array, frame or Arrow buffer using it is gone."""

    __slots__ = ("__array_interface__", "_free", "_p", "_n")

    def __init__(self, so: ctypes.CDLL, n: int, dtype: Any) -> None:
        self._free = None
        self._n = n * np.dtype(dtype).itemsize
        self._p = so.agt_lake_column_alloc(self._n)
        if not self._p:
            raise MemoryError(f"cannot allocate {self._n} bytes for a column")
        self._free = so.agt_lake_column_free
        self.__array_interface__ = {"shape": (n,), "typestr": np.dtype(dtype).str,
                                    "data": (self._p, False), "version": 3}

    def __del__(self) -> None:
        if self._free is not None:
            self._free(self._p, self._n)


#: Below this a column's memory is plain malloc in the library too (agt_lake_column_alloc):
#: numpy's is as good and costs ~3 µs less a column, which shows on small windows.
_LARGE_COLUMN = 1 << 20


def _column(so: ctypes.CDLL, n: int, dtype: Any) -> np.ndarray:
    if n * np.dtype(dtype).itemsize < _LARGE_COLUMN:
        return np.empty(n, dtype)
    return np.asarray(_Column(so, n, dtype))


def _ptr(a: np.ndarray | None, ctype: Any) -> Any:
    return a.ctypes.data_as(ctypes.POINTER(ctype)) if a is not None else None


def _read_arrays(root: str | os.PathLike[str], symbol: str, start: Any, end: Any,
                 columns: Any, market: str, ns: bool = False) -> dict[str, np.ndarray]:
    """The wanted columns of a range as numpy arrays; ``timestamp`` in µs (int64), or ns."""
    names = _wanted(columns)
    sym = _symbol(symbol)
    a, b = _to_us(start, False), _to_us(end, True)
    if b < a:
        raise ValueError("end is before start")
    bits = _TS_NS if ns else 0
    for name in names:
        bits |= 1 << TRADE_COLUMNS.index(name)
    with _Lake(root, market) as lake:
        so, err, q = lake.so, _lib.AgtError(), ctypes.c_void_p()
        st = so.agt_lake_query_open(lake.h, sym, a, b, bits, ctypes.byref(q), ctypes.byref(err))
        if st != 0:
            raise _fail(st, err)
        try:
            n = ctypes.c_size_t()
            st = so.agt_query_count(q, ctypes.byref(n), ctypes.byref(err))
            if st != 0:
                raise _fail(st, err)
            cols = {name: _column(so, n.value, _DTYPES[TRADE_COLUMNS.index(name)]) for name in names}
            g = cols.get
            dst = _lib.AgtTrades(
                _ptr(g("trade_id"), ctypes.c_int64), _ptr(g("timestamp"), ctypes.c_int64),
                _ptr(g("price"), ctypes.c_double), _ptr(g("quantity"), ctypes.c_double),
                _ptr(g("is_buyer_maker"), ctypes.c_uint8), 0, n.value)
            st = so.agt_query_read_into(q, ctypes.byref(dst), 0, ctypes.byref(err))
            if st != 0:
                raise _fail(st, err)
        finally:
            so.agt_query_close(q)
    return {name: cols[name] for name in names}


def _utc_ns(ns: np.ndarray) -> Any:
    """int64 ns -> a datetime64[ns, UTC] pandas array on the same memory."""
    dtype = pd.DatetimeTZDtype("ns", "UTC")
    try:  # no copy: wrap the array as it is
        return pd.arrays.DatetimeArray._simple_new(ns.view("M8[ns]"), dtype=dtype)
    except (AttributeError, TypeError):  # a pandas without it: one copy
        return pd.DatetimeIndex(ns.view("M8[ns]"), tz="UTC").array


def read_trades(root: str | os.PathLike[str], symbol: str, start: Any, end: Any,
                columns: Any = None, *, market: str = "spot") -> pd.DataFrame:
    """Every stored trade of ``symbol`` with ``start <= timestamp <= end``.

    Returns a DataFrame with columns ``trade_id`` (int64), ``timestamp``
    (datetime64[ns, UTC]), ``price``, ``quantity`` (float64) and
    ``is_buyer_maker`` (bool), sorted by timestamp then trade id, or only
    ``columns`` (a list of those names, in that order; the others are not
    decoded). ``market`` is ``"spot"`` (default), ``"um"`` or ``"cm"`` (USD-M and
    COIN-M futures, kept apart from spot in the same root). A symbol that is not
    in the lake gives an empty frame. Raises
    :class:`LakeError` (status ``AGT_ECORRUPT`` naming the file for a
    damaged data file, ``AGT_ENOTFOUND`` when ``root`` is not a lake),
    ``ValueError`` for an unknown column.
    """
    cols = _read_arrays(root, symbol, start, end, columns, market, ns=True)
    if "timestamp" in cols:
        cols["timestamp"] = _utc_ns(cols["timestamp"])
    return pd.DataFrame(cols, copy=False)


def read_trades_arrow(root: str | os.PathLike[str], symbol: str, start: Any, end: Any,
                      columns: Any = None, *, market: str = "spot") -> Any:
    """:func:`read_trades` as a ``pyarrow.Table``, without copying the numbers.

    ``timestamp`` is ``timestamp[us, tz=UTC]`` (the lake's own precision);
    the numeric columns are the arrays the library filled, wrapped as they
    are; ``is_buyer_maker`` is packed into Arrow's bits (one small copy).
    """
    import pyarrow as pa

    cols = _read_arrays(root, symbol, start, end, columns, market)
    arrays = []
    for name, v in cols.items():
        if name == "timestamp":
            arrays.append(pa.array(v.view("M8[us]"), type=pa.timestamp("us", tz="UTC")))
        else:
            arrays.append(pa.array(v))
    return pa.Table.from_arrays(arrays, names=list(cols))


def read_trades_polars(root: str | os.PathLike[str], symbol: str, start: Any, end: Any,
                       columns: Any = None, *, market: str = "spot") -> Any:
    """:func:`read_trades` as a ``polars.DataFrame`` (through :func:`read_trades_arrow`,
    whose buffers polars takes over without copying)."""
    import polars as pl

    return pl.from_arrow(read_trades_arrow(root, symbol, start, end, columns, market=market),
                         rechunk=False)


def read_changes(root: str | os.PathLike[str], symbol: str, since_version: int = 0, *,
                 market: str = "spot") -> pd.DataFrame:
    """The change data feed of ``symbol``: every change of commits after ``since_version``.

    Columns: the five trade columns (the row's value: inserted, replaced
    (``update_preimage``) or new (``update_postimage``)), ``_change_type``,
    ``_commit_version`` (int64) and ``_commit_timestamp`` (datetime64[ns, UTC]),
    in commit order, then trade id. Duplicates skipped by a commit have no rows
    (their count is in the change file's metadata).
    """
    sym = _symbol(symbol)
    if isinstance(since_version, bool) or not isinstance(since_version, (int, np.integer)):
        raise TypeError("since_version must be an integer")
    with _Lake(root, market) as lake:
        c = _Changes()
        lake.so.agt_changes_init(ctypes.byref(c))
        err = _lib.AgtError()
        try:
            st = lake.so.agt_lake_read_changes_table(lake.h, sym, int(since_version), ctypes.byref(c), ctypes.byref(err))
            if st != 0:
                raise _fail(st, err)
            n = int(c.len)
            cols = _trades_frame(c.rows)
            types = _col(c.type, n, np.uint8)
            cols["_change_type"] = np.array(CHANGE_TYPES, dtype=object)[np.minimum(types, 2)]
            cols["_commit_version"] = _col(c.version, n, np.int64)
            cols["_commit_timestamp"] = pd.to_datetime(_col(c.commit_ts_us, n, np.int64) * 1000, utc=True)
            return pd.DataFrame(cols)
        finally:
            lake.so.agt_changes_release(ctypes.byref(c))
