"""Parallel jobs (``--jobs N``, ``jobs=``): the same lake as one job, the same budget.

Through the simulator over loopback, with random faults (5xx, 429, resets,
truncated bodies) on REST and the archive, a REST history floor and a day
the archive never published: ``download`` (whole months from the monthly
file, days from the daily files), ``update`` (archive days and REST hours) and
``retry`` with ``--jobs 4`` give a lake identical file for file to ``--jobs 1``
(rows, Parquet statistics, statistics entries) and the same ``.retry``, and
every hour not listed in ``.retry`` equals the simulator's truth. Jobs share
one REST weight budget: with a small per-minute limit four jobs never make the
exchange answer 429 and never go over it. Memory: a busy multi-day range through
2 and 4 jobs peaks at most one job's peak plus the jobs' budget of rows (archive
days are streamed hour by hour by the jobs, within the budget, not held whole), and
at most 64 MiB; so do 8 jobs fetching a busy day's hours with rest. Jobs prove
their own days: several proof requests reach the exchange at once.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

import aggtrades
from test_cli import BIN, child_env, day_us, lake_rows, run, truth_rows
from test_sync_python import data_files, parquet_facts, stats_entries

NOW = "2024-03-10T12:00:00Z"
SYMBOLS = ["BTCUSDT", "ETHBTC", "ETHUSDT"]
HOUR_US = 3_600_000_000


@pytest.fixture(scope="module")
def jsim(start_sim_module: Any) -> Any:
    return start_sim_module("--now", NOW, "--scale", "0.05", "--weight-limit", "1000000")


def faulty(sim: Any, seed: int) -> None:
    """Random faults on both sources, and hours that cannot be proven whatever is tried."""
    sim.reset()
    sim.control(weight_limit=1000000, seed=seed, fault_rate=0.04,
                faults=["500json", "503json", "502html", "429", "reset", "truncate"],
                fault_paths=["/api/v3/aggTrades", "/data/"],
                archive_unpublished=["ETHBTC-2024-03-02"],
                archive_truncate={"BTCUSDT-2024-03-03": "09:29"},
                rest_floor={"ETHBTC": "2024-03-02T06:00:00Z"})


def ledger(root: Path) -> list[tuple[str, str, int, str]]:
    """.retry's units (attempt counts and times depend on which requests the faults hit)."""
    path = root / ".retry"
    if not path.exists():
        return []
    units = [json.loads(line) for line in path.read_text().splitlines()]
    return sorted((u["symbol"], u["date"], u["hour"], u["error"]) for u in units)


def assert_same_lake(a: Path, b: Path) -> None:
    fa, fb = data_files(a), data_files(b)
    assert len(fa) > 100 and fa.keys() == fb.keys()
    for name in fa:
        assert parquet_facts(fa[name]) == parquet_facts(fb[name]), name
    assert stats_entries(a) == stats_entries(b)
    assert ledger(a) == ledger(b)


def assert_truth_but_ledger(sim: Any, root: Path, first_day: str, end_us: int) -> None:
    """Every stored row equals the truth, for every hour .retry does not list."""
    failed = {(s, day_us(d) + h * HOUR_US) for s, d, h, _ in ledger(root)}
    last_day = dt.datetime.fromtimestamp(end_us / 1e6, dt.timezone.utc).strftime("%Y-%m-%d")
    for sym in SYMBOLS:
        want = [r for r in truth_rows(sim, sym, day_us(first_day), end_us)
                if (sym, r[1] - r[1] % HOUR_US) not in failed]
        got = [r for r in lake_rows(root, sym, first_day, last_day) if r[1] <= end_us]
        assert len(got) == len(want) and got == want, sym


