"""Completeness against the exchange: the REST history floor, empty hours, paging, slow servers.

The real C fetcher (through the Python binding) over loopback HTTP to
``tools/binance_sim.py``. Each test is a regression test for a defect of issue 8:

* an empty answer below the REST history floor was taken as an empty, complete hour;
* the walk was by ``fromId`` after the first page instead of ``endTime`` + ``limit``;
* a server dripping one byte a second held a request for the whole timeout.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

import pytest

from aggtrades import FetchError, fetch_hour, get_hourly_agg_trades

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import binance_sim  # noqa: E402

HOUR_US = 3_600_000_000
NOW = "2024-03-01T12:00:00Z"
FLOOR = "2024-02-20T00:00:00Z"  # BTCUSDT's REST history starts here in these tests
FAST: dict[str, int] = {"interval_ms": 1, "backoff_base_ms": 10}
MARKET = binance_sim.Market(seed=1)


def hour_us(day: str, hour: int) -> int:
    return binance_sim.parse_time(day) + hour * HOUR_US


def truth_ids(sim, symbol: str, start_us: int) -> list[int]:
    return [r["a"] for r in sim.truth(symbol, start_us, start_us + HOUR_US - 1)]


@pytest.fixture(scope="module")
def sim(start_sim_module):
    return start_sim_module("--now", NOW, "--rest-floor", "BTCUSDT=" + FLOOR)


@pytest.fixture(autouse=True)
def _reset(sim):
    sim.control(fault_rate=0, next=[], reset_counters=True, rest_floor={"BTCUSDT": FLOOR}, now=NOW,
                archive_truncate={})


def test_simulator_floor_hides_old_trades_from_rest_only(sim):
    floor_us = binance_sim.parse_time(FLOOR)
    first = MARKET.id_at("BTCUSDT", floor_us)[0]
    st, _, rows = sim.agg_trades(symbol="BTCUSDT", fromId=0, limit=3)
    assert st == 200 and [r["a"] for r in rows] == [first, first + 1, first + 2]
    st, _, rows = sim.agg_trades(symbol="BTCUSDT", endTime=floor_us // 1000 - 1, limit=1000)
    assert st == 200 and rows == []
    st, _, rows = sim.agg_trades(symbol="BTCUSDT", startTime=floor_us // 1000 - 3_600_000, limit=2)
    assert [r["a"] for r in rows] == [first, first + 1]
    # the archive and the truth still have the days before the floor
    st, _, body = sim.get("/data/spot/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-02-19.zip")
    assert st == 200 and len(body) > 1000
    assert len(truth_ids(sim, "BTCUSDT", hour_us("2024-02-19", 10))) > 0
    # other symbols are untouched; the floor can be cleared
    assert sim.agg_trades(symbol="ETHUSDT", fromId=0, limit=1)[2][0]["a"] == 0
    sim.control(rest_floor={})
    assert sim.agg_trades(symbol="BTCUSDT", fromId=0, limit=1)[2][0]["a"] == 0


@pytest.mark.parametrize("paging", ["time", "id"])
def test_empty_answer_below_the_floor_is_not_an_empty_hour(sim, paging):
    # Before the fix: 0 rows, complete=True - a silent loss of the whole hour.
    start = hour_us("2024-02-19", 10)
    assert MARKET.hour_count("BTCUSDT", start) > 0
    frame, info = fetch_hour("BTCUSDT", "2024-02-19", 10, base_url=sim.url, paging=paging, **FAST)
    assert len(frame) == 0
    assert info["complete"] is False


@pytest.mark.parametrize("paging", ["time", "id"])
def test_hour_whose_start_is_the_floor_is_not_proven(sim, paging):
    # Every trade of 2024-02-20 00:00 is served, but not the one before it: the
    # lowest id is not 0, so nothing proves that no trade is missing at the start.
    start = hour_us("2024-02-20", 0)
    frame, info = fetch_hour("BTCUSDT", "2024-02-20", 0, base_url=sim.url, paging=paging, **FAST)
    assert frame["trade_id"].tolist() == truth_ids(sim, "BTCUSDT", start)
    assert info["complete"] is False
    # the next hour chains to a served trade: proven
    frame, info = fetch_hour("BTCUSDT", "2024-02-20", 1, base_url=sim.url, paging=paging, **FAST)
    assert frame["trade_id"].tolist() == truth_ids(sim, "BTCUSDT", start + HOUR_US)
    assert info["complete"] is True


@pytest.mark.parametrize("day,hour", [("2024-02-19", 10), ("2024-02-20", 0)])
def test_get_hourly_agg_trades_refuses_an_ended_hour_it_cannot_prove(sim, day, hour):
    # Before: a frame came back (empty below the floor, without the proof of its start
    # at the floor) as if it held every trade of the hour.
    with pytest.raises(FetchError, match=r"has ended but the exchange's answers do not prove it complete") as e:
        get_hourly_agg_trades("BTCUSDT", day, hour, base_url=sim.url, **FAST)
    assert e.value.status == "AGT_EINCOMPLETE" and e.value.attempts >= 1
    assert f"BTCUSDT {day} {hour:02d}:00 UTC" in str(e.value)
    # the hour after the floor's chains to a served trade: proven, every trade
    frame = get_hourly_agg_trades("BTCUSDT", "2024-02-20", 1, base_url=sim.url, **FAST)
    assert frame["trade_id"].tolist() == truth_ids(sim, "BTCUSDT", hour_us("2024-02-20", 1))


def test_get_hourly_agg_trades_gives_an_open_hour_as_it_stands(sim):
    # 11:00 ended 2 s ago on the exchange's clock, inside the completeness margin:
    # not provable yet, and not over either - what it holds so far is exact
    sim.control(now="2024-03-01T12:00:02Z")
    frame, info = fetch_hour("ETHUSDT", "2024-03-01", 11, base_url=sim.url, **FAST)
    assert info["complete"] is False
    got = get_hourly_agg_trades("ETHUSDT", "2024-03-01", 11, base_url=sim.url, **FAST)
    assert got["trade_id"].tolist() == frame["trade_id"].tolist() == truth_ids(sim, "ETHUSDT", hour_us("2024-03-01", 11))
    # once the margin has passed, the same hour is proven
    sim.control(now="2024-03-01T12:00:30Z")
    _, info = fetch_hour("ETHUSDT", "2024-03-01", 11, base_url=sim.url, **FAST)
    assert info["complete"] is True


def test_empty_hour_is_proven_by_consecutive_ids(sim):
    days = (hour_us("2024-02-21", 0), hour_us("2024-02-29", 0))
    empty = MARKET.empty_hours("ETHUSDT", *days)
    assert empty, "the simulator's market has empty hours in this range"
    h = empty[0]
    d = dt.datetime.fromtimestamp(h / 1e6, dt.timezone.utc)
    sim.control(reset_counters=True)
    frame, info = fetch_hour("ETHUSDT", d.date(), d.hour, base_url=sim.url, **FAST)
    assert len(frame) == 0 and info["complete"] is True
    # the newest trade at or before the end, and the one after it by id
    assert sim.stats()["data_requests"] == 2
    assert info["prev_id"] >= 0
    after = sim.agg_trades(symbol="ETHUSDT", fromId=info["prev_id"] + 1, limit=1)[2][0]
    assert after["T"] * 1000 >= h + HOUR_US


def test_hour_before_listing_is_proven_by_trade_zero(sim):
    frame, info = fetch_hour("NEWUSDT", "2024-02-27", 5, base_url=sim.url, **FAST)
    assert len(frame) == 0 and info["complete"] is True and info["prev_id"] == -1


def _hours_without_bursts(symbol: str, day: str, count: int) -> list[int]:
    start = hour_us(day, 0)
    bursts = set(MARKET.burst_hours(symbol, start - HOUR_US, start + 24 * HOUR_US))
    return [start + h * HOUR_US for h in range(24)
            if start + h * HOUR_US not in bursts and start + (h - 1) * HOUR_US not in bursts][:count]


def test_time_walk_is_the_default_and_within_the_budget(start_sim):
    sim = start_sim("--now", NOW, "--scale", "4")
    for h in _hours_without_bursts("BTCUSDT", "2024-02-22", 4):
        d = dt.datetime.fromtimestamp(h / 1e6, dt.timezone.utc)
        for paging in ("time", "id"):
            sim.control(reset_counters=True)
            frame, info = fetch_hour("BTCUSDT", d.date(), d.hour, base_url=sim.url, paging=paging, **FAST)
            n = len(frame)
            assert n > 1000 and info["complete"] is True
            assert frame["trade_id"].tolist() == truth_ids(sim, "BTCUSDT", h)
            st = sim.stats()
            modes = st["agg_modes"]
            if paging == "time":
                assert set(modes) == {"endTime"}, modes      # no fromId without a burst
                assert st["data_requests"] <= math.ceil(n / 1000) + 2
            else:
                assert modes.get("endTime") == 1
                assert st["data_requests"] == math.ceil((n + 1) / 1000)


def test_time_walk_goes_by_id_only_through_a_burst(sim):
    start, end = hour_us("2024-02-21", 0), hour_us("2024-02-29", 0)
    bursts = [h for h in MARKET.burst_hours("ETHUSDT", start, end)
              if MARKET.hour_count("ETHUSDT", h) > 1500]
    h = bursts[0]
    d = dt.datetime.fromtimestamp(h / 1e6, dt.timezone.utc)
    frame, info = fetch_hour("ETHUSDT", d.date(), d.hour, base_url=sim.url, **FAST)
    assert frame["trade_id"].tolist() == truth_ids(sim, "ETHUSDT", h)
    assert info["complete"] is True
    assert sim.stats()["agg_modes"].get("fromId", 0) >= 1


def test_a_dripping_response_is_aborted_and_retried(sim):
    # Before: the drip held the request for the whole 60 s timeout.
    sim.control(next=["drip:2"])
    t0 = time.monotonic()
    frame, info = fetch_hour("BTCUSDT", "2024-02-22", 3, base_url=sim.url, timeout_ms=60000,
                             low_speed_limit=1000, low_speed_time_s=1, **FAST)
    took = time.monotonic() - t0
    assert frame["trade_id"].tolist() == truth_ids(sim, "BTCUSDT", hour_us("2024-02-22", 3))
    assert info["complete"] is True
    assert sim.stats()["faults"] == {"drip": 1}
    assert took < 20, took


def test_the_unit_deadline_ends_a_slow_hour(sim):
    # Fast enough for the low-speed floor, far too slow for the hour.
    sim.control(fault_rate=1.0, faults=["drip:400"])
    t0 = time.monotonic()
    with pytest.raises(FetchError, match="deadline of 2 s"):
        fetch_hour("BTCUSDT", "2024-02-22", 3, base_url=sim.url, timeout_ms=60000,
                   low_speed_limit=100, low_speed_time_s=5, unit_deadline_s=2, **FAST)
    assert time.monotonic() - t0 < 15


def test_options_are_checked_before_any_request(sim):
    with pytest.raises(ValueError, match="paging"):
        fetch_hour("BTCUSDT", "2024-02-22", 3, base_url=sim.url, paging="fast")
    with pytest.raises(ValueError, match="unit_deadline_s"):
        fetch_hour("BTCUSDT", "2024-02-22", 3, base_url=sim.url, unit_deadline_s=-1)
    assert sim.stats()["data_requests"] == 0


# --------------------------------------------------------------------------
# the tool: whole archive days below the REST history floor


def _cli():
    from test_cli import BIN, assert_lake_equals_truth, run  # noqa: PLC0415
    return BIN, assert_lake_equals_truth, run


def test_archive_days_below_the_floor_are_proven_by_their_neighbours(sim, tmp_path):
    # Before: "trade N before the file could not be read; 1 hour fetched with rest",
    # the rest hour answered [] below the floor and was stored as an empty, complete
    # hour - exit 0 with the day's first hour missing.
    _, assert_lake_equals_truth, run = _cli()
    root = tmp_path / "lake"
    p = run(sim, root, "--no-progress", "download", "BTCUSDT", "--start", "2024-02-15",
            "--end", "2024-02-17")
    assert p.returncode == 0, p.stderr
    assert "fetched with rest" not in p.stderr
    assert_lake_equals_truth(sim, root, "BTCUSDT", "2024-02-15", "2024-02-17")
    v = run(sim, root, "verify", "BTCUSDT")
    assert v.returncode == 0, v.stdout + v.stderr
    # the neighbours (02-14 before, 02-18 after) were read to chain the ends by id
    archive = [k for k in sim.stats()["requests"] if k.endswith(".zip")]
    assert any("2024-02-14" in k for k in archive) and any("2024-02-18" in k for k in archive)


def test_verify_calls_an_hour_the_exchange_had_not_finished_open(sim, tmp_path):
    # Before: "11:00 incomplete, not proven complete", exit 1, although exact for its time.
    _, assert_lake_equals_truth, run = _cli()
    root = tmp_path / "lake"
    sim.control(now="2024-03-01T12:00:02Z")  # 11:00 ended 2 s ago: inside the margin
    p = run(sim, root, "--quiet", "download", "ETHUSDT", "--start", "2024-03-01", "--end", "2024-03-01")
    assert p.returncode == 0, p.stderr
    v = run(sim, root, "verify", "ETHUSDT")
    assert v.returncode == 0, v.stdout + v.stderr
    # the newest hour (12:00, two seconds old) is open too: no hour is exempt from the
    # check, so lost data at the head of the lake is repaired like anywhere else
    assert "ETHUSDT 2024-03-01 11:00  open " in v.stdout
    assert "ETHUSDT 2024-03-01 12:00  open " in v.stdout
    assert v.stdout.rstrip().endswith("verified, no problems, 2 hours open")
    # update completes it once the exchange's clock has passed it
    sim.control(now="2024-03-01T12:00:30Z")
    assert run(sim, root, "--quiet", "update", "ETHUSDT").returncode == 0
    v = run(sim, root, "verify", "ETHUSDT")
    assert v.returncode == 0 and "11:00  open" not in v.stdout, v.stdout
    assert v.stdout.rstrip().endswith("verified, no problems, 1 hour open")  # 12:00 still runs


@pytest.mark.parametrize("args", [
    ["download", "FOOBAR", "--start", "2024-02-01", "--end", "2024-02-01"],
    ["download", "FOOBAR", "ETHUSDT", "--start", "2024-02-01", "--end", "2024-02-01"],
    ["download", "FOOBAR", "--start", "2024-02-01", "--end", "2024-02-01", "--source", "rest"],
    ["update", "FOOBAR"],
    ["retry"],
    ["verify", "FOOBAR"],
])
def test_bad_input_on_an_empty_root_writes_nothing(sim, tmp_path, args):
    # Before: an existing empty --root got metadata/ (lock, wal, stats, schema) although
    # the command refused its input with exit 2.
    _, _, run = _cli()
    root = tmp_path / "empty"
    root.mkdir()
    p = run(sim, root, "--no-progress", *args)
    assert p.returncode == 2, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert list(root.iterdir()) == []


def test_a_geo_blocked_exchange_has_its_own_exit_status(sim, tmp_path):
    # Before: exit 1, "units failed, listed in .retry" - with no .retry at all.
    _, _, run = _cli()
    root = tmp_path / "lake"
    sim.control(fault_rate=1.0, faults=["451"], fault_paths=["/api/", "/data/"])
    try:
        p = run(sim, root, "--no-progress", "download", "ETHUSDT", "--start", "2024-02-01",
                "--end", "2024-02-01")
    finally:
        sim.control(fault_rate=0, fault_paths=["/api/v3/aggTrades", "/data/"])
    assert p.returncode == 4, p.stderr
    assert "restricted location" in p.stderr and "http 451" in p.stderr
    assert not root.exists()
    # unreachable altogether: the same status
    p = run(None, root, "--api-url", "http://127.0.0.1:9", "--no-progress", "download", "ETHUSDT",
            "--start", "2024-02-01", "--end", "2024-02-01")
    assert p.returncode == 4, p.stderr
    assert not root.exists()


def test_units_that_fail_once_the_exchange_is_reached_are_in_retry(sim, tmp_path):
    _, _, run = _cli()
    root = tmp_path / "lake"
    sim.control(fault_rate=1.0, faults=["451"], fault_paths=["/api/v3/aggTrades"])
    try:
        p = run(sim, root, "--no-progress", "download", "ETHUSDT", "--start", "2024-02-01",
                "--end", "2024-02-01", "--source", "rest")
    finally:
        sim.control(fault_rate=0, fault_paths=["/api/v3/aggTrades", "/data/"])
    assert p.returncode == 1, p.stderr
    units = [json.loads(line) for line in (root / ".retry").read_text().splitlines()]
    assert sorted(u["hour"] for u in units) == list(range(24))
    assert all("451" in u["error"] for u in units)


def test_the_tool_gives_up_a_dripping_hour_at_its_deadline(sim, tmp_path):
    # Before: a server dripping its answer held each hour for minutes (4 attempts x the
    # 30 s request timeout), a day for the better part of an hour.
    _, _, run = _cli()
    root = tmp_path / "lake"
    assert run(sim, root, "--quiet", "download", "ETHUSDT", "--start", "2024-02-22",
               "--end", "2024-02-22", "--source", "rest").returncode == 0
    (root / ".retry").write_text('{"symbol":"ETHUSDT","date":"2024-02-22","hour":5,'
                                 '"error":"earlier","attempts":1,"time":"2024-03-01T00:00:00Z"}\n')
    sim.control(fault_rate=1.0, faults=["drip:300"], fault_paths=["/api/v3/aggTrades"])
    t0 = time.monotonic()
    try:
        p = run(sim, root, "--no-progress", "--unit-deadline", "2", "--low-speed-limit", "100",
                "--low-speed-time", "5", "retry")
    finally:
        sim.control(fault_rate=0, fault_paths=["/api/v3/aggTrades", "/data/"])
    assert time.monotonic() - t0 < 20
    assert p.returncode == 1, p.stderr
    unit = json.loads((root / ".retry").read_text())
    assert unit["hour"] == 5 and "deadline of 2 s" in unit["error"]
    # and a drip below the low-speed floor is cut and retried: the hour comes in
    sim.control(next=["drip:5"])
    p = run(sim, root, "--no-progress", "--low-speed-limit", "1000", "--low-speed-time", "1", "retry")
    assert p.returncode == 0, p.stderr
    assert sim.stats()["faults"].get("drip", 0) >= 1


def test_slow_server_options_are_checked(sim, tmp_path):
    _, _, run = _cli()
    for args in (["--paging", "fast"], ["--unit-deadline", "-1"], ["--low-speed-limit", "x"]):
        p = run(sim, tmp_path / "lake", *args, "download", "ETHUSDT", "--start", "2024-02-22",
                "--end", "2024-02-22")
        assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, p.stderr
        assert not (tmp_path / "lake").exists()


def test_rest_below_the_floor_fails_visibly(sim, tmp_path):
    # Before: 24 "empty" hours stored as complete, exit 0, verify clean, and later
    # downloads skipped the day for good.
    _, _, run = _cli()
    root = tmp_path / "lake"
    p = run(sim, root, "--no-progress", "download", "BTCUSDT", "--start", "2024-02-18",
            "--end", "2024-02-18", "--source", "rest")
    assert p.returncode == 1, p.stderr
    units = [json.loads(line) for line in (root / ".retry").read_text().splitlines()]
    assert sorted(u["hour"] for u in units) == list(range(24))
    assert all(u["error"].startswith("not proven complete: rest does not prove it") for u in units)
    assert "the auto source takes such hours from the archive" in units[0]["error"]
    q = run(None, root, "query", "BTCUSDT", "--start", "2024-02-18", "--end", "2024-02-18", "--stats")
    assert "trades         0" in q.stdout or q.returncode != 0 or "no trades" in q.stdout


def test_an_hour_rest_cannot_prove_is_filled_from_the_archive(sim, tmp_path):
    # retry runs single hours with rest; below the floor rest proves nothing, so the
    # hour comes from the archive's file (proved by its neighbours).
    _, assert_lake_equals_truth, run = _cli()
    root = tmp_path / "lake"
    assert run(sim, root, "--quiet", "download", "ETHUSDT", "--start", "2024-02-22",
               "--end", "2024-02-22").returncode == 0
    (root / ".retry").write_text('{"symbol":"BTCUSDT","date":"2024-02-17","hour":10,'
                                 '"error":"earlier","attempts":1,"time":"2024-03-01T00:00:00Z"}\n')
    p = run(sim, root, "--no-progress", "retry")
    assert p.returncode == 0, p.stderr
    assert not (root / ".retry").exists()
    start = hour_us("2024-02-17", 10)
    q = run(None, root, "query", "BTCUSDT", "--start", "2024-02-17 10:00", "--end",
            "2024-02-17 10:59:59.999999", "--output", "csv")
    ids = [int(line.split(",")[0]) for line in q.stdout.splitlines()[1:]]
    assert ids == truth_ids(sim, "BTCUSDT", start) and ids
    v = run(None, root, "verify", "BTCUSDT")
    assert v.returncode == 0, v.stdout + v.stderr


def test_an_archive_day_starts_after_one_request_to_the_api(sim, tmp_path):
    # Before: GET /time, then exchangeInfo, then a probe (fromId=0) for the symbol, each
    # spaced by --interval-ms: ~0.1 s before the zip was asked for. exchangeInfo?symbol=
    # now brings the clock and the listing, so the zip follows the first request.
    _, assert_lake_equals_truth, run = _cli()
    root = tmp_path / "lake"
    sim.reset()
    p = run(sim, root, "--quiet", "download", "BTCUSDT", "--start", "2024-02-20", "--end", "2024-02-20",
            "--source", "archive")
    assert p.returncode == 0, p.stderr
    assert_lake_equals_truth(sim, root, "BTCUSDT", "2024-02-20", "2024-02-20")
    st = sim.stats()
    api = {k: n for k, n in st["requests"].items() if k.startswith("/api/")}
    assert api == {"/api/v3/exchangeInfo": 1, "/api/v3/aggTrades": 2}, api  # the two ends' proofs
    # an unknown symbol still stops the run before anything is written
    q = run(sim, root, "--quiet", "download", "NOSUCHUSDT", "--start", "2024-02-20", "--end", "2024-02-20",
            "--source", "archive")
    assert q.returncode == 2 and "unknown symbol 'NOSUCHUSDT'" in q.stderr, q.stderr
    assert not (root / "symbol=NOSUCHUSDT").exists()
