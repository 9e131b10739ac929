"""The Python binding against the exchange simulator: exact hours, faults, limits.

Real HTTP over loopback to ``tools/binance_sim.py``; the real C fetcher
through ``aggtrades.fetch_hour`` / ``aggtrades.get_hourly_agg_trades``. Every
fetched hour is compared with the simulator's truth export field by field:
ids, microsecond timestamps, doubles bit-identical to ``float(p_string)``,
and flags.

Tests that are not about spacing or backoff use a 1 ms request interval and a
10 ms backoff base so the whole file runs in well under three minutes.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pytest

from aggtrades import FetchError, fetch_hour, get_hourly_agg_trades

REPO = Path(__file__).resolve().parents[2]
REALDATA = Path(os.environ.get("AGT_REALDATA", "/work/shared/realdata"))
HOUR_US = 3_600_000_000
NOW = "2024-03-01T12:00:00Z"  # frozen exchange clock of the synthetic market

# Fast settings for tests that are not about spacing or backoff.
FAST: dict[str, int] = {"interval_ms": 1, "backoff_base_ms": 10}

sys.path.insert(0, str(REPO / "tools"))
import binance_sim  # noqa: E402  (the simulator's market model, for choosing hours)
from conftest import SimProcess  # noqa: E402

Hour = tuple[str, dt.date, int]


# --------------------------------------------------------------------------
# a small client of the simulator process


class Sim(SimProcess):
    """One simulator process (``--port 0``); its market reseeded by :meth:`reset`."""

    def __init__(self, *args: str) -> None:
        super().__init__(*args, timeout=60.0)

    def reset(self) -> None:
        """No faults, default limits, cleared counters, the first seed."""
        self.control(fault_rate=0, next=[], weight_limit=6000, reset_counters=True, seed=1)


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    s = Sim("--now", NOW)
    yield s
    s.close()


@pytest.fixture()
def clean(sim: Sim) -> Sim:
    sim.reset()
    return sim


# --------------------------------------------------------------------------
# helpers


def hour_us(day: dt.date, hour: int) -> int:
    return int(dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.timezone.utc).timestamp()) * 1_000_000


def to_hour(symbol: str, start_us: int) -> Hour:
    t = dt.datetime.fromtimestamp(start_us // 1_000_000, dt.timezone.utc)
    return symbol, t.date(), t.hour


def truth_columns(sim: Sim, symbol: str, day: dt.date, hour: int) -> dict[str, np.ndarray]:
    """The simulator's exact trades of one hour, as the contract orders them."""
    start = hour_us(day, hour)
    rows = sim.truth(symbol, start, start + HOUR_US - 1)
    # Same id twice (a genuine 2018 sample has one): the newest row wins.
    by_id = {r["a"]: r for r in rows}
    rows = sorted(by_id.values(), key=lambda r: (r["T"], r["a"]))
    return {
        "trade_id": np.array([r["a"] for r in rows], dtype=np.int64),
        "ts_us": np.array([r["T"] for r in rows], dtype=np.int64),
        "price": np.array([float(r["p"]) for r in rows], dtype=np.float64),
        "quantity": np.array([float(r["q"]) for r in rows], dtype=np.float64),
        "is_buyer_maker": np.array([bool(r["m"]) for r in rows], dtype=bool),
    }


def assert_contract_dtypes(df: pd.DataFrame) -> None:
    assert list(df.columns) == ["trade_id", "timestamp", "price", "quantity", "is_buyer_maker"]
    assert df["trade_id"].dtype == np.dtype("int64")
    assert df["timestamp"].dtype == pd.DatetimeTZDtype(unit="ns", tz="UTC")
    assert df["price"].dtype == np.dtype("float64")
    assert df["quantity"].dtype == np.dtype("float64")
    assert df["is_buyer_maker"].dtype == np.dtype("bool")


def assert_exact(df: pd.DataFrame, want: dict[str, np.ndarray]) -> None:
    """Field-by-field equality with the truth; doubles compared bit for bit."""
    assert_contract_dtypes(df)
    assert len(df) == len(want["trade_id"])
    np.testing.assert_array_equal(df["trade_id"].to_numpy(), want["trade_id"])
    np.testing.assert_array_equal(df["timestamp"].array.asi8, want["ts_us"] * 1000)
    np.testing.assert_array_equal(df["price"].to_numpy().view(np.uint64), want["price"].view(np.uint64))
    np.testing.assert_array_equal(df["quantity"].to_numpy().view(np.uint64), want["quantity"].view(np.uint64))
    np.testing.assert_array_equal(df["is_buyer_maker"].to_numpy(), want["is_buyer_maker"])
    assert df["trade_id"].is_unique
    assert df["timestamp"].is_monotonic_increasing