def test_four_jobs_build_the_lake_one_job_builds(jsim: Any, tmp_path: Path) -> None:
    one, four = tmp_path / "one", tmp_path / "four"
    days = ["--start", "2024-02-01", "--end", "2024-03-04"]
    for root, jobs, seed in ((one, "1", 1), (four, "4", 2)):
        faulty(jsim, seed)
        p = run(jsim, root, "download", *SYMBOLS, *days, "--jobs", jobs, "--no-progress")
        assert p.returncode == 1, p.stderr  # the hours nothing can prove are in .retry
        assert jsim.stats()["faults_total"] >= 3
    assert any(s == "ETHBTC" and d == "2024-03-02" for s, d, _, _ in ledger(one))
    assert_same_lake(one, four)
    assert_truth_but_ledger(jsim, four, "2024-02-01", day_us("2024-03-05") - 1)

    # update: archive days (03-05 .. 03-08) and rest hours up to the exchange's now
    for root, jobs, seed in ((one, "1", 3), (four, "4", 4)):
        faulty(jsim, seed)
        p = run(jsim, root, "update", *SYMBOLS, "--jobs", jobs, "--no-progress")
        assert p.returncode == 0, p.stderr  # its own units all succeed; the ledger stays
    assert_same_lake(one, four)
    now_us = day_us("2024-03-10") + 12 * HOUR_US - 1
    assert_truth_but_ledger(jsim, four, "2024-02-01", now_us)

    # retry: the ledger's hours, hour by hour, several at once
    for root, jobs, seed in ((one, "1", 5), (four, "4", 6)):
        faulty(jsim, seed)
        before = ledger(root)
        p = run(jsim, root, "retry", "--jobs", jobs, "--no-progress")
        assert p.returncode == 1, p.stderr
        assert {u[:3] for u in ledger(root)} <= {u[:3] for u in before}
    assert_same_lake(one, four)


def test_jobs_share_one_weight_budget(jsim: Any, tmp_path: Path) -> None:
    """Four jobs fetching rest hours as fast as allowed stay within one budget."""
    jsim.reset()
    limit = 160  # the exchange advertises it (exchangeInfo), the client adopts it
    jsim.control(weight_limit=limit)
    p = run(jsim, tmp_path / "lake", "download", "BTCUSDT", "ETHUSDT", "--start", "2024-03-05",
            "--end", "2024-03-05", "--source", "rest", "--jobs", "4", "--no-progress")
    assert p.returncode == 0, p.stderr
    st = jsim.stats()
    assert st["used_weight"] > 0 and st["requests"]["/api/v3/aggTrades"] >= 48
    # more weight than one minute allows was needed, and none was refused
    req = st["requests"]
    needed = 4 * req["/api/v3/aggTrades"] + req.get("/api/v3/time", 0) + 20 * req.get("/api/v3/exchangeInfo", 0)
    assert needed > limit
    assert st["max_used_weight"] <= limit, st
    assert st["rate_limited"] == 0 and st["banned"] == 0, st
    assert st["statuses"].get("429", 0) == 0 and st["statuses"].get("418", 0) == 0, st


