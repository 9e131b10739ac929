"""Tests of the exchange simulator (tools/binance_sim.py) over real loopback HTTP.

Every answer is compared with the simulator's own market model (imported as a module),
which is the "truth" the other integration tests rely on.
"""

from __future__ import annotations

import collections
import hashlib
import http.client
import io
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from conftest import REALDATA, SIM_PATH, SimProcess

import binance_sim as bs

NOW = "2024-03-01T12:34:56Z"
NOW_US = bs.parse_time(NOW)
HOUR = bs.US_PER_HOUR
FEB_START = bs.parse_time("2024-02-01T00:00:00Z")
FEB_END = bs.parse_time("2024-02-28T23:59:59.999999Z")
SYM = "BTCUSDT"


@pytest.fixture(scope="module")
def model() -> bs.Market:
    return bs.Market(seed=1, scale=1.0)


@pytest.fixture(scope="module")
def sim(start_sim_module) -> SimProcess:
    return start_sim_module("--now", NOW)


@pytest.fixture
def clean(sim: SimProcess) -> SimProcess:
    sim.reset()
    return sim


def wire(rows, micro=False):
    """Model rows -> what the REST endpoint must return (parsed)."""
    return json.loads(bs.rows_json(rows, micro))


def ms(us: int) -> int:
    return us // 1000


# ---------------------------------------------------------------- basics

def test_first_line_time_ping_exchange_info(clean: SimProcess) -> None:
    assert clean.url.startswith("http://127.0.0.1:")
    st, h, body = clean.get("/api/v3/time")
    assert st == 200 and json.loads(body) == {"serverTime": ms(NOW_US)}
    assert h["x-mbx-used-weight-1m"] == h["x-mbx-used-weight"] == "1"
    st, h, body = clean.get("/api/v3/ping")
    assert (st, body) == (200, b"{}") and h["x-mbx-used-weight-1m"] == "2"
    st, h, body = clean.get("/api/v3/exchangeInfo")
    info = json.loads(body)
    assert h["x-mbx-used-weight-1m"] == "22"
    limits = {r["rateLimitType"]: r for r in info["rateLimits"]}
    assert limits["REQUEST_WEIGHT"]["limit"] == 6000 and limits["REQUEST_WEIGHT"]["interval"] == "MINUTE"
    assert limits["RAW_REQUESTS"]["limit"] == 61000 and limits["RAW_REQUESTS"]["intervalNum"] == 5
    names = {s["symbol"]: s for s in info["symbols"]}
    assert {"BTCUSDT", "ETHUSDT", "BNBUSDT", "NEWUSDT"} <= set(names)
    assert names["BTCUSDT"]["status"] == "TRADING"


def test_wire_format_is_compact_and_ordered(clean: SimProcess) -> None:
    st, h, body = clean.get("/api/v3/aggTrades", {"symbol": SYM, "limit": 3})
    assert st == 200
    text = body.decode()
    assert " " not in text and text.startswith('[{"a":')
    first = text[1:text.index("}") + 1]
    keys = [k for k in json.loads(first)]
    assert keys == ["a", "p", "q", "f", "l", "T", "m", "M"]
    assert '"m":true' in text or '"m":false' in text
    row = json.loads(first)
    assert len(row["p"].split(".")[1]) == 8 and len(row["q"].split(".")[1]) == 8
    assert h["x-mbx-used-weight-1m"] == "4"


# ---------------------------------------------------------------- time modes

def test_no_time_params_most_recent_and_default_500(clean: SimProcess, model: bs.Market) -> None:
    st, _, got = clean.agg_trades(symbol=SYM, limit=7)
    assert st == 200
    assert got == wire(model.last_upto(SYM, NOW_US, 7))
    assert got[-1]["T"] <= ms(NOW_US)
    st, _, got = clean.agg_trades(symbol=SYM)
    assert len(got) == 500
    assert got == wire(model.last_upto(SYM, NOW_US, 500))


