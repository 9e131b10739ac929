"""Resuming inside an hour: interrupted downloads keep their pages in the WAL.

docs/architecture.md ("Data flow", step 3): interrupted downloads keep their partial work (in the WAL)
and resume from it.  Every page of the hour in flight goes into the lake's stash
(STASH records of ``metadata/wal/_wal.log``) as it arrives; the next run fetches only
what the stash lacks (plus one request re-checking the newest kept trade) and the
commit drops it.  These tests interrupt the real ``aggtrades`` process (SIGKILL, or
SIGINT while a response is stalled) inside a big hour and check the WAL, the request
count of the next run (``/_stats``) and that the lake equals ``/_truth`` exactly.
"""

from __future__ import annotations

import json
import random
import signal
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from test_cli import BIN, child_env, data_requests, day_us, lake_rows, run, truth_rows

NOW = "2024-03-01T01:00:10Z"   # hour 00 has ended; hour 01 has 10 s of trades
DAY = "2024-03-01"
SYMBOL = "BTCUSDT"
HOUR0 = day_us(DAY)
US_PER_HOUR = 3_600_000_000

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"no binary at {BIN}")


@pytest.fixture(scope="module")
def sim(start_sim_module: Any) -> Any:
    # --scale 200: hour 00 holds some 85,000 trades (about 85 pages)
    return start_sim_module("--now", NOW, "--scale", "200", "--weight-limit", "1000000")


@pytest.fixture()
def clean(sim: Any) -> Any:
    sim.reset()
    sim.control(weight_limit=1000000)
    return sim


def download_cmd(sim: Any, root: Path, interval_ms: int = 0) -> list[str]:
    return [BIN, "--root", str(root), "--api-url", sim.url, "--interval-ms", str(interval_ms),
            "download", SYMBOL, "--start", DAY, "--end", DAY]


def stashed(root: Path, symbol: str = SYMBOL, hour_us: int = HOUR0) -> list[int]:
    """Trade ids the WAL still keeps for the hour (its live STASH records), sorted.

    The format is wal.c's: a 32-byte header, then records (u32 type, u32 payload
    length, u64 version, payload, u64 checksum); STASH = 3 holds the key (u8 symbol
    length, symbol, i64 hour) then u64 rows of 33 bytes (i64 trade id first); DROP = 4
    and BEGIN = 1 end the stash of their hour.  A torn tail record is ignored.
    """
    path = root / "metadata" / "wal" / "_wal.log"
    if not path.exists():
        return []
    data = path.read_bytes()
    off, ids = 32, set()
    while off + 16 <= len(data):
        rtype, n = struct.unpack_from("<II", data, off)
        payload = off + 16
        if payload + n + 8 > len(data):
            break
        klen = data[payload]
        sym = data[payload + 1:payload + 1 + klen].decode()
        (hour,) = struct.unpack_from("<q", data, payload + 1 + klen)
        if sym == symbol and hour == hour_us:
            if rtype == 3:
                (rows,) = struct.unpack_from("<Q", data, payload + 9 + klen)
                base = payload + 17 + klen
                ids.update(struct.unpack_from("<q", data, base + 33 * i)[0] for i in range(rows))
            elif rtype in (1, 4):
                ids.clear()
        off = payload + n + 8
    return sorted(ids)


def hour_stats(root: Path, hour: int) -> dict[str, Any]:
    doc = json.loads((root / "metadata" / "stats" / f"symbol={SYMBOL}" / f"_{DAY}.json").read_text())
    return next(h for h in doc["hours"] if h["hour"] == hour)


