"""Fetch one UTC hour of Binance spot aggregate trades into a pandas DataFrame.

A thin layer over the C fetcher (``agt_fetch_hour`` in ``libaggtrades.so``):
arguments are validated here (a bad one raises :class:`ValueError` before
any request is sent), the C library does the HTTP, pagination, retries, rate
limiting and row validation, and the resulting column table is turned into a
DataFrame with numpy, without creating a Python object per row.

The DataFrame has exactly these columns and dtypes::

    trade_id        int64
    timestamp       datetime64[ns, UTC]
    price           float64
    quantity        float64
    is_buyer_maker  bool

sorted ascending by timestamp, then trade_id, with unique trade ids.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import os
import re
import signal
import threading
from typing import Any, Final

import numpy as np
import pandas as pd

from . import _lib

__all__ = [
    "COLUMNS",
    "Client",
    "DEFAULT_API_URL",
    "FIRST_DATE",
    "FetchError",
    "MARKETS",
    "fetch_hour",
    "get_hourly_agg_trades",
]

DEFAULT_API_URL: Final = "https://api.binance.com"
#: The markets (``agt_market``): name -> (C value, the market's default REST host).
MARKETS: Final[dict[str, tuple[int, str]]] = {
    "spot": (0, DEFAULT_API_URL),
    "um": (1, "https://fapi.binance.com"),
    "cm": (2, "https://dapi.binance.com"),
}
#: Binance spot opened in July 2017; earlier dates are rejected.
FIRST_DATE: Final = _dt.date(2017, 7, 1)
#: Last date whose hours fit ``datetime64[ns]``.
LAST_DATE: Final = _dt.date(2262, 4, 10)
#: Column names and dtypes of every DataFrame returned.
COLUMNS: Final[dict[str, str]] = {
    "trade_id": "int64",
    "timestamp": "datetime64[ns, UTC]",
    "price": "float64",
    "quantity": "float64",
    "is_buyer_maker": "bool",
}

# 2-20 of A-Z 0-9, and '_' inside for COIN-M contracts (BTCUSD_PERP, BTCUSD_240628)
_SYMBOL_RE: Final = re.compile(r"[A-Z0-9][A-Z0-9_]{0,18}[A-Z0-9]", re.ASCII)
_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_EPOCH: Final = _dt.date(1970, 1, 1)
_HOUR_US: Final = 3_600_000_000

# Client options: name -> (C field, smallest allowed value).
_OPTS: Final[dict[str, tuple[str, int]]] = {
    "interval_ms": ("interval_ms", 0),
    "max_attempts": ("max_attempts", 1),
    "max_ban_wait_s": ("max_ban_wait_s", 0),
    "connect_timeout_ms": ("connect_timeout_ms", 1),
    "timeout_ms": ("timeout_ms", 1),
    "weight_budget": ("weight_budget", 1),
    "backoff_base_ms": ("backoff_base_ms", 0),
    "complete_margin_ms": ("complete_margin_ms", 0),
    "low_speed_limit": ("low_speed_limit", 0),
    "low_speed_time_s": ("low_speed_time_s", 0),
    "unit_deadline_s": ("unit_deadline_s", 0),
}
# paging= values -> enum agt_paging
_PAGING: Final[dict[str, int]] = {"time": 0, "id": 1}
_INT_MAX: Final = 2**31 - 1


class FetchError(RuntimeError):
    """The hour could not be fetched (after the retries the policy allows).

    Attributes:
        status: the C status name, e.g. ``"AGT_ENET"``, ``"AGT_EAPI"``, ``"AGT_EBANNED"``.
        status_code: the numeric ``agt_status`` value.
        http_status: the last HTTP status seen (0 if none).
        api_code: the exchange's error code, e.g. ``-1121`` (0 if none).
        attempts: requests tried for the failing unit.
        message: the library's one-line description.
    """

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        http_status: int = 0,
        api_code: int = 0,
        attempts: int = 0,
    ) -> None:
        self.status_code = status_code
        names = _lib.AGT_STATUS_NAMES
        self.status = names[status_code] if 0 <= status_code < len(names) else f"AGT_E?{status_code}"
        self.http_status = http_status
        self.api_code = api_code
        self.attempts = attempts
        self.message = message
        detail = [f"status={self.status}"]
        if http_status:
            detail.append(f"http={http_status}")
        if api_code:
            detail.append(f"api_code={api_code}")
        if attempts:
            detail.append(f"attempts={attempts}")
        super().__init__(f"{message} ({', '.join(detail)})")

    @classmethod
    def _from_c(cls, status: int, err: _lib.AgtError) -> FetchError:
        msg = err.message.decode("utf-8", "replace") or "fetch failed"
        return cls(
            status,
            msg,
            http_status=err.http_status,
            api_code=err.api_code,
            attempts=err.attempts,
        )


# --------------------------------------------------------------------------
# argument validation (no request is ever sent for a bad argument)


def _check_ticker(ticker: object) -> bytes:
    if not isinstance(ticker, str):
        raise ValueError(f"ticker must be a str, not {type(ticker).__name__}")
    if not _SYMBOL_RE.fullmatch(ticker):
        raise ValueError(
            f"invalid ticker {ticker!r}: expected 2-20 characters A-Z, 0-9 or an inner '_', e.g. 'BTCUSDT'"
        )
    return ticker.encode("ascii")


def _check_date(date: object) -> _dt.date:
    """Accept a ``datetime.date`` or a ``'YYYY-MM-DD'`` string (a UTC day)."""
    if isinstance(date, _dt.datetime):
        # A datetime (or pandas Timestamp) carries a time and maybe a zone;
        # which UTC day it means is ambiguous, so refuse it.
        raise ValueError("date must be a datetime.date or 'YYYY-MM-DD', not a datetime (ambiguous time zone)")
    if isinstance(date, str):
        if not _DATE_RE.fullmatch(date):
            raise ValueError(f"invalid date {date!r}: expected 'YYYY-MM-DD'")
        try:
            date = _dt.date.fromisoformat(date)
        except ValueError as exc:
            raise ValueError(f"invalid date {date!r}: {exc}") from None
    if not isinstance(date, _dt.date):
        raise ValueError(f"date must be a datetime.date or 'YYYY-MM-DD', not {type(date).__name__}")
    if date < FIRST_DATE:
        raise ValueError(f"date {date.isoformat()} is before {FIRST_DATE.isoformat()}, when Binance spot opened")
    if date > LAST_DATE:
        raise ValueError(f"date {date.isoformat()} is out of range")
    return date


def _check_hour(hour: object) -> int:
    if isinstance(hour, bool) or not isinstance(hour, (int, np.integer)):
        raise ValueError(f"hour must be an int 0-23, not {type(hour).__name__}")
    h = int(hour)
    if not 0 <= h <= 23:
        raise ValueError(f"hour must be 0-23, got {h}")
    return h


def _check_market(market: object) -> int:
    """``"spot"``, ``"um"`` (USD-M futures) or ``"cm"`` (COIN-M futures) -> its C value."""
    if not isinstance(market, str) or market not in MARKETS:
        raise ValueError(f"invalid market {market!r}: expected 'spot', 'um' or 'cm'")
    return MARKETS[market][0]


def _check_url(base_url: object, market: str = "spot") -> str:
    if base_url is None:
        base_url = os.environ.get("AGT_API_URL") or MARKETS[market][1]
    if not isinstance(base_url, str):
        raise ValueError(f"base_url must be a str, not {type(base_url).__name__}")
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", base_url):
        raise ValueError(f"invalid base_url {base_url!r}: expected http(s)://host[:port]")
    return base_url.rstrip("/")


def _check_opts(opts: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, value in opts.items():
        if name == "paging":
            if value is not None and value not in _PAGING:
                raise ValueError(f"paging must be 'time' or 'id', got {value!r}")
            if value is not None:
                out[name] = _PAGING[value]
            continue
        if name not in _OPTS:
            raise TypeError(f"unexpected keyword argument {name!r}; known: {', '.join(_OPTS)}")
        if value is None:
            continue
        _, lo = _OPTS[name]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an int, not {type(value).__name__}")
        if not lo <= int(value) <= _INT_MAX:
            raise ValueError(f"{name} must be >= {lo}, got {value}")
        out[name] = int(value)
    return out


def _hour_start_us(date: _dt.date, hour: int) -> int:
    return ((date - _EPOCH).days * 24 + hour) * _HOUR_US


# --------------------------------------------------------------------------
# C table -> DataFrame


def _column(ptr: Any, n: int, dtype: type) -> np.ndarray:
    if n == 0:
        return np.empty(0, dtype=dtype)
    return np.ctypeslib.as_array(ptr, shape=(n,))


def _to_frame(t: _lib.AgtTrades) -> pd.DataFrame:
    """Copy a C column table into a new DataFrame (numpy only, no per-row objects)."""
    n = int(t.len)
    trade_id = _column(t.trade_id, n, np.int64).copy()
    ts_ns = _column(t.ts_us, n, np.int64) * 1000  # new array: µs -> ns
    price = _column(t.price, n, np.float64).copy()
    quantity = _column(t.quantity, n, np.float64).copy()
    maker = _column(t.is_buyer_maker, n, np.uint8) != 0  # new bool array

    # Contract: ascending by time, then trade id. The C side sorts by id,
    # which is the same order except in rare old data; fix that case.
    if n > 1 and not bool(np.all(ts_ns[1:] >= ts_ns[:-1])):
        order = np.lexsort((trade_id, ts_ns))
        trade_id, ts_ns, price, quantity, maker = (
            trade_id[order], ts_ns[order], price[order], quantity[order], maker[order]
        )

    # Localising naive nanoseconds to UTC is a vectorised no-op on the values.
    timestamp = pd.DatetimeIndex(ts_ns.view("M8[ns]"), copy=False).tz_localize("UTC")
    return pd.DataFrame(
        {
            "trade_id": trade_id,
            "timestamp": timestamp,
            "price": price,
            "quantity": quantity,
            "is_buyer_maker": maker,
        },
        copy=False,
    )


def _us_to_ts(us: int) -> pd.Timestamp:
    return pd.Timestamp(us * 1000, unit="ns", tz="UTC")


# --------------------------------------------------------------------------
# the client


class Client:
    """One exchange client: a connection pool, retry policy and rate limiter.

    Reusing a client across hours keeps connections open and lets the rate
    limiter see every request. Not thread-safe: use one per thread. Keyword
    options map one to one onto ``struct agt_client_opts`` (``None`` or
    omitted = the library default): ``interval_ms`` (50), ``max_attempts``
    (4), ``max_ban_wait_s`` (300), ``connect_timeout_ms`` (10000),
    ``timeout_ms`` (30000), ``weight_budget`` (6000 per minute),
    ``backoff_base_ms`` (500), ``complete_margin_ms`` (5000),
    ``low_speed_limit`` (1024 bytes/s) and ``low_speed_time_s`` (20): a
    response slower than that for that long is aborted and retried (0 =
    off), ``unit_deadline_s`` (600): one hour's fetch, every request, wait
    and retry included, fails past it (0 = none), ``paging`` (``"time"``:
    ``endTime`` + ``limit`` backwards, ``fromId`` only inside a millisecond
    holding more than 1000 trades; ``"id"``: the first page by time, then
    by ``fromId``; spot only). ``market`` is
    ``"spot"`` (default), ``"um"`` (USD-M futures, ``/fapi/v1``) or ``"cm"``
    (COIN-M futures, ``/dapi/v1``); ``base_url`` then defaults to that
    market's host, and a futures budget is at most its 2400 a minute.
    """

    def __init__(self, base_url: str | None = None, *, market: str = "spot",
                 **opts: int | str | None) -> None:
        market_c = _check_market(market)
        url = _check_url(base_url, market)
        checked = _check_opts(opts)
        so = _lib.lib()
        self._so = so
        self._url = url.encode("utf-8")  # kept alive for the client's lifetime
        self._interrupted = False
        self._progress = _lib.PROGRESS_FN(self._on_progress)  # keep a reference

        c_opts = _lib.AgtClientOpts()
        so.agt_client_opts_default(ctypes.byref(c_opts))
        c_opts.api_url = self._url
        for name, value in checked.items():
            setattr(c_opts, _OPTS[name][0] if name in _OPTS else name, value)
        c_opts.progress = self._progress
        c_opts.progress_user = None
        c_opts.market = market_c

        handle = ctypes.c_void_p()
        err = _lib.AgtError()
        st = so.agt_client_new(ctypes.byref(c_opts), ctypes.byref(handle), ctypes.byref(err))
        if st != _lib.AGT_OK:
            raise FetchError._from_c(st, err)
        self._handle: ctypes.c_void_p | None = handle
        self._margin_us = int(c_opts.complete_margin_ms) * 1000
        self.base_url = url
        self.market = market

    def _on_progress(self, _user: Any, _body_bytes: int, _trades: int) -> int:
        # Runs on the calling thread after each HTTP response: a non-zero
        # return cancels the fetch (AGT_ECANCELLED) after a Ctrl-C.
        return 1 if self._interrupted else 0

    def _on_sigint(self, _signum: int, _frame: Any) -> None:
        self._interrupted = True

    def _live(self) -> ctypes.c_void_p:
        if self._handle is None:
            raise ValueError("client is closed")
        return self._handle

    def close(self) -> None:
        """Free the C client. Idempotent."""
        if self._handle is not None:
            self._so.agt_client_free(self._handle)
            self._handle = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def hour_open(self, info: dict[str, Any]) -> bool:
        """True if the hour of a :meth:`fetch_hour` ``info`` had not ended when it was
        fetched (its end plus ``complete_margin_ms`` was still ahead on the exchange's
        clock): exact for its time, but more trades may come."""
        end = info["hour_start"] + pd.Timedelta(hours=1) - pd.Timedelta(microseconds=1)
        return bool(info["server_time"] < end + pd.Timedelta(microseconds=self._margin_us))

    def server_time(self) -> pd.Timestamp:
        """The exchange's clock (``GET /api/v3/time``)."""
        now = ctypes.c_int64()
        err = _lib.AgtError()
        st = self._so.agt_client_server_time(self._live(), ctypes.byref(now), ctypes.byref(err))
        if st != _lib.AGT_OK:
            raise FetchError._from_c(st, err)
        return _us_to_ts(now.value)

    def fetch_hour(self, ticker: str, date: _dt.date | str, hour: int) -> tuple[pd.DataFrame, dict[str, Any]]:
        """Fetch one UTC hour; return ``(frame, info)``.

        ``info`` holds ``hour_start`` (Timestamp), ``prev_id`` (id of the
        newest trade before the hour, -1 if none), ``prev_ts`` (its time or
        None), ``server_time``, ``complete`` (bool: proven complete),
        ``requests`` (HTTP requests sent, retries included) and ``bytes``
        (response body bytes).
        """
        sym = _check_ticker(ticker)
        day = _check_date(date)
        h = _check_hour(hour)
        start_us = _hour_start_us(day, h)

        trades = _lib.AgtTrades()
        info = _lib.AgtHourInfo()
        err = _lib.AgtError()
        so = self._so
        so.agt_trades_init(ctypes.byref(trades))
        self._interrupted = False
        # While the C call runs, Ctrl-C only sets a flag that the progress
        # callback turns into a cancel; it is re-raised once the call returns.
        # (Only possible on the main thread with Python's default handler.)
        old_handler: Any = None
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            old_handler = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            try:
                st = so.agt_fetch_hour(
                    self._live(), sym, start_us, ctypes.byref(trades), ctypes.byref(info), ctypes.byref(err)
                )
            finally:
                if old_handler is not None:
                    signal.signal(signal.SIGINT, old_handler)
            if self._interrupted:
                raise KeyboardInterrupt
            if st != _lib.AGT_OK:
                raise FetchError._from_c(st, err)
            frame = _to_frame(trades)
        finally:
            so.agt_trades_release(ctypes.byref(trades))
        meta = {
            "hour_start": _us_to_ts(start_us),
            "prev_id": int(info.prev_id),
            "prev_ts": _us_to_ts(info.prev_ts_us) if info.prev_id >= 0 else None,
            "server_time": _us_to_ts(info.server_time_us),
            "complete": bool(info.complete),
            "requests": int(info.requests),
            "bytes": int(info.bytes),
        }
        return frame, meta