def test_start_only_oldest_from_start(clean: SimProcess, model: bs.Market) -> None:
    start = bs.parse_time("2024-02-10T07:00:00Z")
    st, _, got = clean.agg_trades(symbol=SYM, startTime=ms(start), limit=20)
    want = model.first_from(SYM, start, NOW_US, 20)
    assert got == wire(want) and len(got) == 20
    assert got[0]["T"] >= ms(start)


def test_end_only_most_recent_up_to_end(clean: SimProcess, model: bs.Market) -> None:
    end_ms = ms(bs.parse_time("2024-02-10T07:30:00Z"))
    st, _, got = clean.agg_trades(symbol=SYM, endTime=end_ms, limit=25)
    want = model.last_upto(SYM, end_ms * 1000 + 999, 25)
    assert got == wire(want) and len(got) == 25
    assert [r["a"] for r in got] == sorted(r["a"] for r in got)   # ascending
    assert got[-1]["T"] <= end_ms


def test_both_first_limit_never_past_end(clean: SimProcess, model: bs.Market) -> None:
    start = bs.parse_time("2024-02-13T14:00:00Z")
    end = start + 10 * 60_000_000 - 1                     # ten minutes
    st, _, got = clean.agg_trades(symbol=SYM, startTime=ms(start), endTime=ms(end), limit=1000)
    want = model.trades(SYM, start, end)
    assert 0 < len(want) < 1000 and got == wire(want)
    st, _, got = clean.agg_trades(symbol=SYM, startTime=ms(start), endTime=ms(end), limit=3)
    assert got == wire(want[:3])


def test_from_id_ascending(clean: SimProcess, model: bs.Market) -> None:
    a, _ = model.id_at(SYM, bs.parse_time("2024-02-11T00:00:00Z"))
    st, _, got = clean.agg_trades(symbol=SYM, fromId=a + 3, limit=10)
    assert [r["a"] for r in got] == list(range(a + 3, a + 13))
    st, _, got = clean.agg_trades(symbol=SYM, fromId=10 ** 12, limit=10)
    assert (st, got) == (200, [])


def test_limit_cap_1000(clean: SimProcess) -> None:
    st, _, got = clean.agg_trades(symbol=SYM, startTime=ms(FEB_START), limit=5000)
    assert st == 200 and len(got) == 1000


