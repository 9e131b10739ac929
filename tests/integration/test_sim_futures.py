"""The simulator's futures markets (USD-M /fapi/v1, COIN-M /dapi/v1, data/futures/...)
over real loopback HTTP, against the simulator's own market model and the rules in
docs/futures.md."""

from __future__ import annotations

import hashlib
import io
import json
import urllib.error
import zipfile

import pytest

from conftest import SimProcess

import binance_sim as bs
from test_sim import NOW, clean, ms, sim  # noqa: F401  (the same clock-frozen simulator)

NOW_US = bs.parse_time(NOW)
HOUR = bs.US_PER_HOUR
H0 = bs.parse_time("2024-02-27T05:00:00Z")




def fapi(s: SimProcess, market: str, **params):
    prefix = {"um": "/fapi/v1", "cm": "/dapi/v1"}[market]
    st, h, body = s.get(prefix + "/aggTrades", params)
    return st, h, json.loads(body)


@pytest.mark.parametrize("market,symbol", [("um", "BTCUSDT"), ("cm", "BTCUSD_PERP")])
def test_window_and_from_id_match_the_model(clean: SimProcess, market: str, symbol: str) -> None:
    model = bs.Market(seed=1, market=market)
    hour = model.hour_trades(symbol, H0)
    assert len(hour) > 100
    st, h, rows = fapi(clean, market, symbol=symbol, startTime=ms(H0), endTime=ms(H0 + HOUR) - 1,
                       limit=1000)
    assert st == 200 and h["x-mbx-used-weight-1m"] == "20"
    assert [r["a"] for r in rows] == [r.a for r in hour][:1000]
    # futures wire format: ms, no "M", the contract's own precision
    assert set(rows[0]) == {"a", "p", "q", "f", "l", "T", "m"}
    assert rows[0]["T"] == hour[0].T // 1000 and rows[0]["p"] == hour[0].p
    assert len(rows[0]["p"].split(".")[1]) == 1          # tick 0.1, not 8 places
    st, _, page = fapi(clean, market, symbol=symbol, fromId=hour[10].a, limit=5)
    assert st == 200 and [r["a"] for r in page] == [r.a for r in hour[10:15]]
    # the X-MBX-TIME-UNIT header is a spot feature: futures answer in ms
    st, _, body = clean.get({"um": "/fapi/v1", "cm": "/dapi/v1"}[market] + "/aggTrades",
                            {"symbol": symbol, "fromId": hour[0].a, "limit": 1},
                            headers={"X-MBX-TIME-UNIT": "MICROSECOND"})
    assert json.loads(body)[0]["T"] == hour[0].T // 1000


def test_aggregate_ids_consecutive_trade_ids_not(clean: SimProcess) -> None:
    model = bs.Market(seed=1, market="um")
    rows = model.trades("BTCUSDT", H0, H0 + 6 * HOUR - 1)
    assert all(b.a == a.a + 1 for a, b in zip(rows, rows[1:]))
    gaps = sum(1 for a, b in zip(rows, rows[1:]) if b.f != a.l + 1)
    assert gaps > 0                 # insurance-fund / ADL fills are not aggregated
    first = model.from_id("BTCUSDT", 0, 1, NOW_US)
    assert first[0].a == first[0].f == 1           # USD-M ids start at 1 (spot: 0)
    st, _, page = fapi(clean, "um", symbol="BTCUSDT", fromId=0, limit=1)
    assert page[0]["a"] == 1


def test_documented_forms_only(clean: SimProcess) -> None:
    sym = "BTCUSDT"
    cases = [({"startTime": ms(H0)}, -1128), ({"endTime": ms(H0)}, -1128),
             ({"startTime": ms(H0), "endTime": ms(H0 + HOUR)}, -1127),
             ({"startTime": ms(H0) + 5, "endTime": ms(H0)}, -1023),
             ({"fromId": 5, "endTime": ms(H0)}, -1128), ({"limit": 1001}, -1130),
             ({"symbol": "BTCUSD_PERP"}, -1121)]
    for extra, code in cases:
        params = {"symbol": sym, **extra}
        st, _, body = fapi(clean, "um", **params)
        assert (st, body["code"]) == (400, code), (extra, body)
    # a window of exactly one hour minus one millisecond is allowed
    assert fapi(clean, "um", symbol=sym, startTime=ms(H0), endTime=ms(H0 + HOUR) - 1)[0] == 200