def test_bad_jobs_is_refused_before_anything_is_written(jsim: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    for bad in ("0", "65", "x", "-2"):
        p = run(jsim, root, "download", "BTCUSDT", "--start", "2024-03-05", "--end", "2024-03-05",
                "--jobs", bad)
        assert p.returncode == 2 and "--jobs" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
        assert not root.exists()


def test_python_jobs_report_on_the_calling_thread(jsim: Any, tmp_path: Path) -> None:
    """jobs= from Python: the same lake as one job; every event, RECEIVED included, comes
    on the calling thread, and the RECEIVED bytes add up to the report's."""
    jsim.reset()
    opts = {"api_url": jsim.url, "archive_url": jsim.url, "interval_ms": 0}
    threads: set[int] = set()
    received = [0]

    def progress(ev: aggtrades.SyncEvent) -> None:
        threads.add(threading.get_ident())
        if ev.kind == "received":
            received[0] += ev.bytes

    a = aggtrades.download(tmp_path / "a", ["btcusdt", "ETHBTC"], "2024-03-01", "2024-03-03", jobs=3,
                           progress=progress, **opts)
    b = aggtrades.download(tmp_path / "b", ["BTCUSDT", "ETHBTC"], "2024-03-01", "2024-03-03", jobs=1, **opts)
    assert threads == {threading.get_ident()}
    assert a.status == b.status == "AGT_OK" and a.units_done == b.units_done == 2 * 3 * 24
    assert a.trades == b.trades > 0 and received[0] == a.bytes > 0
    fa, fb = data_files(tmp_path / "a"), data_files(tmp_path / "b")
    assert fa.keys() == fb.keys() and all(parquet_facts(fa[n]) == parquet_facts(fb[n]) for n in fa)
    for bad in (0, -1, True, 1.5):
        with pytest.raises(aggtrades.LakeError):
            aggtrades.download(tmp_path / "c", "BTCUSDT", "2024-03-01", "2024-03-01", jobs=bad, **opts)
    assert not (tmp_path / "c").exists()


def peak_rss_mib(sim: Any, root: Path, *args: str) -> float:
    """One aggtrades child's peak RSS, under GNU time: a child forked from this (big)
    process would carry the parent's peak over exec in ru_maxrss."""
    out = root.parent / f"{root.name}.time"
    cmd = ["/usr/bin/time", "-f", "%M", "-o", str(out), BIN, "--root", str(root), "--interval-ms", "0",
           "--api-url", sim.url, "--archive-url", sim.url, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=child_env())
    assert p.returncode == 0, p.stderr
    return int(out.read_text().split()[-1]) / 1024


# the rows all jobs may hold ahead of the committer (src/sync/pool.c, BUDGET)
JOBS_BUDGET_MIB = 8


def test_jobs_peak_memory_is_that_of_one_job_plus_the_budget(start_sim: Any, tmp_path: Path) -> None:
    """3 busy archive days (about 280,000 trades each) with 1, 2 and 4 jobs: the same
    lake, and the jobs' peak RSS at most 64 MiB and at most one job's plus the jobs'
    budget of rows (8 MiB) plus 8 MiB (a transfer's buffers per job, the allocator):
    the jobs stream their days ahead within the budget, never a day more (holding the
    days whole, as jobs once did, made this range peak at 49 MiB with 2 or 4 jobs
    against 19 MiB with one)."""
    sim = start_sim("--now", NOW, "--scale", "12")
    days = ["download", "BTCUSDT", "--start", "2024-02-20", "--end", "2024-02-22", "--no-progress"]
    peak = {j: peak_rss_mib(sim, tmp_path / f"j{j}", *days, "--jobs", str(j)) for j in (1, 2, 4)}
    for j in (2, 4):
        assert peak[j] <= 64 and peak[j] <= peak[1] + JOBS_BUDGET_MIB + 8, peak
        fa, fb = data_files(tmp_path / "j1"), data_files(tmp_path / f"j{j}")
        assert len(fa) == 72 and fa.keys() == fb.keys()
        assert all(parquet_facts(fa[n]) == parquet_facts(fb[n]) for n in fa)


def test_rest_hours_of_eight_jobs_stay_within_64_mib(start_sim: Any, tmp_path: Path) -> None:
    """A busy day (1.7 M trades, hours of up to ~150,000) fetched hour by hour with
    --source rest by 8 jobs: the hours the jobs fetch ahead stay within the budget,
    so the child peaks at most at 64 MiB (holding up to 9 whole hours, as jobs once
    did, peaked at 72 MiB)."""
    sim = start_sim("--now", "2024-03-01T12:00:00Z", "--scale", "75")
    root = tmp_path / "rest"
    peak = peak_rss_mib(sim, root, "download", "BTCUSDT", "--start", "2024-02-20", "--end",
                        "2024-02-20", "--source", "rest", "--jobs", "8", "--no-progress")
    assert peak <= 64, peak
    assert len(data_files(root)) == 24
    assert sim.stats()["data_requests"] >= 1700  # every hour came from rest, ~1,000 a page


def test_jobs_prove_their_days_at_once(start_sim: Any, tmp_path: Path) -> None:
    """Archive days through 4 jobs: each job proves its own days (the two REST
    requests around each file) while other days are proven and committed, so the
    exchange sees several of those requests at once; through one job never more
    than one. The lakes are the same. (The proofs were once all sent by the
    committer, one after the other between the commits.)"""
    sim = start_sim("--now", NOW, "--scale", "0.05", "--latency-ms", "150")
    days = ["download", "BTCUSDT", "ETHUSDT", "--start", "2024-02-01", "--end", "2024-02-06",
            "--no-progress"]
    most = {}
    for jobs in (1, 4):
        sim.control(reset_counters=True)
        p = run(sim, tmp_path / f"j{jobs}", *days, "--jobs", str(jobs))
        assert p.returncode == 0, p.stderr
        st = sim.stats()
        assert st["data_requests"] >= 2 * 12  # two proofs a day
        most[jobs] = st["max_data_in_flight"]
    assert most[1] == 1 and most[4] >= 2, most
    fa, fb = data_files(tmp_path / "j1"), data_files(tmp_path / "j4")
    assert len(fa) > 200 and fa.keys() == fb.keys()  # an hour without trades has no file
    assert all(parquet_facts(fa[n]) == parquet_facts(fb[n]) for n in fa)