def test_inclusive_bounds(clean: SimProcess, model: bs.Market) -> None:
    rows = model.trades(SYM, FEB_START, FEB_START + HOUR - 1)
    per_ms = collections.Counter(r.T // 1000 for r in rows)
    t_ms, n = per_ms.most_common(1)[0]
    assert n >= 2
    st, _, got = clean.agg_trades(symbol=SYM, startTime=t_ms, endTime=t_ms, limit=1000)
    assert len(got) == n and all(r["T"] == t_ms for r in got)
    # µs parameters are exact and inclusive as well
    t_us = next(r.T for r in rows if r.T // 1000 == t_ms)
    st, _, got = clean.agg_trades(micro=True, symbol=SYM, startTime=t_us, endTime=t_us)
    assert got and all(r["T"] == t_us for r in got)


def test_start_after_end_and_future(clean: SimProcess) -> None:
    st, _, got = clean.agg_trades(symbol=SYM, startTime=ms(FEB_END), endTime=ms(FEB_START))
    assert (st, got) == (200, [])
    st, _, got = clean.agg_trades(symbol=SYM, startTime=ms(NOW_US) + 1)
    assert (st, got) == (200, [])                          # the market ends at "now"


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("params,code,msg", [
    ({"symbol": SYM, "fromId": 5, "startTime": 1709251200000}, -1128,
     "Combination of optional parameters invalid."),
    ({"symbol": SYM, "fromId": 5, "endTime": 1709251200000}, -1128,
     "Combination of optional parameters invalid."),
    ({"symbol": "BOGUS"}, -1121, "Invalid symbol."),
    ({}, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."),
    ({"symbol": SYM, "endTime": "12x"}, -1100,
     "Illegal characters found in parameter 'endTime'; legal range is '^[0-9]{1,20}$'."),
    ({"symbol": SYM, "startTime": "-5"}, -1100,
     "Illegal characters found in parameter 'startTime'; legal range is '^[0-9]{1,20}$'."),
    ({"symbol": SYM, "limit": 0}, -1100,
     "Illegal characters found in parameter 'limit'; legal range is '[1, 1000]'."),
])
def test_error_bodies(clean: SimProcess, params, code, msg) -> None:
    st, h, body = clean.get("/api/v3/aggTrades", params)
    assert st == 400
    assert body == json.dumps({"code": code, "msg": msg}, separators=(",", ":")).encode()
    assert "x-mbx-used-weight-1m" in h


# ---------------------------------------------------------------- µs unit

def test_microsecond_header(clean: SimProcess, model: bs.Market) -> None:
    start = bs.parse_time("2024-02-12T13:00:00Z")
    want = model.first_from(SYM, start, NOW_US, 50)
    for value in ("MICROSECOND", "microsecond"):
        st, _, body = clean.get("/api/v3/aggTrades", {"symbol": SYM, "startTime": ms(start), "limit": 50},
                                {"X-MBX-TIME-UNIT": value})
        got = json.loads(body)
        assert [r["T"] for r in got] == [r.T for r in want]
    # before 2025 times are whole milliseconds (as the real ms archive files show),
    # from 2025 on the µs part is used
    assert all(r.T % 1000 == 0 for r in want)
    later = bs.parse_time("2025-01-02T13:00:00Z")
    assert any(r.T % 1000 for r in model.trades(SYM, later, later + 600_000_000))
    _, _, got = clean.agg_trades(symbol=SYM, startTime=ms(start), limit=50)
    assert [r["T"] for r in got] == [r.T // 1000 for r in want]
    # µs time parameters (>= 10^14) select exactly
    _, _, got = clean.agg_trades(micro=True, symbol=SYM, startTime=want[10].T, endTime=want[20].T)
    assert got == wire([r for r in want if want[10].T <= r.T <= want[20].T], micro=True)


# ---------------------------------------------------------------- weights

def test_weight_headers_accumulate(clean: SimProcess) -> None:
    seen = []
    for _ in range(4):
        _, h, _ = clean.get("/api/v3/aggTrades", {"symbol": SYM, "limit": 1})
        assert h["x-mbx-used-weight"] == h["x-mbx-used-weight-1m"]
        seen.append(int(h["x-mbx-used-weight-1m"]))
    if seen[0] == 4:                                       # unless a minute boundary passed
        assert seen == [4, 8, 12, 16] or seen[-1] < seen[0]
    assert clean.stats()["max_used_weight"] >= 16


def _avoid_minute_end(margin: float = 8.0) -> None:
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.05)


def test_429_then_418_escalation(start_sim) -> None:
    s = start_sim("--now", NOW, "--weight-limit", "10", "--ban-seconds", "2")
    _avoid_minute_end()
    codes = [s.get("/api/v3/aggTrades", {"symbol": SYM, "limit": 1})[0] for _ in range(2)]
    assert codes == [200, 200]
    st, h, body = s.get("/api/v3/aggTrades", {"symbol": SYM, "limit": 1})
    assert st == 429 and h["x-mbx-used-weight-1m"] == "12"
    assert 1 <= int(h["retry-after"]) <= 60
    assert json.loads(body) == {"code": -1003, "msg": "Too much request weight used; current limit "
                                "is 10 request weight per 1 MINUTE. Please use WebSocket Streams for "
                                "live updates to avoid polling the API."}
    # ignoring Retry-After: banned for 2 s
    t0 = time.time()
    st, h, body = s.get("/api/v3/time")
    assert st == 418 and h["retry-after"] == "2"
    msg = json.loads(body)["msg"]
    assert msg.startswith("Way too much request weight used; IP banned until ")
    until = int(msg.split("until ")[1].split(".")[0])
    assert abs(until - (t0 + 2) * 1000) < 1500
    st, h, _ = s.get("/api/v3/ping")
    assert st == 418 and 1 <= int(h["retry-after"]) <= 2
    time.sleep(2.2)
    # still over the minute's budget: 429 again, and ignoring it doubles the ban
    st, h, _ = s.get("/api/v3/ping")
    assert st == 429
    st, h, _ = s.get("/api/v3/ping")
    assert st == 418 and h["retry-after"] == "4"
    stats = s.stats()
    assert stats["rate_limited"] == 2 and stats["banned"] >= 3
    s.control(reset_counters=True)
    assert s.get("/api/v3/ping")[0] == 200


# ---------------------------------------------------------------- market shape

def test_burst_hour_has_more_than_1000_in_one_ms(clean: SimProcess, model: bs.Market) -> None:
    bursts = model.burst_hours(SYM, FEB_START, FEB_END)
    assert bursts
    h = bursts[0]
    rows = model.hour_trades(SYM, h)
    t_ms, n = collections.Counter(r.T // 1000 for r in rows).most_common(1)[0]
    assert 1500 <= n <= 2600
    st, _, got = clean.agg_trades(symbol=SYM, startTime=t_ms, endTime=t_ms, limit=1000)
    assert len(got) == 1000 and {r["T"] for r in got} == {t_ms}
    truth = clean.truth(SYM, t_ms * 1000, t_ms * 1000 + 999)
    assert len(truth) == n


def test_empty_hour_and_before_listing(clean: SimProcess, model: bs.Market) -> None:
    empties = model.empty_hours(SYM, FEB_START, FEB_END)
    assert empties
    h = empties[0]
    assert model.hour_count(SYM, h) == 0
    st, _, got = clean.agg_trades(symbol=SYM, startTime=ms(h), endTime=ms(h + HOUR - 1))
    assert (st, got) == (200, [])
    # endTime only at the end of the empty hour gives trades before it
    _, _, got = clean.agg_trades(symbol=SYM, endTime=ms(h + HOUR - 1), limit=1)
    assert got and got[0]["T"] < ms(h)
    listed = model.symbols["NEWUSDT"].listed_us
    st, _, got = clean.agg_trades(symbol="NEWUSDT", startTime=ms(listed - HOUR),
                                  endTime=ms(listed - 1))
    assert got == []
    st, _, got = clean.agg_trades(symbol="NEWUSDT", startTime=ms(listed - HOUR), limit=2)
    assert [r["a"] for r in got] == [0, 1] and got[0]["f"] == 0 and got[0]["T"] >= ms(listed)
    st, _, got = clean.agg_trades(symbol="NEWUSDT", endTime=ms(listed - 1))
    assert got == []


def test_ids_consecutive_across_hours(clean: SimProcess, model: bs.Market) -> None:
    h = bs.parse_time("2024-02-20T05:00:00Z")
    last_a = model.hour_trades(SYM, h)[-1].a
    _, _, got = clean.agg_trades(symbol=SYM, fromId=last_a - 4, limit=10)
    assert [r["a"] for r in got] == list(range(last_a - 4, last_a + 6))
    assert any(r["T"] >= ms(h + HOUR) for r in got) and got[0]["T"] < ms(h + HOUR)
    for x, y in zip(got, got[1:]):
        assert y["f"] == x["l"] + 1 and y["T"] >= x["T"]
    rows = model.trades(SYM, bs.parse_time("2024-02-19T00:00:00Z"), bs.parse_time("2024-02-21T00:00:00Z"))
    for x, y in zip(rows, rows[1:]):
        assert y.a == x.a + 1 and y.f == x.l + 1 and y.T >= x.T and x.f <= x.l


def test_prices_and_quantities_on_grid(model: bs.Market) -> None:
    rows = model.hour_trades(SYM, bs.parse_time("2024-02-20T05:00:00Z"))
    for r in rows[:500]:
        assert r.M is True
        assert bs._p(r.p) % 1_000_000 == 0 and bs._p(r.p) > 0     # 0.01 tick
        assert bs._p(r.q) % 1_000 == 0 and bs._p(r.q) > 0         # 0.00001 lot
    assert {r.m for r in rows} == {True, False}
    prices = [bs._p(r.p) / 1e8 for r in rows]
    assert 30_000 < min(prices) and max(prices) < 90_000


def test_determinism_across_processes(clean: SimProcess, start_sim) -> None:
    other = start_sim("--now", NOW)
    third = start_sim("--now", NOW, "--seed", "2")
    q = [{"symbol": SYM, "startTime": ms(FEB_START) + 12345, "limit": 1000},
         {"symbol": "ETHUSDT", "endTime": ms(FEB_END), "limit": 300},
         {"symbol": "BNBUSDT", "fromId": 777, "limit": 50}]
    for params in q:
        a = clean.get("/api/v3/aggTrades", params)[2]
        b = other.get("/api/v3/aggTrades", params)[2]
        assert a == b and len(a) > 100
    assert third.get("/api/v3/aggTrades", q[0])[2] != clean.get("/api/v3/aggTrades", q[0])[2]


# ---------------------------------------------------------------- faults

def _raw(s: SimProcess, timeout: float = 5.0):
    """aggTrades via http.client: (status, headers, body) or the exception raised."""
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=timeout)
    try:
        conn.request("GET", "/api/v3/aggTrades?symbol=BTCUSDT&limit=50")
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except Exception as e:                                  # noqa: BLE001
        return e
    finally:
        conn.close()


def test_fault_queue_each_kind(clean: SimProcess) -> None:
    s = clean
    s.control(next=["500json", "503json", "502html", "403html", "429:2", "418:3", "451",
                    "reset", "truncate", "stall:3", "stallbody:0.3"])
    # non-data paths never consume the queue
    assert s.get("/api/v3/time")[0] == 200
    st, h, body = _raw(s)
    assert st == 500 and json.loads(body)["code"] == -1000
    st, h, body = _raw(s)
    assert st == 503 and json.loads(body)["code"] == -1008
    st, h, body = _raw(s)
    assert st == 502 and b"502 Bad Gateway" in body and h["content-type"].startswith("text/html")
    st, h, body = _raw(s)
    assert st == 403 and b"cloudfront" in body.lower() and b"Request blocked" in body
    st, h, body = _raw(s)
    assert st == 429 and h["retry-after"] == "2" and json.loads(body)["code"] == -1003
    st, h, body = _raw(s)
    assert st == 418 and h["retry-after"] == "3" and "banned until" in json.loads(body)["msg"]
    st, h, body = _raw(s)
    assert st == 451 and json.loads(body)["code"] == 0
    e = _raw(s)
    assert isinstance(e, (ConnectionError, http.client.HTTPException)), e
    e = _raw(s)
    assert isinstance(e, http.client.IncompleteRead), e
    t0 = time.time()
    e = _raw(s, timeout=0.5)
    assert isinstance(e, (socket.timeout, TimeoutError)), e
    assert time.time() - t0 < 2.5
    st, h, body = _raw(s, timeout=5)                      # stall mid-body, then completes
    assert st == 200 and len(json.loads(body)) == 50
    st, h, body = _raw(s)
    assert st == 200 and len(json.loads(body)) == 50
    stats = s.stats()
    assert stats["faults_total"] == 11
    assert stats["faults"]["reset"] == 1 and stats["faults"]["stall"] == 1
    assert s.control()["next"] == []


def test_random_faults_rate(clean: SimProcess) -> None:
    clean.control(fault_rate=0.5, faults=["500json", "502html"], seed=3)
    codes = collections.Counter(_raw(clean)[0] for _ in range(40))
    clean.control(fault_rate=0)
    assert codes[200] > 5 and codes[500] + codes[502] > 5
    assert clean.stats()["faults_total"] == codes[500] + codes[502]


def test_stall_is_interrupted_at_shutdown(start_sim) -> None:
    s = start_sim("--now", NOW, "--stall-seconds", "60")
    s.control(next=["stall"])
    th = threading.Thread(target=_raw, args=(s, 30.0), daemon=True)
    th.start()
    time.sleep(0.3)
    t0 = time.time()
    s.proc.terminate()
    s.proc.wait(10)
    assert time.time() - t0 < 5
    th.join(10)
    assert not th.is_alive()


# ---------------------------------------------------------------- truth

def test_truth_equals_paging_the_api(clean: SimProcess, model: bs.Market) -> None:
    start = bs.parse_time("2024-02-15T13:00:00Z")
    end = start + HOUR - 1
    truth = clean.truth(SYM, start, end)
    assert truth == wire(model.trades(SYM, start, end), micro=True)
    # page forward by id in µs mode
    got = []
    _, _, first = clean.agg_trades(micro=True, symbol=SYM, startTime=start, endTime=end, limit=1)
    next_id = first[0]["a"]
    while True:
        _, _, page = clean.agg_trades(micro=True, symbol=SYM, fromId=next_id, limit=1000)
        inside = [r for r in page if r["T"] <= end]
        got += inside
        if len(inside) < len(page) or not page:
            break
        next_id = page[-1]["a"] + 1
    assert got == truth
    csv_text = clean.truth_csv(SYM, start, end)
    lines = csv_text.splitlines()
    assert len(lines) == len(truth)
    assert lines[0] == bs.row_csv(model.trades(SYM, start, end)[0])
    cli = subprocess.run([sys.executable, str(SIM_PATH), "truth", "--symbol", SYM,
                          "--start", "2024-02-15T13:00:00Z", "--end", str(end)],
                         capture_output=True, text=True, check=True)
    assert cli.stdout == csv_text


def test_truth_cut_at_now(clean: SimProcess) -> None:
    rows = clean.truth(SYM, NOW_US - HOUR, NOW_US + HOUR)
    assert rows and max(r["T"] for r in rows) <= NOW_US


# ---------------------------------------------------------------- archive

def test_daily_archive_matches_rest(clean: SimProcess, model: bs.Market) -> None:
    day = "2024-02-29"
    name = f"NEWUSDT-aggTrades-{day}.zip"
    st, h, z = clean.get(f"/data/spot/daily/aggTrades/NEWUSDT/{name}")
    assert st == 200 and h["content-type"] == "application/zip"
    st, _, ck = clean.get(f"/data/spot/daily/aggTrades/NEWUSDT/{name}.CHECKSUM")
    assert ck == f"{hashlib.sha256(z).hexdigest()}  {name}".encode()      # no newline
    with zipfile.ZipFile(io.BytesIO(z)) as zf:
        assert zf.namelist() == [f"NEWUSDT-aggTrades-{day}.csv"]
        text = zf.read(zf.namelist()[0]).decode()
    start = bs.parse_time(day)
    rows = model.trades("NEWUSDT", start, start + 24 * HOUR - 1)
    assert text == "".join(bs.row_csv(r, micro=False) + "\n" for r in rows)    # ms before 2025
    assert ",True,True\n" in text or ",False,True\n" in text
    # today (per the frozen clock) and later are not published; nor days before listing
    for d in ("2024-03-01", "2024-03-05", "2024-02-27"):
        assert clean.get(f"/data/spot/daily/aggTrades/NEWUSDT/NEWUSDT-aggTrades-{d}.zip")[0] == 404
    # monthly: February is published on 2024-03-01, March is not
    base = "/data/spot/monthly/aggTrades/NEWUSDT/NEWUSDT-aggTrades-"
    st, _, z = clean.get(base + "2024-02.zip")
    assert st == 200
    with zipfile.ZipFile(io.BytesIO(z)) as zf:
        lines = zf.read("NEWUSDT-aggTrades-2024-02.csv").decode().splitlines()
    assert lines[0].startswith("0,") and text.splitlines()[-1] == lines[-1]
    assert clean.get(base + "2024-03.zip")[0] == 404
    assert clean.get(base + "2024-03.zip.CHECKSUM")[0] == 404


def test_archive_microseconds_from_2025(start_sim, model: bs.Market) -> None:
    s = start_sim("--now", "2025-01-03T00:00:00Z")
    st, _, z = s.get("/data/spot/daily/aggTrades/NEWUSDT/NEWUSDT-aggTrades-2025-01-01.zip")
    assert st == 200
    with zipfile.ZipFile(io.BytesIO(z)) as zf:
        first = zf.read(zf.namelist()[0]).decode().splitlines()[0]
    assert len(first.split(",")[5]) == 16


# ---------------------------------------------------------------- replay

REST = REALDATA / "Vaquum_Origo" / "spot" / "rest" / "aggtrades"


@pytest.mark.skipif(not REALDATA.is_dir(), reason="no genuine samples")
def test_replay_serves_genuine_bytes(start_sim) -> None:
    s = start_sim("--replay", str(REALDATA))
    _, _, body = s.get("/api/v3/time")
    assert json.loads(body)["serverTime"] == ms(bs.parse_time("2026-09-17T01:00:00Z"))
    # the real locator call and the three real fromId pages, byte for byte
    st, _, body = s.get("/api/v3/aggTrades", {"symbol": SYM, "startTime": 1789525800000,
                                              "endTime": 1789525859999, "limit": 1})
    assert body == (REST / "locator.json").read_bytes()
    for i, from_id in enumerate((4064947752, 4064948752, 4064949752)):
        _, _, body = s.get("/api/v3/aggTrades", {"symbol": SYM, "fromId": from_id, "limit": 1000})
        assert body == (REST / f"page-0{i}.json").read_bytes()
    # ETHBTC 2018 with its duplicated id, served as captured
    newton = (REALDATA / "newton-binance" / "aggTrades.json").read_bytes()
    _, _, body = s.get("/api/v3/aggTrades", {"symbol": "ETHBTC", "fromId": 61290372})
    assert body == newton
    _, _, got = s.agg_trades(symbol="ETHBTC", fromId=61290372, limit=2)
    assert [r["a"] for r in got] == [61290372, 61290372]
    # nautilus (pretty-printed original) and the 2026-01-01 µs CSV
    naut = json.loads((REALDATA / "nautilus_trader" / "spot_market_agg_trades.json").read_text())
    _, _, got = s.agg_trades(symbol=SYM, fromId=naut[0]["a"], limit=10)
    assert got == naut
    csv_rows = [l.split(",") for l in (REALDATA / "BTCUSDT-aggTrades-2026-01-01.csv").read_text().splitlines()]
    _, _, got = s.agg_trades(micro=True, symbol=SYM, fromId=int(csv_rows[0][0]), limit=1000)
    assert [(str(r["a"]), r["p"], r["q"], str(r["f"]), str(r["l"]), str(r["T"])) for r in got] == \
        [tuple(c[:6]) for c in csv_rows[:1000]]
    # the real "before BTCUSDT's first trade" minute gives []
    _, _, got = s.agg_trades(symbol=SYM, startTime=1502928000000, endTime=1502928059999, limit=1)
    assert got == []


# ---------------------------------------------------------------- RAW_REQUESTS

def test_raw_requests_limit_and_advertised_limits(start_sim) -> None:
    s = start_sim("--now", NOW, "--raw-limit", "5", "--ban-seconds", "2")
    left = 300 - time.time() % 300                         # not across a 5-minute window
    if left < 8:
        time.sleep(left + 0.05)
    st, _, body = s.get("/api/v3/exchangeInfo", {"symbol": SYM})
    limits = {r["rateLimitType"]: r for r in json.loads(body)["rateLimits"]}
    assert st == 200 and limits["RAW_REQUESTS"] == {
        "rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 5}
    codes = [s.get("/api/v3/ping")[0] for _ in range(4)]  # 5 requests: all within the limit
    assert codes == [200] * 4
    st, h, body = s.get("/api/v3/ping")
    assert st == 429 and 1 <= int(h["retry-after"]) <= 300
    assert json.loads(body) == {"code": -1003, "msg": "Too many requests; current limit is 5 "
                                "requests per 5 MINUTE. Please use WebSocket Streams for live "
                                "updates to avoid polling the API."}
    assert s.get("/api/v3/time")[0] == 418                 # ignoring Retry-After: banned
    st_ = s.stats()
    assert st_["max_raw_requests"] == 6 and st_["rate_limited"] == 1
    # a lower weight limit set through /_control is what exchangeInfo advertises
    s.control(reset_counters=True, weight_limit=400, raw_limit=300000)
    assert s.control()["raw_limit"] == 300000
    st, _, body = s.get("/api/v3/exchangeInfo", {"symbol": SYM})
    limits = {r["rateLimitType"]: r for r in json.loads(body)["rateLimits"]}
    assert st == 200 and limits["REQUEST_WEIGHT"]["limit"] == 400
    assert limits["RAW_REQUESTS"]["limit"] == 300000