def test_dated_contract_stops_at_delivery(clean: SimProcess) -> None:
    model = bs.Market(seed=1, market="cm")
    delivery = bs.parse_time("2024-06-28T08:00:00Z")
    assert model.hour_count("BTCUSD_240628", delivery - HOUR) > 0
    assert model.trades("BTCUSD_240628", delivery, delivery + 30 * 24 * HOUR) == []
    clean.control(now="2024-07-01T00:00:00Z")
    try:
        st, _, body = clean.get("/dapi/v1/exchangeInfo")
        info = {s["symbol"]: s for s in json.loads(body)["symbols"]}
        assert info["BTCUSD_240628"]["status"] == "SETTLING"
        assert info["BTCUSD_PERP"]["status"] == "TRADING"
        assert info["BTCUSD_240628"]["deliveryDate"] == delivery // 1000
    finally:
        clean.control(now=NOW)


def test_exchange_info_and_own_budget(clean: SimProcess) -> None:
    st, h, body = clean.get("/fapi/v1/exchangeInfo")
    info = json.loads(body)
    assert st == 200 and h["x-mbx-used-weight-1m"] == "1"
    assert {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
            "limit": 2400} in info["rateLimits"]
    assert {s["symbol"] for s in info["symbols"]} == {"BTCUSDT", "ETHUSDT"}
    assert clean.get("/fapi/v1/time")[0] == 200
    clean.control(futures_weight_limit=50, reset_counters=True)
    try:
        codes = [fapi(clean, "um", symbol="BTCUSDT", limit=1)[0] for _ in range(3)]
        assert codes == [200, 200, 429]
        # a request before the 429's Retry-After is up: a 418 ban of that market, which
        # further requests do not extend
        st, h, body = fapi(clean, "um", symbol="BTCUSDT", limit=1)
        assert st == 418 and body["code"] == -1003 and "banned until" in body["msg"]
        assert 100 <= int(h["retry-after"]) <= 120
        st, h2, _ = fapi(clean, "um", symbol="BTCUSDT", limit=1)
        assert st == 418 and int(h2["retry-after"]) <= int(h["retry-after"])
        assert clean.get("/fapi/v1/time")[0] == 418     # the whole market, not one endpoint
        assert clean.stats()["banned"] == 3
        # USD-M's budget and ban are its own: spot and COIN-M still answer
        assert clean.agg_trades(symbol="BTCUSDT", limit=1)[0] == 200
        assert fapi(clean, "cm", symbol="BTCUSD_PERP", limit=1)[0] == 200
    finally:
        clean.control(futures_weight_limit=2400, reset_counters=True)
    assert fapi(clean, "um", symbol="BTCUSDT", limit=1)[0] == 200


@pytest.mark.parametrize("market,symbol", [("um", "BTCUSDT"), ("cm", "BTCUSD_PERP")])
def test_rest_history_floor_per_market(clean: SimProcess, market: str, symbol: str) -> None:
    """rest_floor {"um/SYM": T}: that contract's REST forgets trades before T; the archive,
    the truth and the other markets are unchanged."""
    model = bs.Market(seed=1, market=market)
    floor_id = model.first_from(symbol, H0, NOW_US, 1)[0].a
    clean.control(rest_floor={f"{market}/{symbol}": "2024-02-27T05:00:00Z"})
    try:
        st, _, rows = fapi(clean, market, symbol=symbol, startTime=ms(H0 - HOUR),
                           endTime=ms(H0) - 1)
        assert (st, rows) == (200, [])                       # the hour below: nothing
        st, _, rows = fapi(clean, market, symbol=symbol, fromId=floor_id - 50, limit=3)
        assert [r["a"] for r in rows] == [floor_id, floor_id + 1, floor_id + 2]
        st, _, rows = fapi(clean, market, symbol=symbol, startTime=ms(H0), endTime=ms(H0) + 60_000,
                           limit=1)
        assert rows[0]["a"] == floor_id
        assert clean.truth(symbol, H0 - HOUR, H0 - 1, market=market)
        other = "cm" if market == "um" else "um"
        osym = "BTCUSD_PERP" if other == "cm" else "BTCUSDT"
        assert fapi(clean, other, symbol=osym, startTime=ms(H0 - HOUR), endTime=ms(H0) - 1)[2]
        assert clean.agg_trades(symbol="BTCUSDT", startTime=ms(H0 - HOUR), endTime=ms(H0) - 1,
                                limit=5)[2]
        with pytest.raises(urllib.error.HTTPError):  # not a USD-M symbol
            clean.control(rest_floor={"um/BTCUSD_PERP": "2024-02-27T05:00:00Z"})
    finally:
        clean.control(rest_floor={})


