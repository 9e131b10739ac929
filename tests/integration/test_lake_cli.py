"""The lake as the command-line tool shows it: exact ``query --stats`` answered
from the statistics index alone, and ``verify`` finding and ``--repair``
rebuilding a damaged or lost statistics file.

Runs the real binary (``$AGT_BIN``) against the exchange simulator, and the
library (``$AGT_LIB``) through ctypes for the counters of agt_range_stats.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aggtrades import _lib

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AGT_BIN", str(REPO / "build" / "aggtrades"))
NOW = "2024-03-01T12:34:56Z"
SYM = "ETHBTC"
DAYS = ("2024-02-05", "2024-02-07")  # first and last day stored

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"no binary at {BIN}")


@pytest.fixture(scope="module")
def sim(start_sim_module: Any) -> Any:
    return start_sim_module("--now", NOW, "--weight-limit", "1000000")


def run(sim: Any, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("AGT_ROOT", "AGT_API_URL", "AGT_ARCHIVE_URL", "NO_COLOR")}
    cmd = [BIN, "--root", str(root), "--interval-ms", "0"]
    if sim is not None:
        cmd += ["--api-url", sim.url, "--archive-url", sim.url]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=300, env=env)


def us(day: str, hour: int = 0) -> int:
    import datetime as dt
    d = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc) + dt.timedelta(hours=hour)
    return (d - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


@pytest.fixture()
def lake(sim: Any, tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    sim.reset()
    p = run(sim, root, "download", SYM, "--start", DAYS[0], "--end", DAYS[1])
    assert p.returncode == 0, p.stderr
    return root


# --------------------------------------------------------------------------
# agt_range_stats through ctypes (lake.h)


class RangeStats(ctypes.Structure):
    _fields_ = [
        ("count", ctypes.c_int64), ("first_ts_us", ctypes.c_int64), ("last_ts_us", ctypes.c_int64),
        ("first_id", ctypes.c_int64), ("last_id", ctypes.c_int64),
        ("sum_qty", ctypes.c_double), ("quote_volume", ctypes.c_double),
        ("buyer_maker", ctypes.c_int64), ("files_read", ctypes.c_int64),
        ("files_from_stats", ctypes.c_int64), ("sums_exact", ctypes.c_int),
        ("qty_e8_lo", ctypes.c_uint64), ("qty_e8_hi", ctypes.c_uint64),
        ("quote_e16_lo", ctypes.c_uint64), ("quote_e16_hi", ctypes.c_uint64),
        ("vwap", ctypes.c_double),
    ]


def query_stats(root: Path, start: int, end: int) -> RangeStats:
    try:
        so = _lib.lib()
    except _lib.LibraryNotFound as exc:  # pragma: no cover
        pytest.skip(f"library not built: {exc}")
    vp, p = ctypes.c_void_p, ctypes.POINTER
    so.agt_lake_open.argtypes = [ctypes.c_char_p, ctypes.c_uint, p(vp), p(_lib.AgtError)]
    so.agt_lake_close.argtypes = [vp]
    so.agt_lake_close.restype = None
    so.agt_lake_query_stats.argtypes = [vp, ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64,
                                        p(RangeStats), p(_lib.AgtError)]
    h, err, st = vp(), _lib.AgtError(), RangeStats()
    assert so.agt_lake_open(str(root).encode(), 1, ctypes.byref(h), ctypes.byref(err)) == 0
    try:
        rc = so.agt_lake_query_stats(h, SYM.encode(), start, end, ctypes.byref(st), ctypes.byref(err))
        assert rc == 0, err.message
    finally:
        so.agt_lake_close(h)
    return st


def fields(out: str) -> dict[str, str]:
    return dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in out.splitlines())


def test_month_stats_read_no_data_file_and_are_exact(sim: Any, lake: Path, tmp_path: Path) -> None:
    month = ["query", SYM, "--start", "2024-02-01", "--end", "2024-02-29", "--stats"]
    p = run(None, lake, *month)
    assert p.returncode == 0, p.stderr
    j = run(None, lake, *month, "--output", "json")
    assert j.returncode == 0, j.stderr

    # the library: every file from the statistics, none decoded
    st = query_stats(lake, us("2024-02-01"), us("2024-03-01") - 1)
    assert st.files_read == 0 and st.files_from_stats >= 48 and st.sums_exact == 1
    # a window cutting two files (one trade in) decodes exactly those two
    day = json.loads((lake / "metadata" / "stats" / f"symbol={SYM}" / f"_{DAYS[0]}.json").read_text())
    hours = {h["hour"]: h for h in day["hours"] if h["rows"] > 1}
    a, b = hours[5]["min_ts"] + 1, hours[9]["max_ts"] - 1
    edge = query_stats(lake, a, b)
    middle = [h for h in day["hours"] if h["rows"] > 0 and 5 < h["hour"] < 9]
    assert edge.files_read == 2 and edge.files_from_stats == len(middle)
    assert edge.sums_exact == 1 and 0 < edge.count < st.count

    # answered from the statistics, but never for files that are gone: with every
    # data file moved away the CLI names a missing file instead of answering
    data = lake / f"symbol={SYM}"
    shutil.move(str(data), str(tmp_path / "away"))
    try:
        gone = run(None, lake, *month)
        assert gone.returncode == 3 and gone.stdout == ""
        assert re.search(r"data file '.*\.parquet' is missing", gone.stderr), gone.stderr
    finally:
        shutil.move(str(tmp_path / "away"), str(data))
    assert run(None, lake, *month).stdout == p.stdout

    # exact: the decimals the exchange sent, summed by Python's decimal
    want = sim.truth(SYM, us(DAYS[0]), us(DAYS[1]) + 24 * 3_600_000_000 - 1)
    qty = sum(Decimal(r["q"]) for r in want)
    quote = sum(Decimal(r["p"]) * Decimal(r["q"]) for r in want)
    f = fields(p.stdout)
    assert f["trades"] == f"{len(want):,}"
    assert Decimal(f["quantity"]) == qty and Decimal(f["quote volume"]) == quote
    assert Decimal(st.qty_e8_lo + (st.qty_e8_hi << 64)) / Decimal(10**8) == qty
    assert Decimal(st.quote_e16_lo + (st.quote_e16_hi << 64)) / Decimal(10**16) == quote
    assert float(f["vwap"]) == float(quote / qty) == st.vwap


@pytest.mark.parametrize("damage", ["scribbled", "deleted"])
def test_verify_reports_and_repair_rebuilds_statistics(sim: Any, lake: Path, damage: str) -> None:
    window = ["query", SYM, "--start", f"{DAYS[0]} 22:30", "--end", "2024-02-06 01:30"]
    before = [run(None, lake, *window, "--stats").stdout,
              run(None, lake, *window, "--output", "csv").stdout,
              run(None, lake, "query", SYM, "--start", DAYS[0], "--end", DAYS[1], "--stats").stdout]
    assert run(None, lake, "verify", SYM).returncode == 0

    stats = lake / "metadata" / "stats" / f"symbol={SYM}" / "_2024-02-06.json"
    if damage == "scribbled":
        stats.write_text('{"format":1,"symbol":"' + SYM + '","date":"2024-02-06","hours":[{"hour":')
    else:
        stats.unlink()
    q = run(None, lake, *window, "--stats")
    assert q.returncode == 3 and "2024-02-06.json" in q.stderr  # never fewer rows than stored

    bad = run(None, lake, "verify", SYM)
    assert bad.returncode == 1, bad.stderr
    lines = bad.stdout.splitlines()
    assert len(lines) == 1 and re.match(rf"{SYM} -\s+stats\s+.*2024-02-06\.json", lines[0]), lines
    assert bad.stderr == (f"aggtrades: statistics damaged; run 'aggtrades verify {SYM} --repair' "
                          "to rebuild them\n")

    requests = int(sim.stats()["data_requests"])
    fix = run(sim, lake, "verify", SYM, "--repair")
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert fix.stdout.splitlines()[0] == f"{SYM}: 1 statistics file rebuilt"
    assert fix.stdout.splitlines()[-1].endswith("verified, no problems")
    assert int(sim.stats()["data_requests"]) == requests  # rebuilt from the data, nothing fetched
    assert stats.exists()
    after = [run(None, lake, *window, "--stats").stdout,
             run(None, lake, *window, "--output", "csv").stdout,
             run(None, lake, "query", SYM, "--start", DAYS[0], "--end", DAYS[1], "--stats").stdout]
    assert after == before
    assert run(None, lake, "verify", SYM).returncode == 0


def test_verify_calls_a_deleted_data_file_missing(sim: Any, lake: Path) -> None:
    f = lake / f"symbol={SYM}" / "year=2024" / "month=2" / "day=6" / f"{SYM}_20240206_03.parquet"
    f.unlink()
    bad = run(None, lake, "verify", SYM)
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert any(re.match(rf"{SYM} 2024-02-06 03:00\s+missing\s+.*does not exist", line) for line in lines), lines
    assert not any(" damaged " in line for line in lines)
    fix = run(sim, lake, "verify", SYM, "--repair")
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert f.exists()


def test_download_fetches_a_deleted_hour_again(sim: Any, lake: Path) -> None:
    # Before: download skipped the day ("already complete") and query --stats still
    # counted the deleted hour from the statistics.
    f = lake / f"symbol={SYM}" / "year=2024" / "month=2" / "day=6" / f"{SYM}_20240206_03.parquet"
    stats = ["query", SYM, "--start", "2024-02-06", "--end", "2024-02-06", "--stats"]
    good = run(None, lake, *stats)
    f.unlink()
    gone = run(None, lake, *stats)
    assert gone.returncode == 3 and gone.stdout == "", gone.stdout
    assert f"{SYM}_20240206_03.parquet' is missing" in gone.stderr
    before = int(sim.stats()["data_requests"])
    p = run(sim, lake, "download", SYM, "--start", DAYS[0], "--end", DAYS[1])
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"{SYM}: 1 hour, "), p.stdout
    assert 0 < int(sim.stats()["data_requests"]) - before <= 3  # that hour alone
    assert f.exists()
    assert run(None, lake, *stats).stdout == good.stdout
    assert run(None, lake, "verify", SYM).returncode == 0