def wait_for_requests(sim: Any, n: int, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while data_requests(sim) < n:
        assert proc.poll() is None, "aggtrades ended before it was interrupted"
        assert time.monotonic() < deadline, f"fewer than {n} requests after {timeout} s"
        time.sleep(0.02)


def assert_lake_exact(sim: Any, root: Path) -> list[tuple[int, int, float, float, bool]]:
    """The lake equals the truth (cut at NOW), hour 00 proven complete, no stash left."""
    want = truth_rows(sim, SYMBOL, HOUR0, HOUR0 + 24 * US_PER_HOUR - 1)
    assert lake_rows(root, SYMBOL, DAY, DAY) == want
    h0 = [r for r in want if r[1] < HOUR0 + US_PER_HOUR]
    st = hour_stats(root, 0)
    assert st["complete"] is True
    assert (st["rows"], st["first_id"], st["last_id"]) == (len(h0), h0[0][0], h0[-1][0])
    assert st["prev_id"] == h0[0][0] - 1
    assert stashed(root) == []
    return want


def fresh_requests(sim: Any, tmp_path: Path) -> int:
    """Data requests a download of the day costs on a new lake."""
    before = data_requests(sim)
    p = run(sim, tmp_path / "fresh", "download", SYMBOL, "--start", DAY, "--end", DAY)
    assert p.returncode == 0, p.stderr
    return data_requests(sim) - before


@pytest.mark.parametrize("how", ["sigkill", "sigint"])
def test_interrupted_hour_resumes_from_the_wal(clean: Any, tmp_path: Path, how: str) -> None:
    root = tmp_path / "lake"
    pages = 30
    # 30 pages of hour 00 answer at once, then the exchange stalls
    stall = "stall:30" if how == "sigkill" else "stall:2"
    clean.control(next=["stall:0"] * pages + [stall])
    proc = subprocess.Popen(download_cmd(clean, root), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env())
    try:
        # page k is in the WAL (fsynced) before request k + 1 is sent
        wait_for_requests(clean, pages + 1, proc)
        if how == "sigkill":
            proc.kill()
        else:
            proc.send_signal(signal.SIGINT)  # stops at the stalled response
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if how == "sigkill":
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130, err
        assert "interrupted" in err

    # the WAL keeps the 30 pages: the newest trades of the hour, 1000 a page
    # less the repeated rows of each page's boundary millisecond (paging by time)
    h0 = truth_rows(clean, SYMBOL, HOUR0, HOUR0 + US_PER_HOUR - 1)
    assert len(h0) > 60_000
    kept = stashed(root)
    assert pages * 990 <= len(kept) <= pages * 1000
    assert kept == [r[0] for r in h0[-len(kept):]]
    assert not list(root.glob("symbol=*/**/*.parquet")), "nothing committed yet"

    # the next run fetches only what the WAL lacks, plus one check of the top
    clean.control(next=[], reset_counters=True)
    p = run(clean, root, "download", SYMBOL, "--start", DAY, "--end", DAY)
    assert p.returncode == 0, p.stderr
    resumed = data_requests(clean)
    assert f"BTCUSDT 2024-03-01 00:00: resuming from {len(kept):,} trades kept in the wal" in p.stderr
    want = assert_lake_exact(clean, root)
    # resumed trades count as done: the summary names every stored trade
    assert p.stdout.startswith(f"{SYMBOL}: 2 hours, {len(want):,} trades, ")

    fresh = fresh_requests(clean, tmp_path)
    assert fresh - pages + 1 <= resumed <= fresh - pages + 2
    assert resumed < fresh


def test_killed_at_random_moments_then_exact(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    rng = random.Random(20240301)
    kept_seen = 0
    for _ in range(10):
        proc = subprocess.Popen(download_cmd(clean, root, interval_ms=5), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=child_env())
        time.sleep(rng.uniform(0.05, 0.6))
        proc.kill()
        proc.wait()
        kept = stashed(root)
        if kept:
            kept_seen += 1
            # whatever the moment, the WAL keeps a contiguous run of ids
            assert kept == list(range(kept[0], kept[-1] + 1))
    assert kept_seen > 0, "no kill fell inside hour 00"
    p = run(clean, root, "download", SYMBOL, "--start", DAY, "--end", DAY)
    assert p.returncode == 0, p.stderr
    assert_lake_exact(clean, root)


def test_unknown_second_symbol_still_writes_nothing(clean: Any, tmp_path: Path) -> None:
    # the first symbol's pages are not kept before the second is known to exist
    root = tmp_path / "lake"
    p = run(clean, root, "download", SYMBOL, "FOOBAR", "--start", DAY, "--end", DAY)
    assert p.returncode == 2, p.stderr
    assert "unknown symbol 'FOOBAR'" in p.stderr
    assert not root.exists()