def _zip_csv(body: bytes) -> tuple[str, str]:
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        (name,) = z.namelist()
        return name, z.read(name).decode()


@pytest.mark.parametrize("market,symbol,day,header", [
    ("um", "BTCUSDT", "2024-02-27", True), ("um", "BTCUSDT", "2020-01-01", False),
    ("cm", "BTCUSD_PERP", "2024-02-27", True)])
def test_archive_day(clean: SimProcess, market: str, symbol: str, day: str, header: bool) -> None:
    path = "/data/futures/%s/daily/aggTrades/%s/%s-aggTrades-%s.zip" % (market, symbol, symbol, day)
    st, _, body = clean.get(path)
    assert st == 200
    name, text = _zip_csv(body)
    assert name == "%s-aggTrades-%s.csv" % (symbol, day)
    lines = text.splitlines()
    if header:
        assert lines.pop(0) == ("agg_trade_id,price,quantity,first_trade_id,last_trade_id,"
                                "transact_time,is_buyer_maker")
    start = bs.parse_time(day)
    truth = clean.truth(symbol, start, start + 24 * HOUR - 1, market=market)
    assert len(lines) == len(truth) > 0
    want = ["%d,%s,%s,%d,%d,%d,%s" % (t["a"], t["p"], t["q"], t["f"], t["l"], t["T"] // 1000,
                                      "true" if t["m"] else "false") for t in truth]
    assert lines == want
    st, _, ck = clean.get(path + ".CHECKSUM")
    assert ck.decode() == "%s  %s\n" % (hashlib.sha256(body).hexdigest(), path.rsplit("/", 1)[1])


def test_archive_monthly_and_faults_per_market(clean: SimProcess) -> None:
    month = "/data/futures/cm/monthly/aggTrades/BTCUSD_240628/BTCUSD_240628-aggTrades-%s.zip"
    st, _, body = clean.get(month % "2024-01")
    assert st == 200
    _, text = _zip_csv(body)
    truth = clean.truth("BTCUSD_240628", bs.parse_time("2024-01-01"),
                        bs.parse_time("2024-02-01") - 1, market="cm")
    assert len(text.splitlines()) == len(truth) + 1
    assert clean.get(month % "2024-03")[0] == 404     # the month is not over
    base = "/data/futures/um/%s/aggTrades/BTCUSDT/BTCUSDT-aggTrades-%s.zip"
    # a fault key with a market prefix hits that market's file only
    clean.control(archive_unpublished=["um/BTCUSDT-2024-02-27"])
    try:
        assert clean.get(base % ("daily", "2024-02-27"))[0] == 404
        spot = "/data/spot/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-02-27.zip"
        assert clean.get(spot)[0] == 200
    finally:
        clean.control(archive_unpublished=[])


def test_truth_per_market_differs(clean: SimProcess) -> None:
    spot = clean.truth("BTCUSDT", H0, H0 + HOUR - 1)
    um = clean.truth("BTCUSDT", H0, H0 + HOUR - 1, market="um")
    assert spot and um and [t["a"] for t in spot] != [t["a"] for t in um]
    assert clean.get("/_truth", {"symbol": "BTCUSDT", "market": "xx"})[0] == 400
