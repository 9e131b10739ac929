"""Fetching futures hours (USD-M /fapi/v1, COIN-M /dapi/v1) through the Python binding
and the real library, over loopback HTTP to the simulator: every hour equals the
simulator's truth, is proven complete with the documented request forms only, and
costs about ceil(n/1000) + 1 requests of weight 20."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from conftest import SimProcess

import aggtrades
import binance_sim as bs
from test_sim import NOW, sim  # noqa: F401  (the same clock-frozen simulator)

HOUR = bs.US_PER_HOUR


@pytest.fixture
def clean(sim: SimProcess) -> SimProcess:
    sim.reset()
    sim.control(fault_rate=0, next=[])
    return sim


def _hour(day: str, h: int) -> int:
    return bs.parse_time(day) + h * HOUR


def _check(sim: SimProcess, market: str, symbol: str, day: str, h: int):
    start = _hour(day, h)
    frame, info = aggtrades.fetch_hour(symbol, day, h, base_url=sim.url, market=market,
                                       interval_ms=0)
    truth = sim.truth(symbol, start, start + HOUR - 1, market=market)
    assert frame["trade_id"].tolist() == [t["a"] for t in truth]
    assert frame["timestamp"].astype("int64").tolist() == [t["T"] * 1000 for t in truth]
    assert np.array_equal(frame["price"].to_numpy(), np.array([float(t["p"]) for t in truth]))
    assert np.array_equal(frame["quantity"].to_numpy(), np.array([float(t["q"]) for t in truth]))
    assert frame["is_buyer_maker"].tolist() == [t["m"] for t in truth]
    assert info["complete"], info
    return frame, info


@pytest.mark.parametrize("market,symbol,day,h", [
    ("um", "BTCUSDT", "2024-02-27", 14),          # ~2000 trades: window + id pages
    ("um", "BTCUSDT", "2024-02-02", 5),           # a >1000-trade millisecond
    ("cm", "BTCUSD_PERP", "2024-02-27", 3),       # under 1000: one window
    ("cm", "BTCUSD_240628", "2024-02-05", 17),
])
def test_hour_equals_truth_with_few_requests(clean: SimProcess, market: str, symbol: str,
                                             day: str, h: int) -> None:
    frame, info = _check(clean, market, symbol, day, h)
    n = len(frame)
    assert n > 0
    # the window, the id pages above it, the trade before the hour
    assert info["requests"] <= math.ceil(n / 1000) + 2, (n, info["requests"])
    prefix = {"um": "/fapi/v1", "cm": "/dapi/v1"}[market]
    req = clean.stats()["requests"]
    assert req.get("/api/v3/aggTrades", 0) == 0 and req[prefix + "/aggTrades"] == info["requests"]
    assert info["prev_id"] == frame["trade_id"].iloc[0] - 1


@pytest.mark.parametrize("market,symbol,day,h", [
    ("cm", "BTCUSD_PERP", "2024-02-03", 18), ("cm", "BTCUSD_240628", "2024-02-16", 17)])
def test_empty_hour_is_proven_by_its_neighbours(clean: SimProcess, market: str, symbol: str,
                                                day: str, h: int) -> None:
    frame, info = _check(clean, market, symbol, day, h)
    assert len(frame) == 0
    start = _hour(day, h)
    before = clean.truth(symbol, start - 24 * HOUR, start - 1, market=market)[-1]
    assert info["prev_id"] == before["a"]


def test_listing_hour_and_delivered_contract(clean: SimProcess) -> None:
    # the first hour of USD-M BTCUSDT: its ids start at 1, nothing before
    frame, info = _check(clean, "um", "BTCUSDT", "2019-09-08", 8)
    assert frame["trade_id"].iloc[0] == 1 and info["prev_id"] == -1
    # a dated contract after its delivery: no trade ever again, proven by the newest
    clean.control(now="2024-07-02T00:00:00Z")
    try:
        frame, info = _check(clean, "cm", "BTCUSD_240628", "2024-06-29", 3)
        assert len(frame) == 0
    finally:
        clean.control(now=NOW)


def test_faults_are_retried_and_the_hour_stays_exact(clean: SimProcess) -> None:
    clean.control(next=["500json", "reset", "truncate"])
    _check(clean, "um", "ETHUSDT", "2024-02-26", 20)
    assert clean.stats()["faults_total"] == 3
    clean.control(fault_rate=0.15, seed=3, faults=["500json", "503json", "502html", "reset",
                                                   "truncate", "429"])
    for h in range(3):
        _check(clean, "cm", "BTCUSD_PERP", "2024-02-26", h)
    assert clean.stats()["faults_total"] > 0


def test_spot_symbol_rules_and_bad_market() -> None:
    with pytest.raises(ValueError, match="market"):
        aggtrades.get_hourly_agg_trades("BTCUSDT", dt.date(2024, 2, 1), 0, market="usdm")
    with pytest.raises(ValueError, match="ticker"):
        aggtrades.get_hourly_agg_trades("_BTCUSD", dt.date(2024, 2, 1), 0, market="cm")


def test_unknown_contract_is_an_exchange_error(clean: SimProcess) -> None:
    with pytest.raises(aggtrades.FetchError) as e:
        aggtrades.get_hourly_agg_trades("BTCUSD_PERP", "2024-02-01", 0, base_url=clean.url,
                                        market="um")
    assert e.value.api_code == -1121