# --------------------------------------------------------------------------
# the contract functions


def fetch_hour(
    ticker: str,
    date: _dt.date | str,
    hour: int,
    *,
    base_url: str | None = None,
    market: str = "spot",
    **opts: int | str | None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Like :func:`get_hourly_agg_trades`, also returning the fetch facts.

    See :meth:`Client.fetch_hour` for the keys of the info dict.
    """
    # Validate everything before the library is even loaded.
    _check_ticker(ticker)
    _check_date(date)
    _check_hour(hour)
    _check_market(market)
    with Client(base_url, market=market, **opts) as client:
        return client.fetch_hour(ticker, date, hour)


def get_hourly_agg_trades(
    ticker: str,
    date: _dt.date | str,
    hour: int,
    *,
    base_url: str | None = None,
    market: str = "spot",
    **opts: int | str | None,
) -> pd.DataFrame:
    """Every aggregate trade of one UTC hour of one Binance symbol.

    Args:
        ticker: symbol, 2-20 characters ``A-Z0-9`` (e.g. ``"BTCUSDT"``).
        date: the UTC day, a :class:`datetime.date` or a ``"YYYY-MM-DD"``
            string, not before 2017-07-01. A :class:`datetime.datetime` is
            refused because its time zone makes the day ambiguous.
        hour: the UTC hour, an int 0-23; the range fetched is
            ``HH:00:00.000`` to ``HH:59:59.999``.
        base_url: the REST API root; default ``$AGT_API_URL``, else the
            market's host (``https://api.binance.com`` for spot).
        market: ``"spot"`` (default), ``"um"`` (USD-M futures) or ``"cm"``
            (COIN-M futures, symbols such as ``"BTCUSD_PERP"``).
        **opts: client options (``interval_ms``, ``max_attempts``,
            ``max_ban_wait_s``, ``connect_timeout_ms``, ``timeout_ms``,
            ``weight_budget``, ``backoff_base_ms``, ``complete_margin_ms``,
            ``low_speed_limit``, ``low_speed_time_s``, ``unit_deadline_s``,
            ``paging="time"|"id"``; see :class:`Client`).

    Returns:
        A DataFrame with columns ``trade_id`` (int64), ``timestamp``
        (datetime64[ns, UTC]), ``price`` (float64), ``quantity`` (float64),
        ``is_buyer_maker`` (bool), ascending by time then id, ids unique.
        An hour without trades gives an empty frame with the same dtypes.

        An hour that has not ended yet on the exchange's clock (the current
        one) gives the trades so far.

    Raises:
        ValueError: a bad argument; no request is sent.
        FetchError: the fetch failed after the allowed retries (or at once
            for an exchange error such as ``-1121`` invalid symbol, or a ban
            longer than ``max_ban_wait_s``); or the hour has ended but the
            exchange's answers do not prove that every trade of it was
            served (status ``AGT_EINCOMPLETE``; e.g. an hour older than the
            exchange's REST history): never a frame missing trades.
    """
    _check_ticker(ticker)
    day = _check_date(date)
    h = _check_hour(hour)
    _check_market(market)
    with Client(base_url, market=market, **opts) as client:
        frame, info = client.fetch_hour(ticker, day, h)
        if not info["complete"] and not client.hour_open(info):
            raise FetchError(
                _lib.AGT_EINCOMPLETE,
                f"{ticker} {day.isoformat()} {h:02d}:00 UTC has ended but the exchange's answers do not "
                "prove it complete (its REST history may not reach back this far); no frame is "
                "returned rather than one missing trades",
                attempts=info["requests"],
            )
    return frame