def check_hour(sim: Sim, h: Hour, **opts: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    sym, day, hour = h
    df, info = fetch_hour(sym, day, hour, base_url=sim.url, **{**FAST, **opts})
    assert_exact(df, truth_columns(sim, sym, day, hour))
    return df, info


# --------------------------------------------------------------------------
# the hours under test, chosen from the simulator's market model

FEB_START = hour_us(dt.date(2024, 2, 1), 0)
FEB_END = hour_us(dt.date(2024, 2, 27), 23)


def choose_hours() -> dict[str, Hour]:
    """An ordinary, a burst, an empty, a pre-listing and a listing hour."""
    m = binance_sim.Market(seed=1, scale=1.0)
    sym = "BTCUSDT"
    bursts = m.burst_hours(sym, FEB_START, FEB_END)
    empties = m.empty_hours(sym, FEB_START, FEB_END)
    ordinary = next(
        h
        for h in range(FEB_START, FEB_END, HOUR_US)
        if h not in bursts and 1500 <= m.hour_count(sym, h) <= 4000
    )
    listed = m.symbols["NEWUSDT"].listed_us
    return {
        "ordinary": to_hour(sym, ordinary),
        "burst": to_hour(sym, bursts[0]),
        "empty": to_hour(sym, empties[0]),
        "before_listing": to_hour("NEWUSDT", listed - HOUR_US),
        "listing": to_hour("NEWUSDT", listed),
    }


@pytest.fixture(scope="module")
def hours() -> dict[str, Hour]:
    return choose_hours()


# --------------------------------------------------------------------------
# exactness of whole hours


def test_ordinary_hour_exact(clean: Sim, hours: dict[str, Hour]) -> None:
    df, info = check_hour(clean, hours["ordinary"])
    assert len(df) >= 1500
    assert info["complete"] is True
    assert info["prev_id"] == int(df["trade_id"].iloc[0]) - 1


def test_burst_hour_exact(clean: Sim, hours: dict[str, Hour]) -> None:
    df, info = check_hour(clean, hours["burst"])
    per_ms = df["timestamp"].array.asi8 // 1_000_000
    assert np.unique(per_ms, return_counts=True)[1].max() > 1000  # really a burst
    assert info["complete"] is True


def test_empty_hour(clean: Sim, hours: dict[str, Hour]) -> None:
    df, info = check_hour(clean, hours["empty"])
    assert len(df) == 0
    assert info["complete"] is True
    assert info["prev_id"] >= 0  # the trade just before the hour was seen


def test_hour_before_listing(clean: Sim, hours: dict[str, Hour]) -> None:
    df, info = check_hour(clean, hours["before_listing"])
    assert len(df) == 0
    assert info["prev_id"] == -1


def test_listing_hour_starts_at_id_zero(clean: Sim, hours: dict[str, Hour]) -> None:
    df, info = check_hour(clean, hours["listing"])
    assert int(df["trade_id"].iloc[0]) == 0
    assert info["prev_id"] == -1
    assert info["complete"] is True


def test_public_function_dtypes(clean: Sim, hours: dict[str, Hour]) -> None:
    sym, day, hour = hours["ordinary"]
    df = get_hourly_agg_trades(sym, day.isoformat(), hour, base_url=clean.url, **FAST)
    assert_contract_dtypes(df)
    assert df["timestamp"].min() >= pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=hour)
    assert df["timestamp"].max() < pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=hour + 1)


def test_request_count_bound(clean: Sim, hours: dict[str, Hour]) -> None:
    """Fault-free: at most ceil(n/1000)+2 aggTrades requests per hour of n trades."""
    for kind in ("ordinary", "burst", "empty", "before_listing", "listing"):
        before = clean.stats()["data_requests"]
        df, _ = check_hour(clean, hours[kind])
        used = clean.stats()["data_requests"] - before
        assert used <= math.ceil(len(df) / 1000) + 2, (kind, len(df), used)


# --------------------------------------------------------------------------
# genuine samples (replay mode)


def replay_hours() -> list[Hour]:
    rm = binance_sim.ReplayMarket(str(REALDATA))
    out: set[Hour] = set()
    for sym in rm.symbols:
        for r in rm.trades(sym, 0, 2**62):
            out.add(to_hour(sym, r.T // HOUR_US * HOUR_US))
    return sorted(out)


@pytest.mark.skipif(not REALDATA.is_dir(), reason="no genuine samples")
def test_replay_genuine_hours_exact() -> None:
    s = Sim("--replay", str(REALDATA))
    try:
        hs = replay_hours()
        assert hs
        for h in hs:
            check_hour(s, h)
    finally:
        s.close()


# --------------------------------------------------------------------------
# faults

ALL_FAULTS = [
    "500json", "503json", "502html", "403html", "429:1", "418:1",
    "reset", "truncate", "stall:1", "stallbody:1",
]  # fmt: skip
# stall faults last longer than this timeout, so they exercise the timeout path
FAULT_OPTS = {"timeout_ms": 400, "connect_timeout_ms": 400}


@pytest.mark.parametrize("kind", ALL_FAULTS + ["451"])
def test_each_fault_kind_once(clean: Sim, hours: dict[str, Hour], kind: str) -> None:
    """One fault of each kind on the first data request: recovered, rows exact."""
    clean.control(next=[kind])
    if kind == "451":
        # a geo-block is not transient; it must fail clearly, not loop
        with pytest.raises(FetchError) as ei:
            check_hour(clean, hours["ordinary"], **FAULT_OPTS)
        assert ei.value.http_status == 451
        return
    check_hour(clean, hours["ordinary"], **FAULT_OPTS)
    assert clean.stats()["faults"].get(kind.split(":")[0]) == 1


def test_every_hour_with_random_faults(clean: Sim, hours: dict[str, Hour]) -> None:
    """10 % of data requests faulted with every transient kind; every hour exact."""
    clean.control(fault_rate=0.1, faults=ALL_FAULTS, seed=7)
    day = dt.date(2024, 2, 20)
    todo = [("BTCUSDT", day, h) for h in range(24)] + list(hours.values())
    for h in todo:
        check_hour(clean, h, **FAULT_OPTS)
    st = clean.stats()
    assert st["faults_total"] >= 3, st["faults"]


# --------------------------------------------------------------------------
# rate limits, bans and errors


def test_429_waits_retry_after(clean: Sim, hours: dict[str, Hour]) -> None:
    clean.control(next=["429:2"])
    sym, day, hour = hours["ordinary"]
    t0 = time.monotonic()
    df = get_hourly_agg_trades(sym, day, hour, base_url=clean.url, **FAST)
    elapsed = time.monotonic() - t0
    assert_exact(df, truth_columns(clean, sym, day, hour))
    assert elapsed >= 2.0
    assert elapsed < 2.0 + 1.5, f"waited {elapsed:.2f}s for a Retry-After of 2s"
    assert clean.stats()["statuses"].get("429") == 1


def test_418_longer_than_max_wait_fails_at_once(clean: Sim, hours: dict[str, Hour]) -> None:
    clean.control(next=["418:600"])
    sym, day, hour = hours["ordinary"]
    t0 = time.monotonic()
    with pytest.raises(FetchError) as ei:
        fetch_hour(sym, day, hour, base_url=clean.url, **FAST)
    assert time.monotonic() - t0 < 2.0
    e = ei.value
    assert e.status == "AGT_EBANNED"
    assert e.http_status == 418
    assert "600" in str(e) or "ban" in str(e).lower()
    assert clean.stats()["data_requests"] == 1


def test_invalid_symbol_one_request(clean: Sim) -> None:
    with pytest.raises(FetchError) as ei:
        get_hourly_agg_trades("NOSUCHCOIN", dt.date(2024, 2, 1), 0, base_url=clean.url, **FAST)
    e = ei.value
    assert e.api_code == -1121
    assert e.http_status == 400
    assert e.status == "AGT_EAPI"
    assert e.attempts == 1
    assert clean.stats()["data_requests"] == 1


def test_network_failure_after_max_attempts() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError) as ei:
        get_hourly_agg_trades(
            "BTCUSDT", dt.date(2024, 2, 1), 0, base_url=f"http://127.0.0.1:{port}", max_attempts=3, **FAST
        )
    assert ei.value.status == "AGT_ENET"
    assert ei.value.attempts == 3


BAD_ARGS: list[tuple[Any, Any, Any]] = [
    ("btcusdt", dt.date(2024, 2, 1), 0),
    ("B", dt.date(2024, 2, 1), 0),
    ("BTC-USDT", dt.date(2024, 2, 1), 0),
    ("A" * 21, dt.date(2024, 2, 1), 0),
    (b"BTCUSDT", dt.date(2024, 2, 1), 0),
    (None, dt.date(2024, 2, 1), 0),
    ("BTCUSDT", dt.date(2017, 6, 30), 0),
    ("BTCUSDT", "2024-02-30", 0),
    ("BTCUSDT", "2024/02/01", 0),
    ("BTCUSDT", dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc), 0),
    ("BTCUSDT", 20240201, 0),
    ("BTCUSDT", dt.date(2024, 2, 1), 24),
    ("BTCUSDT", dt.date(2024, 2, 1), -1),
    ("BTCUSDT", dt.date(2024, 2, 1), True),
    ("BTCUSDT", dt.date(2024, 2, 1), 1.0),
    ("BTCUSDT", dt.date(2024, 2, 1), "1"),
]


@pytest.mark.parametrize("args", BAD_ARGS, ids=[repr(a) for a in BAD_ARGS])
def test_bad_arguments_raise_before_any_request(clean: Sim, args: tuple[Any, Any, Any]) -> None:
    with pytest.raises(ValueError):
        get_hourly_agg_trades(*args, base_url=clean.url)
    assert sum(clean.stats()["requests"].values()) == 1  # only this /_stats call


def test_weight_budget_never_exceeded_at_defaults(hours: dict[str, Hour]) -> None:
    """Default client settings against the exchange's default 6000/min limit.

    The test first spends most of the current minute's weight itself (as
    another program on the same IP would), so the client must read
    X-MBX-USED-WEIGHT-1M and hold back until the next minute instead of
    crossing the limit. Costs at most one minute of waiting. The simulator
    runs on the real clock here: its weight windows are real-time minutes.
    """
    s = Sim()
    try:
        if time.time() % 60 > 50:  # do not let the minute roll over mid-burn
            time.sleep(60 - time.time() % 60 + 0.1)
        s.control(reset_counters=True)
        used = 0
        while used < 5980:
            with urllib.request.urlopen(s.url + "/api/v3/exchangeInfo", timeout=10) as r:  # weight 20
                used = int(r.headers["X-MBX-USED-WEIGHT-1M"])
        burn_minute = int(time.time() // 60)
        sym, day, _ = hours["ordinary"]
        # busy hours of two pages or more each: far more than the 20 weight left
        for hour in range(12, 18):  # default interval, backoff and budget
            df, _ = fetch_hour(sym, day, hour, base_url=s.url)
            assert_exact(df, truth_columns(s, sym, day, hour))
        st = s.stats()
        # meaningful: the hours needed more than the 20 weight that was left
        assert int(time.time() // 60) > burn_minute
        assert st["max_used_weight"] <= 6000, st
        assert st["rate_limited"] == 0 and st["banned"] == 0, st
    finally:
        s.close()


def test_requests_are_spaced_by_interval(clean: Sim, hours: dict[str, Hour]) -> None:
    sym, day, hour = hours["burst"]  # a few pages
    t0 = time.monotonic()
    get_hourly_agg_trades(sym, day, hour, base_url=clean.url, interval_ms=150)
    elapsed = time.monotonic() - t0
    n = clean.stats()["data_requests"]
    assert n >= 3
    assert elapsed >= (n - 1) * 0.150


def test_ctrl_c_cancels_fetch_cleanly(clean: Sim, hours: dict[str, Hour]) -> None:
    """SIGINT during a slow response: the fetch stops with KeyboardInterrupt."""
    sym, day, hour = hours["ordinary"]
    clean.control(next=["stall:2"])
    code = (
        "import aggtrades, datetime, sys\n"
        "print('go', flush=True)\n"
        "try:\n"
        f"    aggtrades.get_hourly_agg_trades({sym!r}, datetime.date.fromisoformat({day.isoformat()!r}), {hour},"
        f" base_url={clean.url!r}, interval_ms=1)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True); sys.exit(3)\n"
        "print('finished', flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "python")}
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    assert p.stdout is not None and p.stdout.readline().strip() == "go"
    time.sleep(0.5)
    p.send_signal(2)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 3 and "interrupted" in out
    assert clean.stats()["data_requests"] == 1  # stopped after the stalled response


def test_advertised_weight_limit_is_obeyed_at_defaults(hours: dict[str, Hour]) -> None:
    """The exchange advertises 400 weight a minute in exchangeInfo.rateLimits
    and the client, left at its default 6000 budget, must keep to 400.

    As in the test above, the test first spends most of the minute itself
    (360 of 400): the client's exchangeInfo (20), time (1) and a few pages
    fit, the rest must wait for the next minute. At 6000 it would run into
    429s at once. The minute is entered at second 30-50 so the wait is short.
    """
    s = Sim()
    try:
        if not 30 <= time.time() % 60 <= 50:
            time.sleep((30 - time.time() % 60) % 60 + 0.1)
        s.control(reset_counters=True, weight_limit=400)
        used = 0
        while used < 360:
            with urllib.request.urlopen(s.url + "/api/v3/exchangeInfo", timeout=10) as r:  # weight 20
                used = int(r.headers["X-MBX-USED-WEIGHT-1M"])
        burn_minute = int(time.time() // 60)
        sym, day, _ = hours["ordinary"]
        for hour in range(12, 16):  # default options: interval, backoff and budget
            df, _ = fetch_hour(sym, day, hour, base_url=s.url)
            assert_exact(df, truth_columns(s, sym, day, hour))
        st = s.stats()
        # the burn, then the client's: once per process (a client per call here)
        assert st["requests"]["/api/v3/exchangeInfo"] == 18 + 1
        assert int(time.time() // 60) > burn_minute  # meaningful: it had to wait for the minute
        assert st["max_used_weight"] <= 400, st
        assert st["rate_limited"] == 0 and st["banned"] == 0, st
    finally:
        s.close()
